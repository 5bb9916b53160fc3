"""The latency SLO script, against a loopback Statement Execution API on 127.0.0.1.

The server speaks the API's JSON (POST /api/2.0/sql/statements, GET .../{id},
POST .../{id}/cancel) to the real databricks-sdk client: statements queue, run, succeed,
fail or never finish, on the server's own clock. The live check against staging's
warehouse is marked ``cloud`` and skipped without credentials.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pytest
from databricks.sdk import WorkspaceClient

SCRIPT = Path(__file__).resolve().parent.parent / ".github" / "scripts" / "sql_latency_slo.py"
TOKEN = "dapi-slo-test-token"
WAREHOUSE = "a1b2c3d4e5f60718"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sql_latency_slo", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered first: its dataclasses look their module up while it loads.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


slo = _load()


@dataclass
class Statement:
    text: str
    submitted: float
    polls: int = 0
    cancelled: bool = False


@dataclass
class Behaviour:
    """How the measured query behaves: queued polls, run time, or a failure / no end."""

    queued_polls: int = 0
    run_seconds: float = 0.0
    error: tuple[str, str] | None = None
    never_finishes: bool = False
    statements: dict[str, Statement] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)


class _Api(BaseHTTPRequestHandler):
    behaviour: ClassVar[Behaviour] = Behaviour()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self._reply(401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
        return False

    def _status(self, statement_id: str) -> dict[str, Any]:
        b, s = self.behaviour, self.behaviour.statements[statement_id]
        body: dict[str, Any] = {"statement_id": statement_id}
        measured = s.text != slo.WARMUP_QUERY
        if s.cancelled:
            body["status"] = {"state": "CANCELED"}
        elif measured and (b.never_finishes or s.polls < b.queued_polls):
            body["status"] = {"state": "PENDING" if not b.never_finishes else "RUNNING"}
        elif measured and time.monotonic() - s.submitted < b.run_seconds:
            body["status"] = {"state": "RUNNING"}
        elif measured and b.error is not None:
            code, message = b.error
            body["status"] = {"state": "FAILED", "error": {"error_code": code, "message": message}}
        else:
            body["status"] = {"state": "SUCCEEDED"}
            body["manifest"] = {
                "format": "JSON_ARRAY",
                "total_row_count": 3,
                "total_chunk_count": 1,
            }
            body["result"] = {"row_count": 3, "data_array": [["2024-06-03", "smb", "1"]] * 3}
        return body

    def do_POST(self) -> None:
        if not self._authorised():
            return
        length = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(length) or b"{}")
        with self.lock:
            if self.path == "/api/2.0/sql/statements":
                self.behaviour.requests.append(request)
                statement_id = f"01ef-{len(self.behaviour.statements):04d}"
                self.behaviour.statements[statement_id] = Statement(
                    request["statement"], time.monotonic()
                )
                self._reply(200, self._status(statement_id))
            elif self.path.endswith("/cancel"):
                statement_id = self.path.split("/")[-2]
                self.behaviour.statements[statement_id].cancelled = True
                self._reply(200, {})
            else:
                self._reply(404, {"error_code": "NOT_FOUND", "message": self.path})

    def do_GET(self) -> None:
        if not self._authorised():
            return
        statement_id = self.path.rsplit("/", 1)[-1]
        with self.lock:
            statement = self.behaviour.statements.get(statement_id)
            if statement is None:
                self._reply(404, {"error_code": "NOT_FOUND", "message": statement_id})
                return
            statement.polls += 1
            self._reply(200, self._status(statement_id))

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[tuple[WorkspaceClient, Behaviour]]:
    behaviour = Behaviour()
    _Api.behaviour = behaviour
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    client = WorkspaceClient(host=host, token=TOKEN, auth_type="pat")
    yield client, behaviour
    server.shutdown()
    server.server_close()


def run(client: WorkspaceClient, *extra: str) -> int:
    argv = ["--host", "http://unused", "--warehouse-id", WAREHOUSE, "--catalog", "staging"]
    return int(slo.main([*argv, *extra], client=client))


def test_a_fast_query_meets_the_slo(
    api: tuple[WorkspaceClient, Behaviour], capsys: pytest.CaptureFixture[str]
) -> None:
    client, behaviour = api
    assert run(client) == slo.EXIT_OK
    out = capsys.readouterr().out
    assert f"latency SLO on warehouse {WAREHOUSE}: query took" in out
    assert "3 rows, within the SLO of 5s" in out
    warmup, measured = behaviour.requests
    assert warmup["statement"] == slo.WARMUP_QUERY
    assert measured == {
        "statement": slo.GOLD_QUERY,
        "warehouse_id": WAREHOUSE,
        "catalog": "staging",
        "wait_timeout": "5s",
        "on_wait_timeout": "CONTINUE",
    }


def test_a_queued_then_running_query_is_polled_to_its_result(
    api: tuple[WorkspaceClient, Behaviour],
) -> None:
    client, behaviour = api
    behaviour.queued_polls, behaviour.run_seconds = 3, 0.3
    measurement = slo.run_statement(
        client, slo.GOLD_QUERY, warehouse=WAREHOUSE, catalog="staging", timeout_seconds=10
    )
    (statement,) = behaviour.statements.values()
    assert statement.polls >= 3
    assert (measurement.state, measurement.rows) == ("SUCCEEDED", 3)
    assert measurement.seconds >= 0.3
    assert slo.verdict(measurement, 5.0)[0] is True


def test_a_slow_query_fails_the_slo(
    api: tuple[WorkspaceClient, Behaviour], capsys: pytest.CaptureFixture[str]
) -> None:
    client, behaviour = api
    behaviour.run_seconds = 0.8
    assert run(client, "--slo-seconds", "0.5") == slo.EXIT_FAILED
    assert "above the SLO of 0.5s" in capsys.readouterr().err


def test_the_warmup_is_not_measured(api: tuple[WorkspaceClient, Behaviour]) -> None:
    client, behaviour = api
    assert run(client, "--no-warmup") == slo.EXIT_OK
    assert [r["statement"] for r in behaviour.requests] == [slo.GOLD_QUERY]


def test_a_failed_query_fails_with_its_error(
    api: tuple[WorkspaceClient, Behaviour], capsys: pytest.CaptureFixture[str]
) -> None:
    client, behaviour = api
    behaviour.error = (
        "TABLE_OR_VIEW_NOT_FOUND",
        "[TABLE_OR_VIEW_NOT_FOUND] The table gold.daily_revenue_by_segment cannot be found.",
    )
    assert run(client) == slo.EXIT_FAILED
    err = capsys.readouterr().err
    assert "query FAILED after" in err and "TABLE_OR_VIEW_NOT_FOUND" in err


def test_a_query_without_a_result_in_time_is_cancelled(
    api: tuple[WorkspaceClient, Behaviour], capsys: pytest.CaptureFixture[str]
) -> None:
    client, behaviour = api
    behaviour.never_finishes = True
    assert run(client, "--timeout-seconds", "0.6") == slo.EXIT_FAILED
    measured = [s for s in behaviour.statements.values() if s.text == slo.GOLD_QUERY]
    assert [s.cancelled for s in measured] == [True]
    assert "cancelled" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--host", "", "--warehouse-id", WAREHOUSE], "the workspace host is empty"),
        (["--host", "adb-1.azuredatabricks.net", "--warehouse-id", ""], "does the stack export"),
        (
            [
                "--host",
                "adb-1.azuredatabricks.net",
                "--warehouse-id",
                WAREHOUSE,
                "--slo-seconds",
                "0",
            ],
            "must be positive",
        ),
    ],
)
def test_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert slo.main(argv) == slo.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err


@pytest.mark.cloud
@pytest.mark.skipif(
    not (os.environ.get("DATABRICKS_HOST") and os.environ.get("DATAOPS_SLO_WAREHOUSE_ID")),
    reason="needs DATABRICKS_HOST, workspace credentials and DATAOPS_SLO_WAREHOUSE_ID",
)
def test_the_gold_query_meets_the_slo_on_the_real_warehouse() -> None:
    argv = [
        "--host",
        os.environ["DATABRICKS_HOST"],
        "--warehouse-id",
        os.environ["DATAOPS_SLO_WAREHOUSE_ID"],
        "--catalog",
        os.environ.get("DATAOPS_SLO_CATALOG", "staging"),
    ]
    assert slo.main(argv) == slo.EXIT_OK
