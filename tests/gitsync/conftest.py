"""Fixtures for the gitsync tests: a loopback workspace server, a bare remote, a clean env."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from gitsync_helpers import Syncer
from gitsync_wsserver import Workspace, WorkspaceServer

TOKEN = "dapi-test-token"


@pytest.fixture
def workspace() -> Workspace:
    return Workspace()


@pytest.fixture
def server(workspace: Workspace) -> Iterator[WorkspaceServer]:
    srv = WorkspaceServer(workspace, token=TOKEN).start()
    yield srv
    srv.stop()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(path)], check=True)
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: WorkspaceServer) -> Path:
    """Only the variables a sync job would have; no ~/.databrickscfg, own cache dir."""
    import os

    for key in list(os.environ):
        if key.startswith(("DATABRICKS_", "ARM_", "AZURE_", "GITSYNC_", "GIT_")):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DATABRICKS_HOST", server.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    cache = tmp_path / "cache"
    monkeypatch.setenv("GITSYNC_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(params=["per-notebook", "folder"])
def export_mode(request: pytest.FixtureRequest) -> str:
    """Every scenario runs twice: one export per notebook, and one per folder (with the
    sample check and the fallbacks), and must end in the same exact mirror."""
    return str(request.param)


@pytest.fixture
def sync(
    server: WorkspaceServer, remote: Path, tmp_path: Path, env: Path, capsys: Any, export_mode: str
) -> Syncer:
    return Syncer(server.url, remote, tmp_path, capsys, export_mode)
