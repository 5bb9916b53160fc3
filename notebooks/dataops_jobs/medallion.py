"""The medallion: landing files -> bronze (raw) -> silver (typed, valid, latest) -> gold.

Every transform is a plain DataFrame -> DataFrame function; the ``run_*`` functions at the
bottom are the only I/O (read the landing zone and tables, write tables), so the logic is
tested locally on the sample data with a local SparkSession and runs unchanged on Databricks.

Rules the data follows:

- bronze keeps every record as delivered: every source column as a string, the raw line
  when it does not parse (``_corrupt_record``), the file it came from and when it was read;
- silver rejects a record with all its reasons (``"amount 'twelve' is not a decimal
  number; status 'lost' is not one of ..."``) into the quarantine table, and of the valid
  versions of a key keeps the latest by ``updated_at`` (then the latest ingested), so a
  stale re-delivery never overwrites a newer version and an invalid newer version leaves
  the last valid one in place;
- gold counts revenue of orders whose current status is placed or shipped, per UTC day,
  by the customer's current segment (``unknown`` while the customer is not in silver).

The tables live in ``<catalog>.<schema_prefix>bronze|silver|gold`` (``parameters.py``,
"Schema prefix"); the ``run_*`` functions check the prefix before they touch Spark.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as sf
from pyspark.sql.types import DecimalType, StringType, StructField, StructType, TimestampType

from .parameters import medallion_schemas

CORRUPT_RECORD = "_corrupt_record"
SOURCE_FILE = "_source_file"
INGESTED_AT = "_ingested_at"

AMOUNT_TYPE = DecimalType(12, 2)
REVENUE_TYPE = DecimalType(18, 2)
REVENUE_STATUSES = ("placed", "shipped")
ORDER_STATUSES = ("cancelled", "placed", "returned", "shipped")
SEGMENTS = ("consumer", "enterprise", "smb")
CURRENCY = "EUR"
UNKNOWN_SEGMENT = "unknown"

# ISO-8601 with an explicit offset: a timestamp without one would silently take the
# session's time zone.
_ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"
_DECIMAL = r"^-?\d{1,10}(\.\d{1,2})?$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_COUNTRY = r"^[A-Z]{2}$"


@dataclass(frozen=True)
class Source:
    """One entity delivered to the landing zone: files under ``<landing>/<name>/``."""

    name: str
    format: Literal["json", "csv"]
    suffix: str
    columns: tuple[str, ...]
    key: str

    @property
    def raw_schema(self) -> StructType:
        fields = [StructField(c, StringType()) for c in (*self.columns, CORRUPT_RECORD)]
        return StructType(fields)

    @property
    def reader_options(self) -> dict[str, str]:
        options = {
            "mode": "PERMISSIVE",
            "columnNameOfCorruptRecord": CORRUPT_RECORD,
            "pathGlobFilter": f"*{self.suffix}",
        }
        if self.format == "csv":
            # RFC 4180: a quote inside a quoted field is doubled, not backslash-escaped.
            options |= {"header": "true", "escape": '"', "encoding": "UTF-8"}
        return options


ORDERS = Source(
    name="orders",
    format="json",
    suffix=".jsonl",
    columns=("order_id", "customer_id", "order_ts", "status", "currency", "amount", "updated_at"),
    key="order_id",
)
CUSTOMERS = Source(
    name="customers",
    format="csv",
    suffix=".csv",
    columns=("customer_id", "name", "email", "country", "segment", "updated_at"),
    key="customer_id",
)
SOURCES = (ORDERS, CUSTOMERS)


def table_name(catalog: str, schema: str, table: str) -> str:
    """A three-level name, each part quoted (catalogs like ``dev-ws`` need it)."""
    return ".".join(f"`{part.replace('`', '``')}`" for part in (catalog, schema, table))


def configure_session(spark: SparkSession) -> None:
    # Gold's days are UTC days whatever the cluster's default time zone is.
    spark.conf.set("spark.sql.session.timeZone", "UTC")


# --------------------------------------------------------------------------- bronze


def to_bronze(raw: DataFrame, source: Source, ingested_at: Column) -> DataFrame:
    """Raw records of a file-source DataFrame plus where and when they were read."""
    return raw.select(
        *(sf.col(c) for c in source.raw_schema.fieldNames()),
        sf.col("_metadata.file_path").alias(SOURCE_FILE),
        ingested_at.cast(TimestampType()).alias(INGESTED_AT),
    )


def read_landing(spark: SparkSession, source: Source, landing_path: str) -> DataFrame:
    """Every file of a source, as one batch (backfills, tests)."""
    return (
        spark.read.format(source.format)
        .schema(source.raw_schema)
        .options(**source.reader_options)
        .load(_join(landing_path, source.name))
    )


def read_landing_incrementally(
    spark: SparkSession, source: Source, landing_path: str, *, auto_loader: bool
) -> DataFrame:
    """The files of a source not yet ingested (the stream's checkpoint remembers the rest).

    On Databricks Auto Loader (``cloudFiles``) tracks files at scale; elsewhere Spark's own
    file stream does the same for a small landing zone. Both take the same options.
    """
    reader = spark.readStream.schema(source.raw_schema).options(**source.reader_options)
    if auto_loader:
        reader = reader.format("cloudFiles").option("cloudFiles.format", source.format)
    else:
        reader = reader.format(source.format)
    return reader.load(_join(landing_path, source.name))


# --------------------------------------------------------------------------- silver


@dataclass(frozen=True)
class Validated:
    valid: DataFrame  # typed columns, every version of every key
    rejected: DataFrame  # entity, key, reasons, record (raw, as JSON), _source_file, _ingested_at


def _clean(name: str) -> Column:
    value = sf.trim(sf.col(name))
    return sf.when(value != "", value)


def _missing(name: str) -> tuple[Column, Column]:
    return _clean(name).isNull(), sf.lit(f"{name} is missing")


def _invalid(name: str, check: Column, problem: str) -> tuple[Column, Column]:
    """A present value that fails ``check``; the reason quotes the value."""
    failed = _clean(name).isNotNull() & ~sf.coalesce(check, sf.lit(False))
    return failed, sf.concat(sf.lit(f"{name} '"), _clean(name), sf.lit(f"' {problem}"))


def _timestamp(name: str) -> Column:
    return sf.expr(f"try_cast(trim(`{name}`) AS TIMESTAMP)")


def _timestamp_rules(name: str) -> list[tuple[Column, Column]]:
    check = _clean(name).rlike(_ISO_TIMESTAMP) & _timestamp(name).isNotNull()
    return [_missing(name), _invalid(name, check, "is not an ISO-8601 timestamp with an offset")]


def _one_of(name: str, allowed: Sequence[str]) -> list[tuple[Column, Column]]:
    problem = f"is not one of {', '.join(allowed)}"
    return [_missing(name), _invalid(name, _clean(name).isin(*allowed), problem)]


def _validate(
    bronze: DataFrame, source: Source, rules: Iterable[tuple[Column, Column]], typed: list[Column]
) -> Validated:
    reasons = sf.concat_ws("; ", *(sf.when(failed, reason) for failed, reason in rules))
    checked = bronze.withColumn(
        "_reasons",
        sf.when(sf.col(CORRUPT_RECORD).isNotNull(), sf.lit("malformed record")).otherwise(reasons),
    )
    valid = checked.where(sf.col("_reasons") == "").select(
        *typed, sf.col(SOURCE_FILE), sf.col(INGESTED_AT)
    )
    record = sf.coalesce(
        sf.col(CORRUPT_RECORD), sf.to_json(sf.struct(*(sf.col(c) for c in source.columns)))
    )
    rejected = checked.where(sf.col("_reasons") != "").select(
        sf.lit(source.name).alias("entity"),
        _clean(source.key).alias("key"),
        sf.col("_reasons").alias("reasons"),
        record.alias("record"),
        sf.col(SOURCE_FILE),
        sf.col(INGESTED_AT),
    )
    return Validated(valid, rejected)


def validate_orders(bronze: DataFrame) -> Validated:
    amount = sf.expr(f"try_cast(trim(amount) AS {AMOUNT_TYPE.simpleString()})")
    rules = [
        _missing("order_id"),
        _missing("customer_id"),
        *_timestamp_rules("order_ts"),
        *_one_of("status", ORDER_STATUSES),
        *_one_of("currency", (CURRENCY,)),
        _missing("amount"),
        _invalid("amount", _clean("amount").rlike(_DECIMAL), "is not a decimal number"),
        (_clean("amount").rlike(_DECIMAL) & (amount < 0), sf.lit("amount is negative")),
        *_timestamp_rules("updated_at"),
    ]
    typed = [
        _clean("order_id").alias("order_id"),
        _clean("customer_id").alias("customer_id"),
        _timestamp("order_ts").alias("order_ts"),
        _clean("status").alias("status"),
        _clean("currency").alias("currency"),
        amount.alias("amount"),
        _timestamp("updated_at").alias("updated_at"),
    ]
    return _validate(bronze, ORDERS, rules, typed)


def validate_customers(bronze: DataFrame) -> Validated:
    rules = [
        _missing("customer_id"),
        _missing("name"),
        _missing("email"),
        _invalid("email", _clean("email").rlike(_EMAIL), "is not an email address"),
        _missing("country"),
        _invalid("country", _clean("country").rlike(_COUNTRY), "is not an ISO 3166 code"),
        *_one_of("segment", SEGMENTS),
        *_timestamp_rules("updated_at"),
    ]
    typed = [
        _clean("customer_id").alias("customer_id"),
        _clean("name").alias("name"),
        sf.lower(_clean("email")).alias("email"),
        _clean("country").alias("country"),
        _clean("segment").alias("segment"),
        _timestamp("updated_at").alias("updated_at"),
    ]
    return _validate(bronze, CUSTOMERS, rules, typed)


def latest_by_key(versions: DataFrame, key: str) -> DataFrame:
    """One row per key: the latest ``updated_at``; ties go to the latest ingested file."""
    newest_first = Window.partitionBy(key).orderBy(
        sf.col("updated_at").desc(), sf.col(INGESTED_AT).desc(), sf.col(SOURCE_FILE).desc()
    )
    return (
        versions.withColumn("_rank", sf.row_number().over(newest_first))
        .where(sf.col("_rank") == 1)
        .drop("_rank")
    )


@dataclass(frozen=True)
class Silver:
    orders: DataFrame
    customers: DataFrame
    quarantine: DataFrame


def to_silver(bronze_orders: DataFrame, bronze_customers: DataFrame) -> Silver:
    orders = validate_orders(bronze_orders)
    customers = validate_customers(bronze_customers)
    return Silver(
        orders=latest_by_key(orders.valid, ORDERS.key),
        customers=latest_by_key(customers.valid, CUSTOMERS.key),
        quarantine=orders.rejected.unionByName(customers.rejected),
    )


# --------------------------------------------------------------------------- gold


def revenue_orders(orders: DataFrame, customers: DataFrame) -> DataFrame:
    """Orders that count as revenue, with the customer's current name and segment."""
    current = customers.select("customer_id", "name", "segment")
    return (
        orders.where(sf.col("status").isin(*REVENUE_STATUSES))
        .join(current, "customer_id", "left")
        .select(
            "order_id",
            "customer_id",
            "name",
            sf.coalesce(sf.col("segment"), sf.lit(UNKNOWN_SEGMENT)).alias("segment"),
            sf.to_date("order_ts").alias("order_date"),
            "amount",
        )
    )


def daily_revenue_by_segment(orders: DataFrame, customers: DataFrame) -> DataFrame:
    return (
        revenue_orders(orders, customers)
        .groupBy("order_date", "segment")
        .agg(
            sf.count("order_id").alias("orders"),
            sf.countDistinct("customer_id").alias("customers"),
            sf.sum("amount").cast(REVENUE_TYPE).alias("revenue"),
        )
        .orderBy("order_date", "segment")
    )


def customer_revenue(orders: DataFrame, customers: DataFrame) -> DataFrame:
    return (
        revenue_orders(orders, customers)
        .groupBy("customer_id", "name", "segment")
        .agg(
            sf.count("order_id").alias("orders"),
            sf.sum("amount").cast(REVENUE_TYPE).alias("revenue"),
            sf.min("order_date").alias("first_order_date"),
            sf.max("order_date").alias("last_order_date"),
        )
        .orderBy("customer_id")
    )


# --------------------------------------------------------------------------- I/O edges


class FileSystem(Protocol):
    """The part of ``dbutils.fs`` that seeding uses."""

    def mkdirs(self, path: str) -> object: ...

    def ls(self, path: str) -> Sequence[_FileInfo]: ...

    def cp(self, source: str, destination: str) -> object: ...


class _FileInfo(Protocol):
    @property
    def name(self) -> str: ...


def sample_data_root() -> Path:
    """The shipped sample dataset, next to this package (in the checkout and the workspace)."""
    return Path(__file__).resolve().parent.parent / "sample_data"


def seed_landing(fs: FileSystem, sample_root: Path, landing_path: str) -> list[str]:
    """Copy sample files the landing zone lacks (by name); returns what was copied."""
    copied: list[str] = []
    for source in SOURCES:
        target_dir = _join(landing_path, source.name)
        fs.mkdirs(target_dir)
        present = {info.name.rstrip("/") for info in fs.ls(target_dir)}
        for sample in sorted((sample_root / source.name).glob(f"*{source.suffix}")):
            if sample.name not in present:
                fs.cp(f"file:{sample}", _join(target_dir, sample.name))
                copied.append(f"{source.name}/{sample.name}")
    return copied


def run_bronze(
    spark: SparkSession,
    catalog: str,
    landing_path: str,
    checkpoint_path: str,
    *,
    auto_loader: bool = True,
    schema_prefix: str = "",
) -> dict[str, int]:
    """Append the landing files not ingested yet to the bronze tables; rows per table."""
    bronze = medallion_schemas(schema_prefix).bronze
    configure_session(spark)
    appended: dict[str, int] = {}
    for source in SOURCES:
        raw = read_landing_incrementally(spark, source, landing_path, auto_loader=auto_loader)
        # One checkpoint per stream, i.e. per target table: "each query must have a
        # different checkpoint location"
        # (https://learn.microsoft.com/azure/databricks/structured-streaming/checkpoints).
        # Sharing the unprefixed stream's, a sandbox would skip every file the medallion
        # had ingested, and the medallion every file the sandbox took.
        checkpoint = _join(checkpoint_path, f"{schema_prefix}{source.name}")
        query = (
            to_bronze(raw, source, sf.current_timestamp())
            .writeStream.option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .toTable(table_name(catalog, bronze, source.name))
        )
        query.awaitTermination()
        appended[source.name] = sum(int(p.get("numInputRows", 0)) for p in query.recentProgress)
    return appended


def run_silver(spark: SparkSession, catalog: str, *, schema_prefix: str = "") -> dict[str, object]:
    """Rebuild silver and the quarantine from all of bronze; rows written per table."""
    schemas = medallion_schemas(schema_prefix)
    configure_session(spark)
    silver = to_silver(
        spark.table(table_name(catalog, schemas.bronze, ORDERS.name)),
        spark.table(table_name(catalog, schemas.bronze, CUSTOMERS.name)),
    )
    quarantine = table_name(catalog, schemas.silver, "quarantine")
    written = {
        ORDERS.name: _overwrite(silver.orders, table_name(catalog, schemas.silver, ORDERS.name)),
        CUSTOMERS.name: _overwrite(
            silver.customers, table_name(catalog, schemas.silver, CUSTOMERS.name)
        ),
        "quarantine": _overwrite(silver.quarantine, quarantine),
    }
    rejected = {
        str(row["entity"]): int(row["count"])
        for row in spark.table(quarantine).groupBy("entity").count().collect()
    }
    return {"rows": written, "rejected": rejected}


def run_gold(spark: SparkSession, catalog: str, *, schema_prefix: str = "") -> dict[str, int]:
    schemas = medallion_schemas(schema_prefix)
    configure_session(spark)
    orders = spark.table(table_name(catalog, schemas.silver, ORDERS.name))
    customers = spark.table(table_name(catalog, schemas.silver, CUSTOMERS.name))
    return {
        "daily_revenue_by_segment": _overwrite(
            daily_revenue_by_segment(orders, customers),
            table_name(catalog, schemas.gold, "daily_revenue_by_segment"),
        ),
        "customer_revenue": _overwrite(
            customer_revenue(orders, customers),
            table_name(catalog, schemas.gold, "customer_revenue"),
        ),
    }


def task_result(task: str, **fields: object) -> str:
    """The JSON a medallion notebook exits with."""
    return json.dumps({"task": task, **fields}, sort_keys=True, default=str)


def _overwrite(frame: DataFrame, table: str) -> int:
    # overwriteSchema: a changed transform replaces the table's schema (Delta), instead of
    # failing the run; silver and gold are rebuilt in full every run.
    frame.write.mode("overwrite").option("overwriteSchema", "true").saveAsTable(table)
    return frame.sparkSession.table(table).count()


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])
