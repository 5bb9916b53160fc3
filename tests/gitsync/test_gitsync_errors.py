"""Clear one-line errors and non-zero exits: host, token, folder, repository, arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gitsync_githttp import GitHttpServer
from gitsync_helpers import (
    SOURCE,
    Syncer,
    assert_mirror,
    branch_files,
    git,
    manifest_of,
    pre_receive_hook,
)
from gitsync_wsserver import HEADERS, Fault, Workspace, WorkspaceServer

import gitsync.sync
from gitsync.cli import main as gitsync_main
from gitsync.errors import EXIT_FATAL, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE
from gitsync.gitwriter import credential_scope, git_env


def one_line_error(run_stderr: str, *needles: str) -> None:
    lines = run_stderr.strip().splitlines()
    assert len(lines) == 1, run_stderr  # no traceback, no SDK warning
    assert lines[0].startswith("gitsync: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def seeded(workspace: Workspace) -> Workspace:
    for i in range(3):
        workspace.add_notebook(f"{SOURCE}/2024/E/NOTEBOOKS/nb {i}", "SQL", f"select {i}\n".encode())
    return workspace


def test_unreachable_host(seeded: Workspace, sync: Syncer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", "http://127.0.0.1:9")  # discard port: nothing listens
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "cannot reach workspace http://127.0.0.1:9")
    assert run.report["status"] == "error"


@pytest.mark.parametrize("status", [401, 403])
def test_bad_token(
    seeded: Workspace,
    server: WorkspaceServer,
    sync: Syncer,
    status: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.auth_status = status
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "refused the credentials", "Invalid access token")
    assert "dapi-wrong" not in run.stderr


def test_token_revoked_mid_run_keeps_checkpoints(
    seeded: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    for i in range(20):
        seeded.add_notebook(f"{SOURCE}/2024/F/NOTEBOOKS/nb {i}", "PYTHON", b"x\n")
    exports = [0]
    # Per folder, the first folder export and its sample check go through: that is
    # already 3 or 20 notebooks, a checkpoint each with --chunk-size 1.
    revoke_after, chunk = (10, "4") if sync.mode == "per-notebook" else (2, "1")

    def revoke_after_n_exports(ep: str, path: str, n: int) -> Fault | None:
        if ep == "export":
            exports[0] = n
        # A revoked token is refused everywhere, the source folder included.
        if exports[0] > revoke_after:
            return Fault("status", 403, "PERMISSION_DENIED", "Token revoked.")
        return None

    server.faults = revoke_after_n_exports
    run = sync("--chunk-size", chunk, "--export-workers", "1")
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "refused the credentials", "Token revoked")
    # The checkpoints made before the failure were pushed, each with its manifest.
    assert int(git(remote, "rev-list", "--count", "main")) >= 2
    server.faults = None
    assert sync().code == EXIT_OK
    assert_mirror(remote, seeded)


def test_missing_source_folder(seeded: Workspace, sync: Syncer) -> None:
    run = sync(source="/Nope")
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "source folder /Nope does not exist")


def test_source_is_a_notebook(seeded: Workspace, sync: Syncer) -> None:
    run = sync(source=f"{SOURCE}/2024/E/NOTEBOOKS/nb 0")
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "is a notebook, not a folder")


def test_missing_and_non_repo_remote(seeded: Workspace, sync: Syncer, tmp_path: Path) -> None:
    sync.remote = tmp_path / "nowhere.git"
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "does not exist", "git init --bare")
    plain = tmp_path / "plain"
    plain.mkdir()
    sync.remote = plain
    run = sync()
    one_line_error(run.stderr, "is not a git repository")


def test_push_refused_by_remote_names_the_remotes_reason(
    seeded: Workspace, remote: Path, sync: Syncer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gitsync.sync, "PUSH_RETRY_DELAYS", (0.01, 0.01))
    pre_receive_hook(remote, "echo 'read-only mirror' >&2\nexit 1")
    run = sync()
    assert run.code == EXIT_FATAL
    # The remote's own words, not git's closing "failed to push some refs".
    one_line_error(run.stderr, "push to", "failed", "pre-receive hook declined", "read-only mirror")
    assert run.report["push_failures"] == 3  # tried three times: it might have been a blip


def test_diverged_remote_is_rejected_never_forced(
    seeded: Workspace,
    server: WorkspaceServer,
    remote: Path,
    sync: Syncer,
    tmp_path: Path,
    env: Path,
) -> None:
    assert sync().code == EXIT_OK
    before = git(remote, "rev-parse", "main").strip()
    seeded.modify(f"{SOURCE}/2024/E/NOTEBOOKS/nb 1", b"changed\n")
    clone = tmp_path / "someone-else"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    (clone / "NOTE.md").write_text("pushed while gitsync ran\n")
    git(clone, "add", "NOTE.md")
    git(clone, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "manual")

    pushed = []

    def push_during_export(ep: str, path: str, n: int) -> Fault | None:
        if ep == "export" and not pushed:
            pushed.append(True)
            git(clone, "push", "-q", "origin", "main")
        return None

    server.faults = push_during_export
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "rejected", "diverged", "never force-pushes")
    assert run.report["push_failures"] == 0  # a refusal is not retried
    theirs = git(clone, "rev-parse", "HEAD").strip()
    assert git(remote, "rev-parse", "main").strip() == theirs != before  # untouched
    # The next run builds on the new tip (and removes the stray file: the branch mirrors),
    # and says that the cache's own checkpoint was dropped.
    (head,) = env.glob("*/HEAD")
    cache = head.parent
    ours = git(cache, "rev-parse", "refs/heads/main").decode().strip()
    server.faults = None
    again = sync()
    assert again.code == EXIT_OK
    assert again.report["unpushed_discarded"] is True
    assert git(remote, "merge-base", "--is-ancestor", theirs, "main") == b""
    assert_mirror(remote, seeded)
    # The dropped checkpoint is gone from the cache too (gc.auto is off: gitsync prunes).
    assert subprocess.run(["git", "cat-file", "-e", ours], cwd=cache, check=False).returncode
    assert git(cache, "fsck", "--unreachable", "--no-reflogs", "--no-progress") == b""


def test_branch_not_written_by_gitsync(
    seeded: Workspace, remote: Path, sync: Syncer, tmp_path: Path
) -> None:
    clone = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True, capture_output=True)
    (clone / "app.py").write_text("print()\n")
    git(clone, "add", "app.py")
    git(clone, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "app")
    git(clone, "push", "-q", "origin", "HEAD:main")
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "not written by gitsync", "use a new branch")
    other = sync("--branch", "backup")
    assert other.code == EXIT_OK
    assert_mirror(remote, seeded, ref="refs/heads/backup")


def test_branch_mirrors_another_folder(seeded: Workspace, sync: Syncer) -> None:
    assert sync().code == EXIT_OK
    run = sync(source=f"{SOURCE}/2024")
    one_line_error(run.stderr, "mirrors /Clients, not /Clients/2024")


@pytest.mark.parametrize(
    "extra",
    [
        ["--chunk-size", "0"],
        ["--export-rate", "fast"],
        ["--export-rate", "nan"],
        ["--export-rate", "inf"],
        ["--list-rate", "-1"],
        ["--http-timeout", "nan"],
        ["--list-rate", "1e-300"],  # a wait of 1e300 s would overflow the bucket's sleep
        ["--push-interval", "1e300"],  # ... and the pusher's Condition.wait
        ["--git-timeout", "86401"],
        ["--list-workers", "100000000"],
        ["--export-workers", "100000"],
        ["--max-delete-percent", "101"],
        ["--branch", "bad..name"],
        ["--branch", "-x"],
        ["--report", "/nonexistent-folder/report.json"],
        ["--export-mode", "zip"],
        ["--folder-threshold", "0"],
        ["--verify-sample", "-1"],
        ["--verify-sample", "many"],
    ],
)
def test_bad_arguments_exit_2(
    extra: list[str], capsys: pytest.CaptureFixture[str], server: WorkspaceServer
) -> None:
    with pytest.raises(SystemExit) as exc:
        gitsync_main(["run", "--source", "/a", "--repo", "x", *extra])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err
    assert server.stats.requests == {}  # refused before any work


@pytest.mark.parametrize("argv", [["run", "--repo", "x"], ["sync"]])
def test_missing_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        gitsync_main(argv)
    assert exc.value.code == EXIT_USAGE
    assert "usage:" in capsys.readouterr().err


def test_unwritable_report_is_found_before_the_sync(
    seeded: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    with pytest.raises(SystemExit) as exc:
        gitsync_main([*sync.args(), "--report", str(blocker / "report.json")])
    assert exc.value.code == EXIT_USAGE
    assert server.stats.requests == {}
    assert git(remote, "for-each-ref") == b""  # nothing synced, nothing pushed


def _record_git_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a ``git`` first on PATH that logs its argv (one JSON list a line), then runs git."""
    real = subprocess.run(["which", "git"], capture_output=True, text=True, check=True)
    log = tmp_path / "git-argv.jsonl"
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "git").write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"os.execv({real.stdout.strip()!r}, ['git', *sys.argv[1:]])\n"
    )
    (shim / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{os.environ['PATH']}")
    return log


def test_credentials_reach_an_https_remote_only_through_the_helper(
    seeded: Workspace,
    sync: Syncer,
    monkeypatch: pytest.MonkeyPatch,
    env: Path,
    tmp_path: Path,
) -> None:
    secret = "ghp_secret_value"
    root = tmp_path / "served"
    root.mkdir()
    subprocess.run(
        ["git", "init", "--bare", "-q", "-b", "main", str(root / "backup.git")], check=True
    )
    http = GitHttpServer(root, "x-access-token", secret).start()
    try:
        monkeypatch.setenv("GITSYNC_GIT_TOKEN", secret)
        argv_log = _record_git_argv(tmp_path, monkeypatch)
        sync.remote = f"{http.url}/backup.git"  # type: ignore[assignment]
        run = sync()
        assert run.code == EXIT_OK, run.stderr
        # The remote refuses anonymous requests: it saw the token, so git asked the helper.
        assert any(a == http.expected for a in http.authorizations)
        assert_mirror(root / "backup.git", seeded)
        calls = [json.loads(line) for line in argv_log.read_text().splitlines()]
        assert any(c[:1] == ["push"] and "--atomic" in c for c in calls)  # branch + tag
        for call in calls:
            assert not any(secret in arg for arg in call), call
            assert not any("@127.0.0.1" in arg for arg in call), call  # no user in URLs
        for cfg in env.glob("*/config"):
            assert secret not in cfg.read_text()
        assert secret not in run.stdout + run.stderr + json.dumps(run.report)
        # The helper answers for this remote's host only, never for another one.
        fill = subprocess.run(
            ["git", "credential", "fill"],
            input=f"protocol=http\nhost={http.url[len('http://') :]}\n\n".encode(),
            env=git_env(sync.remote),  # type: ignore[arg-type]
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert f"password={secret}" in fill and "username=x-access-token" in fill
        other = subprocess.run(
            ["git", "credential", "fill"],
            input=b"protocol=https\nhost=evil.example\n\n",
            env=git_env(sync.remote),  # type: ignore[arg-type]
            capture_output=True,
            check=False,
        )
        assert secret not in other.stdout.decode()
    finally:
        http.stop()


def test_credential_scope() -> None:
    assert credential_scope("https://github.com/org/r.git") == "https://github.com"
    assert credential_scope("https://u:p@ss@dev.azure.com:443/o/p") == "https://dev.azure.com:443"
    assert credential_scope("git@github.com:org/r.git") is None
    assert credential_scope("/srv/backup.git") is None


def test_a_failed_background_push_waits_for_the_next_one(
    workspace: Workspace,
    remote: Path,
    sync: Syncer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The final push gets no retry: only a background push may absorb the failure, so a
    # run that dies on a failed background push fails this test whatever the timing.
    monkeypatch.setattr(gitsync.sync, "PUSH_RETRY_DELAYS", ())
    for i in range(40):
        workspace.add_notebook(f"{SOURCE}/2024/E/nb{i}", "PYTHON", b"x%d\n" % i)
    flag = tmp_path / "failed-once"
    # Fails exactly once, as a network blip or a 502 from the git host would.
    pre_receive_hook(
        remote, f"if [ ! -e {flag} ]; then touch {flag}; echo 'HTTP 502' >&2; exit 1; fi"
    )
    run = sync("--chunk-size", "5", "--push-interval", "0.05", "--export-rate", "100")
    assert run.code == EXIT_OK, run.stderr
    assert flag.exists()
    assert run.report["push_failures"] == 1
    assert "HTTP 502" in run.report["push_error"]
    assert_mirror(remote, workspace)


@pytest.mark.parametrize(
    "name", ["git~1", "GIT~1", ".g\u200cit", "\u200c.git", ".git::$INDEX_ALLOCATION", "x\\.git"]
)
def test_names_git_reads_as_dotgit_are_reported_not_pushed(
    workspace: Workspace, remote: Path, sync: Syncer, name: str
) -> None:
    # GitHub, GitLab and Azure DevOps check every push (receive.fsckObjects): a tree entry
    # git reads as ".git" would be refused on every run.
    git(remote, "config", "receive.fsckObjects", "true")
    workspace.add_file(f"{SOURCE}/2024/E/{name}/x.txt", b"x\n")
    workspace.add_file(f"{SOURCE}/2024/F/{name}", b"a file\n")
    workspace.add_notebook(f"{SOURCE}/2024/E/ok", "PYTHON", b"y\n")
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert sorted(p["kind"] for p in run.report["problems"]) == ["invalid_name", "invalid_name"]
    assert_mirror(remote, workspace, missing=[f"2024/E/{name}/x.txt", f"2024/F/{name}"])


def test_push_failure_shows_the_remotes_error_line(
    workspace: Workspace, remote: Path, sync: Syncer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an fsck refusal looks like ("remote: error: ...: hasDotgit ..."), from a hook.
    monkeypatch.setattr(gitsync.sync, "PUSH_RETRY_DELAYS", ())
    pre_receive_hook(remote, "echo 'error: object 1234: hasDotgit: contains .git' >&2\nexit 1")
    workspace.add_notebook(f"{SOURCE}/2024/E/ok", "PYTHON", b"y\n")
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "hasDotgit")


def test_hung_push_is_killed_after_git_timeout(
    seeded: Workspace, remote: Path, sync: Syncer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gitsync.sync, "PUSH_RETRY_DELAYS", ())
    pre_receive_hook(remote, "sleep 30")
    t0 = time.monotonic()
    run = sync("--git-timeout", "1")
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "did not finish in 1 s")
    assert time.monotonic() - t0 < 20  # not the hook's 30 s: git and its children are killed


def test_second_run_on_a_busy_cache_is_refused(
    seeded: Workspace, remote: Path, sync: Syncer, env: Path
) -> None:
    import fcntl

    assert sync().code == EXIT_OK
    (cache,) = env.glob("*/HEAD")
    with (cache.parent / "gitsync.lock").open("a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "another gitsync run", "--cache-dir")
    assert sync().code == EXIT_OK  # free again


def test_fatal_error_stops_waits_already_under_way(
    seeded: Workspace, server: WorkspaceServer, sync: Syncer
) -> None:
    # One export is refused for good (401) while the others were told to come back in
    # 100 s: the run ends now, not after the Retry-After.
    def hook(ep: str, path: str, n: int) -> Fault | None:
        if ep != "export":
            return None
        if n == 1:
            return Fault("status", 401, "UNAUTHENTICATED", "Token expired.")
        return Fault("status", 429, "REQUEST_LIMIT_EXCEEDED", "later", retry_after=100)

    server.faults = hook
    t0 = time.monotonic()
    run = sync("--export-workers", "3")
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "refused the credentials")
    assert time.monotonic() - t0 < 30


def test_git_missing_or_too_old_is_one_line(
    seeded: Workspace, sync: Syncer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "no-git"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "git is not installed or not on PATH", "2.31")
    old = tmp_path / "old-git"
    old.mkdir()
    (old / "git").write_text("#!/bin/sh\necho 'git version 2.30.9'\n")
    (old / "git").chmod(0o755)
    monkeypatch.setenv("PATH", str(old))
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "git 2.30.9", "too old", "2.31")
    assert run.report["status"] == "error"


def test_forbidden_notebook_and_folder_are_reported_and_the_rest_synced(
    seeded: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seeded.add_notebook(f"{SOURCE}/2024/Secret/nb", "PYTHON", b"s\n")
    assert sync().code == EXIT_OK
    seeded.modify(f"{SOURCE}/2024/E/NOTEBOOKS/nb 1", b"changed\n")
    seeded.add_notebook(f"{SOURCE}/2024/E/NOTEBOOKS/new", "SQL", b"select 2\n")
    locked = f"{SOURCE}/2024/E/NOTEBOOKS/nb 1"

    def hook(ep: str, path: str, n: int) -> Fault | None:
        # The folder holding it is refused as a whole too (whether the service refuses
        # or leaves the notebook out of the archive, gitsync goes one by one there).
        if (ep == "export" and path in (locked, locked.rsplit("/", 1)[0])) or (
            ep == "list" and path == f"{SOURCE}/2024/Secret"
        ):
            return Fault("status", 403, "PERMISSION_DENIED", "User does not have READ.")
        return None

    server.faults = hook
    run = sync()
    assert run.code == EXIT_INCOMPLETE, run.stderr
    problems = {p["path"]: (p["kind"], p["reason"]) for p in run.report["problems"]}
    assert problems[locked][0] == "failed" and "permission denied" in problems[locked][1]
    assert problems[f"{SOURCE}/2024/Secret"][0] == "list_failed"
    files = branch_files(remote)
    # An unlistable folder is never emptied; a refused notebook keeps its previous version.
    assert files["2024/Secret/nb.py"] == HEADERS["PYTHON"] + b"s\n"
    assert files["2024/E/NOTEBOOKS/nb 1.sql"] == HEADERS["SQL"] + b"select 1\n"
    assert files["2024/E/NOTEBOOKS/new.sql"] == HEADERS["SQL"] + b"select 2\n"
    server.faults = None
    assert sync().code == EXIT_OK
    assert_mirror(remote, seeded)


def test_mass_deletion_is_refused_unless_allowed(
    seeded: Workspace, remote: Path, sync: Syncer
) -> None:
    assert sync().code == EXIT_OK
    before = git(remote, "rev-parse", "main")
    # The service answers {} for the source folder, by mistake (or a permission change
    # hides everything): the backup must not be wiped on that word.
    root = seeded.get(SOURCE)
    assert root is not None
    hidden = dict(root.children)
    root.children.clear()
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, "refusing to delete 3 of the 3 files", "--allow-mass-delete")
    assert git(remote, "rev-parse", "main") == before
    root.children.update(hidden)
    again = sync()
    assert again.code == EXIT_OK and again.report["counts"]["deleted"] == 0
    root.children.clear()
    allowed = sync("--allow-mass-delete")
    assert allowed.code == EXIT_OK
    assert allowed.report["counts"]["deleted"] == 3
    assert assert_mirror(remote, seeded) == {}


def test_aborted_run_leaves_no_crash_report(
    seeded: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer, env: Path
) -> None:
    for i in range(30):
        seeded.add_notebook(f"{SOURCE}/2024/F/nb {i}", "PYTHON", b"%d\n" % i)
    # Per folder: the first folder export and its check go through, then the 401.
    ok = 20 if sync.mode == "per-notebook" else 2
    server.faults = lambda ep, p, n: (
        Fault("status", 401, "UNAUTHENTICATED", "expired") if ep == "export" and n > ok else None
    )
    run = sync("--chunk-size", "8", "--export-workers", "1")
    assert run.code == EXIT_FATAL
    (head,) = env.glob("*/HEAD")
    assert list(head.parent.glob("fast_import_crash_*")) == []
    # What was exported before the failure is a pushed checkpoint, not lost work.
    saved = len(manifest_of(branch_files(remote)))
    if sync.mode == "per-notebook":
        assert saved == 20
    else:
        assert saved == run.report["export_modes"]["folder_notebooks"] in (3, 30)
    server.faults = None
    assert sync().code == EXIT_OK
    assert_mirror(remote, seeded)


def test_unreadable_manifest_is_one_line(
    seeded: Workspace, remote: Path, sync: Syncer, tmp_path: Path
) -> None:
    assert sync().code == EXIT_OK
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    shard = next((clone / ".gitsync" / "manifest").rglob("*"))
    while shard.is_dir():
        shard = next(shard.iterdir())
    shard.write_bytes(b"not a manifest line\n")
    git(clone, "add", "-A")
    git(clone, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "broken")
    git(clone, "push", "-q", "origin", "HEAD:main")
    run = sync()
    assert run.code == EXIT_FATAL
    one_line_error(run.stderr, ".gitsync/manifest/", "unreadable")


def test_background_and_final_pushes_are_threads_that_end(seeded: Workspace, sync: Syncer) -> None:
    before = {t.name for t in threading.enumerate()}
    assert sync("--push-interval", "0.01").code == EXIT_OK
    leftover = {t.name for t in threading.enumerate()} - before
    assert not any(name.startswith("gitsync-") for name in leftover), leftover
