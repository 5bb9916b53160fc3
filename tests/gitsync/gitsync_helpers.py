"""Shared helpers for the gitsync tests: run a sync, read a branch, compare with the workspace."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitsync_wsserver import Fault, FaultHook, Workspace, WorkspaceServer

from gitsync.cli import main as gitsync_main

SOURCE = "/Clients"
EXT = {"PYTHON": ".py", "SQL": ".sql", "SCALA": ".scala", "R": ".r"}
META = ".gitsync/"


def git(repo: Path, *args: str, input_: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=repo, input=input_, capture_output=True, check=True
    ).stdout


def pre_receive_hook(remote: Path, script: str) -> None:
    """Make the bare ``remote`` run ``script`` (sh) on every push; exit 1 refuses it."""
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\n{script}\n")
    hook.chmod(0o755)


def list_fault(folder: str, fault: Fault) -> FaultHook:
    """A server fault hook: ``workspace/list`` of ``folder`` (only) answers ``fault``."""
    return lambda endpoint, path, attempt: fault if endpoint == "list" and path == folder else None


def branch_files(repo: Path, ref: str = "refs/heads/main") -> dict[str, bytes]:
    """Every file of ``ref`` in ``repo``: path -> bytes (metadata included)."""
    out = git(repo, "ls-tree", "-r", "-z", "--full-tree", ref)
    entries: list[tuple[str, str]] = []
    for rec in out.split(b"\0"):
        if not rec:
            continue
        meta, _, path = rec.partition(b"\t")
        entries.append((path.decode(), meta.split(b" ")[2].decode()))
    if not entries:
        return {}
    batch = git(
        repo, "cat-file", "--batch", input_=("\n".join(s for _, s in entries) + "\n").encode()
    )
    files: dict[str, bytes] = {}
    pos = 0
    for path, _ in entries:
        nl = batch.index(b"\n", pos)
        size = int(batch[pos:nl].split(b" ")[2])
        files[path] = batch[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1
    return files


def manifest_of(files: dict[str, bytes]) -> dict[str, tuple[int, int]]:
    entries: dict[str, tuple[int, int]] = {}
    for path, data in files.items():
        if path.startswith(".gitsync/manifest/"):
            # One entry per b"\n"-terminated line; a path may hold U+2028 and friends.
            for line in data.split(b"\n"):
                if line:
                    oid, mtime, p = line.decode().split("\t", 2)
                    entries[json.loads(p)] = (int(oid), int(mtime))
    return entries


def gitsync_commits(repo: Path, ref: str = "refs/heads/main") -> list[str]:
    """The commits on ``ref`` that gitsync wrote (not the hand-made ones some tests add)."""
    out = git(repo, "log", "--format=%H %cn", ref).decode().split("\n")
    return [line.split()[0] for line in out if line.endswith(" gitsync")]


def assert_every_checkpoint_consistent(repo: Path, ref: str = "refs/heads/main") -> None:
    """Each commit gitsync wrote is a resume point: its manifest lists exactly its files."""
    for sha in gitsync_commits(repo, ref):
        files = branch_files(repo, sha)
        content = {p for p in files if not p.startswith(META)}
        manifest = set(manifest_of(files))
        assert content == manifest, (
            f"commit {sha[:10]}: manifest without file {sorted(manifest - content)[:5]}, "
            f"file without manifest {sorted(content - manifest)[:5]}"
        )


def assert_mirror(
    remote: Path,
    ws: Workspace,
    *,
    source: str = SOURCE,
    missing: Iterable[str] = (),
    override: dict[str, bytes] | None = None,
    ref: str = "refs/heads/main",
) -> dict[str, bytes]:
    """The branch holds exactly the workspace, byte for byte, plus a consistent manifest.

    ``missing``: relative paths a test expects to be absent (objects gitsync must report
    instead of mirroring: bad names, collisions); ``override``: the expected bytes where
    two objects map to one path (the model here cannot tell which one wins).
    """
    files = branch_files(remote, ref)
    content = {p: b for p, b in files.items() if not p.startswith(META)}
    expected = ws.expected_tree(source)
    for path in missing:
        expected.pop(path, None)
    expected.update(override or {})
    assert sorted(content) == sorted(expected), _diff(content, expected)
    for path, data in expected.items():
        assert content[path] == data, f"bytes differ at {path}"
    manifest = manifest_of(files)
    assert sorted(manifest) == sorted(content), "manifest and tree disagree"
    for node in ws.walk(source):
        if node.object_type in ("NOTEBOOK", "FILE"):
            rel = node.path[len(source) + 1 :]
            if node.object_type == "NOTEBOOK":
                rel += EXT[node.language or ""]
            if rel in manifest and rel not in (override or {}):
                assert manifest[rel] == (node.object_id, node.modified_at), rel
    assert ".gitsync/state.json" in files
    assert_every_checkpoint_consistent(remote, ref)
    return content


def assert_exported(server: WorkspaceServer, changed: Iterable[str], mode: str) -> None:
    """Only the ``changed`` objects (workspace paths) were exported.

    Per notebook: exactly those, one request each. Per folder: a folder export only of
    a folder holding a changed object, each changed object exported on its own or by
    its folder's export, and nothing unchanged exported on its own (the sample checks
    re-export changed notebooks only).
    """
    want = set(changed)
    singles = set(server.stats.exported)
    if mode == "per-notebook":
        assert not server.stats.folder_exported
        assert sorted(singles) == sorted(want)
        return
    folders = set(server.stats.folder_exported)
    assert singles <= want, sorted(singles - want)
    parents = {p.rsplit("/", 1)[0] for p in want}
    assert folders <= parents, sorted(folders - parents)
    uncovered = {p for p in want - singles if p.rsplit("/", 1)[0] not in folders}
    assert not uncovered, sorted(uncovered)


def assert_export_requests(run: Run, objects: int) -> None:
    """The run had ``objects`` to export, and the export requests the report counts are
    its folder exports, its objects exported one by one and its sample checks (a run
    without faults: no retries)."""
    modes = run.report["export_modes"]
    assert modes["objects"] == objects
    total = modes["folder_requests"] + modes["single_requests"] + modes["verify_requests"]
    assert run.report["requests"]["export"]["requests"] == total
    if modes["mode"] == "per-notebook":
        assert total == objects


def _diff(got: dict[str, bytes], want: dict[str, bytes]) -> str:
    extra = sorted(set(got) - set(want))[:10]
    lacking = sorted(set(want) - set(got))[:10]
    return f"extra in branch: {extra}; missing from branch: {lacking}"


@dataclass
class Run:
    code: int
    report: dict[str, Any]
    stdout: str
    stderr: str


class Syncer:
    """Runs ``python -m gitsync run`` in-process against one server and one remote."""

    def __init__(
        self, url: str, remote: Path, tmp: Path, capsys: Any, mode: str = "per-notebook"
    ) -> None:
        self.url = url
        self.mode = mode
        self.remote = remote
        self.tmp = tmp
        self.capsys = capsys
        self.n = 0

    def args(self, *extra: str, source: str = SOURCE) -> list[str]:
        return [
            "run",
            "--source",
            source,
            "--repo",
            str(self.remote),
            "--list-rate",
            "2000",
            "--export-rate",
            "2000",
            "--list-workers",
            "8",
            "--export-workers",
            "8",
            "--progress",
            "never",
            "--export-mode",
            self.mode,
            *extra,
        ]

    def __call__(self, *extra: str, source: str = SOURCE) -> Run:
        self.n += 1
        report = self.tmp / f"report-{self.n}.json"
        self.capsys.readouterr()
        code = gitsync_main([*self.args(*extra, source=source), "--report", str(report)])
        out = self.capsys.readouterr()
        data = json.loads(report.read_text()) if report.exists() else {}
        return Run(code, data, out.out, out.err)
