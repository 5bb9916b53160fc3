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

Not every 429 is about our rate: a gateway that sheds a random share of requests (or a
limiter shared with tools whose load comes and goes) answers the same share of 429s
whatever gitsync sends, and slowing down then only loses throughput. So every decrease
is checked against what gets through (the rate less its 429s): rate-driven 429s leave it
unchanged (it is the workspace's grant), rate-blind ones make it fall with the rate. If
twice in a row a decrease lost throughput, the decreases are undone and that share of
429s is taken as noise: windows whose share stays within the noise's spread (half the
noise again, or two standard deviations of the window's sample) count as quiet. A share
above that is rate-driven again and the rate goes down. (Just below the grant a
rate-driven share also loses throughput when cut, so a few points of "noise" can be
learned there; the rate then settles up to about a sixth above the grant.)
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

# Answers a window needs before its share of 429s is acted on (see ``record``).
_MIN_ANSWERS = 30


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
        self._noise = 0.0  # share of 429s seen not to depend on our rate
        self._noise_cap = 0.0
        # The last decrease: the rate before it and what got through at that rate.
        self._last_cut: tuple[float, float] | None = None
        self._strikes = 0  # decreases in a row after which the share of 429s did not fall
        self._undo_to = rate
        self._chain: tuple[float, float] | None = None  # (rate, goodput) before a run of cuts
        self._cut_at = float("-inf")  # when the rate was last lowered (or a cut undone)
        self.lowest = rate
        self.decreases = 0

    def _set_rate(self, rate: float) -> None:
        self.rate = rate
        self._interval = 1.0 / rate
        self._tolerance = max(0.0, self._burst - 1.0) * self._interval

    def record(self, *, throttled: bool, sent_at: float | None = None) -> None:
        """One answer from the endpoint (429/503 or not) to a request sent at ``sent_at``
        (monotonic); adapt the rate once per window.

        Counting per window, not per 429, is what keeps the decrease proportionate. And
        answers to requests sent before the last decrease are left out: they say how the
        old rate fared, and would make the check of the decrease (``_adapt``) read the
        old rate's 429s as the new one's.
        """
        with self._lock:
            now = self._clock.monotonic()
            if sent_at is not None and sent_at < self._cut_at:
                return
            if self._window_start is None:
                self._window_start = now
            self._answered += 1
            self._throttled += throttled
            elapsed = now - self._window_start
            # A window needs enough answers for its share of 429s to mean something (30:
            # +-8 points at a 25% share); at a low rate it grows, up to ten windows.
            if elapsed < self._window or (
                self._answered < _MIN_ANSWERS and elapsed < 10 * self._window
            ):
                return
            self._adapt(self._throttled / self._answered, self._answered)
            self._window_start = now
            self._answered = 0
            self._throttled = 0

    def _adapt(self, share: float, answered: int) -> None:
        """The end of a window: ``share`` of its ``answered`` answers were 429s."""
        noise = self._noise
        # Half the noise again, two standard deviations of a share of ``answered``, or two
        # points, whichever is widest: a noisy window must not read as rate-driven.
        spread = max(0.5 * noise, 2.0 * math.sqrt(noise * (1.0 - noise) / answered), 0.02)
        tolerated = noise + spread if noise else 0.0
        if share <= tolerated:  # quiet, or 429s at the level that does not follow our rate
            # The noise follows the share (a window that learned it may have been low),
            # but never past 1.5 times what was learned: a rate-driven share growing as we
            # climb inside the band must not raise the band with it. A window without any
            # 429 wears it down: once they are gone, the next ones are judged afresh.
            if share:
                self._noise = min(self._noise_cap, 0.8 * self._noise + 0.2 * share)
            else:
                self._noise *= 0.8
            if self._last_cut is not None and noise:
                # One window over the band, then back in it: with a known noise level that
                # was a stray window. Take the decrease back at once (were the 429s
                # rate-driven after all, the next window says so, and the rate goes down).
                self._set_rate(max(self.rate, self._last_cut[0]))
                self._cut_at = self._clock.monotonic()
            self._last_cut = None
            self._chain = None
            self._strikes = 0
            if self.rate < self.ceiling:
                step = max(self.rate * self._increase, self._min_increase)
                self._set_rate(min(self.ceiling, self.rate + step))
            return
        # What got through in this window: the rate it was sent at, less the 429s.
        goodput = (1.0 - share) * self.rate
        cut = self._last_cut
        if cut is not None and answered >= 10:
            if self._lost_throughput(goodput, cut):
                self._strikes += 1
                if self._strikes == 1:
                    self._undo_to = cut[0]  # the rate before the first useless cut
            else:
                self._strikes = 0
        if self._strikes >= 2:
            # Twice, slowing down only lost throughput: these 429s do not come from our
            # rate. (Once could be the server's burst flattering the window before the
            # cut.) Undo those two decreases, or the whole run of them if all of it lost
            # throughput (a chance window can hide a useless cut), and tolerate this share
            # from now on.
            self._noise = share
            self._noise_cap = 1.5 * share
            undo_to = self._undo_to
            if self._chain is not None and self._lost_throughput(goodput, self._chain):
                undo_to = max(undo_to, self._chain[0])
            self._set_rate(undo_to)
            self._chain = None
            self._last_cut = None
            self._strikes = 0
            self._cut_at = self._clock.monotonic()
            return
        if self._chain is None:
            # The first decrease of a run is not checked: its window may have had the
            # workspace's burst (its bucket fills while we are quiet), more than the grant.
            self._last_cut = (self.rate, -math.inf)
            self._chain = (self.rate, -math.inf)
        else:
            self._last_cut = (self.rate, goodput)
            if self._chain[1] == -math.inf:
                self._chain = (self.rate, goodput)  # where the checked run of decreases began
        self._set_rate(max(self._min_rate, self.rate * (1.0 - share / 2.0)))
        self._cut_at = self._clock.monotonic()
        self.decreases += 1
        self.lowest = min(self.lowest, self.rate)

    def _lost_throughput(self, goodput: float, before: tuple[float, float]) -> bool:
        """Whether slowing down from ``before`` (rate, goodput) to the current rate lost
        throughput. A rate-driven 429 share falls when we slow down and as much gets
        through (the workspace's grant); a share that does not follow our rate stays, and
        what gets through falls with the rate. Halfway between is the line."""
        before_rate, before_goodput = before
        return goodput < before_goodput * (1.0 + self.rate / before_rate) / 2.0

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
