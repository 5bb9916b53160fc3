"""Property-based tests (Hypothesis), bounded: max_examples and a deadline per test.

- every ``--source`` spelling is refused or becomes one canonical folder;
- every name gitsync accepts can be created on this machine's file system, and every name
  refused for its length cannot;
- an export is accepted exactly when it starts with its language's notebook header;
- the adaptive rate settles near whatever rate the workspace grants.
"""

from __future__ import annotations

import errno
import os
import random
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from databricks.sdk.service.workspace import Language
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gitsync.exportcheck import NOTEBOOK_HEADERS, check_export
from gitsync.paths import MAX_NAME_BYTES, invalid_name_reason, normalize_source
from gitsync.ratelimit import TokenBucket
from gitsync.retry import UnexpectedExportError

BOUNDED = settings(
    max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

_path_chars = st.sampled_from(["/", "/", "/", ".", "..", "a", "Clients", " ", "é", "日", "\n", ""])


@BOUNDED
@given(st.lists(_path_chars, max_size=12).map("".join), st.booleans())
def test_a_source_is_refused_or_canonical(text: str, allow_root: bool) -> None:
    try:
        source = normalize_source(text, allow_root=allow_root)
    except ValueError as err:
        assert "\n" not in str(err) or "\n" in text  # the reason quotes the input only
        return
    assert source.startswith("/")
    assert "//" not in source
    assert source == "/" or not source.endswith("/")
    assert source != "/" or allow_root
    parts = source.split("/")[1:]
    assert not {".", ".."} & set(parts)
    # Canonical: one folder, one spelling, whatever slashes were added.
    assert normalize_source(source, allow_root=True) == source
    assert normalize_source(source + "/", allow_root=True) == source
    assert normalize_source("/" + source, allow_root=True) == source


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="gitsync-names-") as tmp:
        yield Path(tmp)


_names = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=60, max_size=140),
    st.integers(200, 300).map(lambda n: "n" * n),
    st.tuples(st.integers(80, 130), st.sampled_from(["é", "日", "😀"])).map(lambda t: t[1] * t[0]),
)


@BOUNDED
@given(_names)
def test_an_accepted_name_can_be_checked_out(scratch: Path, name: str) -> None:
    """What a clone does with a tree entry: create a file of that name. Accepted names
    must work; names refused for their length must not (ENAMETOOLONG)."""
    reason = invalid_name_reason(name, top_level=False)
    if reason is None:
        assert 0 < len(name.encode("utf-8")) <= MAX_NAME_BYTES
        target = scratch / name
        fd = os.open(target, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        target.unlink()
    elif "bytes long" in reason:
        assert len(name.encode("utf-8")) > MAX_NAME_BYTES
        with pytest.raises(OSError) as err:
            os.open(scratch / name, os.O_CREAT | os.O_WRONLY, 0o600)
        assert err.value.errno == errno.ENAMETOOLONG


@BOUNDED
@given(
    st.sampled_from(sorted(NOTEBOOK_HEADERS, key=lambda lang: lang.value)),
    st.binary(max_size=80),
    st.sampled_from([None, "application/octet-stream", "text/plain", "text/html"]),
)
def test_a_notebook_export_is_accepted_exactly_with_its_header(
    language: Language, body: bytes, content_type: str | None
) -> None:
    header = NOTEBOOK_HEADERS[language]
    for data in (body, header + b"\n" + body, header + b"\r\n" + body, header):
        first_line = data.split(b"\n", 1)[0].removesuffix(b"\r")
        want = first_line == header and content_type != "text/html"
        try:
            check_export(
                "/x/nb",
                notebook=True,
                language=language,
                head=data[:64],
                size=len(data),
                content_type=content_type,
                listed_size=None,
            )
        except UnexpectedExportError as err:
            assert not want, err
        else:
            assert want


class _Clock:
    now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _run(
    bucket: TokenBucket, clock: _Clock, refuse: Callable[[float], bool], seconds: float = 180.0
) -> list[float]:
    """Requests at the bucket's rate for ``seconds``; ``refuse(t)`` says whether the one
    sent at ``t`` is answered 429 (no latency). The rate at the end of each second."""
    rates: list[float] = []
    next_second = 1.0
    while clock.now < seconds:
        clock.now += 1.0 / bucket.rate
        bucket.record(throttled=refuse(clock.now), sent_at=clock.now)
        if clock.now >= next_second:
            rates.append(bucket.rate)
            next_second += 1.0
    return rates


class _Limiter:
    """The workspace's side: a token bucket of ``rate`` (one second of burst, as the test
    server's) that refuses what is above it."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.last = 0.0

    def refuse(self, t: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (t - self.last) * self.rate)
        self.last = t
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return False
        return True


@settings(max_examples=40, deadline=2000)
@given(st.floats(0.05, 1.0), st.floats(1.0, 500.0))
def test_the_adaptive_rate_settles_near_the_granted_rate(share: float, ceiling: float) -> None:
    """A workspace granting ``share`` of the configured rate answers 429 to the requests
    above it (the rate-based storm)."""
    clock = _Clock()
    bucket = TokenBucket(ceiling, clock=clock)
    granted = share * ceiling
    assume(granted >= 2.0)
    rates = _run(bucket, clock, _Limiter(granted).refuse)
    settled = sum(rates[90:]) / len(rates[90:])
    # Close to what is granted (the floor is what the workspace allows), never far above:
    # it keeps probing upward a little, which is how it notices the budget coming back,
    # and a share of 429s within the sampling noise of a window is not acted on.
    assert 0.85 * granted <= settled <= max(1.3 * granted, granted + 2.0), (granted, settled)


@settings(max_examples=40, deadline=2000)
@given(st.floats(0.02, 0.7), st.floats(20.0, 500.0), st.integers(0, 2**32))
def test_random_429s_do_not_drag_the_rate_down(p: float, ceiling: float, seed: int) -> None:
    """A gateway answering 429 to a random share ``p`` of requests, whatever the rate:
    slowing down would not help, so the rate stays near the ceiling (goodput is then
    (1 - p) x ceiling, the most there is). Up to 70%: when nine in ten are refused at
    random, too few get through to tell a random share from a rate-driven one every
    time."""
    rng = random.Random(seed)
    clock = _Clock()
    bucket = TokenBucket(ceiling, clock=clock)
    rates = _run(bucket, clock, lambda t: rng.random() < p)
    settled = sum(rates[30:]) / len(rates[30:])
    # Now and then a window's share of 429s strays high enough to cost one decrease.
    assert settled >= 0.8 * ceiling, (p, ceiling, settled, rates[:10])
