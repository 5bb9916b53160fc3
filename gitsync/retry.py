"""The one retry policy of a run: which errors are retried, how long to wait, how often.

The rule:

- 429 and 503 (the service is shedding load): the request waits what ``Retry-After``
  says (seconds, fractional seconds or an HTTP date; 1 s if it says nothing or nothing
  readable) plus up to 20% jitter, and the endpoint's rate goes down in proportion to the
  share of 429s (``ratelimit.py``, AIMD); a ``Retry-After`` of ``pause_endpoint_after``
  (10 s) or more pauses the whole endpoint for that long. At most
  ``max_throttled`` such waits per request; they do not draw on the error budget,
  because the service told us exactly when to come back. A wait longer than
  ``max_retry_after`` (300 s) is not waited out: the request fails.
- other 5xx, connection resets, dropped connections, truncated bodies, timeouts, and an
  export that is not what was asked for (``exportcheck.py``: a proxy's HTML page):
  exponential backoff ``base * 2**(n-1)`` capped at ``max_delay``, with "equal jitter"
  (half fixed, half random) so that workers that failed together do not retry together.
  At most ``max_attempts`` per request, and every such retry draws on the run's
  budget: ``budget_min + budget_ratio * requests``. When the budget is spent the
  error is final: a dying service fails the run in minutes, not hours.
- 401: fatal for the run (bad token); never retried. 403: no permission, never retried;
  fatal if the source folder itself is refused (a revoked token), else that object or
  folder is reported (the caller checks which).
- 404 ``RESOURCE_DOES_NOT_EXIST``: the object went away between list and export. Any
  other 404 (a gateway's ``ENDPOINT_NOT_FOUND``, an empty body) proves nothing about the
  object and is retried like a 5xx.
- export over the size limit: permanent for that object; listed in the report.
- anything else: permanent for that object; listed in the report.

The SDK's own retry loop is switched off (see ``workspace.py``), so this is the only
place a request is repeated and the count per endpoint in the report is exact.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
from dataclasses import dataclass
from datetime import UTC
from enum import Enum

import requests
from databricks.sdk.errors.base import DatabricksError

# Phrases of the export size-limit error: notebooks answer MAX_NOTEBOOK_SIZE_EXCEEDED,
# files (and older service versions) answer BAD_REQUEST with one of these messages.
_TOO_LARGE_PHRASES = ("exceeded max size", "size exceeded limit", "size exceeds")


class Outcome(Enum):
    THROTTLED = "throttled"
    TRANSIENT = "transient"
    AUTH = "auth"  # 401: the credentials are bad
    FORBIDDEN = "forbidden"  # 403: no permission (on this object, or on anything)
    NOT_FOUND = "not_found"
    TOO_LARGE = "too_large"
    PERMANENT = "permanent"


@dataclass(frozen=True)
class Classified:
    outcome: Outcome
    reason: str
    retry_after: float | None = None


def _status_of(err: DatabricksError) -> int | None:
    from databricks.sdk import errors as e

    table: list[tuple[type[DatabricksError], int]] = [
        (e.Unauthenticated, 401),
        (e.PermissionDenied, 403),
        (e.NotFound, 404),
        (e.TooManyRequests, 429),
        (e.TemporarilyUnavailable, 503),
        (e.DeadlineExceeded, 504),
        (e.InternalError, 500),
        (e.BadRequest, 400),
    ]
    for cls, status in table:
        if isinstance(err, cls):
            return status
    return None


class TruncatedBodyError(requests.exceptions.ChunkedEncodingError):
    """A response body that ended before its Content-Length (urllib3 1.x does not check)."""


class UnexpectedExportError(Exception):
    """A complete export body that is not what was asked for (``exportcheck.py``): an HTML
    page, a notebook without its header, a file of another size. Transient: a proxy's
    page or a swapped body is retried; if it persists, the object is reported."""


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds (fractions accepted,
    as some proxies send them) or an HTTP date (``now`` is the epoch time). None when
    absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000": UTC, origin unknown
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def classify(
    err: BaseException, http_status: int | None = None, retry_after: float | None = None
) -> Classified:
    """Map an exception from one request to what the policy does with it.

    ``http_status`` is the status of the response the error came from, when known: the
    SDK maps only the statuses it knows to error classes, so a 502 from a proxy arrives
    as a bare ``DatabricksError``. ``retry_after`` is that response's ``Retry-After`` as
    gitsync parsed it: the SDK reads integers only (an HTTP date or "1.5" becomes 1 s).
    """
    if isinstance(err, DatabricksError):
        status = _status_of(err) or http_status
        code = err.error_code or ""
        msg = str(err).splitlines()[0] if str(err) else code
        if status in (429, 503) or err.retry_after_secs is not None:
            after = retry_after
            if after is None:
                secs: int | None = err.retry_after_secs
                after = float(secs) if secs is not None else 1.0
            return Classified(Outcome.THROTTLED, f"{status or code}: {msg}", after)
        if status == 401 or code == "UNAUTHENTICATED":
            return Classified(Outcome.AUTH, msg)
        if status == 403 or code == "PERMISSION_DENIED":
            return Classified(Outcome.FORBIDDEN, msg)
        if code == "RESOURCE_DOES_NOT_EXIST":
            return Classified(Outcome.NOT_FOUND, msg)
        if code == "MAX_NOTEBOOK_SIZE_EXCEEDED" or any(
            p in msg.lower() for p in _TOO_LARGE_PHRASES
        ):
            return Classified(Outcome.TOO_LARGE, msg)
        # A 404 that is not RESOURCE_DOES_NOT_EXIST comes from something in front of the
        # service (a gateway's ENDPOINT_NOT_FOUND): it says nothing about the object.
        transient_status = status is not None and (status >= 500 or status == 404) and status != 501
        if transient_status or code in ("INTERNAL_ERROR", "DEADLINE_EXCEEDED", "UNKNOWN"):
            return Classified(Outcome.TRANSIENT, f"{code or status}: {msg}")
        return Classified(Outcome.PERMANENT, f"{code or status}: {msg}")
    if isinstance(err, TruncatedBodyError):
        return Classified(Outcome.TRANSIENT, f"truncated body: {err}")
    if isinstance(err, UnexpectedExportError):
        return Classified(Outcome.TRANSIENT, f"unexpected export: {err}")
    if isinstance(err, requests.Timeout):
        return Classified(Outcome.TRANSIENT, "timeout")
    if isinstance(err, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return Classified(Outcome.TRANSIENT, f"connection error: {type(err).__name__}")
    if isinstance(err, ConnectionError | TimeoutError):
        return Classified(Outcome.TRANSIENT, f"connection error: {type(err).__name__}")
    if isinstance(err, requests.RequestException):
        return Classified(Outcome.TRANSIENT, f"{type(err).__name__}")
    return Classified(Outcome.PERMANENT, f"{type(err).__name__}: {err}")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8  # per request, for errors (not 429s)
    max_throttled: int = 30  # per request, for 429/503 waits
    max_retry_after: float = 300.0  # a longer Retry-After fails the request
    # A Retry-After this long is a real break (maintenance, a hard stop): the whole
    # endpoint waits. A shorter one is waited by its request alone, and the endpoint's
    # rate is lowered instead (ratelimit.py): pausing every worker for every 429 of a
    # storm left the endpoint idle most of the time.
    pause_endpoint_after: float = 10.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    budget_min: int = 200
    budget_ratio: float = 0.1

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based) of a failed request."""
        delay: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return delay / 2 + rng.uniform(0, delay / 2)

    def throttle_wait(self, retry_after: float, rng: random.Random) -> float:
        return float(retry_after * (1.0 + rng.uniform(0, 0.2)))


class RetryBudget:
    """The run-wide allowance of error retries, growing with the work done."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._lock = threading.Lock()
        self.requests = 0
        self.spent = 0

    def note_request(self) -> None:
        with self._lock:
            self.requests += 1

    def try_spend(self) -> bool:
        with self._lock:
            allowed = self._policy.budget_min + self._policy.budget_ratio * self.requests
            if self.spent >= allowed:
                return False
            self.spent += 1
            return True
