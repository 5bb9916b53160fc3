"""Focused tests: the token bucket on a fake clock, the retry rule, names, the manifest."""

from __future__ import annotations

import email.utils
import heapq
import itertools
import os
import random
import threading
import time

import pytest
import requests
from databricks.sdk.errors import platform as e
from gitsync_wsserver import Fault, Workspace, WorkspaceServer

from gitsync.gitwriter import is_local, push_failure_detail, redact, resolve_remote
from gitsync.manifest import Entry, Manifest, parse_shard, render_shard, shard_of
from gitsync.paths import invalid_name_reason, is_dotgit, quote
from gitsync.ratelimit import TokenBucket
from gitsync.retry import Outcome, RetryBudget, RetryPolicy, classify, parse_retry_after
from gitsync.workspace import Limits, RequestFailedError, make_client
from gitsync.workspace import Workspace as Client


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_bucket_paces_at_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(50.0, clock=clock)
    waits = [bucket.reserve() for _ in range(100)]
    # Reservations are spaced exactly 1/rate apart: 100 requests take 99/50 s.
    assert waits[0] == 0
    assert waits[-1] == pytest.approx(99 / 50)
    assert all(b - a == pytest.approx(0.02) for a, b in itertools.pairwise(waits))


def test_bucket_burst_and_idle() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, burst=5, clock=clock)
    assert [bucket.reserve() for _ in range(5)] == [0, 0, 0, 0, 0]
    assert bucket.reserve() == pytest.approx(0.1)
    clock.now += 60  # idle: credit is capped at the burst, not 600 requests
    assert sum(1 for _ in range(20) if bucket.reserve() < 1e-9) == 5


def test_bucket_pause_holds_every_caller() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60.0, clock=clock)
    # 64 workers reserve their slots, as acquire() does before sleeping until them...
    due = [(bucket.reserve_slot(), i) for i in range(64)]
    heapq.heapify(due)
    # ...then the first request comes back 429 Retry-After: 1.
    clock.now = 0.05
    bucket.pause(1.0)
    sent: list[float] = []
    while due:  # each worker wakes at its slot and asks whether it may go
        slot, worker = heapq.heappop(due)
        clock.now = max(clock.now, slot)
        if bucket.confirm(slot):
            sent.append(clock.now)
        else:
            heapq.heappush(due, (bucket.reserve_slot(), worker))
    assert len(sent) == 64
    assert not [t for t in sent if 0.05 < t < 1.05]  # nobody sent during the pause
    assert all(b - a >= 1 / 60 - 1e-9 for a, b in itertools.pairwise(sorted(sent)))


def test_bucket_acquire_waits_out_a_pause_that_began_while_it_slept() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock=clock)
    bucket.acquire()  # slot 0
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 1:
            bucket.pause(2.0)  # a 429 arrives while this caller sleeps until its slot
        clock.now += seconds

    bucket.acquire(sleep)
    assert clock.now >= 2.0
    assert len(slept) == 2


def test_bucket_many_threads_one_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60.0, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            w = bucket.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(waits) == pytest.approx(399 / 60)
    assert len({round(w, 6) for w in waits}) == 400  # no two requests share a slot


def test_classify() -> None:
    assert classify(e.TooManyRequests("x", retry_after_secs=3)).retry_after == 3
    assert classify(e.TooManyRequests("x")).outcome is Outcome.THROTTLED
    assert classify(e.TemporarilyUnavailable("x")).outcome is Outcome.THROTTLED
    assert classify(e.InternalError("x")).outcome is Outcome.TRANSIENT
    assert classify(e.DeadlineExceeded("x")).outcome is Outcome.TRANSIENT
    assert classify(e.Unauthenticated("x")).outcome is Outcome.AUTH
    assert classify(e.PermissionDenied("x")).outcome is Outcome.FORBIDDEN
    assert (
        classify(e.ResourceDoesNotExist("x", error_code="RESOURCE_DOES_NOT_EXIST")).outcome
        is Outcome.NOT_FOUND
    )
    # Only the service's own "does not exist" is one: a gateway's 404 is retried.
    assert (
        classify(e.NotFound("No API found", error_code="ENDPOINT_NOT_FOUND")).outcome
        is Outcome.TRANSIENT
    )
    assert classify(e.TooManyRequests("x", retry_after_secs=1), 429, 2.5).retry_after == 2.5
    too_big = e.BadRequest(
        "Notebook size exceeded limit: 11 > 10", error_code="MAX_NOTEBOOK_SIZE_EXCEEDED"
    )
    assert classify(too_big).outcome is Outcome.TOO_LARGE
    file_big = e.BadRequest(
        "File size imported is (459418279 bytes), exceeded max size (10485760 bytes)",
        error_code="BAD_REQUEST",
    )
    assert classify(file_big).outcome is Outcome.TOO_LARGE
    assert (
        classify(e.BadRequest("bad", error_code="INVALID_PARAMETER_VALUE")).outcome
        is Outcome.PERMANENT
    )
    assert classify(requests.ConnectionError("reset")).outcome is Outcome.TRANSIENT
    assert classify(requests.ReadTimeout("slow")).outcome is Outcome.TRANSIENT
    assert classify(requests.exceptions.ChunkedEncodingError("cut")).outcome is Outcome.TRANSIENT
    assert classify(ValueError("bug")).outcome is Outcome.PERMANENT
    # Statuses the SDK has no class for arrive as a bare DatabricksError.
    from databricks.sdk.errors.base import DatabricksError

    assert (
        classify(DatabricksError("gw", error_code="BAD_GATEWAY"), 502).outcome is Outcome.TRANSIENT
    )
    assert classify(DatabricksError("no", error_code="NOT_IMPL"), 501).outcome is Outcome.PERMANENT
    assert classify(DatabricksError("odd"), None).outcome is Outcome.PERMANENT


def test_backoff_is_jittered_exponential_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30)
    rng = random.Random(1)
    for attempt, (lo, hi) in {
        1: (0.25, 0.5),
        2: (0.5, 1.0),
        4: (2.0, 4.0),
        10: (15.0, 30.0),
    }.items():
        samples = [policy.backoff(attempt, rng) for _ in range(200)]
        assert lo <= min(samples) and max(samples) <= hi
        assert max(samples) - min(samples) > (hi - lo) / 2  # actually jittered


def test_retry_budget_grows_with_work_and_runs_out() -> None:
    budget = RetryBudget(RetryPolicy(budget_min=2, budget_ratio=0.5))
    assert budget.try_spend() and budget.try_spend()
    assert not budget.try_spend()
    for _ in range(4):
        budget.note_request()
    assert budget.try_spend() and budget.try_spend()
    assert not budget.try_spend()


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("notebook", True),
        ("with space", True),
        ("...", True),
        (".hidden", True),
        ("ünï 日本", True),
        ("", False),
        (".", False),
        ("..", False),
        (".git", False),
        (".GIT", False),
        (".git.", False),
        ("a\ud800b", False),
        ("git~1", False),
        (".g\u200cit", False),
        (".git::$INDEX_ALLOCATION", False),
        ("git~2", True),
        (".github", True),
        ("digit", True),
    ],
)
def test_invalid_names(name: str, ok: bool) -> None:
    assert (invalid_name_reason(name, top_level=False) is None) is ok


@pytest.mark.parametrize(
    "name",
    [
        ".git",
        ".Git",
        ".git . .",
        "GIT~1",
        "git~1.",
        ".git:stream",
        ".git::$INDEX_ALLOCATION",
        "\u200c.git",
        ".g\u200dit",
        ".gi\u206ft\ufeff",
        "a\\.git",
        "a\\b\\GIT~1",
        "x\\.git:y",
    ],
)
def test_names_git_fsck_reads_as_dotgit(name: str) -> None:
    assert is_dotgit(name)


@pytest.mark.parametrize(
    "name", [".gitx", ".git x", "git", "git~10", ".gi", "\u0130.git", ".g\u0131t", "a.git", "\\"]
)
def test_names_git_fsck_accepts(name: str) -> None:
    assert not is_dotgit(name)


def test_reserved_meta_dir_only_at_top() -> None:
    assert invalid_name_reason(".gitsync", top_level=True) is not None
    assert invalid_name_reason(".gitsync", top_level=False) is None


def test_quote() -> None:
    assert quote('a "b"\\c\nd\te') == b'"a \\"b\\"\\\\c\\nd\\011e"'
    assert quote("ü") == '"ü"'.encode()


def test_manifest_roundtrip_and_moves() -> None:
    m = Manifest()
    paths = ["a/b.py", "a/c d.sql", "x/\ttab\n.py", "ü/日本.r"]
    for i, p in enumerate(paths):
        m.set(p, Entry(100 + i, 1_700_000_000_000 + i))
    for shard in {shard_of(p) for p in paths}:
        back = dict(parse_shard(m.render(shard)))
        assert back == {p: m.entries[p] for p in paths if shard_of(p) == shard}
    assert render_shard([]) == b""
    m.set("a/moved.py", Entry(100, 1_700_000_000_000))  # object 100 moved
    assert m.path_of(100) == "a/moved.py"
    m.remove("a/b.py")
    assert m.path_of(100) == "a/moved.py"
    assert shard_of("a/b.py") == shard_of("a/zzz")  # one folder, one shard


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85", "\r", "\x0b", "\x1c"])
def test_manifest_lines_end_at_newline_only(sep: str) -> None:
    entries = [(f"a/x{sep}y.py", Entry(1, 2)), ("a/z.py", Entry(3, 4))]
    assert dict(parse_shard(render_shard(entries))) == dict(entries)


def test_manifest_that_is_not_one_raises_value_error() -> None:
    for bad in (b"garbage\n", b"1\t2\n", b'x\t2\t"a"\n', b"1\t2\t[1]\n", b"\xff\n"):
        with pytest.raises(ValueError):
            list(parse_shard(bad))


def test_redact() -> None:
    assert (
        redact("https://user:tok@github.com/o/r.git failed")
        == "https://***@github.com/o/r.git failed"
    )
    assert redact("/local/path") == "/local/path"
    # A raw "@" in the password: nothing of it may show.
    assert redact("https://u:p@ss@dev.azure.com/o") == "https://***@dev.azure.com/o"
    assert redact("see https://a@b and https://c:d@e/f") == "see https://***@b and https://***@e/f"


@pytest.mark.parametrize(
    ("remote", "local"),
    [
        ("backup.git", True),
        ("./backups/b.git", True),
        ("/srv/git/b.git", True),
        ("~/b.git", True),
        ("dir/with:colon.git", True),  # a slash before the colon: a path, as git says
        ("git@github.com:org/r.git", False),
        ("github.com:org/r.git", False),  # scp-like without a user
        ("backup-host:repos/b.git", False),  # an ssh config alias
        ("https://github.com/org/r.git", False),
        ("ssh://git@host/r.git", False),
        ("file:///srv/git/b.git", False),
    ],
)
def test_local_paths_and_ssh_remotes_are_told_apart_as_git_does(remote: str, local: bool) -> None:
    assert is_local(remote) is local
    # Only a local path is made absolute (the cache key); a remote is left as written.
    assert (resolve_remote(remote) == remote) is (not local or remote.startswith("/"))


def test_push_failure_detail_prefers_the_remotes_words() -> None:
    out = b"To x\n!\tabc:refs/heads/main\t[remote rejected] (unpacker error)\n"
    err = (
        b"remote: error: object 3e96: hasDotgit: contains '.git'\n"
        b"remote: fatal: fsck error in packed object\n"
        b"error: failed to push some refs to 'x'\n"
    )
    assert push_failure_detail(out, err) == (
        "[remote rejected] (unpacker error); remote: error: object 3e96: hasDotgit: contains '.git'"
    )
    assert push_failure_detail(b"", b"fatal: unable to access 'https://u:p@h/': 502\n") == (
        "fatal: unable to access 'https://***@h/': 502"
    )


def test_parse_retry_after() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after(email.utils.formatdate(now + 6, usegmt=True), now) == pytest.approx(6)
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now) == 0.0
    for unreadable in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(unreadable, now) is None


class RecordingClock:
    """A fake clock for the client: sleeps are recorded, not slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [("2", 2.0, 2.4), ("1.5", 1.5, 1.8), ("date+6", 4.5, 7.3), (None, 1.0, 1.2)],
)
def test_retry_after_is_read_by_gitsync_not_the_sdk(
    workspace: Workspace,
    server: WorkspaceServer,
    env: object,
    header: str | None,
    low: float,
    high: float,
) -> None:
    workspace.mkdirs("/Clients")
    value = email.utils.formatdate(time.time() + 6, usegmt=True) if header == "date+6" else header
    server.faults = lambda ep, p, n: (
        Fault("status", 429, "REQUEST_LIMIT_EXCEEDED", "slow", retry_after=value)
        if n == 1
        else None
    )
    clock = RecordingClock()
    client = Client(make_client(http_timeout=5, pool_size=4), Limits(1000, 1000, 1000), clock=clock)
    client.get_status("/Clients")
    waited = sum(clock.slept)
    assert low <= waited <= high


def test_retry_after_beyond_the_cap_fails_the_request(
    workspace: Workspace, server: WorkspaceServer, env: object
) -> None:
    workspace.mkdirs("/Clients")
    server.faults = lambda ep, p, n: Fault(
        "status", 429, "REQUEST_LIMIT_EXCEEDED", "come back tomorrow", retry_after=86400
    )
    clock = RecordingClock()
    client = Client(make_client(http_timeout=5, pool_size=4), Limits(1000, 1000, 1000), clock=clock)
    with pytest.raises(RequestFailedError) as err:
        client.get_status("/Clients")
    assert "86400 s" in str(err.value) and "300 s" in str(err.value)
    assert sum(clock.slept) < 1  # not a day, not even once
    assert server.stats.requests["get-status"] == 1


@pytest.mark.cloud
@pytest.mark.skipif(
    not (os.environ.get("DATABRICKS_HOST") and os.environ.get("DATABRICKS_TOKEN")),
    reason="needs DATABRICKS_HOST and DATABRICKS_TOKEN of a real workspace",
)
def test_real_workspace_preflight() -> None:
    """Against a real workspace: the source folder (GITSYNC_CLOUD_SOURCE, default /Shared) lists."""
    from gitsync.workspace import Limits, Workspace, make_client

    ws = Workspace(make_client(http_timeout=30, pool_size=4), Limits())
    source = os.environ.get("GITSYNC_CLOUD_SOURCE", "/Shared")
    assert ws.get_status(source).object_type is not None
    ws.list_dir(source)


def test_quote_round_trips_non_utf8_paths_from_git() -> None:
    raw = b"caf\xe9.py"  # latin-1 bytes, as a foreign commit may hold
    assert quote(raw.decode("utf-8", "surrogateescape")) == b'"caf\xe9.py"'
