"""kill -9 mid-run, then resume: nothing committed is exported again; the tree converges."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gitsync_helpers import SOURCE, Syncer, assert_mirror, branch_files, git, manifest_of
from gitsync_wsserver import Workspace, WorkspaceServer

from gitsync.errors import EXIT_OK

ROOT = Path(__file__).resolve().parents[2]
N = 240


def seed(ws: Workspace) -> None:
    for i in range(N):
        ws.add_notebook(
            f"{SOURCE}/{2020 + i % 4}/ENG-{i % 12:02d}/NOTEBOOKS/nb {i}",
            "PYTHON",
            f"# {i}\n".encode(),
        )


def commits(repo: Path) -> int:
    proc = subprocess.run(
        ["git", "rev-list", "--count", "main"], cwd=repo, capture_output=True, check=False
    )
    return int(proc.stdout or 0) if proc.returncode == 0 else 0


def start_and_kill(sync: Syncer, cache: Path, min_commits: int, *, pushed: bool) -> None:
    """Run gitsync as its own process group, kill -9 it (and its git children) after
    ``min_commits`` checkpoints reached the cache (and, with ``pushed``, at least one
    reached the remote: what a new machine resumes from)."""
    cmd = [
        sys.executable,
        "-m",
        "gitsync",
        *sync.args("--chunk-size", "20", "--push-interval", "0.1"),
    ]
    cmd[cmd.index("--export-rate") + 1] = "80"  # slow enough to be killed mid-run
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=dict(os.environ), start_new_session=True, stdout=subprocess.DEVNULL
    )
    repo_cache = next_cache(cache)
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if (
                repo_cache.exists()
                and commits(repo_cache) >= min_commits
                and (not pushed or commits(sync.remote) >= 1)
            ):
                break
            assert proc.poll() is None, "gitsync finished before it could be killed"
            time.sleep(0.02)
        else:
            pytest.fail("no checkpoint commit within 30 s")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        # git commands with a timeout run in their own session (gitwriter), so a push
        # under way outlives the kill, as it would on a real cluster; the remote is what
        # a new machine sees once that push is over.
        _wait_for_orphans(str(sync.remote))


def _wait_for_orphans(marker: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alive = False
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if marker.encode() in cmdline.read_bytes():
                    alive = True
                    break
            except OSError:
                continue
        if not alive:
            return
        time.sleep(0.05)


def next_cache(cache: Path) -> Path:
    """The one cache repository gitsync makes under GITSYNC_CACHE_DIR."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = list(cache.glob("*/HEAD")) if cache.exists() else []
        if found:
            return found[0].parent
        time.sleep(0.02)
    raise AssertionError("gitsync made no cache repository")


@pytest.mark.parametrize("lose_cache", [False, True], ids=["same-machine", "new-machine"])
def test_kill_9_then_resume(
    workspace: Workspace,
    server: WorkspaceServer,
    remote: Path,
    sync: Syncer,
    env: Path,
    lose_cache: bool,
) -> None:
    seed(workspace)
    start_and_kill(sync, env, min_commits=3, pushed=lose_cache)
    cache_repo = next_cache(env)
    if lose_cache:
        # A new cluster: only what was pushed survives.
        shutil.rmtree(env)
        checkpoint = branch_files(remote)
    else:
        checkpoint = branch_files(cache_repo)
    committed = manifest_of(checkpoint)
    assert 0 < len(committed) < N
    # Every checkpoint is complete: its manifest describes exactly its files.
    assert sorted(committed) == sorted(p for p in checkpoint if not p.startswith(".gitsync/"))

    # The workspace moves on while nobody is running: one committed notebook changes.
    changed_rel = sorted(committed)[0]
    changed = f"{SOURCE}/{changed_rel[: -len('.py')]}"
    workspace.modify(changed, b"# changed after the kill\n")

    server.reset_stats()
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert run.report["resumed"] is True
    exported = {p[len(SOURCE) + 1 :] + ".py" for p in server.stats.exported}
    # Nothing that a checkpoint holds is exported again (except what changed since).
    c = run.report["counts"]
    assert (c["added"], c["modified"]) == (N - len(committed), 1)
    if sync.mode == "per-notebook":
        assert exported & set(committed) == {changed_rel}
        assert len(exported) == N - len(committed) + 1
    else:
        # A folder's archive holds its committed notebooks too; they are not taken
        # from it, and none is exported on its own (the sample checks take changed ones).
        assert exported & set(committed) <= {changed_rel}
        assert run.report["export_modes"]["objects"] == N - len(committed) + 1
    assert_mirror(remote, workspace)
    tags = git(remote, "tag", "--list", "backup/*").split()
    assert len(tags) == 1  # only the completed run is tagged
    # The killed run left nothing behind in the cache the resumed run used: no half
    # written pack, no crash report, and (after the resumed run tidied up) no object
    # that nothing reaches.
    resumed_cache = next_cache(env)
    assert not list(resumed_cache.glob("objects/pack/tmp_*"))
    assert not list(resumed_cache.glob("fast_import_crash_*"))
    unreachable = git(resumed_cache, "fsck", "--unreachable", "--no-reflogs", "--no-progress")
    assert unreachable.strip() == b"", unreachable
