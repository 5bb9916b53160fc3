"""Fault injection: 429 storms, 5xx, dropped connections, truncated bodies, timeouts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import urllib3.response
from gitsync_helpers import SOURCE, Syncer, assert_mirror, branch_files, list_fault
from gitsync_wsserver import HEADERS, Fault, Workspace, WorkspaceServer

from gitsync.errors import EXIT_INCOMPLETE, EXIT_OK
from gitsync.report import Report
from gitsync.retry import RetryPolicy
from gitsync.sync import Options, run
from gitsync.workspace import Limits


def seed(ws: Workspace, n: int = 24) -> None:
    for i in range(n):
        ws.add_notebook(
            f"{SOURCE}/2024/E{i % 4}/NOTEBOOKS/nb {i}", "PYTHON", f"print({i})\n".encode()
        )
    ws.add_file(f"{SOURCE}/2024/E0/data.csv", b"a,b\n1,2\n")


def every(
    k: int, endpoint: str, fault: Fault, limit: int = 10_000
) -> Callable[[str, str, int], Fault | None]:
    """A hook failing every k-th request of ``endpoint``, at most ``limit`` times."""
    lock = threading.Lock()
    fired = [0]

    def hook(ep: str, path: str, n: int) -> Fault | None:
        if ep != endpoint or n % k:
            return None
        with lock:
            if fired[0] >= limit:
                return None
            fired[0] += 1
        return fault

    return hook


def no_hidden_retries(server: WorkspaceServer, report: dict[str, object]) -> None:
    """Every request the server saw is one gitsync counted: the SDK retried nothing behind us."""
    requests = report["requests"]
    assert isinstance(requests, dict)
    for ep in ("list", "export", "get-status"):
        assert server.stats.requests.get(ep, 0) == requests[ep]["requests"], ep


def test_429_storm_honours_retry_after(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace)
    server.log = True
    storm = Fault("status", 429, "REQUEST_LIMIT_EXCEEDED", "rate limited", retry_after="0.3")
    hooks = [every(2, "export", storm, limit=3), every(3, "list", storm, limit=2)]
    server.faults = lambda ep, p, n: hooks[0](ep, p, n) or hooks[1](ep, p, n)
    # One worker per endpoint: the request after a 429 is the one the client held back.
    run = sync("--list-workers", "1", "--export-workers", "1")
    assert run.code == EXIT_OK, run.stderr
    assert run.report["requests"]["export"]["throttled"] == 3
    assert run.report["requests"]["list"]["throttled"] == 2
    assert run.report["counts"]["failed"] == 0
    # On the server's clock: nothing reached the endpoint within Retry-After of a 429.
    for ep in ("export", "list"):
        seen = sorted((e for e in server.stats.log if e.endpoint == ep), key=lambda e: e.received)
        throttled = [i for i, e in enumerate(seen) if e.status == 429]
        assert len(throttled) == run.report["requests"][ep]["throttled"]
        for i in throttled:
            assert seen[i + 1].received - seen[i].answered >= 0.3, (ep, seen[i], seen[i + 1])
    no_hidden_retries(server, run.report)
    assert_mirror(remote, workspace)


def test_5xx_resets_truncation_and_timeouts_are_retried(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace)
    hooks = [
        every(3, "export", Fault("status", 500, "INTERNAL_ERROR", "boom"), limit=5),
        every(5, "export", Fault("status", 503, "TEMPORARILY_UNAVAILABLE", "busy"), limit=1),
        every(4, "list", Fault("reset"), limit=3),
        every(7, "export", Fault("reset"), limit=3),
        every(11, "export", Fault("hang", seconds=2.5), limit=1),
        every(1, "get-status", Fault("status", 502, "BAD_GATEWAY", "proxy"), limit=1),
    ]
    truncated: set[str] = set()

    def hook(ep: str, path: str, n: int) -> Fault | None:
        if ep == "export-body":
            if path not in truncated and len(truncated) < 3:
                truncated.add(path)
                return Fault("truncate")
            return None
        for h in hooks:
            f = h(ep, path, n)
            if f is not None:
                return f
        return None

    server.faults = hook
    # A timeout well above a loopback answer even on a loaded machine, so that the one
    # injected hang is the only timeout and the retry count below is exact.
    run = sync("--http-timeout", "1.5")
    assert run.code == EXIT_OK, run.stderr
    req = run.report["requests"]
    # Every fault that fired is one retry, folder exports and sample checks included.
    fired = sum(n for k, n in server.stats.faults.items() if k.startswith("export:"))
    assert req["export"]["retries"] == fired + len(truncated)
    if sync.mode == "per-notebook":
        # 5 x 500, 1 x 503, 3 resets, 1 timeout, 3 truncated bodies on export.
        assert req["export"]["retries"] == 13 and req["export"]["throttled"] == 1
        assert len(truncated) == 3
    # 3 resets on list.
    assert req["list"]["retries"] == 3 and req["get-status"]["retries"] == 1
    no_hidden_retries(server, run.report)
    assert_mirror(remote, workspace)


def test_object_that_keeps_failing_is_reported_and_old_version_kept(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace)
    assert sync().code == EXIT_OK
    bad = f"{SOURCE}/2024/E1/NOTEBOOKS/nb 1"
    workspace.modify(bad, b"new content\n")
    workspace.modify(f"{SOURCE}/2024/E2/NOTEBOOKS/nb 2", b"also new\n")
    # Its folder's export fails too, or the folder's archive would bring it.
    failing = (bad, bad.rsplit("/", 1)[0])
    always = Fault("status", 500, "INTERNAL_ERROR", "always")
    server.faults = lambda ep, p, n: always if ep == "export" and p in failing else None
    run = sync("--max-attempts", "3")
    assert run.code == EXIT_INCOMPLETE
    assert run.stdout.startswith("gitsync incomplete:")
    assert run.report["status"] == "incomplete"
    assert run.report["counts"]["failed"] == 1
    assert [p["path"] for p in run.report["problems"]] == [bad]
    assert run.report["requests"]["export"]["retries"] == (2 if sync.mode == "per-notebook" else 4)
    files = branch_files(remote)
    # The previous version is kept.
    assert files["2024/E1/NOTEBOOKS/nb 1.py"] == HEADERS["PYTHON"] + b"print(1)\n"
    assert files["2024/E2/NOTEBOOKS/nb 2.py"] == HEADERS["PYTHON"] + b"also new\n"
    # Once the service recovers, the next run catches up.
    server.faults = None
    again = sync()
    assert again.code == EXIT_OK
    assert again.report["counts"]["modified"] == 1
    assert_mirror(remote, workspace)


def test_unlistable_folder_protects_its_files_from_deletion(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace)
    assert sync().code == EXIT_OK
    broken = f"{SOURCE}/2024/E3"
    server.faults = list_fault(broken, Fault("status", 500, "INTERNAL_ERROR", "down"))
    workspace.delete(f"{SOURCE}/2024/E0/NOTEBOOKS/nb 0")
    run = sync("--max-attempts", "2")
    assert run.code == EXIT_INCOMPLETE
    assert run.report["counts"]["deleted"] == 1  # the real deletion, nothing under E3
    assert any(p.startswith("2024/E3/") for p in branch_files(remote))
    assert run.report["problems"][0]["kind"] == "list_failed"
    server.faults = None
    assert sync().code == EXIT_OK
    assert_mirror(remote, workspace)


def test_retry_budget_bounds_a_dying_service(
    workspace: Workspace, server: WorkspaceServer, remote: Path, env: Path, export_mode: str
) -> None:
    seed(workspace, n=8)
    server.faults = lambda ep, p, n: (
        Fault("status", 500, "INTERNAL_ERROR", "dead") if ep == "export" else None
    )
    # A budget of 5 retries for the whole run, where 8 attempts per request would allow
    # 9 x 7 retries: the budget, not the per-request limit, must end it.
    policy = RetryPolicy(
        max_attempts=8, budget_min=5, budget_ratio=0.0, base_delay=0.01, max_delay=0.02
    )
    opts = Options(
        source=SOURCE,
        repo=str(remote),
        limits=Limits(2000, 2000, 2000),
        policy=policy,
        list_workers=4,
        export_workers=4,
        export_mode="folder" if export_mode == "folder" else "per-notebook",
    )
    report = run(opts, Report(SOURCE, str(remote), "main"))
    assert report.counts.failed == 9
    # Each folder export failed too (then each notebook, one by one).
    folders = report.export_modes["folder_requests"]
    assert folders == (4 if export_mode == "folder" else 0)
    assert report.requests["export"]["requests"] == folders + 9 + 5
    assert report.requests["export"]["retries"] == 5
    no_hidden_retries(server, report.as_dict())
    # Nothing could be exported: the branch holds the manifest and state, and no file.
    assert [p for p in branch_files(remote) if not p.startswith(".gitsync/")] == []


@pytest.fixture
def urllib3_1x(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib3 as 1.x behaves (Databricks runtimes 12.2 to 15.4 LTS ship it): a body
    shorter than its Content-Length is returned as if complete."""
    original = urllib3.response.HTTPResponse.__init__

    def init(self: urllib3.response.HTTPResponse, *args: Any, **kwargs: Any) -> None:
        kwargs["enforce_content_length"] = False
        original(self, *args, **kwargs)

    monkeypatch.setattr(urllib3.response.HTTPResponse, "__init__", init)


def test_body_cut_short_with_a_clean_close_is_retried(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer, urllib3_1x: None
) -> None:
    for i in range(3):
        workspace.add_notebook(f"{SOURCE}/2024/E/nb{i}", "PYTHON", (b"line %d\n" % i) * 500)
    workspace.add_file(f"{SOURCE}/2024/E/data.csv", b"a,b\n" * 1000)
    cut: set[str] = set()

    def hook(ep: str, path: str, n: int) -> Fault | None:
        # A proxy closing the stream half way (FIN, no reset), once per object.
        if ep == "export-body" and path not in cut:
            cut.add(path)
            return Fault("truncate-fin")
        return None

    server.faults = hook
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    # Per folder: the folder's archive, the file and the sample check were cut.
    assert len(cut) == (4 if sync.mode == "per-notebook" else 2 + 1)
    assert run.report["requests"]["export"]["retries"] == len(cut)
    assert_mirror(remote, workspace)  # every file whole, none of the halves committed


def test_gateway_404_on_a_folder_keeps_its_files(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace)
    assert sync().code == EXIT_OK
    broken = f"{SOURCE}/2024/E1"
    # Something in front of the service answers 404 for one folder: proves nothing.
    server.faults = list_fault(broken, Fault("status", 404, "ENDPOINT_NOT_FOUND", "No API found"))
    run = sync("--max-attempts", "2")
    assert run.code == EXIT_INCOMPLETE
    assert run.report["counts"]["deleted"] == 0
    assert [(p["path"], p["kind"]) for p in run.report["problems"]] == [(broken, "list_failed")]
    assert sum(1 for p in branch_files(remote) if p.startswith("2024/E1/")) == 6
    server.faults = None
    assert sync().code == EXIT_OK
    assert_mirror(remote, workspace)


def test_folder_said_missing_but_still_there_is_kept(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace)
    assert sync().code == EXIT_OK
    flaky = f"{SOURCE}/2024/E2"
    server.faults = list_fault(
        flaky, Fault("status", 404, "RESOURCE_DOES_NOT_EXIST", f"Path ({flaky}) doesn't exist.")
    )
    run = sync()
    assert run.code == EXIT_INCOMPLETE  # get-status found it: never emptied on one answer
    assert run.report["counts"]["deleted"] == 0
    assert sum(1 for p in branch_files(remote) if p.startswith("2024/E2/")) == 6
    assert_mirror(remote, workspace)  # nothing lost, nothing else touched
    # Once the folder answers again, the next run settles it.
    server.faults = None
    assert sync().code == EXIT_OK
    assert_mirror(remote, workspace)


def test_folder_deleted_during_the_walk_is_deleted(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace)
    assert sync().code == EXIT_OK
    gone = f"{SOURCE}/2024/E3"

    def delete_when_listed(ep: str, path: str, n: int) -> Fault | None:
        if ep == "list" and path == gone and workspace.get(gone) is not None:
            workspace.delete(gone)  # listed by its parent, gone by the time it is listed
        return None

    server.faults = delete_when_listed
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert run.report["counts"]["deleted"] == 6
    assert_mirror(remote, workspace)


def test_moved_and_edited_object_that_fails_keeps_its_old_version(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    base = f"{SOURCE}/2024/E"
    workspace.add_notebook(f"{base}/report", "PYTHON", b"v1\n")
    workspace.add_notebook(f"{base}/other", "PYTHON", b"o\n")
    assert sync().code == EXIT_OK
    workspace.move(f"{base}/report", f"{base}/report final")
    workspace.modify(f"{base}/report final", b"v2\n")
    server.faults = lambda ep, p, n: (
        Fault("status", 500, "INTERNAL_ERROR", "x") if ep == "export" else None
    )
    run = sync("--max-attempts", "1")
    assert run.code == EXIT_INCOMPLETE
    assert run.report["counts"]["deleted"] == 0
    files = branch_files(remote)
    assert files["2024/E/report.py"] == HEADERS["PYTHON"] + b"v1\n"  # its previous version stays
    assert "2024/E/report final.py" not in files
    server.faults = None
    again = sync()
    assert again.code == EXIT_OK
    assert again.report["counts"]["moved"] == 1
    assert_mirror(remote, workspace)
