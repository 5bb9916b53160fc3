"""End-to-end syncs through the real databricks-sdk client against the loopback server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gitsync_helpers import (
    SOURCE,
    Syncer,
    assert_export_requests,
    assert_exported,
    assert_mirror,
    branch_files,
    git,
    gitsync_commits,
)
from gitsync_wsserver import HEADERS, Workspace, WorkspaceServer

from gitsync.errors import EXIT_OK


def seed(ws: Workspace, engagements: int = 6, per: int = 5) -> None:
    langs = ["PYTHON", "SQL", "SCALA", "R"]
    for e in range(engagements):
        year = 2021 + e % 3
        for i in range(per):
            lang = langs[(e + i) % 4]
            ws.add_notebook(
                f"{SOURCE}/{year}/ENG-{e:03d}/NOTEBOOKS/nb {i}",
                lang,
                f"-- {lang} notebook {e}/{i}\nselect {i};\n".encode(),
            )
    ws.add_file(f"{SOURCE}/2021/ENG-000/README.md", b"# readme\n")
    ws.add_file(f"{SOURCE}/2021/ENG-000/data/config.yaml", b"a: 1\n")


def tags(remote: Path) -> list[str]:
    return git(remote, "tag", "--list", "backup/*").decode().split()


def commits(remote: Path) -> int:
    return int(git(remote, "rev-list", "--count", "main").decode())


def test_full_then_incremental_then_noop(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace)
    first = sync("--chunk-size", "7")
    assert first.code == EXIT_OK, first.stderr
    assert_mirror(remote, workspace)
    c = first.report["counts"]
    assert c["added"] == 32 and c["scanned"] == 32 and c["failed"] == 0
    assert first.report["commits"] == commits(remote) >= 5  # 32 files in chunks of 7
    assert first.report["tag"] in tags(remote)
    assert first.stdout.startswith("gitsync ok:")
    assert_export_requests(first, 32)
    if sync.mode == "folder":
        assert first.report["requests"]["export"]["requests"] < 32

    # A day of edits: modify, add, delete, rename (same object_id), move to another folder.
    workspace.modify(f"{SOURCE}/2021/ENG-000/NOTEBOOKS/nb 0", b"changed\n")
    workspace.modify(f"{SOURCE}/2021/ENG-000/README.md", b"# new readme\n")
    workspace.add_notebook(f"{SOURCE}/2022/ENG-001/NOTEBOOKS/fresh", "PYTHON", b"print(1)\n")
    workspace.delete(f"{SOURCE}/2023/ENG-002/NOTEBOOKS/nb 1")
    workspace.move(
        f"{SOURCE}/2022/ENG-001/NOTEBOOKS/nb 2", f"{SOURCE}/2022/ENG-001/NOTEBOOKS/renamed"
    )
    workspace.move(
        f"{SOURCE}/2021/ENG-003/NOTEBOOKS/nb 3", f"{SOURCE}/2023/ENG-005/NOTEBOOKS/moved"
    )
    server.reset_stats()
    second = sync()
    assert second.code == EXIT_OK, second.stderr
    assert_mirror(remote, workspace)
    c = second.report["counts"]
    assert (c["added"], c["modified"], c["moved"], c["deleted"]) == (1, 2, 2, 1)
    assert c["unchanged"] == 32 - 2 - 1 - 2
    # Only what changed was exported; moves reuse the blob already in git.
    assert_exported(
        server,
        [
            f"{SOURCE}/2021/ENG-000/NOTEBOOKS/nb 0",
            f"{SOURCE}/2021/ENG-000/README.md",
            f"{SOURCE}/2022/ENG-001/NOTEBOOKS/fresh",
        ],
        sync.mode,
    )
    assert second.report["commits"] == 1
    log = git(remote, "log", "-1", "--name-status", "-M", "--format=", "main").decode()
    assert "R100" in log  # git sees the rename: same bytes, new path

    before = commits(remote)
    third = sync()
    assert third.code == EXIT_OK
    assert third.report["commits"] == 0
    assert commits(remote) == before  # a run with nothing changed makes no commit
    assert third.report["requests"]["export"]["requests"] == 0
    assert_mirror(remote, workspace)


def test_swap_names_and_move_folder(workspace: Workspace, remote: Path, sync: Syncer) -> None:
    seed(workspace, engagements=2, per=3)
    assert sync().code == EXIT_OK
    a = f"{SOURCE}/2021/ENG-000/NOTEBOOKS/nb 0"
    b = f"{SOURCE}/2021/ENG-000/NOTEBOOKS/nb 1"
    workspace.move(a, a + " tmp")
    workspace.move(b, a)
    workspace.move(a + " tmp", b)
    workspace.move(f"{SOURCE}/2022/ENG-001", f"{SOURCE}/2024/ENG-001")  # a whole folder
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert run.report["requests"]["export"]["requests"] == 0
    assert run.report["counts"]["moved"] == 2 + 3
    assert_mirror(remote, workspace)


def test_delete_everything_and_empty_folders(
    workspace: Workspace, remote: Path, sync: Syncer
) -> None:
    seed(workspace, engagements=2, per=2)
    workspace.mkdirs(f"{SOURCE}/2025/empty/deeper")
    assert sync().code == EXIT_OK
    files = branch_files(remote)
    assert not any(p.startswith("2025") for p in files)  # empty folders are not kept
    for node in list(workspace.walk(SOURCE)):
        if node.object_type in ("NOTEBOOK", "FILE"):
            workspace.delete(node.path)
    run = sync("--allow-mass-delete")
    assert run.code == EXIT_OK
    assert run.report["counts"]["deleted"] == 6
    content = assert_mirror(remote, workspace)
    assert content == {}


def test_languages_files_and_other_types(workspace: Workspace, remote: Path, sync: Syncer) -> None:
    base = f"{SOURCE}/2024/ENG-9/NOTEBOOKS"
    workspace.add_notebook(f"{base}/py", "PYTHON", b"# Databricks notebook source\nprint(1)\n")
    workspace.add_notebook(f"{base}/sql", "SQL", b"-- Databricks notebook source\nselect 1\n")
    workspace.add_notebook(f"{base}/scala", "SCALA", b"// Databricks notebook source\n1\n")
    workspace.add_notebook(f"{base}/r", "R", b"# Databricks notebook source\n1\n")
    workspace.add_file(f"{base}/helper.py", b"def f():\n    return 1\n")
    workspace.add_file(f"{base}/binary.bin", bytes(range(256)) * 4)
    workspace.add_file(f"{base}/empty.txt", b"")
    workspace.add_other(f"{base}/lib", "LIBRARY")
    workspace.add_other(f"{SOURCE}/2024/repo", "REPO")
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    content = assert_mirror(remote, workspace)
    assert set(content) == {
        f"2024/ENG-9/NOTEBOOKS/{n}"
        for n in ["py.py", "sql.sql", "scala.scala", "r.r", "helper.py", "binary.bin", "empty.txt"]
    }
    kinds = {p["path"]: p["kind"] for p in run.report["problems"]}
    assert kinds == {f"{base}/lib": "unsupported", f"{SOURCE}/2024/repo": "unsupported"}


def test_odd_names(workspace: Workspace, remote: Path, sync: Syncer) -> None:
    base = f"{SOURCE}/2024/Ünïcødé engagement/NOTEBOOKS"
    names = [
        "with spaces  and  more",
        "dots.in.name",
        ".hidden",
        "...",
        'quote"and\\backslash',
        "tab\there",
        "newline\nname",
        "日本語のノート",
        "emoji 🚀",
        "-leading dash",
        " leading space",
    ]
    for i, name in enumerate(names):
        workspace.add_notebook(f"{base}/{name}", "PYTHON", f"print({i})\n".encode())
    # Cannot be git paths: reported, not mirrored.
    workspace.add_file(f"{base}/.git", b"not a repo\n")
    workspace.add_file(f"{SOURCE}/.gitsync", b"reserved\n")
    workspace.add_file(f"{base}/.GIT", b"case folded\n")
    # Two objects, one path: a notebook "x" (python) and a file "x.py"; a folder and a file.
    workspace.add_notebook(f"{base}/x", "PYTHON", b"notebook x\n")
    workspace.add_file(f"{base}/x.py", b"file x.py\n")
    workspace.add_notebook(f"{SOURCE}/2024/clash", "SQL", b"select 1\n")
    workspace.add_file(f"{SOURCE}/2024/clash.sql/inner.txt", b"in a folder\n")
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    rel = "2024/Ünïcødé engagement/NOTEBOOKS"
    content = assert_mirror(
        remote,
        workspace,
        missing=[f"{rel}/.git", ".gitsync", f"{rel}/.GIT", "2024/clash.sql"],
        override={f"{rel}/x.py": HEADERS["PYTHON"] + b"notebook x\n"},
    )
    # The older object (the notebook) keeps x.py; the folder beats the notebook.
    assert content[f"{rel}/x.py"] == HEADERS["PYTHON"] + b"notebook x\n"
    assert content["2024/clash.sql/inner.txt"] == b"in a folder\n"
    problems = {p["path"]: p["kind"] for p in run.report["problems"]}
    assert problems == {
        f"{base}/.git": "invalid_name",
        f"{SOURCE}/.gitsync": "invalid_name",
        f"{base}/.GIT": "invalid_name",
        f"{base}/x.py": "conflict",
        f"{SOURCE}/2024/clash": "conflict",
    }
    assert run.report["counts"]["skipped"] == 5
    # Unchanged odd names stay unchanged on the next run.
    again = sync()
    assert again.report["counts"]["unchanged"] == len(names) + 2
    assert again.report["commits"] == 0


def test_too_large_is_reported_and_the_rest_synced(
    workspace: Workspace, remote: Path, sync: Syncer
) -> None:
    seed(workspace, engagements=1, per=2)
    big = b"x" * (10 * 1024 * 1024 + 1)
    workspace.add_notebook(f"{SOURCE}/2021/ENG-000/NOTEBOOKS/huge", "PYTHON", big)
    workspace.add_file(f"{SOURCE}/2021/ENG-000/huge.csv", big)
    run = sync()
    assert run.code == EXIT_OK, run.stderr  # skipped, not failed: a platform limit
    assert_mirror(remote, workspace)  # expected_tree leaves out what exceeds the limit
    kinds = sorted((p["path"].rsplit("/", 1)[-1], p["kind"]) for p in run.report["problems"])
    assert kinds == [("huge", "too_large"), ("huge.csv", "too_large")]


def test_empty_source_first_run_commits_the_manifest(
    workspace: Workspace, remote: Path, sync: Syncer
) -> None:
    workspace.mkdirs(SOURCE)
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert run.report["commits"] == 1
    assert assert_mirror(remote, workspace) == {}


def test_move_with_edit_and_language_change(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace, engagements=1, per=3)
    assert sync().code == EXIT_OK
    nb = f"{SOURCE}/2021/ENG-000/NOTEBOOKS"
    # Renamed and edited before the next run: exported once at its new path, old path gone.
    workspace.move(f"{nb}/nb 0", f"{nb}/nb 0 renamed")
    workspace.modify(f"{nb}/nb 0 renamed", b"edited after the rename\n")
    # The language changes the extension: nb 1 (SQL) becomes Python.
    node = workspace.get(f"{nb}/nb 1")
    assert node is not None
    node.language = "PYTHON"
    workspace.modify(f"{nb}/nb 1", b"print('now python')\n")
    server.reset_stats()
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert_exported(server, [f"{nb}/nb 0 renamed", f"{nb}/nb 1"], sync.mode)
    assert run.report["counts"]["moved"] == 2  # same object_id, new path
    content = assert_mirror(remote, workspace)
    assert "2021/ENG-000/NOTEBOOKS/nb 1.py" in content
    assert "2021/ENG-000/NOTEBOOKS/nb 1.sql" not in content


def test_stray_files_on_the_branch_are_removed(
    workspace: Workspace, remote: Path, sync: Syncer, tmp_path: Path
) -> None:
    seed(workspace, engagements=1, per=2)
    assert sync().code == EXIT_OK
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    (clone / "stray.txt").write_text("added by hand\n")
    git(clone, "add", "stray.txt")
    git(clone, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "by hand")
    git(clone, "push", "-q", "origin", "HEAD:main")
    run = sync()
    assert run.code == EXIT_OK
    assert run.report["counts"]["deleted"] == 1
    assert_mirror(remote, workspace)


def test_checkpoint_packs_are_folded_after_the_run(
    workspace: Workspace, remote: Path, sync: Syncer, env: Path
) -> None:
    seed(workspace, engagements=4, per=6)
    run = sync("--chunk-size", "1")
    assert run.code == EXIT_OK
    assert run.report["commits"] == 26  # one checkpoint (and one pack) per file
    (cache,) = env.glob("*/objects/pack")
    assert len(list(cache.glob("*.pack"))) <= 16
    assert_mirror(remote, workspace)


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85"], ids=["LS", "PS", "NEL"])
def test_unicode_line_separators_in_names_survive_later_runs(
    workspace: Workspace, remote: Path, sync: Syncer, sep: str
) -> None:
    workspace.add_notebook(f"{SOURCE}/2024/E/a{sep}b", "PYTHON", b"x\n")
    workspace.add_notebook(f"{SOURCE}/2024/E/ok", "PYTHON", b"y\n")
    assert sync().code == EXIT_OK
    # The second run reads the manifest the first one wrote.
    workspace.add_notebook(f"{SOURCE}/2024/E/new", "PYTHON", b"z\n")
    second = sync()
    assert second.code == EXIT_OK, second.stderr
    assert second.report["counts"]["unchanged"] == 2
    workspace.move(f"{SOURCE}/2024/E/a{sep}b", f"{SOURCE}/2024/E/renamed")
    third = sync()
    assert third.code == EXIT_OK, third.stderr
    assert third.report["counts"]["moved"] == 1
    assert_mirror(remote, workspace)


def test_notebook_replaced_by_a_folder_of_its_name(
    workspace: Workspace, remote: Path, sync: Syncer
) -> None:
    base = f"{SOURCE}/2024/E"
    workspace.add_notebook(f"{base}/clash", "SQL", b"select 1\n")
    for i in range(3):
        workspace.add_notebook(f"{base}/a{i}", "PYTHON", b"x\n")
    assert sync().code == EXIT_OK
    # The SQL notebook goes, a folder with its git name (clash.sql/) comes; with a
    # checkpoint per file, the folder's file is committed long before the run's end.
    workspace.delete(f"{base}/clash")
    workspace.add_file(f"{base}/clash.sql/inner.txt", b"in a folder\n")
    workspace.add_notebook(f"{base}/zz", "PYTHON", b"y\n")
    run = sync("--chunk-size", "1")
    assert run.code == EXIT_OK, run.stderr
    assert run.report["counts"]["deleted"] == 1
    assert_mirror(remote, workspace)  # every checkpoint too: manifest == tree


def test_folder_next_to_a_notebook_of_its_git_name_wins(
    workspace: Workspace, remote: Path, sync: Syncer
) -> None:
    base = f"{SOURCE}/2024/E"
    workspace.add_notebook(f"{base}/clash", "SQL", b"select 1\n")
    assert sync().code == EXIT_OK
    workspace.add_file(f"{base}/clash.sql/inner.txt", b"in a folder\n")
    workspace.add_file(f"{base}/clash.sql/inner2.txt", b"in a folder 2\n")
    run = sync("--chunk-size", "1")
    assert run.code == EXIT_OK, run.stderr
    assert [p["kind"] for p in run.report["problems"]] == ["conflict"]
    assert_mirror(remote, workspace, missing=["2024/E/clash.sql"])
    assert sync().report["commits"] == 0  # settled


def test_folder_replaced_by_a_file_of_its_name(
    workspace: Workspace, remote: Path, sync: Syncer
) -> None:
    base = f"{SOURCE}/2024/E"
    workspace.add_file(f"{base}/d/x.txt", b"x\n")
    workspace.add_file(f"{base}/d/y.txt", b"y\n")
    workspace.add_notebook(f"{base}/a", "PYTHON", b"a\n")
    assert sync().code == EXIT_OK
    workspace.delete(f"{base}/d")
    workspace.add_file(f"{base}/d", b"now a file\n")
    workspace.add_notebook(f"{base}/b", "PYTHON", b"b\n")
    run = sync("--chunk-size", "1")
    assert run.code == EXIT_OK, run.stderr
    assert run.report["counts"]["deleted"] == 2
    assert_mirror(remote, workspace)


def test_names_differing_only_in_case_stay_apart_where_git_ignores_case(
    workspace: Workspace, remote: Path, sync: Syncer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What `git init` sets on macOS (APFS and HFS+ fold case by default).
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.ignorecase")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    workspace.add_file(f"{SOURCE}/2024/E/README.md", b"upper\n")
    workspace.add_file(f"{SOURCE}/2024/E/readme.md", b"lower\n")
    workspace.add_notebook(f"{SOURCE}/2024/E/Nb", "PYTHON", b"1\n")
    workspace.add_notebook(f"{SOURCE}/2024/E/nb", "PYTHON", b"2\n")
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert_mirror(remote, workspace)


def test_language_change_without_a_new_modified_at_is_exported_again(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    node = workspace.add_notebook(f"{SOURCE}/2024/E/nb", "SQL", b"select 1\n")
    assert sync().code == EXIT_OK
    # Same object, same modified_at: only the language (so the extension) changed.
    node.language = "PYTHON"
    node.content = b"# Databricks notebook source\nspark.sql('select 1')\n"
    server.reset_stats()
    run = sync()
    assert run.code == EXIT_OK, run.stderr
    assert_exported(server, [f"{SOURCE}/2024/E/nb"], sync.mode)
    content = assert_mirror(remote, workspace)
    assert content["2024/E/nb.py"].startswith(b"# Databricks notebook source")


def test_too_large_change_keeps_the_stale_version_and_says_so(
    workspace: Workspace, remote: Path, sync: Syncer
) -> None:
    workspace.add_notebook(f"{SOURCE}/2024/E/grows", "PYTHON", b"small\n")
    assert sync().code == EXIT_OK
    workspace.modify(f"{SOURCE}/2024/E/grows", b"x" * (10 * 1024 * 1024 + 1))
    run = sync()
    assert run.code == EXIT_OK  # a platform limit, not a failure
    assert run.report["counts"]["stale"] == 1
    (problem,) = run.report["problems"]
    assert problem["kind"] == "too_large" and "stale" in problem["reason"]
    assert "(1 stale)" in run.stdout
    assert branch_files(remote)["2024/E/grows.py"] == HEADERS["PYTHON"] + b"small\n"
    # Everything else is the workspace, byte for byte; the stale file keeps its old bytes.
    assert_mirror(remote, workspace, override={"2024/E/grows.py": HEADERS["PYTHON"] + b"small\n"})


def test_one_relative_repo_path_from_two_folders_is_two_caches(
    workspace: Workspace,
    remote: Path,
    sync: Syncer,
    tmp_path: Path,
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workspace.add_notebook(f"{SOURCE}/2024/E/nb", "PYTHON", b"1\n")
    for team in ("a", "b"):
        (tmp_path / team).mkdir()
        subprocess.run(
            ["git", "init", "--bare", "-q", "-b", "main", str(tmp_path / team / "r.git")]
        )
    monkeypatch.chdir(tmp_path / "a")
    sync.remote = Path("r.git")
    assert sync().code == EXIT_OK
    monkeypatch.chdir(tmp_path / "b")
    second = sync()
    assert second.code == EXIT_OK, second.stderr
    assert second.report["base_commit"] is None  # a new remote: nothing to build on
    assert len(list(env.glob("*/HEAD"))) == 2
    assert_mirror(tmp_path / "a" / "r.git", workspace)
    assert_mirror(tmp_path / "b" / "r.git", workspace)


def test_cached_history_of_another_remote_is_never_pushed(
    workspace: Workspace, remote: Path, sync: Syncer, tmp_path: Path
) -> None:
    workspace.add_notebook(f"{SOURCE}/2024/E/nb", "PYTHON", b"1\n")
    cache = tmp_path / "shared-cache"
    assert sync("--cache-dir", str(cache)).code == EXIT_OK
    other = tmp_path / "other.git"
    subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(other)], check=True)
    sync.remote = other
    run = sync("--cache-dir", str(cache))
    assert run.code == EXIT_OK, run.stderr
    assert run.report["base_commit"] is None
    # The new remote starts its own history: one root commit, no commit of the first one.
    assert git(other, "rev-list", "--count", "main").strip() == b"1"
    assert not set(gitsync_commits(remote)) & set(gitsync_commits(other))
    assert_mirror(other, workspace)
