"""The medallion job code on the shipped sample data, with a local SparkSession.

The expected values are exact: the gold table below was also derived from the raw sample
files by a plain-Python reading of the rules, and both agreed. One session-scoped
SparkSession (local[1], one shuffle partition, no UI) serves the whole module; each
fixture collects its DataFrames once and the tests assert on plain rows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dataops_jobs import integration, medallion
from dataops_jobs import parameters as jp
from pyspark.sql import Row, SparkSession
from pyspark.sql import functions as sf

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
        reason="local Spark needs Java 17 (java on PATH or JAVA_HOME)",
    ),
]

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SAMPLE = NOTEBOOKS / "sample_data"
INGESTED = datetime(2024, 6, 4, 6, 0)
LOCAL_CATALOG = "spark_catalog"


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("dataops-job-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.adaptive.enabled", "false")
        # A short-lived JVM on small data: the C1 JIT alone warms up much faster.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    medallion.configure_session(session)
    yield session
    session.stop()


def _file(row: Row) -> str:
    return str(row[medallion.SOURCE_FILE]).rsplit("/", 1)[-1]


@dataclass(frozen=True)
class SampleRun:
    bronze_orders: list[Row]
    bronze_customers: list[Row]
    orders: dict[str, Row]
    customers: dict[str, Row]
    quarantine: list[Row]
    daily: list[Row]
    per_customer: dict[str | None, Row]


@pytest.fixture(scope="module")
def sample(spark: SparkSession) -> SampleRun:
    """bronze -> silver -> gold on the sample files, read as one batch."""
    ingested = sf.lit(INGESTED)
    bronze_orders = medallion.to_bronze(
        medallion.read_landing(spark, medallion.ORDERS, str(SAMPLE)), medallion.ORDERS, ingested
    ).cache()
    bronze_customers = medallion.to_bronze(
        medallion.read_landing(spark, medallion.CUSTOMERS, str(SAMPLE)),
        medallion.CUSTOMERS,
        ingested,
    ).cache()
    silver = medallion.to_silver(bronze_orders, bronze_customers)
    orders = silver.orders.cache()
    customers = silver.customers.cache()
    return SampleRun(
        bronze_orders=bronze_orders.collect(),
        bronze_customers=bronze_customers.collect(),
        orders={r["order_id"]: r for r in orders.collect()},
        customers={r["customer_id"]: r for r in customers.collect()},
        quarantine=silver.quarantine.collect(),
        daily=medallion.daily_revenue_by_segment(orders, customers).collect(),
        per_customer={
            r["customer_id"]: r for r in medallion.customer_revenue(orders, customers).collect()
        },
    )


# ---------------------------------------------------------------------------- bronze


def test_bronze_keeps_every_delivered_record_with_its_file(sample: SampleRun) -> None:
    per_file: dict[str, int] = {}
    for row in sample.bronze_orders + sample.bronze_customers:
        per_file[_file(row)] = per_file.get(_file(row), 0) + 1
    assert per_file == {
        "orders_2024-06-01.jsonl": 101,
        "orders_2024-06-02.jsonl": 102,
        "orders_2024-06-03.jsonl": 99,
        "customers_2024-06-01.csv": 46,
        "customers_2024-06-03.csv": 5,
    }
    assert {row[medallion.INGESTED_AT] for row in sample.bronze_orders} == {INGESTED}


def test_bronze_keeps_values_as_delivered_strings(sample: SampleRun) -> None:
    amounts = {r["amount"] for r in sample.bronze_orders if r["order_id"] == "O-200001"}
    assert amounts == {"twelve"}
    assert all(
        isinstance(r["amount"], str) for r in sample.bronze_orders if r["amount"] is not None
    )


def test_bronze_keeps_an_unparseable_line_raw(sample: SampleRun) -> None:
    corrupt = [r for r in sample.bronze_orders if r[medallion.CORRUPT_RECORD] is not None]
    assert [(r["order_id"], _file(r)) for r in corrupt] == [(None, "orders_2024-06-01.jsonl")]
    assert corrupt[0][medallion.CORRUPT_RECORD].startswith('{"order_id": "O-200004"')


# ---------------------------------------------------------------------------- silver


def _key(row: Row) -> tuple[str, str, str, str]:
    return (row["entity"], row["key"] or "", row["reasons"], _file(row))


def test_silver_quarantines_each_invalid_record_with_all_its_reasons(sample: SampleRun) -> None:
    expected = [
        ("customers", "", "customer_id is missing", "customers_2024-06-01.csv"),
        (
            "customers",
            "C0050",
            "segment 'platinum' is not one of consumer, enterprise, smb",
            "customers_2024-06-01.csv",
        ),
        (
            "customers",
            "C0051",
            "email 'not-an-email' is not an email address",
            "customers_2024-06-01.csv",
        ),
        (
            "customers",
            "C0052",
            "updated_at 'last tuesday' is not an ISO-8601 timestamp with an offset",
            "customers_2024-06-01.csv",
        ),
        ("customers", "C0053", "malformed record", "customers_2024-06-01.csv"),
        ("orders", "", "malformed record", "orders_2024-06-01.jsonl"),
        ("orders", "", "order_id is missing", "orders_2024-06-03.jsonl"),
        ("orders", "O-100040", "amount 'oops' is not a decimal number", "orders_2024-06-03.jsonl"),
        (
            "orders",
            "O-200001",
            "amount 'twelve' is not a decimal number",
            "orders_2024-06-01.jsonl",
        ),
        ("orders", "O-200002", "amount is negative", "orders_2024-06-01.jsonl"),
        ("orders", "O-200003", "customer_id is missing", "orders_2024-06-01.jsonl"),
        (
            "orders",
            "O-200007",
            "status 'lost' is not one of cancelled, placed, returned, shipped",
            "orders_2024-06-02.jsonl",
        ),
        ("orders", "O-200008", "currency 'USD' is not one of EUR", "orders_2024-06-02.jsonl"),
        (
            "orders",
            "O-200009",
            "order_ts '2024-13-45T10:00:00Z' is not an ISO-8601 timestamp with an offset",
            "orders_2024-06-02.jsonl",
        ),
        (
            "orders",
            "O-200010",
            "status 'unknown' is not one of cancelled, placed, returned, shipped; "
            "amount 'abc' is not a decimal number",
            "orders_2024-06-02.jsonl",
        ),
    ]
    assert sorted(_key(r) for r in sample.quarantine) == sorted(expected)


def test_quarantine_keeps_the_rejected_record(sample: SampleRun) -> None:
    records = {r["key"]: r["record"] for r in sample.quarantine if r["key"]}
    assert json.loads(records["O-200008"])["currency"] == "USD"
    assert records["C0053"] == (
        "C0053,Rik Bos,rik.bos@example.com,NL,consumer,2024-05-23T10:00:00Z,unexpected"
    )


def test_silver_has_one_row_per_valid_key(sample: SampleRun) -> None:
    # 302 delivered orders - 10 rejected - 5 older versions; 51 customers - 5 - 4.
    assert (len(sample.orders), len(sample.customers)) == (287, 42)


def test_silver_collapses_a_redelivered_order(sample: SampleRun) -> None:
    delivered = [r for r in sample.bronze_orders if r["order_id"] == "O-100007"]
    assert len(delivered) == 2
    assert sample.orders["O-100007"]["amount"] == Decimal("297.55")


def test_silver_takes_late_status_updates(sample: SampleRun) -> None:
    shipped, cancelled = sample.orders["O-100010"], sample.orders["O-100020"]
    assert (shipped["status"], _file(shipped)) == ("shipped", "orders_2024-06-02.jsonl")
    assert (cancelled["status"], _file(cancelled)) == ("cancelled", "orders_2024-06-03.jsonl")


def test_a_stale_redelivery_does_not_overwrite_a_newer_version(sample: SampleRun) -> None:
    # 06-03 redelivers the version of 2024-06-01T23:00 (85.00) after 06-02 sent 12:00 (90.00).
    order = sample.orders["O-100030"]
    assert (order["amount"], order["updated_at"]) == (Decimal("90.00"), datetime(2024, 6, 2, 12))


def test_an_invalid_newer_version_leaves_the_last_valid_one(sample: SampleRun) -> None:
    order = sample.orders["O-100040"]
    assert (order["amount"], order["status"], _file(order)) == (
        Decimal("55.50"),
        "shipped",
        "orders_2024-06-01.jsonl",
    )


def test_silver_types_timestamps_in_utc(sample: SampleRun) -> None:
    # Delivered as 2024-06-02T01:30:00+02:00.
    assert sample.orders["O-200005"]["order_ts"] == datetime(2024, 6, 1, 23, 30)


def test_silver_customers_take_the_latest_version(sample: SampleRun) -> None:
    assert sample.customers["C0007"]["segment"] == "enterprise"
    assert sample.customers["C0012"]["email"] == "finance12@vela.example.com"
    # 06-03 redelivers C0003 as of 2024-04-01: older than the 06-01 version, ignored.
    assert (sample.customers["C0003"]["segment"], sample.customers["C0003"]["updated_at"]) == (
        "smb",
        datetime(2024, 5, 10, 9, 0),
    )


def test_validation_rules_on_edge_values(spark: SparkSession) -> None:
    columns = [*medallion.ORDERS.columns, medallion.CORRUPT_RECORD]
    good = {
        "order_id": " O-1 ",
        "customer_id": "C0001",
        "order_ts": "2024-06-01T10:00:00Z",
        "status": "placed",
        "currency": "EUR",
        "amount": " 7 ",
        "updated_at": "2024-06-01T10:00:00.123+01:00",
    }
    cases = {
        "O-1": {},
        "O-2": {"amount": "1e3"},
        "O-3": {"amount": "12.345"},
        "O-4": {"order_ts": "2024-06-01 10:00:00"},
        "O-5": {"status": "", "currency": None},
        "O-6": {"amount": "-0.01", "updated_at": "2024-06-31T00:00:00Z"},
    }
    rows = []
    for order_id, changes in cases.items():
        values = {**good, "order_id": f" {order_id} ", **changes}
        rows.append(tuple(values.get(c) for c in columns))
    bronze = spark.createDataFrame(rows, schema=medallion.ORDERS.raw_schema).select(
        "*", sf.lit("f.jsonl").alias(medallion.SOURCE_FILE), sf.lit(INGESTED).alias("_ingested_at")
    )
    validated = medallion.validate_orders(bronze)
    valid = validated.valid.collect()
    assert [(r["order_id"], r["amount"], r["updated_at"]) for r in valid] == [
        ("O-1", Decimal("7.00"), datetime(2024, 6, 1, 9, 0, 0, 123000))
    ]
    assert sorted((r["key"], r["reasons"]) for r in validated.rejected.collect()) == [
        ("O-2", "amount '1e3' is not a decimal number"),
        ("O-3", "amount '12.345' is not a decimal number"),
        ("O-4", "order_ts '2024-06-01 10:00:00' is not an ISO-8601 timestamp with an offset"),
        ("O-5", "status is missing; currency is missing"),
        (
            "O-6",
            "amount is negative; "
            "updated_at '2024-06-31T00:00:00Z' is not an ISO-8601 timestamp with an offset",
        ),
    ]


def test_latest_by_key_breaks_ties_by_the_later_ingestion(spark: SparkSession) -> None:
    same_time = datetime(2024, 6, 1)
    versions = spark.createDataFrame(
        [
            ("k", same_time, "a.jsonl", datetime(2024, 6, 2), 1),
            ("k", same_time, "b.jsonl", datetime(2024, 6, 3), 2),
            ("k", datetime(2024, 5, 1), "c.jsonl", datetime(2024, 6, 4), 3),
        ],
        schema=f"k string, updated_at timestamp, {medallion.SOURCE_FILE} string, "
        f"{medallion.INGESTED_AT} timestamp, version int",
    )
    assert [r["version"] for r in medallion.latest_by_key(versions, "k").collect()] == [2]


# ---------------------------------------------------------------------------- gold


def test_gold_daily_revenue_by_segment(sample: SampleRun) -> None:
    d1, d2, d3 = date(2024, 6, 1), date(2024, 6, 2), date(2024, 6, 3)
    assert [tuple(r) for r in sample.daily] == [
        (d1, "consumer", 29, 11, Decimal("7900.79")),
        (d1, "enterprise", 15, 8, Decimal("4294.17")),
        (d1, "smb", 41, 15, Decimal("10522.35")),
        (d1, "unknown", 1, 1, Decimal("42.00")),
        (d2, "consumer", 28, 13, Decimal("6148.93")),
        (d2, "enterprise", 30, 12, Decimal("7426.32")),
        (d2, "smb", 30, 14, Decimal("7306.82")),
        (d3, "consumer", 19, 12, Decimal("5548.65")),
        (d3, "enterprise", 27, 11, Decimal("6908.21")),
        (d3, "smb", 39, 14, Decimal("10358.88")),
    ]
    assert sample.daily[0].asDict().keys() == {
        "order_date",
        "segment",
        "orders",
        "customers",
        "revenue",
    }


def test_gold_counts_only_placed_and_shipped_orders(sample: SampleRun) -> None:
    revenue_orders = [o for o in sample.orders.values() if o["status"] in ("placed", "shipped")]
    assert sum(r["orders"] for r in sample.daily) == len(revenue_orders) == 259
    assert sum(r["revenue"] for r in sample.daily) == Decimal("66457.12")


def test_gold_customer_revenue(sample: SampleRun) -> None:
    assert len(sample.per_customer) == 41
    # C0007 moved from smb to enterprise on 06-03: all its orders count as enterprise.
    assert tuple(sample.per_customer["C0007"]) == (
        "C0007",
        "Brightline Group 7",
        "enterprise",
        7,
        Decimal("2135.20"),
        date(2024, 6, 1),
        date(2024, 6, 3),
    )
    # An order of a customer silver does not know yet counts, as segment unknown.
    assert tuple(sample.per_customer["C0999"]) == (
        "C0999",
        None,
        "unknown",
        1,
        Decimal("42.00"),
        date(2024, 6, 1),
        date(2024, 6, 1),
    )


# ------------------------------------------------------- the I/O edges and the notebooks


class NotebookExitedError(Exception):
    """dbutils.notebook.exit: ends the notebook with a value."""


class FakeWidgets:
    def __init__(self, job_parameters: dict[str, str]) -> None:
        self.job_parameters = job_parameters
        self.defaults: dict[str, str] = {}

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:  # noqa: N803
        self.defaults[name] = defaultValue

    def get(self, name: str) -> str:
        return self.job_parameters.get(name, self.defaults[name])


class FakeNotebook:
    def exit(self, value: str) -> None:
        raise NotebookExitedError(value)


class FakeDbutils:
    def __init__(self, job_parameters: dict[str, str]) -> None:
        self.widgets = FakeWidgets(job_parameters)
        self.notebook = FakeNotebook()


class LocalFs:
    """dbutils.fs on local paths (``file:`` sources, as the notebook passes them)."""

    @dataclass(frozen=True)
    class Info:
        name: str

    def mkdirs(self, path: str) -> bool:
        Path(path).mkdir(parents=True, exist_ok=True)
        return True

    def ls(self, path: str) -> list[LocalFs.Info]:
        return [LocalFs.Info(p.name + ("/" if p.is_dir() else "")) for p in Path(path).iterdir()]

    def cp(self, source: str, destination: str) -> bool:
        shutil.copyfile(source.removeprefix("file:"), destination)
        return True


def run_notebook(spark: object, name: str, job_parameters: dict[str, str]) -> Any:
    """Run an entry notebook as a job task would; returns its exit value, parsed."""
    source = (NOTEBOOKS / name).read_text(encoding="utf-8")
    namespace = {"spark": spark, "dbutils": FakeDbutils(job_parameters), "__name__": "__main__"}
    with pytest.raises(NotebookExitedError) as exited:
        exec(compile(source, str(NOTEBOOKS / name), "exec"), namespace)
    return json.loads(str(exited.value))


@dataclass(frozen=True)
class Deployed:
    landing: Path
    checkpoints: Path
    seeded: list[str]
    first_ingest: dict[str, int]
    second_ingest: dict[str, int]
    bronze_rows: int
    silver_exit: Any
    gold_exit: Any
    late_order: Row


@pytest.fixture(scope="module")
def deployed(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    """Seed a landing folder, ingest it twice (a new file in between), run silver and gold."""
    root = tmp_path_factory.mktemp("medallion")
    landing, checkpoints = root / "landing", root / "checkpoints"
    for schema in jp.MEDALLION_SCHEMAS:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {LOCAL_CATALOG}.{schema}")
    seeded = medallion.seed_landing(LocalFs(), SAMPLE, str(landing))
    first = medallion.run_bronze(
        spark, LOCAL_CATALOG, str(landing), str(checkpoints), auto_loader=False
    )
    late = {
        "order_id": "O-100001",
        "customer_id": "C0038",
        "order_ts": "2024-06-01T08:46:00Z",
        "status": "returned",
        "currency": "EUR",
        "amount": "358.51",
        "updated_at": "2024-06-04T09:00:00Z",
    }
    new = {**late, "order_id": "O-300001", "status": "placed", "amount": "10.00"}
    (landing / "orders" / "orders_2024-06-04.jsonl").write_text(
        f"{json.dumps(late)}\n{json.dumps(new)}\n", encoding="utf-8"
    )
    second = medallion.run_bronze(
        spark, LOCAL_CATALOG, str(landing), str(checkpoints), auto_loader=False
    )
    bronze_rows = spark.table(medallion.table_name(LOCAL_CATALOG, jp.BRONZE, "orders")).count()
    silver_exit = run_notebook(spark, "medallion_silver.py", {jp.CATALOG: LOCAL_CATALOG})
    gold_exit = run_notebook(spark, "medallion_gold.py", {jp.CATALOG: LOCAL_CATALOG})
    late_order = (
        spark.table(medallion.table_name(LOCAL_CATALOG, jp.SILVER, "orders"))
        .where(sf.col("order_id") == "O-100001")
        .collect()
    )
    return Deployed(
        landing,
        checkpoints,
        seeded,
        first,
        second,
        bronze_rows,
        silver_exit,
        gold_exit,
        late_order[0],
    )


def test_seeding_copies_the_sample_files_into_landing(deployed: Deployed) -> None:
    assert deployed.seeded == [
        "orders/orders_2024-06-01.jsonl",
        "orders/orders_2024-06-02.jsonl",
        "orders/orders_2024-06-03.jsonl",
        "customers/customers_2024-06-01.csv",
        "customers/customers_2024-06-03.csv",
    ]


def test_seeding_skips_files_landing_already_has(tmp_path: Path) -> None:
    first = medallion.seed_landing(LocalFs(), SAMPLE, str(tmp_path))
    (tmp_path / "orders" / "orders_2024-06-02.jsonl").unlink()
    assert len(first) == 5
    assert medallion.seed_landing(LocalFs(), SAMPLE, str(tmp_path)) == [
        "orders/orders_2024-06-02.jsonl"
    ]


def test_bronze_ingests_only_files_it_has_not_read(deployed: Deployed) -> None:
    assert deployed.first_ingest == {"orders": 302, "customers": 51}
    assert deployed.second_ingest == {"orders": 2, "customers": 0}
    assert deployed.bronze_rows == 304


def test_silver_notebook_rebuilds_silver_from_all_of_bronze(deployed: Deployed) -> None:
    assert deployed.silver_exit == {
        "task": "silver",
        "rows": {"orders": 288, "customers": 42, "quarantine": 15},
        "rejected": {"orders": 10, "customers": 5},
    }
    assert (deployed.late_order["status"], _file(deployed.late_order)) == (
        "returned",
        "orders_2024-06-04.jsonl",
    )


def test_gold_notebook_writes_both_tables(deployed: Deployed) -> None:
    assert deployed.gold_exit == {
        "task": "gold",
        "rows": {"daily_revenue_by_segment": 10, "customer_revenue": 41},
    }


def test_integration_notebook_passes_on_the_built_catalog(
    spark: SparkSession, deployed: Deployed
) -> None:
    document = run_notebook(
        spark,
        "integration_tests.py",
        # Local Spark has no SHOW GRANTS: the grant checks are tested with a fake runner.
        {jp.CATALOG: LOCAL_CATALOG, jp.GRANT_CHECKS: "[]"},
    )
    assert (document["status"], document["passed"], document["failed"]) == ("passed", 11, 0)
    assert [c["name"] for c in document["checks"]] == [
        f"schema exists: {LOCAL_CATALOG}.bronze",
        f"schema exists: {LOCAL_CATALOG}.silver",
        f"schema exists: {LOCAL_CATALOG}.gold",
        *(f"table exists: {LOCAL_CATALOG}.{t}" for t in jp.MEDALLION_TABLES),
        f"sample query returns rows: {LOCAL_CATALOG}.gold.daily_revenue_by_segment",
    ]
    results = spark.table(f"{LOCAL_CATALOG}.bronze.{jp.INTEGRATION_RESULTS_TABLE}")
    stored = results.where(sf.col("run_id") == document["run_id"]).collect()
    assert sorted((r["check"], r["status"]) for r in stored) == sorted(
        (c["name"], "passed") for c in document["checks"]
    )


def test_integration_notebook_fails_the_run_with_the_result(
    spark: SparkSession, deployed: Deployed
) -> None:
    source = (NOTEBOOKS / "integration_tests.py").read_text(encoding="utf-8")
    dbutils = FakeDbutils(
        {
            jp.CATALOG: LOCAL_CATALOG,
            jp.GRANT_CHECKS: "[]",
            jp.EXPECTED_TABLES: "gold.daily_revenue_by_segment,gold.no_such_table",
            jp.RESULTS_TABLE: f"{LOCAL_CATALOG}.bronze.failed_runs",
        }
    )
    namespace = {"spark": spark, "dbutils": dbutils, "__name__": "__main__"}
    with pytest.raises(integration.IntegrationTestsError) as failed:
        exec(compile(source, "integration_tests.py", "exec"), namespace)
    document = json.loads(str(failed.value))
    assert (document["status"], document["passed"], document["failed"]) == ("failed", 5, 1)
    failures = [c for c in document["checks"] if c["status"] != "passed"]
    assert failures == [
        {
            "name": f"table exists: {LOCAL_CATALOG}.gold.no_such_table",
            "status": "failed",
            "detail": f"not in SHOW TABLES IN {LOCAL_CATALOG}.gold",
        }
    ]
    assert spark.table(f"{LOCAL_CATALOG}.bronze.failed_runs").count() == 6


# ---------------------------------------------------------- a sandbox's prefixed schemas

SANDBOX = "sbx_ben_okafor_feature_orders_v2_e799d33a2d_"
SANDBOX_SCHEMAS = jp.medallion_schemas(SANDBOX)


def _stored(spark: SparkSession, schemas: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """Every table of ``schemas`` with the files holding its rows: an append adds files and
    an overwrite replaces them, so any write shows."""
    return {
        schema: {
            row["tableName"]: sorted(
                spark.table(
                    medallion.table_name(LOCAL_CATALOG, schema, row["tableName"])
                ).inputFiles()
            )
            for row in spark.sql(f"SHOW TABLES IN {LOCAL_CATALOG}.{schema}").collect()
        }
        for schema in schemas
    }


@dataclass(frozen=True)
class Sandboxed:
    ingested: dict[str, int]
    silver_exit: Any
    gold_exit: Any
    tables: dict[str, set[str]]
    checkpoints: list[str]
    medallion_before: dict[str, dict[str, list[str]]]
    medallion_after: dict[str, dict[str, list[str]]]


@pytest.fixture(scope="module")
def sandboxed(spark: SparkSession, deployed: Deployed) -> Sandboxed:
    """The deployed medallion's landing files through a sandbox's schemas, with the same
    checkpoint root; silver and gold through their notebooks."""
    before = _stored(spark, jp.MEDALLION_SCHEMAS)
    # The sandbox tier creates its schemas; the job code creates tables only.
    for schema in SANDBOX_SCHEMAS:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS {LOCAL_CATALOG}.{schema}")
    ingested = medallion.run_bronze(
        spark,
        LOCAL_CATALOG,
        str(deployed.landing),
        str(deployed.checkpoints),
        auto_loader=False,
        schema_prefix=SANDBOX,
    )
    parameters = {jp.CATALOG: LOCAL_CATALOG, jp.SCHEMA_PREFIX: SANDBOX}
    silver_exit = run_notebook(spark, "medallion_silver.py", parameters)
    gold_exit = run_notebook(spark, "medallion_gold.py", parameters)
    return Sandboxed(
        ingested=ingested,
        silver_exit=silver_exit,
        gold_exit=gold_exit,
        tables={s: set(tables) for s, tables in _stored(spark, SANDBOX_SCHEMAS).items()},
        checkpoints=sorted(p.name for p in deployed.checkpoints.iterdir()),
        medallion_before=before,
        medallion_after=_stored(spark, jp.MEDALLION_SCHEMAS),
    )


def test_a_prefixed_medallion_writes_its_tables_into_the_prefixed_schemas(
    sandboxed: Sandboxed,
) -> None:
    assert sandboxed.tables == {
        f"{SANDBOX}bronze": set(jp.BRONZE_TABLES),
        f"{SANDBOX}silver": set(jp.SILVER_TABLES),
        f"{SANDBOX}gold": set(jp.GOLD_TABLES),
    }


def test_a_prefixed_medallion_leaves_the_unprefixed_schemas_alone(sandboxed: Sandboxed) -> None:
    before = sandboxed.medallion_before
    assert set(before[jp.GOLD]) >= set(jp.GOLD_TABLES)  # the deployed medallion was there
    assert sandboxed.medallion_after == before


def test_a_prefixed_bronze_ingests_every_file_from_its_own_checkpoints(
    sandboxed: Sandboxed,
) -> None:
    # The unprefixed streams had read every file already: sharing their checkpoints, the
    # sandbox would ingest nothing.
    assert sandboxed.ingested == {"orders": 304, "customers": 51}
    assert sandboxed.checkpoints == [
        "customers",
        "orders",
        f"{SANDBOX}customers",
        f"{SANDBOX}orders",
    ]


def test_a_prefixed_silver_and_gold_build_what_the_medallion_builds(
    sandboxed: Sandboxed, deployed: Deployed
) -> None:
    assert sandboxed.silver_exit == deployed.silver_exit
    assert sandboxed.gold_exit == deployed.gold_exit


def test_integration_notebook_passes_on_a_sandbox_and_keeps_its_results_there(
    spark: SparkSession, sandboxed: Sandboxed
) -> None:
    medallion_before = _stored(spark, jp.MEDALLION_SCHEMAS)
    document = run_notebook(
        spark,
        "integration_tests.py",
        {jp.CATALOG: LOCAL_CATALOG, jp.SCHEMA_PREFIX: SANDBOX, jp.GRANT_CHECKS: "[]"},
    )
    assert (document["status"], document["passed"], document["failed"]) == ("passed", 11, 0)
    assert [c["name"] for c in document["checks"]] == [
        *(f"schema exists: {LOCAL_CATALOG}.{s}" for s in SANDBOX_SCHEMAS),
        *(f"table exists: {LOCAL_CATALOG}.{SANDBOX}{t}" for t in jp.MEDALLION_TABLES),
        f"sample query returns rows: {LOCAL_CATALOG}.{SANDBOX}gold.daily_revenue_by_segment",
    ]
    results = spark.table(f"{LOCAL_CATALOG}.{SANDBOX}bronze.{jp.INTEGRATION_RESULTS_TABLE}")
    assert results.where(sf.col("run_id") == document["run_id"]).count() == 11
    assert _stored(spark, jp.MEDALLION_SCHEMAS) == medallion_before


def test_integration_notebook_fails_a_sandbox_missing_a_table(
    spark: SparkSession, sandboxed: Sandboxed
) -> None:
    source = (NOTEBOOKS / "integration_tests.py").read_text(encoding="utf-8")
    dbutils = FakeDbutils(
        {
            jp.CATALOG: LOCAL_CATALOG,
            jp.SCHEMA_PREFIX: SANDBOX,
            jp.GRANT_CHECKS: "[]",
            # The unprefixed gold has this table: the sandbox's gold must have it too.
            jp.EXPECTED_TABLES: "gold.daily_revenue_by_segment,gold.no_such_table",
        }
    )
    spark.sql(f"CREATE TABLE {LOCAL_CATALOG}.gold.no_such_table (x INT) USING parquet")
    try:
        namespace = {"spark": spark, "dbutils": dbutils, "__name__": "__main__"}
        with pytest.raises(integration.IntegrationTestsError) as failed:
            exec(compile(source, "integration_tests.py", "exec"), namespace)
    finally:
        spark.sql(f"DROP TABLE {LOCAL_CATALOG}.gold.no_such_table")
    document = json.loads(str(failed.value))
    assert (document["status"], document["passed"], document["failed"]) == ("failed", 5, 1)
    assert [c for c in document["checks"] if c["status"] != "passed"] == [
        {
            "name": f"table exists: {LOCAL_CATALOG}.{SANDBOX}gold.no_such_table",
            "status": "failed",
            "detail": f"not in SHOW TABLES IN {LOCAL_CATALOG}.{SANDBOX}gold",
        }
    ]
    results = spark.table(f"{LOCAL_CATALOG}.{SANDBOX}bronze.{jp.INTEGRATION_RESULTS_TABLE}")
    assert results.where(sf.col("run_id") == document["run_id"]).count() == 6


class NoSpark:
    """The notebook's ``spark`` where it must not be used: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the notebook used spark.{name}")


def test_the_bronze_notebook_ingests_into_the_prefixed_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Auto Loader runs on Databricks only: the notebook's call is recorded instead.
    calls: list[tuple[object, ...]] = []

    def run_bronze(spark: object, *args: str, **options: object) -> dict[str, int]:
        calls.append((*args, options))
        return {"orders": 0, "customers": 0}

    monkeypatch.setattr(medallion, "run_bronze", run_bronze)
    exited = run_notebook(
        NoSpark(),
        "medallion_bronze.py",
        {
            jp.CATALOG: "dev",
            jp.SCHEMA_PREFIX: SANDBOX,
            jp.LANDING_PATH: "abfss://landing@x/datanova",
            jp.CHECKPOINT_PATH: "abfss://bronze@x/_checkpoints/medallion",
        },
    )
    assert exited == {"task": "bronze", "rows": {"orders": 0, "customers": 0}}
    assert calls == [
        (
            "dev",
            "abfss://landing@x/datanova",
            "abfss://bronze@x/_checkpoints/medallion",
            {"auto_loader": True, "schema_prefix": SANDBOX},
        )
    ]


@pytest.mark.parametrize(
    ("notebook", "parameters"),
    [
        (
            "medallion_bronze.py",
            # Seeding would come first: dbutils.fs does not exist here.
            {
                jp.LANDING_PATH: "abfss://l",
                jp.CHECKPOINT_PATH: "abfss://c",
                "seed_sample_data": "true",
            },
        ),
        ("medallion_silver.py", {}),
        ("medallion_gold.py", {}),
        ("integration_tests.py", {}),
    ],
)
def test_a_bad_schema_prefix_fails_a_notebook_before_it_does_anything(
    notebook: str, parameters: dict[str, str]
) -> None:
    source = (NOTEBOOKS / notebook).read_text(encoding="utf-8")
    dbutils = FakeDbutils({jp.CATALOG: "dev", jp.SCHEMA_PREFIX: "Sbx-Ben_", **parameters})
    namespace = {"spark": NoSpark(), "dbutils": dbutils, "__name__": "__main__"}
    message = f"{notebook}: schema_prefix 'Sbx-Ben_' is not a schema name prefix"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        exec(compile(source, notebook, "exec"), namespace)
