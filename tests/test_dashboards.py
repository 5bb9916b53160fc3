"""The dashboards read only what the jobs write.

Every dataset query of ``dashboards/*.lvdash.json`` (and the stale-backup alert's query)
is parsed with a real SQL parser (sqlglot, Databricks dialect); each table it reads must
be one a job writes, and each column must be a column of that table. The written schemas
come from the job code itself: the run history's declared schemas, the integration
results' columns, and the medallion's transforms applied to empty bronze frames (Spark
resolves their output schemas without running anything). A renamed column in a job, or
a typo in a dashboard, fails here rather than on a blank tile.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import sqlglot
from dataops_jobs import integration, medallion, run_history
from dataops_jobs.parameters import BRONZE, GOLD, INTEGRATION_RESULTS_TABLE, SILVER
from pyspark.sql import SparkSession
from pyspark.sql.types import StringType, StructField, StructType, TimestampType
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.qualify import qualify

from components.observability import (
    DASHBOARDS,
    PROJECT_ROOT,
    DashboardSpec,
    stale_backup_query,
)

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
        reason="local Spark needs Java 17 (java on PATH or JAVA_HOME)",
    ),
]

DIALECT = "databricks"
HISTORY = "ops"  # observability.runHistory.schemaName's default
Schemas = dict[str, dict[str, dict[str, str]]]  # schema -> table -> column -> type


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    session = (
        SparkSession.builder.master("local[1]")
        .appName("dataops-dashboard-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .getOrCreate()
    )
    yield session


def _columns(schema: StructType) -> dict[str, str]:
    return {f.name: f.dataType.simpleString() for f in schema.fields}


@pytest.fixture(scope="module")
def written(spark: SparkSession) -> Schemas:
    """Every table the jobs write, with its columns, from the job code's own definitions."""
    bronze: dict[str, StructType] = {
        source.name: StructType(
            [
                *source.raw_schema.fields,
                StructField(medallion.SOURCE_FILE, StringType()),
                StructField(medallion.INGESTED_AT, TimestampType()),
            ]
        )
        for source in medallion.SOURCES
    }
    frames = {name: spark.createDataFrame([], schema) for name, schema in bronze.items()}
    silver = medallion.to_silver(frames["orders"], frames["customers"])
    return {
        BRONZE: {
            **{name: _columns(schema) for name, schema in bronze.items()},
            # write_results creates it with every column a STRING.
            INTEGRATION_RESULTS_TABLE: dict.fromkeys(integration.RESULT_COLUMNS, "string"),
        },
        SILVER: {
            "orders": _columns(silver.orders.schema),
            "customers": _columns(silver.customers.schema),
            "quarantine": _columns(silver.quarantine.schema),
        },
        GOLD: {
            "daily_revenue_by_segment": _columns(
                medallion.daily_revenue_by_segment(silver.orders, silver.customers).schema
            ),
            "customer_revenue": _columns(
                medallion.customer_revenue(silver.orders, silver.customers).schema
            ),
        },
        HISTORY: {
            run_history.RUNS_TABLE: _columns(run_history.RUNS_SCHEMA),
            run_history.FAILURES_TABLE: _columns(run_history.FAILURES_SCHEMA),
        },
    }


def problems(query: str, written: Schemas, default_schema: str | None) -> list[str]:
    """What a query reads that no job writes (empty: nothing)."""
    try:
        tree = sqlglot.parse_one(query, dialect=DIALECT)
    except ParseError as err:
        return [f"does not parse: {err}"]
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    found = []
    for table in tree.find_all(exp.Table):
        if table.name in ctes and not table.db:
            continue
        schema = table.db or default_schema
        if table.catalog:
            found.append(f"{table.sql(DIALECT)} names a catalog; the dashboard's is set at deploy")
        elif schema not in written or table.name not in written[schema]:
            found.append(f"table {schema}.{table.name} is written by no job")
    if found:
        return found
    try:
        qualify(
            tree,
            schema=written,
            db=default_schema,
            dialect=DIALECT,
            validate_qualify_columns=True,
            identify=False,
        )
    except OptimizeError as err:
        return [str(err)]
    return []


def _datasets(spec: DashboardSpec) -> dict[str, dict[str, Any]]:
    document = json.loads(spec.serialized())
    return {dataset["name"]: dataset for dataset in document["datasets"]}


def _query(dataset: dict[str, Any]) -> str:
    return "".join(dataset["queryLines"]) if "queryLines" in dataset else str(dataset["query"])


def _default_schema(spec: DashboardSpec) -> str | None:
    return HISTORY if spec.history_schema_default else None


CASES = [
    pytest.param(spec, name, id=f"{spec.file}:{name}")
    for spec in DASHBOARDS
    for name in _datasets(spec)
]


@pytest.mark.parametrize(("spec", "dataset"), CASES)
def test_every_dataset_reads_only_what_the_jobs_write(
    written: Schemas, spec: DashboardSpec, dataset: str
) -> None:
    query = _query(_datasets(spec)[dataset])
    assert problems(query, written, _default_schema(spec)) == []


def test_the_stale_backup_alert_reads_the_run_history(written: Schemas) -> None:
    query = stale_backup_query("prod", HISTORY).replace("`prod`.", "")
    assert problems(query, written, None) == []


def test_the_latency_slo_query_reads_gold(written: Schemas) -> None:
    assert problems(slo_script().GOLD_QUERY, written, None) == []


def slo_script() -> ModuleType:
    path = PROJECT_ROOT / ".github" / "scripts" / "sql_latency_slo.py"
    spec = importlib.util.spec_from_file_location("sql_latency_slo_for_dashboards", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # A column a job renamed (or a typo): qualify names it.
        ("SELECT started_at, duration_secs FROM gitsync_runs", "duration_secs"),
        ("SELECT order_date, revenue_eur FROM gold.daily_revenue_by_segment", "revenue_eur"),
        # A table no job writes.
        ("SELECT * FROM gold.monthly_revenue", "table gold.monthly_revenue is written by no job"),
        ("SELECT path FROM gitsync_failures", "table ops.gitsync_failures is written by no job"),
        # A fixed catalog would read another environment's data.
        ("SELECT revenue FROM prod.gold.daily_revenue_by_segment", "names a catalog"),
    ],
)
def test_a_query_reading_what_no_job_writes_is_reported(
    written: Schemas, query: str, expected: str
) -> None:
    found = problems(query, written, HISTORY)
    assert found and expected in found[0]


@pytest.mark.parametrize("spec", DASHBOARDS, ids=lambda s: s.file)
def test_every_widget_shows_columns_its_dataset_returns(spec: DashboardSpec) -> None:
    datasets = _datasets(spec)
    returned = {
        name: set(sqlglot.parse_one(_query(d), dialect=DIALECT).named_selects)
        for name, d in datasets.items()
    }
    used = set()
    for page in json.loads(spec.serialized())["pages"]:
        for item in page["layout"]:
            for query in item["widget"]["queries"]:
                dataset = query["query"]["datasetName"]
                used.add(dataset)
                fields = {field["name"] for field in query["query"]["fields"]}
                assert fields <= returned[dataset], (item["widget"]["name"], fields)
    assert used == set(datasets), "a dataset no widget shows"
