"""Bad answers from the workspace and bad arguments (issue #13): what gitsync refuses.

An export that is not what was asked for, a run that mirrored nothing, a source spelled
two ways, names no file system takes, a folder listed empty by mistake, a 429 storm.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
from gitsync_helpers import (
    SOURCE,
    Syncer,
    assert_mirror,
    branch_files,
    git,
    list_fault,
)
from gitsync_wsserver import HEADERS, Fault, Workspace, WorkspaceServer

from gitsync.cli import main as gitsync_main
from gitsync.errors import EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE

LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    b"<body><form action='/login'>...</form></body></html>\n"
)


def seed(ws: Workspace, folders: int = 2, per_folder: int = 12) -> None:
    for f in range(folders):
        for i in range(per_folder):
            ws.add_notebook(f"{SOURCE}/2024/E{f}/NOTEBOOKS/nb {i}", "PYTHON", b"print(%d)\n" % i)
    ws.add_file(f"{SOURCE}/2024/E0/data.csv", b"a,b\n1,2\n")


def tags(remote: Path) -> list[str]:
    return git(remote, "tag", "--list").decode().split()


# --------------------------------------------------------------------------- exports


@pytest.mark.parametrize(
    "fault",
    [
        # A proxy's or SSO gateway's login page, answered 200 where the export was asked.
        Fault("body", 200, content_type="text/html; charset=utf-8", body=LOGIN_PAGE),
        # The same page without an honest Content-Type: the notebook header gives it away.
        Fault("body", 200, content_type="application/octet-stream", body=LOGIN_PAGE),
        # A JSON body where raw bytes were asked (direct_download ignored by something).
        Fault("body", 200, content_type="application/json", body=b"{}"),
    ],
    ids=["html", "html-as-octet-stream", "json"],
)
# The faults below hit the per-notebook export of one path; what folder export does with a
# bad archive is tests/gitsync/test_gitsync_folder_export.py's.
@pytest.mark.parametrize("export_mode", ["per-notebook"])
def test_an_export_that_is_not_the_notebook_is_never_committed(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer, fault: Fault
) -> None:
    seed(workspace)
    assert sync().code == EXIT_OK
    target = f"{SOURCE}/2024/E1/NOTEBOOKS/nb 3"
    workspace.modify(target, b"print('v2')\n")
    workspace.modify(f"{SOURCE}/2024/E0/NOTEBOOKS/nb 0", b"print('also v2')\n")
    server.faults = lambda ep, p, n: fault if ep == "export" and p == target else None
    run = sync("--max-attempts", "3")
    assert run.code == EXIT_INCOMPLETE, run.stderr
    (problem,) = run.report["problems"]
    assert problem["path"] == target and problem["kind"] == "failed"
    assert problem["reason"].startswith("unexpected export: ")
    assert run.report["requests"]["export"]["retries"] == 2  # retried, then given up
    files = branch_files(remote)
    assert files["2024/E1/NOTEBOOKS/nb 3.py"] == HEADERS["PYTHON"] + b"print(3)\n"  # old one
    assert not any(b"<html>" in data or data == b"{}" for data in files.values())
    # The proxy goes away: the next run exports it (the bad body never reached the
    # manifest, so its modified_at is not taken as already mirrored).
    server.faults = None
    again = sync()
    assert again.code == EXIT_OK, again.stderr
    assert again.report["counts"]["modified"] == 1
    assert_mirror(remote, workspace)


def test_a_file_whose_body_is_not_its_listed_size_is_retried_then_reported(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace)
    target = f"{SOURCE}/2024/E0/data.csv"
    server.faults = lambda ep, p, n: (
        Fault("body", 200, content_type="application/octet-stream", body=b"<html>no</html>")
        if ep == "export" and p == target and n <= 30
        else None
    )
    run = sync("--max-attempts", "2")
    assert run.code == EXIT_INCOMPLETE
    (problem,) = run.report["problems"]
    assert problem["path"] == target and "the listing said 8" in problem["reason"]
    assert "2024/E0/data.csv" not in branch_files(remote)
    server.faults = None
    assert sync().code == EXIT_OK
    assert_mirror(remote, workspace)


def test_a_run_whose_every_export_failed_is_not_tagged(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace, folders=1, per_folder=3)
    server.faults = lambda ep, p, n: (
        Fault("body", 200, content_type="text/html", body=LOGIN_PAGE) if ep == "export" else None
    )
    run = sync("--max-attempts", "2")
    assert run.code == EXIT_INCOMPLETE
    assert run.report["counts"]["failed"] == 4
    assert run.report["tag"] is None
    assert "not tagged" in run.stdout
    assert tags(remote) == []
    # The branch exists (gitsync's state), with no notebook in it.
    assert {p for p in branch_files(remote) if not p.startswith(".gitsync/")} == set()
    server.faults = None
    ok = sync()
    assert ok.code == EXIT_OK and ok.report["tag"]
    assert tags(remote) == [ok.report["tag"]]
    assert_mirror(remote, workspace)
    # A run that changed nothing and failed nothing is still tagged: it verified the mirror.
    assert sync().report["tag"]


# --------------------------------------------------------------------------- --source


def test_source_with_a_trailing_slash_is_the_same_folder(
    workspace: Workspace, remote: Path, sync: Syncer
) -> None:
    seed(workspace, folders=1, per_folder=2)
    first = sync(source=f"{SOURCE}/")
    assert first.code == EXIT_OK, first.stderr
    assert first.report["source"] == SOURCE
    assert b'"source": "/Clients"' in branch_files(remote)[".gitsync/state.json"]
    for spelling in (f"{SOURCE}//", SOURCE, f"/{SOURCE}"):
        run = sync(source=spelling)
        assert run.code == EXIT_OK, run.stderr
    assert_mirror(remote, workspace)


def test_a_branch_recorded_with_a_trailing_slash_is_repaired(
    workspace: Workspace, remote: Path, sync: Syncer, tmp_path: Path
) -> None:
    seed(workspace, folders=1, per_folder=2)
    assert sync().code == EXIT_OK
    # What an older gitsync wrote for --source /Clients/: the state says "/Clients/".
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(remote), str(work))
    state = work / ".gitsync" / "state.json"
    state.write_text(state.read_text().replace('"/Clients"', '"/Clients/"'))
    git(work, "-c", "user.name=old", "-c", "user.email=o@o", "commit", "-qam", "old gitsync")
    git(work, "push", "-q", "origin", "main")
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert b'"source": "/Clients"' in branch_files(remote)[".gitsync/state.json"]
    assert_mirror(remote, workspace)


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("Clients", "is not absolute"),
        ("/", "is the workspace root"),
        ("//", "is the workspace root"),
        ("/Clients/../Users", "'..'"),
        ("/Clients/./x", "'.'"),
        ("/Clients\n", "control character"),
    ],
)
def test_bad_source_is_refused_before_any_request(
    source: str, says: str, server: WorkspaceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        gitsync_main(["run", "--source", source, "--repo", "x"])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "argument --source: " in err and says in err and "Traceback" not in err
    assert server.stats.requests == {}


def test_the_root_only_with_allow_root(workspace: Workspace, remote: Path, sync: Syncer) -> None:
    workspace.add_notebook("/Users/a@example.com/nb", "SQL", b"select 1\n")
    run = sync("--allow-root", source="/")
    assert run.code == EXIT_OK, run.stderr
    assert set(branch_files(remote)) >= {"Users/a@example.com/nb.sql"}


# --------------------------------------------------------------------------- names


def test_names_a_file_system_cannot_hold_are_reported_and_the_backup_clones(
    workspace: Workspace, remote: Path, sync: Syncer, tmp_path: Path
) -> None:
    base = f"{SOURCE}/2024/E/NOTEBOOKS"
    long_nb = "n" * 253  # + ".py": 256 bytes
    long_dir = "é" * 128  # 256 bytes in UTF-8, 128 characters
    wide = "ü" * 126 + "x"  # 127 characters, but 253 bytes: + ".py" is 256
    ok = "o" * 252  # + ".py": 255 bytes, the most a name may have
    workspace.add_notebook(f"{base}/{long_nb}", "PYTHON", b"1\n")
    workspace.add_notebook(f"{base}/{long_dir}/inner", "PYTHON", b"2\n")
    workspace.add_notebook(f"{base}/{wide}", "PYTHON", b"3\n")
    workspace.add_notebook(f"{base}/{ok}", "PYTHON", b"4\n")
    workspace.add_file(f"{base}/short.txt", b"5\n")
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    problems = {p["path"]: p for p in run.report["problems"]}
    assert {path: p["kind"] for path, p in problems.items()} == {
        f"{base}/{long_nb}": "invalid_name",
        f"{base}/{long_dir}": "invalid_name",
        f"{base}/{wide}": "invalid_name",
    }
    assert "256 bytes long in UTF-8" in problems[f"{base}/{long_nb}"]["reason"]
    rel = "2024/E/NOTEBOOKS"
    assert_mirror(
        remote,
        workspace,
        missing=[f"{rel}/{long_nb}.py", f"{rel}/{long_dir}/inner.py", f"{rel}/{wide}.py"],
    )
    # What the names are for: the backup checks out on this machine's file system.
    clone = subprocess.run(
        ["git", "clone", "-q", str(remote), str(tmp_path / "checkout")],
        capture_output=True,
        check=False,
    )
    assert clone.returncode == 0, clone.stderr
    assert (tmp_path / "checkout" / rel / f"{ok}.py").read_bytes() == HEADERS["PYTHON"] + b"4\n"


# --------------------------------------------------------------------------- empty listings


EMPTY = Fault("body", 200, content_type="application/json", body=b"{}")


def test_a_folder_listed_empty_by_mistake_keeps_its_files(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace, folders=4, per_folder=12)  # 49 files: one folder is a quarter
    assert sync().code == EXIT_OK
    before = branch_files(remote)
    folder = f"{SOURCE}/2024/E2/NOTEBOOKS"
    server.log = True
    server.faults = list_fault(folder, EMPTY)  # 200 {} for this folder only
    run = sync()
    assert run.code == EXIT_INCOMPLETE, run.stderr
    (problem,) = run.report["problems"]
    assert problem["path"] == folder and problem["kind"] == "list_failed"
    assert "listed empty twice" in problem["reason"] and "--allow-mass-delete" in problem["reason"]
    assert run.report["counts"]["deleted"] == 0
    assert branch_files(remote) == before
    asked = [e for e in server.stats.log if e.endpoint == "list" and e.path == folder]
    assert len(asked) == 2  # asked again before deciding
    # Really emptied (the human checked): --allow-mass-delete lets it go.
    for i in range(12):
        workspace.delete(f"{folder}/nb {i}")
    server.faults = None
    kept = sync()
    assert kept.code == EXIT_INCOMPLETE and kept.report["counts"]["deleted"] == 0
    allowed = sync("--allow-mass-delete")
    assert allowed.code == EXIT_OK and allowed.report["counts"]["deleted"] == 12
    assert_mirror(remote, workspace)


def test_one_empty_answer_is_asked_again(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace, folders=2, per_folder=3)
    assert sync().code == EXIT_OK
    folder = f"{SOURCE}/2024/E1/NOTEBOOKS"
    fired = threading.Event()

    def once(ep: str, path: str, n: int) -> Fault | None:
        if ep == "list" and path == folder and not fired.is_set():
            fired.set()
            return EMPTY
        return None

    server.faults = once
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert fired.is_set() and run.report["counts"]["deleted"] == 0
    assert_mirror(remote, workspace)


def test_a_small_folder_emptied_for_real_is_emptied(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace, folders=3, per_folder=3)
    assert sync().code == EXIT_OK
    folder = f"{SOURCE}/2024/E1/NOTEBOOKS"
    for i in range(3):
        workspace.delete(f"{folder}/nb {i}")
    run = sync()  # 3 files, under --max-folder-delete 10: an ordinary edit
    assert run.code == EXIT_OK, run.stderr
    assert run.report["counts"]["deleted"] == 3
    assert_mirror(remote, workspace)


# --------------------------------------------------------------------------- 429 storm


@pytest.mark.parametrize("export_mode", ["per-notebook"])  # one export per notebook path
def test_a_429_holds_back_its_request_not_every_worker(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace, folders=4, per_folder=12)
    server.log = True
    lock = threading.Lock()
    throttled: set[str] = set()

    def storm(ep: str, path: str, n: int) -> Fault | None:
        # The first export of every fourth notebook is told to come back in 1 s.
        if ep != "export" or not path.endswith(("nb 0", "nb 4", "nb 8")):
            return None
        with lock:
            if path in throttled:
                return None
            throttled.add(path)
        return Fault("status", 429, "REQUEST_LIMIT_EXCEEDED", "slow down", retry_after="1")

    server.faults = storm
    run = sync("--export-workers", "4")
    assert run.code == EXIT_OK, run.stderr
    exports = sorted(
        (e for e in server.stats.log if e.endpoint == "export"), key=lambda e: e.received
    )
    first_429 = next(e for e in exports if e.status == 429)
    # Other workers went on inside the Retry-After of that 429 (before: the whole endpoint
    # was paused for it, and nothing reached the server for a second).
    during = [
        e
        for e in exports
        if e.status == 200 and first_429.answered < e.received < first_429.answered + 1.0
    ]
    assert during, "every worker stopped for one request's Retry-After"
    # ...while the throttled request itself waited its Retry-After.
    for e in exports:
        if e.status == 429:
            retry = next(x for x in exports if x.path == e.path and x.received > e.answered)
            assert retry.received - e.answered >= 1.0
    assert run.report["requests"]["export"]["throttled"] == 12
    assert run.report["requests"]["export"]["rate_decreases"] >= 1
    assert_mirror(remote, workspace)
