"""Integration checks of one environment's catalog, behind a SQL-runner interface.

A ``SqlRunner`` takes a statement and returns its rows as mappings (column -> value). In
the job it is ``spark.sql``; in the tests it is a fake (grants) or a local SparkSession.
Each check is independent: one failing or erroring check does not hide the others.

With a schema prefix the medallion's schemas are ``<prefix>bronze`` etc. (``parameters.py``,
"Schema prefix"): the schema checks, the expected tables, the sample query and the default
results table follow it; grant checks name their securables as they are in the catalog.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from .parameters import (
    BRONZE,
    GOLD,
    INTEGRATION_RESULTS_TABLE,
    MEDALLION_SCHEMAS,
    check_schema_prefix,
    prefixed_name,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SqlRunner = Callable[[str], Sequence[Mapping[str, object]]]
Status = Literal["passed", "failed", "error"]

SUITE = "dataops-integration-tests"
SAMPLE_QUERY_TABLE = f"{GOLD}.daily_revenue_by_segment"
# SHOW GRANTS spells privileges with spaces ("USE SCHEMA"); config and GRANT use "_".
ALL_PRIVILEGES = "ALL_PRIVILEGES"


class IntegrationTestsError(Exception):
    """Raised by the notebook so the run fails; the message is the result JSON."""


@dataclass(frozen=True)
class GrantCheck:
    """``principal`` must hold every ``must_have`` and none of ``must_not_have`` on a securable.

    ``name`` is relative to the catalog: ``gold`` for a SCHEMA, ``gold.t`` for a TABLE, empty
    for the CATALOG itself. Inherited privileges count (SHOW GRANTS lists them).

    ``name`` is used as given, schema prefix or not: the checks come from the grant plan
    (``components/grants.py``, ``integration_grant_checks``), which names the schemas it
    granted on, so with a prefix the jobs layer passes the prefixed names. Prefixing them
    here too would check schemas nobody granted on, or prefix them twice.
    """

    principal: str
    securable: Literal["CATALOG", "SCHEMA", "TABLE"]
    name: str
    must_have: tuple[str, ...] = ()
    must_not_have: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, text: str) -> tuple[GrantCheck, ...]:
        try:
            items = json.loads(text) if text.strip() else []
        except json.JSONDecodeError as err:
            raise ValueError(f"grant_checks is not JSON: {err}") from None
        if not isinstance(items, list):
            raise ValueError("grant_checks must be a JSON list of objects")
        return tuple(cls._from_item(index, item) for index, item in enumerate(items))

    @classmethod
    def _from_item(cls, index: int, item: object) -> GrantCheck:
        where = f"grant_checks[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be an object")
        unknown = sorted(
            set(item) - {"principal", "securable", "name", "must_have", "must_not_have"}
        )
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}")
        principal, securable, name = item.get("principal"), item.get("securable"), item.get("name")
        if not isinstance(principal, str) or not principal:
            raise ValueError(f"{where}.principal must be a non-empty string")
        if securable == "CATALOG":
            checked: Literal["CATALOG", "SCHEMA", "TABLE"] = "CATALOG"
        elif securable == "SCHEMA":
            checked = "SCHEMA"
        elif securable == "TABLE":
            checked = "TABLE"
        else:
            raise ValueError(f"{where}.securable must be CATALOG, SCHEMA or TABLE")
        name = name if isinstance(name, str) else ""
        if (checked == "CATALOG") != (name == ""):
            raise ValueError(f"{where}.name must be empty for a CATALOG and set otherwise")
        return cls(
            principal=principal,
            securable=checked,
            name=name,
            must_have=_privilege_list(item.get("must_have", []), f"{where}.must_have"),
            must_not_have=_privilege_list(item.get("must_not_have", []), f"{where}.must_not_have"),
        )


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str = ""


@dataclass
class SuiteResult:
    catalog: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: str = field(default_factory=lambda: _now())
    finished_at: str = ""
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status == "passed" for c in self.checks)

    def to_json(self) -> str:
        """One line of JSON: what CI reads from the run's output."""
        document = {
            "suite": SUITE,
            "catalog": self.catalog,
            "status": "passed" if self.passed else "failed",
            "passed": sum(c.status == "passed" for c in self.checks),
            "failed": sum(c.status != "passed" for c in self.checks),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "run_id": self.run_id,
            "checks": [asdict(c) for c in self.checks],
        }
        return json.dumps(document, sort_keys=True)


def quote(*parts: str) -> str:
    return ".".join(f"`{part.replace('`', '``')}`" for part in parts)


def normalize_privilege(privilege: str) -> str:
    return "_".join(privilege.strip().upper().split())


def results_table(catalog: str, schema_prefix: str = "") -> str:
    """The default results table: ``<catalog>.<schema_prefix>bronze.integration_test_results``."""
    return quote(catalog, prefixed_name(BRONZE, schema_prefix), INTEGRATION_RESULTS_TABLE)


def parse_expected_tables(text: str) -> tuple[str, ...]:
    tables = tuple(t.strip() for t in text.split(",") if t.strip())
    for table in tables:
        if table.count(".") != 1:
            raise ValueError(f"expected_tables: {table!r} is not schema.table")
    return tables


def _privilege_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where} must be a list of privilege names")
    return tuple(normalize_privilege(v) for v in value)


def _first_column(row: Mapping[str, object]) -> str:
    # SHOW SCHEMAS names its column databaseName on Databricks and namespace in Spark.
    return str(next(iter(row.values())))


def check_schemas(sql: SqlRunner, catalog: str, schemas: Iterable[str]) -> list[CheckResult]:
    present = {_first_column(row).lower() for row in sql(f"SHOW SCHEMAS IN {quote(catalog)}")}
    return [
        CheckResult(f"schema exists: {catalog}.{schema}", "passed")
        if schema.lower() in present
        else CheckResult(
            f"schema exists: {catalog}.{schema}",
            "failed",
            f"not in SHOW SCHEMAS IN {catalog} ({', '.join(sorted(present))})",
        )
        for schema in schemas
    ]


def check_tables(sql: SqlRunner, catalog: str, tables: Iterable[str]) -> list[CheckResult]:
    listed: dict[str, set[str]] = {}
    results = []
    for table in tables:
        schema, name = table.split(".")
        check = f"table exists: {catalog}.{table}"
        if schema not in listed:
            try:
                rows = sql(f"SHOW TABLES IN {quote(catalog, schema)}")
            except Exception as err:  # noqa: BLE001 - a missing schema fails its tables only
                results.append(CheckResult(check, "error", _one_line(err)))
                continue
            listed[schema] = {str(row["tableName"]).lower() for row in rows}
        if name.lower() in listed[schema]:
            results.append(CheckResult(check, "passed"))
        else:
            results.append(
                CheckResult(check, "failed", f"not in SHOW TABLES IN {catalog}.{schema}")
            )
    return results


def check_grant(sql: SqlRunner, catalog: str, expected: GrantCheck) -> CheckResult:
    securable = quote(catalog, *expected.name.split(".")) if expected.name else quote(catalog)
    label = f"{catalog}.{expected.name}" if expected.name else catalog
    check = f"grants of {expected.principal} on {expected.securable} {label}"
    rows = sql(f"SHOW GRANTS ON {expected.securable} {securable}")
    held = {
        normalize_privilege(str(row["actionType"]))
        for row in rows
        if str(row["principal"]).casefold() == expected.principal.casefold()
    }
    problems = [
        f"lacks {p}" for p in expected.must_have if p not in held and ALL_PRIVILEGES not in held
    ]
    problems += [
        f"holds {p}" if p in held else f"holds {p} (through ALL_PRIVILEGES)"
        for p in expected.must_not_have
        if p in held or ALL_PRIVILEGES in held
    ]
    if problems:
        return CheckResult(check, "failed", f"{'; '.join(problems)}; holds {sorted(held)}")
    return CheckResult(check, "passed")


def check_sample_query(sql: SqlRunner, catalog: str, table: str) -> CheckResult:
    check = f"sample query returns rows: {catalog}.{table}"
    rows = sql(f"SELECT * FROM {quote(catalog, *table.split('.'))} LIMIT 10")
    if rows:
        return CheckResult(check, "passed", f"{len(rows)} row(s)")
    return CheckResult(check, "failed", "no rows")


def run_checks(
    sql: SqlRunner,
    catalog: str,
    *,
    expected_tables: Sequence[str],
    grant_checks: Sequence[GrantCheck],
    sample_table: str = SAMPLE_QUERY_TABLE,
    schemas: Sequence[str] = MEDALLION_SCHEMAS,
    schema_prefix: str = "",
) -> SuiteResult:
    """Every check against ``catalog``; an error in one is recorded, the rest still run.

    ``schemas``, ``expected_tables`` and ``sample_table`` name the medallion's schemas
    unprefixed; they are checked under ``schema_prefix``. ``grant_checks`` are used as
    given (see ``GrantCheck``). A bad prefix is a ValueError before any statement runs.
    """
    check_schema_prefix(schema_prefix)
    schemas = [prefixed_name(schema, schema_prefix) for schema in schemas]
    expected_tables = [prefixed_name(table, schema_prefix) for table in expected_tables]
    sample_table = prefixed_name(sample_table, schema_prefix) if sample_table else ""
    result = SuiteResult(catalog=catalog)
    steps: list[tuple[str, Callable[[], list[CheckResult]]]] = [
        (f"schemas of {catalog}", lambda: check_schemas(sql, catalog, schemas)),
        (f"tables of {catalog}", lambda: check_tables(sql, catalog, expected_tables)),
    ]
    for grant in grant_checks:
        label = f"grants of {grant.principal} on {grant.securable} {catalog}.{grant.name}"
        steps.append((label, _grant_step(sql, catalog, grant)))
    if sample_table:
        steps.append(
            (
                f"sample query on {catalog}.{sample_table}",
                lambda: [check_sample_query(sql, catalog, sample_table)],
            )
        )
    for label, step in steps:
        try:
            result.checks.extend(step())
        except Exception as err:  # noqa: BLE001 - recorded as the check's error, run goes on
            result.checks.append(CheckResult(label, "error", _one_line(err)))
    result.finished_at = _now()
    return result


def _grant_step(sql: SqlRunner, catalog: str, grant: GrantCheck) -> Callable[[], list[CheckResult]]:
    return lambda: [check_grant(sql, catalog, grant)]


def result_rows(result: SuiteResult) -> list[tuple[str, str, str, str, str, str, str]]:
    """Rows for the results table: run_id, catalog, started_at, finished_at, check, status,
    detail (timestamps as ISO strings, so the table needs no time zone)."""
    return [
        (
            result.run_id,
            result.catalog,
            result.started_at,
            result.finished_at,
            c.name,
            c.status,
            c.detail,
        )
        for c in result.checks
    ]


RESULT_COLUMNS = ("run_id", "catalog", "started_at", "finished_at", "check", "status", "detail")


def spark_sql_runner(spark: SparkSession) -> SqlRunner:
    """The job's runner: ``spark.sql``, rows as dicts."""

    def run(statement: str) -> list[dict[str, object]]:
        return [row.asDict() for row in spark.sql(statement).collect()]

    return run


def write_results(spark: SparkSession, table: str, result: SuiteResult) -> None:
    """Append one row per check to ``table`` (created on first use)."""
    schema = ", ".join(f"`{column}` STRING" for column in RESULT_COLUMNS)
    rows = spark.createDataFrame(result_rows(result), schema=schema)
    rows.write.mode("append").saveAsTable(table)


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:500]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
