"""Per-endpoint token buckets: the client side of the workspace API's rate limits.

The workspace limits each endpoint separately (published: list about 50 req/s, export
about 60 req/s), so each endpoint gets its own bucket and a run is bounded below by
``requests / rate`` of its busiest endpoint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class TokenBucket:
    """A token bucket in its GCRA form: each caller reserves the next free slot.

    Reserving (rather than polling for a token) keeps requests evenly spaced at exactly
    ``rate`` however many threads wait, with no thundering herd when a slot frees up.
    ``burst`` is how many requests may go back to back after an idle period; 1 keeps
    the client strictly paced, which is what the server's own bucket expects.

    A pause (``Retry-After``) must also hold the callers that reserved a slot before it
    and are sleeping until that slot: after sleeping, a caller confirms its slot and, if
    a pause now covers it, reserves a new one behind the pause (``acquire``).
    """

    def __init__(self, rate: float, burst: float = 1.0, clock: Clock | None = None) -> None:
        if not rate > 0 or rate == float("inf"):
            raise ValueError("rate must be a finite number greater than 0")
        self.rate = rate
        self._interval = 1.0 / rate
        self._tolerance = max(0.0, burst - 1.0) * self._interval
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._tat = 0.0  # theoretical arrival time of the next request
        self._paused_until = 0.0

    def reserve_slot(self) -> float:
        """Reserve the next free slot; return its (monotonic) time."""
        with self._lock:
            now = self._clock.monotonic()
            start = max(now, self._tat - self._tolerance, self._paused_until)
            self._tat = max(self._tat, start) + self._interval
            return start

    def confirm(self, slot: float) -> bool:
        """Whether a caller whose slot has come may go: False if a pause now covers it."""
        with self._lock:
            return slot >= self._paused_until

    def reserve(self) -> float:
        """Reserve a slot; return how long the caller must wait before using it."""
        slot = self.reserve_slot()
        return max(0.0, slot - self._clock.monotonic())

    def acquire(self, sleep: Callable[[float], None] | None = None) -> float:
        """Wait for a slot (with ``sleep``, default the clock's); return the seconds waited."""
        sleep = sleep or self._clock.sleep
        t0 = self._clock.monotonic()
        while True:
            slot = self.reserve_slot()
            wait = slot - self._clock.monotonic()
            if wait > 0:
                sleep(wait)
            if self.confirm(slot):
                return self._clock.monotonic() - t0

    def pause(self, seconds: float) -> None:
        """Hand out no slot for ``seconds`` (the server said Retry-After).

        A 429 means the whole endpoint is over its limit, not one request: every
        caller backs off, instead of the other workers hammering on meanwhile.
        """
        with self._lock:
            until = self._clock.monotonic() + seconds
            if until > self._paused_until:
                self._paused_until = until
            # Slots reserved before the pause but due after it keep their order; new ones
            # queue behind both.
            self._tat = max(self._tat, self._paused_until)
