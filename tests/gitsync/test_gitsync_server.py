"""The loopback server speaks shapes the real databricks-sdk parses (the tests' premise)."""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest
from databricks.sdk.errors import platform as e
from databricks.sdk.service.workspace import ExportFormat, Language, ObjectType
from gitsync_wsserver import Fault, Workspace, WorkspaceServer

from gitsync.retry import Outcome
from gitsync.workspace import Limits, RequestFailedError, make_client
from gitsync.workspace import Workspace as Client


@pytest.fixture
def client(server: WorkspaceServer, env: object) -> Client:
    return Client(make_client(http_timeout=5, pool_size=4), Limits(1000, 1000, 1000))


def test_list_get_status_and_empty_folder(workspace: Workspace, client: Client) -> None:
    nb = workspace.add_notebook("/Clients/a/nb", "SCALA", b"// x\n")
    workspace.add_file("/Clients/a/f.txt", b"abc")
    workspace.mkdirs("/Clients/empty")
    objs = {o.path: o for o in client.list_dir("/Clients/a")}
    assert objs["/Clients/a/nb"].object_type == ObjectType.NOTEBOOK
    assert objs["/Clients/a/nb"].language == Language.SCALA
    assert objs["/Clients/a/nb"].object_id == nb.object_id
    assert objs["/Clients/a/nb"].modified_at == nb.modified_at
    assert objs["/Clients/a/f.txt"].size == 3
    assert client.list_dir("/Clients/empty") == []  # the service answers {}
    status = client.get_status("/Clients/a")
    assert status.object_type == ObjectType.DIRECTORY


def test_export_json_and_direct_download(workspace: Workspace, client: Client) -> None:
    workspace.add_notebook("/Clients/nb", "PYTHON", b"# Databricks notebook source\nprint(1)\n")
    via_json = client.client.workspace.export("/Clients/nb", format=ExportFormat.SOURCE)
    assert base64.b64decode(via_json.content or "") == b"# Databricks notebook source\nprint(1)\n"
    assert via_json.file_type == "py"
    spool, size = client.export("/Clients/nb", notebook=True)
    assert spool.read() == b"# Databricks notebook source\nprint(1)\n" and size == 38


def test_errors_map_to_sdk_classes(
    workspace: Workspace, server: WorkspaceServer, client: Client
) -> None:
    with pytest.raises(RequestFailedError) as err:
        client.get_status("/missing")
    assert err.value.classified.outcome is Outcome.NOT_FOUND
    # The raw body is the service's: {"error_code": ..., "message": ...}
    req = urllib.request.Request(
        f"{server.url}/api/2.0/workspace/get-status?path=/missing",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(req)
    assert http.value.code == 404
    assert json.loads(http.value.read()) == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": "Path (/missing) doesn't exist.",
    }
    workspace.add_notebook("/big", "PYTHON", b"x" * (10 * 1024 * 1024 + 1))
    with pytest.raises(e.BadRequest) as big:
        client.client.workspace.export("/big", format=ExportFormat.SOURCE)
    assert big.value.error_code == "MAX_NOTEBOOK_SIZE_EXCEEDED"


def test_sdk_does_not_retry_behind_gitsync(
    workspace: Workspace, server: WorkspaceServer, client: Client
) -> None:
    workspace.mkdirs("/Clients")
    server.faults = lambda ep, p, n: (
        Fault("status", 429, "REQUEST_LIMIT_EXCEEDED", "slow down", retry_after=7 if n == 1 else 1)
        if n <= 2
        else None
    )
    # The SDK alone, as gitsync configures it: its retry loop wants to sleep 7 s and is
    # stopped at once; the original 429 travels as the exception's context.
    with pytest.raises(Exception) as err:
        client.client.workspace.get_status("/Clients")
    original = err.value.__context__
    assert isinstance(original, e.TooManyRequests)
    assert original.retry_after_secs == 7
    assert server.stats.requests["get-status"] == 1  # no hidden retry, no 7 s sleep
    # Through gitsync: one retry after the Retry-After pause, both counted.
    assert client.get_status("/Clients").object_type == ObjectType.DIRECTORY
    assert client.stats["get-status"].throttled == 1
    assert server.stats.requests["get-status"] == client.stats["get-status"].requests + 1 == 3
