"""Per-endpoint token buckets: the client side of the workspace API's rate limits.

The workspace limits each endpoint separately (published: list about 50 req/s, export
about 60 req/s), so each endpoint gets its own bucket and a run is bounded below by
``requests / rate`` of its busiest endpoint.

The configured rate is a ceiling, not a promise: other tools share the workspace's budget,
so the rate it grants gitsync can be lower, and it says so with 429s. Each bucket adapts
(AIMD, as TCP does with its window, here on the rate): once per ``window`` of answers,
a window with 429s lowers the rate by half the share of 429s in it (DCTCP's gentle
decrease: 50% of 429s at 60/s gives 45/s, a lone 429 among 60 answers under 1%), a
window without one raises it by ``increase`` (5%) of itself, at least 0.2% of the
ceiling (back from half the ceiling in 15 s). An increase in proportion to the rate keeps
the probing above the granted rate small however little is granted (a fixed step of the
ceiling overshoots a small grant by a third). The rate settles just above what the
workspace grants, and every worker keeps working; before, each 429 paused the whole
endpoint for its Retry-After, and a storm stopped everything for seconds at a time.
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

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Clock | None = None,
        *,
        window: float = 1.0,
        increase: float = 0.05,
        min_share: float = 0.02,
    ) -> None:
        if not rate > 0 or rate == float("inf"):
            raise ValueError("rate must be a finite number greater than 0")
        self.ceiling = rate
        self.rate = rate
        self._burst = burst
        self._interval = 1.0 / rate
        self._tolerance = max(0.0, burst - 1.0) * self._interval
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._tat = 0.0  # theoretical arrival time of the next request
        self._paused_until = 0.0
        # AIMD state: answers of the current window, and the bounds of the rate.
        self._window = window
        self._increase = increase
        self._min_increase = 0.002 * rate
        self._min_rate = min_share * rate
        self._window_start: float | None = None
        self._answered = 0
        self._throttled = 0
        self.lowest = rate
        self.decreases = 0

    def _set_rate(self, rate: float) -> None:
        self.rate = rate
        self._interval = 1.0 / rate
        self._tolerance = max(0.0, self._burst - 1.0) * self._interval

    def record(self, *, throttled: bool) -> None:
        """One answer from the endpoint (429/503 or not); adapt the rate once per window.

        Counting per window, not per 429, is what keeps the decrease proportionate: the
        requests already in flight when the rate drops come back 429 too, and must not
        each cut it again.
        """
        with self._lock:
            now = self._clock.monotonic()
            if self._window_start is None:
                self._window_start = now
            self._answered += 1
            self._throttled += throttled
            if now - self._window_start < self._window:
                return
            if self._throttled:
                share = self._throttled / self._answered
                self._set_rate(max(self._min_rate, self.rate * (1.0 - share / 2.0)))
                self.decreases += 1
                self.lowest = min(self.lowest, self.rate)
            elif self.rate < self.ceiling:
                step = max(self.rate * self._increase, self._min_increase)
                self._set_rate(min(self.ceiling, self.rate + step))
            self._window_start = now
            self._answered = 0
            self._throttled = 0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "rate_final": round(self.rate, 3),
            "rate_lowest": round(self.lowest, 3),
            "rate_decreases": self.decreases,
        }

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
        """Hand out no slot for ``seconds``: every caller waits.

        For a long Retry-After only (the service asks for a real break); an ordinary 429
        lowers the rate instead (``record``).
        """
        with self._lock:
            until = self._clock.monotonic() + seconds
            if until > self._paused_until:
                self._paused_until = until
            # Slots reserved before the pause but due after it keep their order; new ones
            # queue behind both.
            self._tat = max(self._tat, self._paused_until)
