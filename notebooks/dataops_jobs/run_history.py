"""The backup's run history in Unity Catalog: one row per gitsync run, its failures apart.

Every run of the git sync task, failed ones included, appends one row to
``<catalog>.<schema>.gitsync_runs`` (what the run saw and did, its requests and retries
per endpoint, its commit and tag, its exit, and the duration target it is held to) and
one row per failed or skipped object to ``<catalog>.<schema>.gitsync_run_failures``;
then it removes rows older than the retention from both. The dashboards and the
stale-backup alert read these tables; their columns are :data:`RUNS_SCHEMA` and
:data:`FAILURES_SCHEMA`, which the dashboards' queries are checked against.

``rows_from_report`` is plain Python over gitsync's JSON report (``gitsync/report.py``),
so the mapping is tested without Spark; ``record_run`` is the only I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql.types import (
    BooleanType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

RUNS_TABLE = "gitsync_runs"
FAILURES_TABLE = "gitsync_run_failures"
DEFAULT_RETENTION_DAYS = 30

# The backup's duration targets: a full export of the workspace (no earlier backup to
# compare with) within 8 hours, a daily incremental run within 30 minutes.
FULL_TARGET_SECONDS = 8 * 3600
INCREMENTAL_TARGET_SECONDS = 30 * 60
FULL, INCREMENTAL = "full", "incremental"

# The endpoints gitsync counts requests for (gitsync/workspace.py, EndpointStats); each
# has its own columns, and every endpoint is also in the maps.
ENDPOINTS = ("list", "export")

_COUNTS = ("scanned", "added", "modified", "moved", "deleted", "unchanged", "failed", "skipped")

RUNS_SCHEMA = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("job_run_id", StringType()),
        StructField("source", StringType()),
        StructField("repo", StringType()),
        StructField("branch", StringType()),
        StructField("status", StringType(), False),  # ok | incomplete | error
        StructField("exit_code", IntegerType(), False),
        StructField("error", StringType()),
        StructField("started_at", TimestampType(), False),
        StructField("finished_at", TimestampType(), False),
        StructField("duration_seconds", DoubleType(), False),
        StructField("kind", StringType(), False),  # full | incremental
        StructField("target_seconds", IntegerType(), False),
        StructField("within_target", BooleanType(), False),
        *(StructField(name, LongType(), False) for name in _COUNTS),
        # Notebooks and files written to git: the new and the changed (moves reuse blobs).
        StructField("exported", LongType(), False),
        *(
            StructField(f"{endpoint}_{what}", LongType(), False)
            for endpoint in ENDPOINTS
            for what in ("requests", "retries")
        ),
        StructField("requests_by_endpoint", MapType(StringType(), LongType())),
        StructField("retries_by_endpoint", MapType(StringType(), LongType())),
        StructField("commits", LongType(), False),
        StructField("head_commit", StringType()),
        StructField("tag", StringType()),
        StructField("pushed", BooleanType(), False),
    ]
)

FAILURES_SCHEMA = StructType(
    [
        StructField("run_id", StringType(), False),
        StructField("started_at", TimestampType(), False),
        StructField("path", StringType(), False),
        # failed | list_failed (counted as failed), or why it was skipped (too_large, ...)
        StructField("kind", StringType(), False),
        StructField("reason", StringType(), False),
    ]
)


@dataclass(frozen=True)
class RunRows:
    run: dict[str, Any]
    failures: list[dict[str, Any]]


def _timestamp(value: object, fallback: datetime) -> datetime:
    """gitsync's UTC timestamps (``2024-06-01T02:00:05Z``), naive UTC for Spark."""
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC).replace(tzinfo=None)
    return fallback.astimezone(UTC).replace(tzinfo=None)


def _int(mapping: Mapping[str, Any], key: str) -> int:
    value = mapping.get(key, 0)
    return int(value) if isinstance(value, int | float) else 0


def rows_from_report(
    report: Mapping[str, Any],
    *,
    run_id: str,
    exit_code: int,
    started: datetime,
    finished: datetime,
    job_run_id: str | None = None,
) -> RunRows:
    """The history rows of one run, from its gitsync report.

    ``started``/``finished`` are the task's own clock, used where the report has none (a
    run that failed before gitsync started its clock). A run without an earlier backup
    (no base commit) is a full export, held to the full target.
    """
    counts: Mapping[str, Any] = report.get("counts") or {}
    requests: Mapping[str, Mapping[str, Any]] = report.get("requests") or {}
    started_at = _timestamp(report.get("started_at"), started)
    finished_at = _timestamp(report.get("finished_at"), finished)
    durations: Mapping[str, Any] = report.get("durations") or {}
    total = durations.get("total")
    duration = (
        float(total)
        if isinstance(total, int | float) and total > 0
        else max((finished_at - started_at).total_seconds(), 0.0)
    )
    kind = INCREMENTAL if report.get("base_commit") else FULL
    target = FULL_TARGET_SECONDS if kind == FULL else INCREMENTAL_TARGET_SECONDS
    status = str(report.get("status") or "error")
    run: dict[str, Any] = {
        "run_id": run_id,
        "job_run_id": job_run_id,
        "source": report.get("source"),
        "repo": report.get("repo"),
        "branch": report.get("branch"),
        "status": status if status != "running" else "error",
        "exit_code": exit_code,
        "error": report.get("error"),
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_seconds": duration,
        "kind": kind,
        "target_seconds": target,
        # A run that did not finish its work met no target, however fast it failed.
        "within_target": exit_code == 0 and duration <= target,
        **{name: _int(counts, name) for name in _COUNTS},
        "exported": _int(counts, "added") + _int(counts, "modified"),
        **{
            f"{endpoint}_{what}": _int(requests.get(endpoint) or {}, what)
            for endpoint in ENDPOINTS
            for what in ("requests", "retries")
        },
        "requests_by_endpoint": {ep: _int(s, "requests") for ep, s in sorted(requests.items())},
        "retries_by_endpoint": {ep: _int(s, "retries") for ep, s in sorted(requests.items())},
        "commits": _int(report, "commits"),
        "head_commit": report.get("head_commit"),
        "tag": report.get("tag"),
        "pushed": bool(report.get("pushed")),
    }
    failures = [
        {
            "run_id": run_id,
            "started_at": started_at,
            "path": str(problem.get("path", "")),
            "kind": str(problem.get("kind", "")),
            "reason": str(problem.get("reason", "")),
        }
        for problem in report.get("problems") or []
        if isinstance(problem, Mapping)
    ]
    if status == "error" and report.get("error"):
        # The run's own error is a failure too (a refused push, a bad token), with its reason.
        failures.append(
            {
                "run_id": run_id,
                "started_at": started_at,
                "path": str(report.get("source") or ""),
                "kind": "run_error",
                "reason": str(report["error"]),
            }
        )
    return RunRows(run=run, failures=failures)


def qualified(catalog: str, schema: str, table: str) -> str:
    """A three-level name, each part quoted (catalogs like ``dev-ws`` need it)."""
    return ".".join(f"`{part.replace('`', '``')}`" for part in (catalog, schema, table))


def record_run(
    spark: SparkSession,
    *,
    catalog: str,
    schema: str,
    rows: RunRows,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    now: datetime | None = None,
) -> dict[str, int]:
    """Append the run's rows, then drop rows older than the retention from both tables.

    Returns how many rows each table holds afterwards (the job prints it). The tables
    are created by the first append, with the schemas above.
    """
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, not {retention_days}")
    runs = qualified(catalog, schema, RUNS_TABLE)
    failures = qualified(catalog, schema, FAILURES_TABLE)
    spark.createDataFrame([Row(**rows.run)], RUNS_SCHEMA).write.mode("append").saveAsTable(runs)
    # An empty append still creates the table, so the dashboards' queries always resolve.
    spark.createDataFrame([Row(**f) for f in rows.failures], FAILURES_SCHEMA).write.mode(
        "append"
    ).saveAsTable(failures)
    cutoff = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None) - timedelta(
        days=retention_days
    )
    return {table: trim(spark, table, cutoff) for table in (runs, failures)}


def trim_statement(table: str, cutoff: datetime) -> str:
    return f"DELETE FROM {table} WHERE started_at < TIMESTAMP '{cutoff:%Y-%m-%d %H:%M:%S}'"


def trim(spark: SparkSession, table: str, cutoff: datetime) -> int:
    """Remove rows that started before ``cutoff``; returns the rows left.

    Unity Catalog's managed tables are Delta, which deletes in place (a new table
    version; time travel keeps the old rows until VACUUM). Other formats (a local
    session's parquet tables) cannot delete rows: the kept rows are materialised, cut
    from the table's files, and written back.
    """
    if _provider(spark, table) == "delta":
        spark.sql(trim_statement(table, cutoff))
    else:
        kept: DataFrame = spark.table(table).where(sf.col("started_at") >= sf.lit(cutoff))
        kept.localCheckpoint(eager=True).write.mode("overwrite").saveAsTable(table)
    return spark.table(table).count()


def _provider(spark: SparkSession, table: str) -> str:
    rows: Sequence[Row] = spark.sql(f"DESCRIBE TABLE EXTENDED {table}").collect()
    for row in rows:
        if str(row["col_name"]).strip() == "Provider":
            return str(row["data_type"]).strip().lower()
    return ""
