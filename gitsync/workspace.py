"""The workspace API as gitsync uses it: list, get-status, export; rate-limited and retried.

Requests go through the real ``databricks-sdk`` ``WorkspaceClient`` (unified auth: PAT,
OAuth M2M, Azure identities, the cluster's default auth), with the SDK's own retry loop
switched off so that gitsync's policy (``retry.py``) and token buckets
(``ratelimit.py``) are the only ones in play:

- the SDK retries 429/503 for up to ``retry_timeout_seconds`` (300 s by default) sleeping
  ``Retry-After``, and connection errors and timeouts the same way, outside any rate
  limiter and without telling the caller. Layered under our retries that would be
  double retrying (up to 8 x 300 s for one object) and retried requests that bypass
  the bucket, making a 429 storm worse.
- the SDK sleeps between its attempts through ``Config.clock``; ``_NoRetryClock``
  refuses that sleep by raising, which ends the SDK's loop at once with the original
  error as the exception's context. The first attempt is never delayed by it.
"""

from __future__ import annotations

import logging
import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

import requests.adapters
from databricks.sdk import WorkspaceClient
from databricks.sdk.clock import Clock as SdkClock
from databricks.sdk.config import Config
from databricks.sdk.service.workspace import ExportFormat, Language, ObjectInfo

from gitsync.errors import WorkspaceError
from gitsync.exportcheck import HEAD_BYTES, check_export
from gitsync.ratelimit import Clock, SystemClock, TokenBucket
from gitsync.retry import (
    Classified,
    Outcome,
    RetryBudget,
    RetryPolicy,
    TruncatedBodyError,
    classify,
    parse_retry_after,
)

T = TypeVar("T")

# Exports larger than this are spooled to a temporary file instead of memory, so the
# bytes in flight stay bounded by workers x this, whatever the notebooks weigh.
SPOOL_MAX_MEMORY = 1 << 20
_READ_CHUNK = 1 << 16


class _SdkRetryRefusedError(Exception):
    """Raised from inside the SDK's retry loop to stop it; carries the real error as context."""


class _NoRetryClock(SdkClock):
    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        raise _SdkRetryRefusedError()


# The last response this thread received (see ``make_client``): its status, its
# Retry-After and, for an export, its Content-Length and byte count on the wire.
_last = threading.local()


def _remember_response(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    _last.response = response
    return response


def _last_response() -> requests.Response | None:
    resp = getattr(_last, "response", None)
    return resp if isinstance(resp, requests.Response) else None


class RunAbortedError(Exception):
    """The run is stopping (another thread hit a fatal error): no more requests."""


def _unwrap(err: BaseException) -> BaseException:
    if isinstance(err, _SdkRetryRefusedError) and err.__context__ is not None:
        return err.__context__
    return err


def make_client(*, http_timeout: float, pool_size: int, host: str | None = None) -> WorkspaceClient:
    """A WorkspaceClient from unified auth (env, config profile, cluster), SDK retries off."""
    cfg_kwargs: dict[str, Any] = {
        "http_timeout_seconds": http_timeout,
        # Only the SDK's host-metadata probe still honours this (it builds its own client):
        # keep an unreachable host from stalling start-up for the default 300 s.
        "retry_timeout_seconds": 1,
        "max_connection_pools": pool_size,
        "max_connections_per_pool": pool_size,
    }
    if host:
        cfg_kwargs["host"] = host
    try:
        cfg = Config(clock=_NoRetryClock(), **cfg_kwargs)
    except ValueError as err:
        first = str(err).splitlines()[0]
        raise WorkspaceError(f"workspace auth is not configured: {first}") from None
    client = WorkspaceClient(config=cfg)
    # The SDK sizes its connection pool for https:// only; a plain-http host (the loopback
    # test server) would otherwise get requests' default pool of 10 and reconnect per call.
    session = getattr(getattr(client.api_client, "_api_client", None), "_session", None)
    if isinstance(session, requests.Session):
        # Each worker thread sends one request at a time, so a thread-local response is
        # the one an error (or a body being read) came from.
        session.hooks["response"].append(_remember_response)
        session.mount(
            "http://",
            requests.adapters.HTTPAdapter(
                pool_connections=4, pool_maxsize=pool_size, pool_block=True
            ),
        )
    return client


@dataclass
class EndpointStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    errors: int = 0  # failed attempts of any kind, 429s included
    failed: int = 0  # requests that gave up
    wait_seconds: float = 0.0  # time spent waiting for the rate limiter

    def as_dict(self) -> dict[str, float | int]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "throttled": self.throttled,
            "errors": self.errors,
            "failed": self.failed,
            "rate_limit_wait_seconds": round(self.wait_seconds, 3),
        }


class RequestFailedError(Exception):
    """A request that the policy gave up on; ``classified`` says why."""

    def __init__(self, classified: Classified) -> None:
        super().__init__(classified.reason)
        self.classified = classified


@dataclass
class Limits:
    list_rate: float = 50.0
    export_rate: float = 60.0
    status_rate: float = 50.0


@dataclass
class Workspace:
    client: WorkspaceClient
    limits: Limits
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    seed: int | None = None
    # Set when the run stops: no new attempt starts, and waits (backoff, rate limit,
    # Retry-After) end at once instead of running for minutes after a fatal error.
    stop: threading.Event | None = None

    def __post_init__(self) -> None:
        self.buckets = {
            "list": TokenBucket(self.limits.list_rate, clock=self.clock),
            "export": TokenBucket(self.limits.export_rate, clock=self.clock),
            "get-status": TokenBucket(self.limits.status_rate, clock=self.clock),
        }
        self.stats = {ep: EndpointStats() for ep in self.buckets}
        self.budget = RetryBudget(self.policy)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.host = self.client.config.host or "?"
        self._access_checked_at: float | None = None

    def _rng(self) -> random.Random:
        rng = getattr(self._local, "rng", None)
        if rng is None:
            rng = random.Random(None if self.seed is None else self.seed + threading.get_ident())
            self._local.rng = rng
        return rng

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.stop is not None and isinstance(self.clock, SystemClock):
            if self.stop.wait(seconds):
                raise RunAbortedError()
        else:
            self.clock.sleep(seconds)

    def call(self, endpoint: str, fn: Callable[[], T], *, max_attempts: int | None = None) -> T:
        """Run one logical request under the endpoint's bucket and the retry policy."""
        bucket = self.buckets[endpoint]
        stats = self.stats[endpoint]
        attempts = 0
        throttled = 0
        limit = max_attempts or self.policy.max_attempts
        while True:
            if self._stopping():
                raise RunAbortedError()
            waited = bucket.acquire(self._sleep)
            sent_at = self.clock.monotonic()
            with self._lock:
                stats.requests += 1
                stats.wait_seconds += waited
            self.budget.note_request()
            _last.response = None
            try:
                result = fn()
            except Exception as raw:  # noqa: BLE001 - every failure is classified below
                err = _unwrap(raw)
                resp = _last_response()
                status = resp.status_code if resp is not None else None
                after = (
                    parse_retry_after(resp.headers.get("Retry-After"), time.time())
                    if resp is not None
                    else None
                )
                c = classify(err, status, after)
                with self._lock:
                    stats.errors += 1
                bucket.record(throttled=c.outcome is Outcome.THROTTLED, sent_at=sent_at)
                if c.outcome is Outcome.THROTTLED:
                    wait_for = c.retry_after if c.retry_after is not None else 1.0
                    if wait_for > self.policy.max_retry_after:
                        c = Classified(
                            Outcome.PERMANENT,
                            f"{c.reason} (Retry-After {wait_for:.0f} s: longer than the "
                            f"{self.policy.max_retry_after:.0f} s gitsync waits)",
                        )
                    elif throttled < self.policy.max_throttled:
                        throttled += 1
                        wait = self.policy.throttle_wait(wait_for, self._rng())
                        with self._lock:
                            stats.throttled += 1
                            stats.retries += 1
                        if wait_for >= self.policy.pause_endpoint_after:
                            bucket.pause(wait)  # a real break: every worker waits
                        else:
                            # This request waits its Retry-After; the others go on at
                            # the rate the bucket has just lowered (ratelimit.py).
                            self._sleep(wait)
                        continue
                if (
                    c.outcome is Outcome.TRANSIENT
                    and attempts + 1 < limit
                    and self.budget.try_spend()
                ):
                    attempts += 1
                    with self._lock:
                        stats.retries += 1
                    self._sleep(self.policy.backoff(attempts, self._rng()))
                    continue
                with self._lock:
                    stats.failed += 1
                raise RequestFailedError(c) from None
            bucket.record(throttled=False, sent_at=sent_at)
            return result

    def request_stats(self) -> dict[str, dict[str, float | int]]:
        """Per endpoint: the report's counts and where the adaptive rate went."""
        return {
            ep: {**stats.as_dict(), **self.buckets[ep].as_dict()}
            for ep, stats in self.stats.items()
        }

    # -- the three endpoints

    def get_status(self, path: str, *, max_attempts: int | None = None) -> ObjectInfo:
        return self.call(
            "get-status", lambda: self.client.workspace.get_status(path), max_attempts=max_attempts
        )

    def list_dir(self, path: str) -> list[ObjectInfo]:
        # One directory per call: the API has no paging and no server-side recursion
        # worth using (the SDK's recursive=True is the same calls, sequentially).
        return self.call("list", lambda: list(self.client.workspace.list(path)))

    def export(
        self,
        path: str,
        *,
        notebook: bool,
        expected_size: int | None = None,
        language: Language | None = None,
    ) -> tuple[IO[bytes], int]:
        """The object's bytes (SOURCE for notebooks, as-is for files), rewound, and their size.

        ``direct_download=true`` streams raw bytes: no base64 (a third more on the wire),
        no JSON document holding the whole notebook, and a body read in chunks into a
        spool that only goes to disk past ``SPOOL_MAX_MEMORY``.

        A body shorter than its ``Content-Length`` is a truncated transfer, retried:
        urllib3 2 raises on it, urllib3 1.x (Databricks runtimes up to 15.4 LTS ship it)
        silently returns the short body, so gitsync counts the bytes itself. Without a
        Content-Length (a chunked response) a file's listed ``size`` is the check.

        A complete body must also be what was asked for (``exportcheck.check_export``:
        not an HTML page, a notebook's header line, a file's listed size), or it is
        retried like a transient error and never reaches git.
        """

        def once() -> tuple[IO[bytes], int]:
            fmt = ExportFormat.SOURCE if notebook else None
            stream = self.client.workspace.download(path, format=fmt)
            resp = _last_response()
            # Handed to the writer, which closes it once the bytes are in fast-import.
            spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115
            size = 0
            head = b""
            try:
                while True:
                    chunk = stream.read(_READ_CHUNK)
                    if not chunk:
                        break
                    spool.write(chunk)
                    size += len(chunk)
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
                _check_complete(resp, size, expected_size)
                check_export(
                    path,
                    notebook=notebook,
                    language=language,
                    head=head,
                    size=size,
                    content_type=resp.headers.get("Content-Type") if resp is not None else None,
                    listed_size=expected_size,
                )
            except BaseException:
                spool.close()
                raise
            finally:
                stream.close()
            spool.seek(0)
            return spool, size

        return self.call("export", once)

    def source_refused(self, source: str) -> WorkspaceError | None:
        """After a 403 on one object: the fatal error if the source folder itself is now
        refused (a revoked token), None if only that object is off limits.

        One get-status of the source answers it; a success is trusted for 30 s, so a
        folder of a thousand forbidden notebooks costs a few requests, not a thousand.
        """
        with self._lock:
            checked = self._access_checked_at
        if checked is not None and time.monotonic() - checked < 30.0:
            return None
        try:
            self.get_status(source, max_attempts=3)
        except RequestFailedError as err:
            if err.classified.outcome in (Outcome.AUTH, Outcome.FORBIDDEN):
                return describe_failure(err, self.host, source)
            return None
        with self._lock:
            self._access_checked_at = time.monotonic()
        return None


def _check_complete(resp: requests.Response | None, size: int, expected_size: int | None) -> None:
    if resp is None:
        return
    declared = resp.headers.get("Content-Length")
    if declared is not None and declared.strip().isdigit():
        want = int(declared)
        # Bytes off the wire (before any Content-Encoding is undone), as Content-Length counts.
        raw = resp.raw
        tell = getattr(raw, "tell", None)
        got = tell() if callable(tell) else size
        if isinstance(got, int) and got < want:
            raise TruncatedBodyError(f"got {got} of {want} bytes")
        return
    if expected_size is not None and size < expected_size:
        raise TruncatedBodyError(f"got {size} of the {expected_size} bytes listed")


def describe_failure(err: RequestFailedError, host: str, what: str) -> WorkspaceError:
    """Turn a failed preflight request into the one line a user can act on."""
    c = err.classified
    if c.outcome in (Outcome.AUTH, Outcome.FORBIDDEN):
        return WorkspaceError(
            f"workspace {host} refused the credentials ({c.reason}) for {what}: "
            "check DATABRICKS_TOKEN or the configured auth, and that it may read the folder"
        )
    if c.outcome is Outcome.NOT_FOUND:
        return WorkspaceError(f"source folder {what} does not exist in workspace {host}")
    if c.outcome is Outcome.TRANSIENT and ("connection" in c.reason or "timeout" in c.reason):
        return WorkspaceError(f"cannot reach workspace {host}: {c.reason}")
    return WorkspaceError(f"workspace {host}: reading {what} failed: {c.reason}")


def quiet_sdk_logging(verbose: bool) -> None:
    """The SDK logs warnings (e.g. its host-metadata probe) that would break one-line output."""
    for name in ("databricks.sdk", "urllib3"):
        log = logging.getLogger(name)
        log.propagate = verbose
        log.setLevel(logging.DEBUG if verbose else logging.CRITICAL)
        if not log.handlers:
            log.addHandler(logging.NullHandler())
