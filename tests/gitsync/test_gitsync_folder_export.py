"""Folder export: one request per folder, verified against per-notebook exports.

The scenario tests of the other modules run in both export modes (the ``export_mode``
fixture); these are the cases only folder export has: the archive's shape, the sample
check catching an archive whose bytes differ, the fallbacks, the auto threshold.
"""

from __future__ import annotations

import base64
import io
import os
import zipfile
from pathlib import Path

import pytest
from databricks.sdk.errors import platform as e
from databricks.sdk.service.workspace import ExportFormat
from gitsync_helpers import SOURCE, Syncer, assert_mirror
from gitsync_wsserver import Workspace, WorkspaceServer

from gitsync.errors import EXIT_OK
from gitsync.folder_export import archive_names
from gitsync.workspace import Limits, make_client
from gitsync.workspace import Workspace as Client

HEADER = b"# Databricks notebook source\n"


@pytest.fixture
def export_mode() -> str:
    """These runs choose their mode themselves: once each, not once per mode."""
    return "folder"


Entries = list[tuple[str, bytes | None]]


def seed(ws: Workspace, folders: int = 4, per: int = 4) -> list[str]:
    """``folders`` leaf folders of ``per`` Python notebooks each; their paths."""
    out = []
    for f in range(folders):
        folder = f"{SOURCE}/2024/ENG-{f}/NOTEBOOKS"
        for i in range(per):
            ws.add_notebook(f"{folder}/nb {i}", "PYTHON", HEADER + f"print({f}, {i})\n".encode())
        out.append(folder)
    return out


def zip_of(entries: list[tuple[str, bytes]], *, utf8_flag: bool = True) -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            zf.writestr(name, data)
    raw = buf.getvalue()
    if not utf8_flag:
        # An archiver that writes UTF-8 names without saying so: clear bit 11 in the
        # local and central headers (zipfile always sets it for non-ASCII names).
        raw = raw.replace(b"PK\x03\x04\x14\x00\x00\x08", b"PK\x03\x04\x14\x00\x00\x00")
        central = b"PK\x01\x02\x14\x03\x14\x00"
        raw = raw.replace(central + b"\x00\x08", central + b"\x00\x00")
    return zipfile.ZipFile(io.BytesIO(raw))


# --------------------------------------------------------------------------- the archive


def test_server_exports_a_folder_as_a_zip(
    workspace: Workspace, server: WorkspaceServer, env: Path
) -> None:
    folder = f"{SOURCE}/2024/Ünïcødé/NOTEBOOKS"
    workspace.add_notebook(f"{folder}/nb", "SQL", b"-- Databricks notebook source\nselect 1\n")
    workspace.add_notebook(f"{folder}/日本語", "PYTHON", HEADER + b"print(1)\n")
    workspace.add_file(f"{folder}/data.csv", b"a,b\n")
    client = Client(make_client(http_timeout=5, pool_size=4), Limits(1000, 1000, 1000))
    # JSON answer: file_type "zip" for a folder (databricks-sdk ExportResponse.file_type).
    answer = client.client.workspace.export(folder, format=ExportFormat.SOURCE)
    assert answer.file_type == "zip"
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(answer.content or ""))).namelist()
    # SOURCE: notebooks only, under the folder's name, with a directory entry.
    assert sorted(names) == ["NOTEBOOKS/", "NOTEBOOKS/nb.sql", "NOTEBOOKS/日本語.py"]
    spool, _ = client.export(folder, notebook=True)  # direct_download: the zip itself
    with zipfile.ZipFile(spool) as zf:
        assert zf.read("NOTEBOOKS/日本語.py") == HEADER + b"print(1)\n"
        assert zf.getinfo("NOTEBOOKS/日本語.py").flag_bits & 0x800
    # The limit applies to the archive as a whole.
    workspace.add_notebook(f"{folder}/big", "PYTHON", b"x" * (10 * 1024 * 1024))
    with pytest.raises(e.BadRequest) as big:
        client.client.workspace.export(folder, format=ExportFormat.SOURCE)
    assert big.value.error_code == "MAX_NOTEBOOK_SIZE_EXCEEDED"


def test_archive_names_accepts_both_layouts_and_nothing_else() -> None:
    prefixed = zip_of([("NOTEBOOKS/a.py", b"1"), ("NOTEBOOKS/b c.sql", b"2")])
    assert sorted(archive_names(prefixed.infolist(), "NOTEBOOKS")) == ["a.py", "b c.sql"]
    relative = zip_of([("a.py", b"1"), ("NOTEBOOKS.py", b"2")])
    assert sorted(archive_names(relative.infolist(), "NOTEBOOKS")) == ["NOTEBOOKS.py", "a.py"]
    unflagged = zip_of([("NOTEBOOKS/", b""), ("NOTEBOOKS/ünï.py", b"1")], utf8_flag=False)
    assert not unflagged.infolist()[1].flag_bits & 0x800
    assert list(archive_names(unflagged.infolist(), "NOTEBOOKS")) == ["ünï.py"]
    with pytest.raises(ValueError, match="not a notebook of the folder itself"):
        archive_names(zip_of([("N/a.py", b"1"), ("N/sub/b.py", b"2")]).infolist(), "N")
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = zip_of([("N/a.py", b"1"), ("N/a.py", b"2")])
    with pytest.raises(ValueError, match="twice"):
        archive_names(twice.infolist(), "N")


# --------------------------------------------------------------------------- the runs


def test_folder_export_mirrors_with_a_tenth_of_the_requests(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    folders = seed(workspace, folders=5, per=10)
    workspace.add_notebook(f"{folders[0]}/ünï cødé\tname", "SCALA", b"// x\n")
    run = sync("--export-mode", "folder")
    assert run.code == EXIT_OK, run.stderr
    assert_mirror(remote, workspace)
    modes = run.report["export_modes"]
    assert (modes["folders"], modes["folder_notebooks"], modes["fallback_folders"]) == (5, 51, {})
    # The sample (3 folders, one notebook each), and the first Scala notebook if the
    # sample did not hold it: each language is checked at least once.
    checks = modes["verified"]
    assert 3 <= checks <= 4 and modes["verify_requests"] == checks
    assert sorted(server.stats.folder_exported) == sorted(folders)
    assert len(server.stats.exported) == checks  # the checks, nothing else one by one
    assert run.report["requests"]["export"]["requests"] == 5 + checks
    assert f"folder export: 5 folders (51 notebooks), 0 single, {checks} checked" in run.stdout


def test_mismatch_is_caught_by_the_sample_check_and_the_mirror_stays_exact(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace, folders=6, per=4)

    def no_header(folder: str, entries: Entries) -> Entries:
        # An archive whose entries lack the header line the per-notebook export has.
        return [(n, d[len(HEADER) :] if d and d.startswith(HEADER) else d) for n, d in entries]

    server.archive_hook = no_header
    run = sync("--export-mode", "folder", "--export-workers", "2")
    assert run.code == EXIT_OK, run.stderr
    assert_mirror(remote, workspace)  # every notebook with its header: none from an archive
    modes = run.report["export_modes"]
    assert modes["folders"] == 0 and modes["verified"] == 0
    assert modes["disabled"].startswith("sample mismatch at /Clients/2024/ENG-")
    assert "differ from its own export" in modes["mismatch"]
    assert modes["single_requests"] + modes["verify_requests"] == 24  # each once
    assert "OFF for the rest of the run: sample mismatch at" in run.stdout
    # Once off, off: later folders are not even asked for.
    assert len(server.stats.folder_exported) <= 2


def test_one_differing_entry_is_caught_when_its_folder_is_sampled(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    seed(workspace, folders=3, per=3)
    odd = f"{SOURCE}/2024/ENG-odd/NOTEBOOKS"
    workspace.add_notebook(f"{odd}/only", "PYTHON", HEADER + b"print('only')\n")

    def one_entry_differs(folder: str, entries: Entries) -> Entries:
        if folder != odd:
            return entries
        return [(n, d.replace(b"\n", b"\r\n") if d else d) for n, d in entries]

    server.archive_hook = one_entry_differs
    # A sample as large as the run: every folder export is checked before it is used.
    run = sync("--export-mode", "folder", "--verify-sample", "100", "--export-workers", "1")
    assert run.code == EXIT_OK, run.stderr
    assert_mirror(remote, workspace)
    modes = run.report["export_modes"]
    assert modes["disabled"] == f"sample mismatch at {odd}/only"
    # Which folders came before the odd one depends on the walk's order; whatever came
    # before was checked before it was used, and nothing after it was exported whole.
    assert modes["verified"] == modes["folders"] <= 3, modes


def test_a_quirk_of_one_language_is_caught_outside_the_sample(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    folders = seed(workspace, folders=4, per=3)
    scala = f"{folders[2]}/in scala"
    workspace.add_notebook(scala, "SCALA", b"// Databricks notebook source\nval x = 1\n")

    def scala_differs(folder: str, entries: Entries) -> Entries:
        return [(n, d + b"\n" if d and n.endswith(".scala") else d) for n, d in entries]

    server.archive_hook = scala_differs
    run = sync("--export-mode", "folder", "--verify-sample", "1", "--export-workers", "1")
    assert run.code == EXIT_OK, run.stderr
    assert_mirror(remote, workspace)
    modes = run.report["export_modes"]
    assert modes["disabled"] == f"sample mismatch at {scala}"
    assert modes["fallback_folders"]["sample_mismatch"] == 1


def test_archive_that_does_not_match_the_listing_falls_back(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    folders = seed(workspace, folders=5, per=3)
    missing, extra, unmapped, relative = folders[:4]

    def quirks(folder: str, entries: Entries) -> Entries:
        files = [(n, d) for n, d in entries if d is not None]
        if folder == missing:
            return files[1:]
        if folder == extra:
            return [*entries, ("NOTEBOOKS/stray.py", b"x\n")]
        if folder == unmapped:
            return [(n.replace(".py", ".python"), d) for n, d in entries]
        if folder == relative:  # the other plausible layout: accepted
            return [(n.split("/", 1)[1], d) for n, d in files]
        return entries

    server.archive_hook = quirks
    run = sync("--export-mode", "folder")
    assert run.code == EXIT_OK, run.stderr
    assert_mirror(remote, workspace)
    modes = run.report["export_modes"]
    assert modes["fallback_folders"] == {"listing_mismatch": 3}
    assert modes["folders"] == 2 and modes["fallback_notebooks"] == 9
    assert {p.rsplit("/", 1)[0] for p in server.stats.exported} >= {missing, extra, unmapped}


def test_folder_over_the_limit_falls_back_and_the_big_one_is_reported(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    (folder,) = seed(workspace, folders=1, per=3)
    workspace.add_notebook(f"{folder}/huge", "PYTHON", b"x" * (10 * 1024 * 1024 + 1))
    run = sync("--export-mode", "folder")
    assert run.code == EXIT_OK, run.stderr
    assert_mirror(remote, workspace)  # the three small ones, exported one by one
    assert run.report["export_modes"]["fallback_folders"] == {"too_large": 1}
    assert [(p["path"], p["kind"]) for p in run.report["problems"]] == [
        (f"{folder}/huge", "too_large")
    ]


def test_auto_exports_a_folder_whole_from_the_threshold_on(
    workspace: Workspace, server: WorkspaceServer, remote: Path, sync: Syncer
) -> None:
    busy, quiet = seed(workspace, folders=2, per=4)
    assert sync("--export-mode", "auto").code == EXIT_OK
    for i in range(3):
        workspace.modify(f"{busy}/nb {i}", HEADER + b"changed\n")
    workspace.modify(f"{quiet}/nb 0", HEADER + b"changed too\n")
    server.reset_stats()
    run = sync("--export-mode", "auto", "--folder-threshold", "2")
    assert run.code == EXIT_OK, run.stderr
    assert_mirror(remote, workspace)
    assert list(server.stats.folder_exported) == [busy]
    assert f"{quiet}/nb 0" in server.stats.exported
    modes = run.report["export_modes"]
    assert (modes["mode"], modes["threshold"], modes["objects"]) == ("auto", 2, 4)
    assert (modes["folders"], modes["single_requests"]) == (1, 1)
    per_notebook = sync("--export-mode", "per-notebook")
    assert per_notebook.report["export_modes"]["objects"] == 0
    assert "folder export" not in per_notebook.stdout


@pytest.mark.cloud
@pytest.mark.skipif(
    not (os.environ.get("DATABRICKS_HOST") and os.environ.get("GITSYNC_CLOUD_FOLDER")),
    reason="needs DATABRICKS_HOST (+ auth) and GITSYNC_CLOUD_FOLDER, a real folder of notebooks",
)
def test_real_folder_archive_matches_per_notebook_exports() -> None:
    """What the docs leave open, asked of a real workspace: the folder's archive maps one
    to one onto its listing, and every entry equals that notebook's own export."""
    from gitsync.folder_export import expected_entries

    ws = Client(make_client(http_timeout=60, pool_size=4), Limits())
    folder = os.environ["GITSYNC_CLOUD_FOLDER"].rstrip("/")
    expected = expected_entries(ws.list_dir(folder))
    assert expected, f"{folder} has subfolders or no notebooks with a source extension"
    spool, _ = ws.export(folder, notebook=True)
    with zipfile.ZipFile(spool) as zf:
        entries = archive_names(zf.infolist(), folder.rsplit("/", 1)[-1])
        assert sorted(entries) == sorted(expected)
        for name, path in expected.items():
            own, _ = ws.export(path, notebook=True)
            assert zf.read(entries[name]) == own.read(), path
