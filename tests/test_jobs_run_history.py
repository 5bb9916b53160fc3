"""The backup's run history, from real gitsync reports to tables on a local SparkSession.

The reports are produced by the real ``gitsync`` against the loopback Workspace API
server of ``tests/gitsync`` (a full export, an incremental run with a retried export
and an unlistable folder, a run refused by the workspace), then recorded by the job
code exactly as the git sync notebook records them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dataops_jobs import run_history
from pyspark.sql import SparkSession

sys.path.insert(0, str(Path(__file__).parent / "gitsync"))

from gitsync_wsserver import Fault, Workspace, WorkspaceServer

from gitsync.cli import main as gitsync_main

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
        reason="local Spark needs Java 17 (java on PATH or JAVA_HOME)",
    ),
]

TOKEN = "dapi-history-token"
SOURCE = "/Clients"
LOCAL_CATALOG = "spark_catalog"
SCHEMA = "ops"
BROKEN_FOLDER = f"{SOURCE}/2022/ENG-001/NOTEBOOKS"


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    session = (
        SparkSession.builder.master("local[1]")
        .appName("dataops-run-history-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sql(f"CREATE DATABASE IF NOT EXISTS {SCHEMA}")
    yield session
    session.sql(f"DROP DATABASE IF EXISTS {SCHEMA} CASCADE")


def _gitsync(server: str, token: str, remote: Path, report: Path, cache: Path) -> int:
    """One real ``gitsync run`` in this process, with only what a job would have."""
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith(("DATABRICKS_", "ARM_", "AZURE_", "GITSYNC_", "GIT_")):
                del os.environ[key]
        os.environ |= {
            "DATABRICKS_HOST": server,
            "DATABRICKS_TOKEN": token,
            "GITSYNC_CACHE_DIR": str(cache),
            "HOME": str(cache.parent),
        }
        return gitsync_main(
            [
                "run",
                "--source",
                SOURCE,
                "--repo",
                str(remote),
                "--list-rate",
                "2000",
                "--export-rate",
                "2000",
                "--progress",
                "never",
                # One export per notebook, so the recorded request counts are the notebooks'.
                "--export-mode",
                "per-notebook",
                "--report",
                str(report),
            ]
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, dict[str, Any]]]:
    """(exit code, report) of three real runs: full, incremental with faults, refused."""
    tmp = tmp_path_factory.mktemp("gitsync")
    remote = tmp / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(remote)], check=True)
    workspace = Workspace()
    for engagement in range(3):
        for i in range(4):
            workspace.add_notebook(
                f"{SOURCE}/{2021 + engagement}/ENG-{engagement:03d}/NOTEBOOKS/nb {i}",
                "PYTHON",
                f"print({engagement}, {i})\n".encode(),
            )
    server = WorkspaceServer(workspace, token=TOKEN).start()
    try:
        results = []
        code = _gitsync(server.url, TOKEN, remote, tmp / "full.json", tmp / "cache")
        results.append((code, json.loads((tmp / "full.json").read_text())))

        workspace.modify(f"{SOURCE}/2021/ENG-000/NOTEBOOKS/nb 0", b"print('changed')\n")
        workspace.delete(f"{SOURCE}/2023/ENG-002/NOTEBOOKS/nb 3")
        exports = {"n": 0}

        def faults(endpoint: str, path: str, attempt: int) -> Fault | None:
            if endpoint == "list" and path == BROKEN_FOLDER:
                return Fault("status", 403, "PERMISSION_DENIED", "no access to the folder")
            if endpoint == "export" and exports["n"] == 0:
                exports["n"] += 1  # the first export answers 503 once, then succeeds
                return Fault("status", 503, "TEMPORARILY_UNAVAILABLE", "busy")
            return None

        server.faults = faults
        code = _gitsync(server.url, TOKEN, remote, tmp / "daily.json", tmp / "cache")
        results.append((code, json.loads((tmp / "daily.json").read_text())))
        server.faults = None

        code = _gitsync(server.url, "dapi-revoked", remote, tmp / "refused.json", tmp / "cache")
        results.append((code, json.loads((tmp / "refused.json").read_text())))
    finally:
        server.stop()
    return results


def _rows(report: dict[str, Any], code: int, run_id: str) -> run_history.RunRows:
    clock = datetime.now(UTC)
    return run_history.rows_from_report(
        report, run_id=run_id, exit_code=code, started=clock, finished=clock, job_run_id="77"
    )


def test_the_reports_are_what_the_history_is_tested_on(
    reports: list[tuple[int, dict[str, Any]]],
) -> None:
    (full_code, full), (daily_code, daily), (refused_code, refused) = reports
    assert (full_code, full["status"], full["counts"]["added"]) == (0, "ok", 12)
    assert (daily_code, daily["status"]) == (3, "incomplete")
    assert daily["requests"]["export"]["retries"] >= 1
    assert (refused_code, refused["status"]) == (1, "error")


def test_a_run_row_says_what_the_run_did_and_against_which_target(
    reports: list[tuple[int, dict[str, Any]]],
) -> None:
    (_, full), (daily_code, daily), _ = reports
    first = _rows(full, 0, "r1").run
    assert (first["kind"], first["target_seconds"]) == ("full", 8 * 3600)
    assert (first["scanned"], first["added"], first["exported"], first["failed"]) == (12, 12, 12, 0)
    assert first["export_requests"] == 12 and first["list_requests"] >= 7
    assert first["requests_by_endpoint"]["export"] == 12
    assert first["tag"] == full["tag"] and first["head_commit"] == full["head_commit"]
    assert first["within_target"] is True and first["pushed"] is True
    assert first["job_run_id"] == "77"

    second = _rows(daily, daily_code, "r2")
    assert (second.run["kind"], second.run["target_seconds"]) == ("incremental", 30 * 60)
    assert (second.run["modified"], second.run["deleted"]) == (1, 1)
    assert second.run["export_retries"] >= 1
    # Incomplete: an unlistable folder is a failure, and the run missed its target.
    assert second.run["failed"] == 1 and second.run["within_target"] is False
    assert [(f["path"], f["kind"]) for f in second.failures] == [(BROKEN_FOLDER, "list_failed")]
    assert "no access to the folder" in second.failures[0]["reason"]


def test_a_refused_run_is_recorded_with_its_reason(
    reports: list[tuple[int, dict[str, Any]]],
) -> None:
    _, _, (code, refused) = reports
    rows = _rows(refused, code, "r3")
    assert (rows.run["status"], rows.run["exit_code"], rows.run["within_target"]) == (
        "error",
        1,
        False,
    )
    assert rows.failures[-1]["kind"] == "run_error"
    assert rows.failures[-1]["reason"] == refused["error"]


def test_the_job_appends_one_row_per_run_and_trims_to_the_retention(
    spark: SparkSession, reports: list[tuple[int, dict[str, Any]]]
) -> None:
    (full_code, full), (daily_code, daily), (refused_code, refused) = reports
    now = datetime.now(UTC)
    # The full export ran 40 days ago: past the default retention of 30 days.
    old = now - timedelta(days=40)
    full = full | {
        "started_at": old.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": (old + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    record = lambda rows, when: run_history.record_run(  # noqa: E731
        spark, catalog=LOCAL_CATALOG, schema=SCHEMA, rows=rows, now=when
    )
    assert record(_rows(full, full_code, "r1"), old) == {
        run_history.qualified(LOCAL_CATALOG, SCHEMA, run_history.RUNS_TABLE): 1,
        run_history.qualified(LOCAL_CATALOG, SCHEMA, run_history.FAILURES_TABLE): 0,
    }
    kept = record(_rows(daily, daily_code, "r2"), now)
    assert list(kept.values()) == [1, 1]  # the 40-day-old run is gone, today's is kept
    kept = record(_rows(refused, refused_code, "r3"), now)
    assert list(kept.values()) == [2, 2]

    runs = spark.table(run_history.qualified(LOCAL_CATALOG, SCHEMA, run_history.RUNS_TABLE))
    # Names and types as the job declares them (parquet, unlike Delta, keeps no NOT NULL).
    assert [(f.name, f.dataType) for f in runs.schema] == [
        (f.name, f.dataType) for f in run_history.RUNS_SCHEMA
    ]
    by_id = {row["run_id"]: row for row in runs.collect()}
    assert sorted(by_id) == ["r2", "r3"]
    assert (by_id["r2"]["status"], by_id["r2"]["exported"], by_id["r2"]["kind"]) == (
        "incomplete",
        1,
        "incremental",
    )
    assert by_id["r3"]["error"] == refused["error"]
    failures = spark.table(
        run_history.qualified(LOCAL_CATALOG, SCHEMA, run_history.FAILURES_TABLE)
    ).collect()
    assert sorted((f["run_id"], f["kind"]) for f in failures) == [
        ("r2", "list_failed"),
        ("r3", "run_error"),
    ]


def test_a_retention_below_one_day_is_refused(spark: SparkSession) -> None:
    rows = run_history.RunRows(run={}, failures=[])
    with pytest.raises(ValueError, match="retention_days must be at least 1"):
        run_history.record_run(
            spark, catalog=LOCAL_CATALOG, schema=SCHEMA, rows=rows, retention_days=0
        )


def test_delta_tables_are_trimmed_in_place() -> None:
    statement = run_history.trim_statement("`prod`.`ops`.`gitsync_runs`", datetime(2024, 6, 1, 2))
    assert statement == (
        "DELETE FROM `prod`.`ops`.`gitsync_runs` WHERE started_at < TIMESTAMP '2024-06-01 02:00:00'"
    )


# ----------------------------------------------------------- the notebook records the run


def test_the_notebook_records_a_failed_run_before_failing_the_task(
    spark: SparkSession,
    reports: list[tuple[int, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataops_jobs import git_sync
    from dataops_jobs import parameters as jp
    from test_jobs_git_sync import FakeDbutils

    _, _, (code, refused) = reports
    outcome = git_sync.GitSyncOutcome(
        exit_code=code, summary="gitsync: error: refused", report_path=None, report=refused
    )
    monkeypatch.setattr(git_sync, "run_git_sync", lambda *args, **kwargs: outcome)
    spark.conf.set("spark.databricks.workspaceUrl", "adb-1.azuredatabricks.net")
    schema = "ops_notebook"
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
    dbutils = FakeDbutils(
        {
            jp.SOURCE_PATH: SOURCE,
            jp.TARGET_REPOSITORY: "https://github.com/datanova/notebook-backup.git",
            jp.SECRET_SCOPE: "",
            jp.REPORT_DIR: "",
            jp.CATALOG: LOCAL_CATALOG,
            jp.HISTORY_SCHEMA: schema,
            jp.RETENTION_DAYS: "7",
            jp.JOB_RUN_ID: "912345678",
        }
    )
    notebook = Path(__file__).resolve().parent.parent / "notebooks" / jp.GIT_SYNC.path
    namespace = {"spark": spark, "dbutils": dbutils, "__name__": "__main__"}
    with pytest.raises(git_sync.GitSyncError, match=r"^gitsync exited 1 \(error\)"):
        exec(compile(notebook.read_text(encoding="utf-8"), jp.GIT_SYNC.path, "exec"), namespace)
    (row,) = spark.table(
        run_history.qualified(LOCAL_CATALOG, schema, run_history.RUNS_TABLE)
    ).collect()
    assert (row["status"], row["exit_code"], row["job_run_id"]) == ("error", 1, "912345678")
    assert namespace["kept"] == {
        run_history.qualified(LOCAL_CATALOG, schema, run_history.RUNS_TABLE): 1,
        run_history.qualified(LOCAL_CATALOG, schema, run_history.FAILURES_TABLE): 1,
    }


def test_a_history_that_cannot_be_written_never_hides_the_backups_failure(
    spark: SparkSession,
    reports: list[tuple[int, dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataops_jobs import git_sync
    from dataops_jobs import parameters as jp
    from test_jobs_git_sync import FakeDbutils

    _, _, (code, refused) = reports
    outcome = git_sync.GitSyncOutcome(
        exit_code=code, summary="gitsync: error: refused", report_path=None, report=refused
    )
    monkeypatch.setattr(git_sync, "run_git_sync", lambda *args, **kwargs: outcome)
    spark.conf.set("spark.databricks.workspaceUrl", "adb-1.azuredatabricks.net")
    dbutils = FakeDbutils(
        {
            jp.SOURCE_PATH: SOURCE,
            jp.TARGET_REPOSITORY: "https://github.com/datanova/notebook-backup.git",
            jp.SECRET_SCOPE: "",
            jp.REPORT_DIR: "",
            jp.CATALOG: LOCAL_CATALOG,
            jp.HISTORY_SCHEMA: "no_such_schema",  # not created: the append fails
        }
    )
    notebook = Path(__file__).resolve().parent.parent / "notebooks" / jp.GIT_SYNC.path
    namespace = {"spark": spark, "dbutils": dbutils, "__name__": "__main__"}
    with pytest.raises(git_sync.GitSyncError, match=r"^gitsync exited 1 \(error\)"):
        exec(compile(notebook.read_text(encoding="utf-8"), jp.GIT_SYNC.path, "exec"), namespace)
    assert namespace["history_error"] is not None
