"""A loopback Databricks Workspace API server for gitsync's tests and benchmark.

It speaks the real JSON shapes of the endpoints gitsync (and the legacy databricks-cli
baseline) use, so the real ``databricks-sdk`` client can be pointed at it:

- ``GET /api/2.0/workspace/list?path=``: ``{"objects": [...]}``, ``{}`` for an empty folder,
  the object itself when ``path`` is not a folder;
- ``GET /api/2.0/workspace/get-status?path=``: one object;
- ``GET /api/2.0/workspace/export?path=&format=SOURCE[&direct_download=true]``:
  ``{"content": <base64>, "file_type": ...}`` or the raw bytes; of a folder (``SOURCE``
  or ``AUTO``): a zip of its notebooks (``AUTO``: and files), ``file_type`` ``zip``,
  refused as a whole over 10 MiB (``MAX_NOTEBOOK_SIZE_EXCEEDED``). Its layout is this
  server's guess (the docs give none): entries under the folder's own name, directory
  entries included, notebooks with their language's extension, names in UTF-8 with
  the zip's UTF-8 flag; ``archive_hook`` rewrites the entries to model other quirks
  (a missing header line, an extra or missing entry, bytes that differ);
- errors as ``{"error_code": ..., "message": ...}`` with the matching HTTP status;
  ``RESOURCE_DOES_NOT_EXIST`` (404), bad token (401/403), rate limit (429 with
  ``Retry-After``), export over 10 MiB (400 ``MAX_NOTEBOOK_SIZE_EXCEEDED`` for notebooks,
  400 ``BAD_REQUEST`` "File size imported is ..." for files, as the service answers).

Per-endpoint token buckets model the published rate limits; a per-request latency
models the service's response time; ``faults`` injects 429 storms, 5xx, dropped
connections and hangs. It runs in-process (``WorkspaceServer``) for the tests or as a
subprocess (``python gitsync_wsserver.py --synthetic N``) for the benchmark, where the
``/_ctl/*`` endpoints mutate the synthetic workspace and report what a mirror of it
must contain.

This file is test infrastructure: not part of the gitsync package.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import io
import json
import random
import socket
import struct
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

EXPORT_LIMIT = 10 * 1024 * 1024
EXTENSIONS = {"PYTHON": ".py", "SQL": ".sql", "SCALA": ".scala", "R": ".r"}
HEADERS = {
    "PYTHON": b"# Databricks notebook source\n",
    "SQL": b"-- Databricks notebook source\n",
    "SCALA": b"// Databricks notebook source\n",
    "R": b"# Databricks notebook source\n",
}


# --------------------------------------------------------------------------- model


@dataclass
class Node:
    path: str
    object_type: str  # DIRECTORY | NOTEBOOK | FILE | LIBRARY | REPO
    object_id: int
    created_at: int
    modified_at: int
    language: str | None = None
    content: bytes | None = None
    # Synthetic content (bench): (size, version) generated on demand, never stored.
    synth_size: int = 0
    synth_version: int = 0
    children: dict[str, Node] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


_FILLER_WORDS = (
    "df",
    "spark",
    "select",
    "where",
    "groupBy",
    "agg",
    "join",
    "display",
    "read",
    "write",
    "table",
    "count",
    "filter",
    "withColumn",
    "alias",
    "col",
    "lit",
    "when",
    "otherwise",
    "partition",
    "window",
    "over",
    "order",
    "limit",
    "client",
    "engagement",
    "revenue",
    "forecast",
    "model",
    "feature",
    "score",
    "metric",
    "report",
    "merge",
)


def _make_filler(size: int = 1 << 21) -> bytes:
    rng = random.Random(7)
    out: list[str] = []
    n = 0
    while n < size:
        line = " ".join(rng.choice(_FILLER_WORDS) for _ in range(rng.randint(3, 12))) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()[:size]


_FILLER = _make_filler()


def synth_content(node: Node) -> bytes:
    """Deterministic bytes of node.synth_size for (object_id, version), without storing them."""
    head = HEADERS.get(node.language or "", b"") + (
        f"# object {node.object_id} version {node.synth_version}\n".encode()
    )
    body_len = max(0, node.synth_size - len(head))
    seed = (node.object_id * 1_000_003 + node.synth_version) % (len(_FILLER) - 1)
    parts = [head]
    while body_len > 0:
        take = min(body_len, len(_FILLER) - seed)
        parts.append(_FILLER[seed : seed + take])
        body_len -= take
        seed = 0
    return b"".join(parts)


class Workspace:
    """An in-memory workspace tree. All mutations go through here (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._next_id = 1_234_567_890_000
        self._last_ms = 1_700_000_000_000
        self.root = self._new("/", "DIRECTORY")

    # -- helpers
    def _now_ms(self) -> int:
        # Strictly increasing, so a modification always changes modified_at.
        self._last_ms = max(self._last_ms + 1, int(time.time() * 1000))
        return self._last_ms

    def _new(self, path: str, object_type: str, **kw: Any) -> Node:
        self._next_id += 1
        now = self._now_ms()
        return Node(path, object_type, self._next_id, now, now, **kw)

    def get(self, path: str) -> Node | None:
        if path in ("", "/"):
            return self.root
        node = self.root
        for part in path.strip("/").split("/"):
            child = node.children.get(part)
            if child is None:
                return None
            node = child
        return node

    def mkdirs(self, path: str) -> Node:
        with self.lock:
            node = self.root
            cur = ""
            for part in path.strip("/").split("/"):
                if not part:
                    continue
                cur += "/" + part
                child = node.children.get(part)
                if child is None:
                    child = self._new(cur, "DIRECTORY")
                    node.children[part] = child
                node = child
            return node

    def _add(self, path: str, object_type: str, **kw: Any) -> Node:
        with self.lock:
            parent_path, name = path.rsplit("/", 1)
            parent = self.mkdirs(parent_path or "/")
            if name in parent.children:
                raise ValueError(f"exists: {path}")
            node = self._new(path, object_type, **kw)
            parent.children[name] = node
            return node

    def add_notebook(self, path: str, language: str, content: bytes) -> Node:
        return self._add(path, "NOTEBOOK", language=language, content=content)

    def add_synthetic_notebook(self, path: str, language: str, size: int) -> Node:
        return self._add(path, "NOTEBOOK", language=language, synth_size=size)

    def add_file(self, path: str, content: bytes) -> Node:
        return self._add(path, "FILE", content=content)

    def add_other(self, path: str, object_type: str) -> Node:
        return self._add(path, object_type)

    def modify(self, path: str, content: bytes | None = None) -> Node:
        with self.lock:
            node = self.get(path)
            assert node is not None and node.object_type in ("NOTEBOOK", "FILE"), path
            if content is None:
                node.synth_version += 1
            else:
                node.content = content
            node.modified_at = self._now_ms()
            return node

    def delete(self, path: str) -> None:
        with self.lock:
            parent_path, name = path.rsplit("/", 1)
            parent = self.get(parent_path or "/")
            assert parent is not None and name in parent.children, path
            del parent.children[name]

    def move(self, src: str, dst: str) -> Node:
        """Rename/move keeps object_id and modified_at, as the workspace does."""
        with self.lock:
            node = self.get(src)
            assert node is not None, src
            self.delete(src)
            dst_parent_path, dst_name = dst.rsplit("/", 1)
            parent = self.mkdirs(dst_parent_path or "/")
            assert dst_name not in parent.children, dst
            parent.children[dst_name] = node
            self._repath(node, dst)
            return node

    def _repath(self, node: Node, path: str) -> None:
        node.path = path
        for name, child in node.children.items():
            self._repath(child, f"{path}/{name}")

    def content(self, node: Node) -> bytes:
        """What a SOURCE export of ``node`` answers. A notebook's always begins with its
        language's header line, as the service writes it; a test that stores a notebook
        without one gets it added here."""
        if node.content is None:
            return synth_content(node)
        header = HEADERS.get(node.language or "") if node.object_type == "NOTEBOOK" else None
        if header is not None and not node.content.startswith(header):
            return header + node.content
        return node.content

    def walk(self, path: str = "/") -> Iterator[Node]:
        with self.lock:
            start = self.get(path)
            stack = [start] if start is not None else []
            out: list[Node] = []
            while stack:
                node = stack.pop()
                out.append(node)
                stack.extend(node.children.values())
        yield from out

    def expected_tree(self, source: str, limit: int = EXPORT_LIMIT) -> dict[str, bytes]:
        """What a mirror of ``source`` must hold: relative path -> bytes.

        Written independently of gitsync's own mapping on purpose. Objects that cannot
        be mirrored (too large, unmappable names, collisions) are the caller's business:
        tests that create them adjust the expectation explicitly.
        """
        out: dict[str, bytes] = {}
        prefix = source.rstrip("/") + "/"
        for node in self.walk(source):
            if node.object_type == "NOTEBOOK":
                rel = node.path[len(prefix) :] + EXTENSIONS[node.language or ""]
            elif node.object_type == "FILE":
                rel = node.path[len(prefix) :]
            else:
                continue
            data = self.content(node)
            if len(data) > limit:
                continue
            out[rel] = data
        return out

    def object_json(self, node: Node) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "path": node.path,
            "object_type": node.object_type,
            "object_id": node.object_id,
            "resource_id": str(node.object_id),
        }
        if node.object_type in ("NOTEBOOK", "FILE"):
            obj["created_at"] = node.created_at
            obj["modified_at"] = node.modified_at
        if node.object_type == "NOTEBOOK":
            obj["language"] = node.language
        if node.object_type == "FILE":
            obj["size"] = len(self.content(node))
        return obj


# --------------------------------------------------------------------------- server


class Bucket:
    """Server-side token bucket: the service's per-endpoint rate limit."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass
class Fault:
    """What to do instead of answering. kind: status | reset | hang | truncate | truncate-fin
    | body.

    ``body`` answers ``status`` (200) with ``content_type`` and ``body`` as they are: a
    proxy's login page where an export was asked for, or a ``200 {}`` listing.

    ``truncate`` sends half an export's body and resets the connection; ``truncate-fin``
    sends half and closes cleanly (FIN), as a proxy cutting a stream short does: only a
    client that counts bytes against Content-Length notices (urllib3 1.x does not).
    ``retry_after`` is sent as is: seconds, a fraction, or an HTTP date.
    """

    kind: str
    status: int = 500
    error_code: str = "INTERNAL_ERROR"
    message: str = "injected fault"
    retry_after: int | float | str | None = None
    seconds: float = 0.0
    content_type: str = "text/html; charset=utf-8"
    body: bytes = b""


FaultHook = Callable[[str, str, int], Fault | None]
# (folder path, [(entry name, bytes or None for a directory entry)]) -> the entries to zip.
ArchiveHook = Callable[[str, list[tuple[str, bytes | None]]], list[tuple[str, bytes | None]]]


@dataclass(frozen=True)
class Logged:
    """One answered API request, timed on the server's clock (time.monotonic)."""

    received: float
    answered: float
    endpoint: str
    path: str
    status: int
    retry_after: str | None


@dataclass
class Stats:
    requests: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    exported: dict[str, int] = field(default_factory=dict)  # path -> export count
    folder_exported: dict[str, int] = field(default_factory=dict)  # folder -> export count
    log: list[Logged] = field(default_factory=list)  # only when the server's ``log`` is on

    def bump(self, table: dict[str, int], key: str) -> int:
        table[key] = table.get(key, 0) + 1
        return table[key]


class WorkspaceServer:
    """The HTTP front of a Workspace. ``start()`` serves on 127.0.0.1 in a thread."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        token: str = "dapi-test-token",
        rates: dict[str, float] | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_status: int = 401,
    ) -> None:
        self.workspace = workspace or Workspace()
        self.token = token
        rates = rates or {}
        self.buckets = {
            ep: Bucket(rates.get(ep, 10_000.0), max(1.0, rates.get(ep, 10_000.0)))
            for ep in ("list", "get-status", "export")
        }
        self.latency = latency
        # A storm the bench can turn on: this share of the requests the bucket let through
        # is answered 429 anyway, at random (the "random" storm of bench --storm-mode).
        self.random_429 = 0.0
        self._storm_rng = random.Random(5)
        self.faults: FaultHook | None = None
        self.archive_hook: ArchiveHook | None = None
        self.stats = Stats()
        self.stats_lock = threading.Lock()
        self.log = False  # record every API request in stats.log (tests; off for the bench)
        self.auth_status = auth_status
        self._httpd = _Httpd((host, port), _Handler)
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> WorkspaceServer:
        # A short poll interval: shutdown() waits for the loop to notice (default 0.5 s).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset_stats(self) -> None:
        with self.stats_lock:
            self.stats = Stats()

    def set_rates(self, rates: dict[str, float]) -> None:
        for ep, rate in rates.items():
            self.buckets[ep] = Bucket(rate, max(1.0, rate))


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512
    app: WorkspaceServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: with Nagle's algorithm on, the body waits for
    # the client's delayed ACK of the headers, a 40 ms stall per request on Linux that
    # would add to --latency-ms (and weigh most on a sequential client, the baseline).
    disable_nagle_algorithm = True
    server: _Httpd

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: thousands of requests per second

    _endpoint = ""
    _received = 0.0
    _path = ""

    def _logged(self, status: int, extra: dict[str, str] | None) -> None:
        app = self.server.app
        if app.log and self._endpoint:
            entry = Logged(
                self._received,
                time.monotonic(),
                self._endpoint,
                self._path,
                status,
                (extra or {}).get("Retry-After"),
            )
            with app.stats_lock:
                app.stats.log.append(entry)

    # -- plumbing
    def _send(
        self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        self._logged(status, extra)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any, extra: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", extra)

    def _error(
        self, status: int, code: str, message: str, extra: dict[str, str] | None = None
    ) -> None:
        self._json(status, {"error_code": code, "message": message}, extra)

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def do_GET(self) -> None:
        app = self.server.app
        url = urlparse(self.path)
        qs = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if url.path.startswith("/_ctl/"):
            self._control(url.path, qs)
            return
        endpoints = {
            "/api/2.0/workspace/list": "list",
            "/api/2.0/workspace/get-status": "get-status",
            "/api/2.0/workspace/export": "export",
        }
        ep = endpoints.get(url.path)
        if ep is None:
            self._error(404, "ENDPOINT_NOT_FOUND", f"No API found for 'GET {url.path}'")
            return
        if self.headers.get("Authorization") != f"Bearer {app.token}":
            if app.auth_status == 403:
                self._error(403, "PERMISSION_DENIED", "Invalid access token.")
            else:
                self._error(401, "UNAUTHENTICATED", "Invalid access token.")
            return
        path = qs.get("path", "")
        self._endpoint, self._received, self._path = ep, time.monotonic(), path
        with app.stats_lock:
            n = app.stats.bump(app.stats.requests, ep)
        if app.latency:
            time.sleep(app.latency)
        if not app.buckets[ep].take() or (
            app.random_429 and app._storm_rng.random() < app.random_429
        ):
            with app.stats_lock:
                app.stats.bump(app.stats.throttled, ep)
            self._error(
                429,
                "REQUEST_LIMIT_EXCEEDED",
                f"Too many requests to {url.path}. Please try again later.",
                {"Retry-After": "1"},
            )
            return
        fault = app.faults(ep, path, n) if app.faults else None
        if fault is not None:
            with app.stats_lock:
                app.stats.bump(app.stats.faults, f"{ep}:{fault.kind}")
            if self._apply_fault(fault):
                return
        if ep == "list":
            self._list(path)
        elif ep == "get-status":
            self._get_status(path)
        else:
            self._export(path, qs)

    def _apply_fault(self, fault: Fault) -> bool:
        if fault.kind == "reset":
            self._reset()
            return True
        if fault.kind == "hang":
            time.sleep(fault.seconds)
            self._reset()
            return True
        if fault.kind == "body":
            self._send(fault.status, fault.body, fault.content_type)
            return True
        if fault.kind == "status":
            extra = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            )
            self._error(fault.status, fault.error_code, fault.message, extra)
            return True
        return False  # "truncate" is applied by _export

    def _missing(self, path: str) -> None:
        self._error(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")

    def _list(self, path: str) -> None:
        ws = self.server.app.workspace
        with ws.lock:
            node = ws.get(path)
            if node is None:
                self._missing(path)
                return
            if node.object_type != "DIRECTORY":
                self._json(200, {"objects": [ws.object_json(node)]})
                return
            objects = [ws.object_json(c) for c in node.children.values()]
        # An empty folder is answered as {} (no "objects" key), as the service does.
        self._json(200, {"objects": objects} if objects else {})

    def _get_status(self, path: str) -> None:
        ws = self.server.app.workspace
        with ws.lock:
            node = ws.get(path)
            obj = ws.object_json(node) if node is not None else None
        if obj is None:
            self._missing(path)
        else:
            self._json(200, obj)

    def _export(self, path: str, qs: dict[str, str]) -> None:
        app = self.server.app
        ws = app.workspace
        with ws.lock:
            node = ws.get(path)
            if node is None:
                self._missing(path)
                return
            kind, language = node.object_type, node.language
        fmt = qs.get("format", "SOURCE")
        if kind == "DIRECTORY" and fmt in ("SOURCE", "AUTO"):
            self._export_folder(node, fmt, qs)
            return
        if kind in ("DIRECTORY", "REPO", "LIBRARY"):
            self._error(
                400, "BAD_REQUEST", f"Export of {kind.lower()} {path} is not supported here."
            )
            return
        data = ws.content(node)
        if len(data) > EXPORT_LIMIT:
            if kind == "NOTEBOOK":
                self._error(
                    400,
                    "MAX_NOTEBOOK_SIZE_EXCEEDED",
                    f"Notebook size exceeded limit: {len(data)} > {EXPORT_LIMIT}",
                )
            else:
                self._error(
                    400,
                    "BAD_REQUEST",
                    f"File size imported is ({len(data)} bytes), "
                    f"exceeded max size ({EXPORT_LIMIT} bytes)",
                )
            return
        with app.stats_lock:
            app.stats.bump(app.stats.exported, path)
        if fmt not in ("SOURCE", "AUTO", "RAW"):
            self._error(400, "INVALID_PARAMETER_VALUE", f"Unsupported format {fmt} in this server.")
            return
        file_type = (
            EXTENSIONS[language or ""][1:] if kind == "NOTEBOOK" else path.rsplit(".", 1)[-1]
        )
        self._send_export(path, data, file_type, qs)

    def _export_folder(self, node: Node, fmt: str, qs: dict[str, str]) -> None:
        """A folder's export: a zip of its notebooks (AUTO: and files), recursively."""
        app = self.server.app
        ws = app.workspace
        entries: list[tuple[str, bytes | None]] = []
        total = 0
        with ws.lock:
            top = node.name or "root"
            stack: list[tuple[Node, str]] = [(node, top)]
            while stack:
                folder, rel = stack.pop()
                entries.append((rel + "/", None))
                for child in sorted(folder.children.values(), key=lambda c: c.name):
                    if child.object_type == "DIRECTORY":
                        stack.append((child, f"{rel}/{child.name}"))
                    elif child.object_type == "NOTEBOOK":
                        data = ws.content(child)
                        total += len(data)
                        ext = EXTENSIONS[child.language or ""]
                        entries.append((f"{rel}/{child.name}{ext}", data))
                    elif child.object_type == "FILE" and fmt == "AUTO":
                        data = ws.content(child)
                        total += len(data)
                        entries.append((f"{rel}/{child.name}", data))
        if total > EXPORT_LIMIT:
            self._error(
                400,
                "MAX_NOTEBOOK_SIZE_EXCEEDED",
                f"Export size exceeded limit: {total} > {EXPORT_LIMIT}",
            )
            return
        if app.archive_hook is not None:
            entries = app.archive_hook(node.path, entries)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                if data is None:
                    zf.writestr(info, b"")
                else:
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, data)
        with app.stats_lock:
            app.stats.bump(app.stats.folder_exported, node.path)
        self._send_export(node.path, buf.getvalue(), "zip", qs)

    def _send_export(self, path: str, data: bytes, file_type: str, qs: dict[str, str]) -> None:
        app = self.server.app
        if qs.get("direct_download") == "true":
            fault = app.faults("export-body", path, 0) if app.faults else None
            if fault is not None and fault.kind in ("truncate", "truncate-fin"):
                self._logged(200, None)
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                if fault.kind == "truncate":
                    self._reset()
                else:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_WR)
                return
            self._send(200, data, "application/octet-stream")
            return
        self._json(200, {"content": base64.b64encode(data).decode(), "file_type": file_type})

    # -- control plane (benchmark only)
    def _control(self, path: str, qs: dict[str, str]) -> None:
        app = self.server.app
        if path == "/_ctl/stats":
            with app.stats_lock:
                s = app.stats
                self._json(200, {"requests": s.requests, "throttled": s.throttled})
        elif path == "/_ctl/reset-stats":
            app.reset_stats()
            self._json(200, {})
        elif path == "/_ctl/mutate":
            summary = mutate(
                app.workspace, qs.get("source", "/Clients"), float(qs["fraction"]), int(qs["seed"])
            )
            self._json(200, summary)
        elif path == "/_ctl/expected":
            exp = app.workspace.expected_tree(qs.get("source", "/Clients"))
            blobs = {p: git_blob_sha(b) for p, b in exp.items()}
            self._json(200, blobs)
        elif path == "/_ctl/latency":
            app.latency = float(qs["seconds"])
            self._json(200, {})
        else:
            self._error(404, "ENDPOINT_NOT_FOUND", path)


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


# --------------------------------------------------------------------------- synthetic


LANG_WEIGHTS = [("PYTHON", 0.70), ("SQL", 0.20), ("SCALA", 0.07), ("R", 0.03)]
TITLES = [
    "Data intake",
    "Cleansing",
    "Feature engineering",
    "Model training",
    "Scoring",
    "QA checks",
    "Client report",
    "Exploration",
    "Reconciliation",
    "Export to client",
]


def _size(rng: random.Random) -> int:
    # Lognormal around 6 KiB with a long tail (some notebooks carry big SQL or markdown).
    return max(200, min(int(rng.lognormvariate(8.7, 1.0)), 3_000_000))


def build_synthetic(
    ws: Workspace,
    notebooks: int,
    seed: int = 1,
    source: str = "/Clients",
    oversize_every: int = 20_000,
) -> None:
    """The seed's shape: /Clients/{year}/{engagement-id}/NOTEBOOKS/*, plus a few files."""
    rng = random.Random(seed)
    years = list(range(2019, 2026))
    made = 0
    eng = 0
    langs = [lang for lang, _ in LANG_WEIGHTS]
    weights = [w for _, w in LANG_WEIGHTS]
    while made < notebooks:
        eng += 1
        year = years[eng % len(years)]
        folder = f"{source}/{year}/ENG-{year}-{eng:05d}/NOTEBOOKS"
        count = min(notebooks - made, max(1, int(rng.gauss(20, 6))))
        ws.mkdirs(folder)
        for i in range(count):
            lang = rng.choices(langs, weights)[0]
            title = rng.choice(TITLES)
            made += 1
            size = _size(rng)
            if oversize_every and made % oversize_every == 0:
                size = EXPORT_LIMIT + 4096  # the rare notebook the export API refuses
            ws.add_synthetic_notebook(
                f"{folder}/{i + 1:02d} {title} v{rng.randint(1, 3)}", lang, size
            )
        if eng % 10 == 0:
            ws.add_file(
                f"{source}/{year}/ENG-{year}-{eng:05d}/README.md", f"# Engagement {eng}\n".encode()
            )


def mutate(ws: Workspace, source: str, fraction: float, seed: int) -> dict[str, int]:
    """A day of edits: ``fraction`` of the notebooks touched; of those 70% modified,
    10% moved (renamed or moved to another engagement), 10% deleted, 10% added new."""
    rng = random.Random(seed)
    with ws.lock:
        nbs = [n for n in ws.walk(source) if n.object_type == "NOTEBOOK"]
        nbs.sort(key=lambda n: n.object_id)
        picked = rng.sample(nbs, max(1, int(len(nbs) * fraction)))
        counts = {"modified": 0, "moved": 0, "deleted": 0, "added": 0}
        for i, node in enumerate(picked):
            bucket = i % 10
            if bucket < 7:
                ws.modify(node.path)
                counts["modified"] += 1
            elif bucket == 7:
                other = rng.choice(nbs)
                parent = other.path.rsplit("/", 1)[0]
                dst = f"{parent}/{node.name} (moved {seed}-{i})"
                if ws.get(node.path) is not None and ws.get(parent) is not None:
                    ws.move(node.path, dst)
                    counts["moved"] += 1
            elif bucket == 8:
                if ws.get(node.path) is not None:
                    ws.delete(node.path)
                    counts["deleted"] += 1
            else:
                parent = node.path.rsplit("/", 1)[0]
                if ws.get(parent) is not None:
                    ws.add_synthetic_notebook(f"{parent}/new {seed}-{i}", "PYTHON", _size(rng))
                    counts["added"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", default="dapi-bench-token")
    ap.add_argument("--synthetic", type=int, default=0, help="notebooks under /Clients")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--list-rate", type=float, default=50.0)
    ap.add_argument("--export-rate", type=float, default=60.0)
    ap.add_argument("--status-rate", type=float, default=50.0)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument(
        "--random-429", type=float, default=0.0, help="answer this share of requests 429"
    )
    ap.add_argument(
        "--oversize-every", type=int, default=20_000, help="one notebook over 10 MiB per N"
    )
    args = ap.parse_args(argv)
    ws = Workspace()
    build_synthetic(ws, args.synthetic, args.seed, oversize_every=args.oversize_every)
    srv = WorkspaceServer(
        ws,
        token=args.token,
        rates={"list": args.list_rate, "export": args.export_rate, "get-status": args.status_rate},
        latency=args.latency_ms / 1000.0,
        host=args.host,
        port=args.port,
    )
    srv.random_429 = args.random_429
    print(f"READY {srv.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        srv._httpd.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
