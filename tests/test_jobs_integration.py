"""Integration checks against a fake SQL runner that answers like Databricks SQL does.

The rows mirror Unity Catalog's output: SHOW SCHEMAS' ``databaseName``, SHOW TABLES'
``tableName``, SHOW GRANTS' ``principal``/``actionType``/``objectType``/``objectKey`` with
privileges spelled with spaces and inherited grants listed. (The same checks run against a
local SparkSession in test_jobs_medallion.py.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

import pytest
from dataops_jobs import integration
from dataops_jobs import parameters as jp
from dataops_jobs.integration import GrantCheck

Rows = list[dict[str, object]]

SCHEMAS: Rows = [{"databaseName": s} for s in ("bronze", "default", "gold", "silver")]
GOLD_TABLES: Rows = [
    {"database": "gold", "tableName": t, "isTemporary": False} for t in jp.GOLD_TABLES
]


def grants(*rows: tuple[str, str, str]) -> Rows:
    return [
        {"principal": p, "actionType": a, "objectType": o, "objectKey": "staging.gold"}
        for p, a, o in rows
    ]


ANALYSTS_READ = grants(
    ("analysts", "USE CATALOG", "CATALOG"),
    ("analysts", "USE SCHEMA", "CATALOG"),
    ("analysts", "SELECT", "CATALOG"),
    ("data-engineers", "MODIFY", "CATALOG"),
    ("platform-admins", "ALL PRIVILEGES", "CATALOG"),
)


class FakeSql:
    """Answers known statements; anything else fails like an unknown table would."""

    def __init__(self, answers: Mapping[str, Rows | Exception]) -> None:
        self.answers = answers
        self.statements: list[str] = []

    def __call__(self, statement: str) -> Sequence[Mapping[str, object]]:
        self.statements.append(statement)
        answer = self.answers.get(statement)
        if answer is None:
            raise RuntimeError(f"[TABLE_OR_VIEW_NOT_FOUND] unexpected statement: {statement}")
        if isinstance(answer, Exception):
            raise answer
        return answer


def healthy(**overrides: Rows | Exception) -> FakeSql:
    answers: dict[str, Rows | Exception] = {
        "SHOW SCHEMAS IN `staging`": SCHEMAS,
        "SHOW TABLES IN `staging`.`gold`": GOLD_TABLES,
        "SHOW GRANTS ON SCHEMA `staging`.`gold`": ANALYSTS_READ,
        "SELECT * FROM `staging`.`gold`.`daily_revenue_by_segment` LIMIT 10": [
            {"order_date": "2024-06-01", "segment": "smb", "revenue": 1}
        ],
    }
    answers.update(overrides)
    return FakeSql(answers)


DEFAULT_GRANTS = GrantCheck.from_json(
    next(p.default for p in jp.INTEGRATION_TESTS.parameters if p.name == jp.GRANT_CHECKS) or ""
)


def run(sql: FakeSql, grant_checks: Sequence[GrantCheck] = DEFAULT_GRANTS) -> dict[str, object]:
    result = integration.run_checks(
        sql,
        "staging",
        expected_tables=("gold.daily_revenue_by_segment", "gold.customer_revenue"),
        grant_checks=grant_checks,
    )
    document: dict[str, object] = json.loads(result.to_json())
    assert document["status"] == ("passed" if result.passed else "failed")
    return document


def statuses(document: Mapping[str, object]) -> dict[str, tuple[str, str]]:
    checks = document["checks"]
    assert isinstance(checks, list)
    return {c["name"]: (c["status"], c["detail"]) for c in checks}


def test_a_healthy_catalog_passes_every_check() -> None:
    document = run(healthy())
    assert statuses(document) == {
        "schema exists: staging.bronze": ("passed", ""),
        "schema exists: staging.silver": ("passed", ""),
        "schema exists: staging.gold": ("passed", ""),
        "table exists: staging.gold.daily_revenue_by_segment": ("passed", ""),
        "table exists: staging.gold.customer_revenue": ("passed", ""),
        "grants of analysts on SCHEMA staging.gold": ("passed", ""),
        "sample query returns rows: staging.gold.daily_revenue_by_segment": ("passed", "1 row(s)"),
    }
    assert (document["suite"], document["catalog"], document["passed"], document["failed"]) == (
        "dataops-integration-tests",
        "staging",
        7,
        0,
    )


def test_the_checks_run_quoted_statements() -> None:
    sql = healthy()
    run(sql)
    assert sql.statements == [
        "SHOW SCHEMAS IN `staging`",
        "SHOW TABLES IN `staging`.`gold`",
        "SHOW GRANTS ON SCHEMA `staging`.`gold`",
        "SELECT * FROM `staging`.`gold`.`daily_revenue_by_segment` LIMIT 10",
    ]


def test_analysts_holding_modify_fails_the_grant_check() -> None:
    sql = healthy(
        **{
            "SHOW GRANTS ON SCHEMA `staging`.`gold`": ANALYSTS_READ
            + grants(("analysts", "MODIFY", "SCHEMA"))
        }
    )
    document = run(sql)
    assert statuses(document)["grants of analysts on SCHEMA staging.gold"] == (
        "failed",
        "holds MODIFY; holds ['MODIFY', 'SELECT', 'USE_CATALOG', 'USE_SCHEMA']",
    )
    assert (document["status"], document["failed"]) == ("failed", 1)


def test_all_privileges_counts_as_modify() -> None:
    sql = healthy(
        **{
            "SHOW GRANTS ON SCHEMA `staging`.`gold`": grants(
                ("analysts", "ALL PRIVILEGES", "CATALOG")
            )
        }
    )
    assert statuses(run(sql))["grants of analysts on SCHEMA staging.gold"] == (
        "failed",
        "holds MODIFY (through ALL_PRIVILEGES); holds ['ALL_PRIVILEGES']",
    )


def test_analysts_without_select_fails_the_grant_check() -> None:
    sql = healthy(
        **{"SHOW GRANTS ON SCHEMA `staging`.`gold`": grants(("analysts", "USE SCHEMA", "SCHEMA"))}
    )
    assert statuses(run(sql))["grants of analysts on SCHEMA staging.gold"] == (
        "failed",
        "lacks SELECT; holds ['USE_SCHEMA']",
    )


def test_other_principals_privileges_do_not_count() -> None:
    # data-engineers' MODIFY and platform-admins' ALL PRIVILEGES are in ANALYSTS_READ.
    principals = grants(("Analysts", "select", "SCHEMA"), ("analysts-eu", "MODIFY", "SCHEMA"))
    sql = healthy(**{"SHOW GRANTS ON SCHEMA `staging`.`gold`": principals})
    assert statuses(run(sql))["grants of analysts on SCHEMA staging.gold"] == ("passed", "")


def test_a_grant_on_a_table_and_the_catalog() -> None:
    checks = GrantCheck.from_json(
        json.dumps(
            [
                {
                    "principal": "analysts",
                    "securable": "TABLE",
                    "name": "gold.customer_revenue",
                    "must_have": ["SELECT"],
                },
                {"principal": "analysts", "securable": "CATALOG", "must_not_have": ["MODIFY"]},
            ]
        )
    )
    sql = healthy(
        **{
            "SHOW GRANTS ON TABLE `staging`.`gold`.`customer_revenue`": ANALYSTS_READ,
            "SHOW GRANTS ON CATALOG `staging`": ANALYSTS_READ,
        }
    )
    result = statuses(run(sql, checks))
    assert result["grants of analysts on TABLE staging.gold.customer_revenue"] == ("passed", "")
    assert result["grants of analysts on CATALOG staging"] == ("passed", "")


def test_a_missing_table_and_schema_fail_with_what_was_found() -> None:
    sql = healthy(
        **{
            "SHOW SCHEMAS IN `staging`": [{"databaseName": "default"}, {"databaseName": "gold"}],
            "SHOW TABLES IN `staging`.`gold`": GOLD_TABLES[:1],
        }
    )
    result = statuses(run(sql))
    assert result["schema exists: staging.bronze"] == (
        "failed",
        "not in SHOW SCHEMAS IN staging (default, gold)",
    )
    assert result["table exists: staging.gold.customer_revenue"] == (
        "failed",
        "not in SHOW TABLES IN staging.gold",
    )
    assert result["table exists: staging.gold.daily_revenue_by_segment"] == ("passed", "")


def test_an_erroring_statement_fails_its_check_and_the_rest_still_run() -> None:
    denied = RuntimeError("PERMISSION_DENIED: User does not have MANAGE on Schema 'staging.gold'")
    sql = healthy(**{"SHOW GRANTS ON SCHEMA `staging`.`gold`": denied})
    document = run(sql)
    result = statuses(document)
    assert result["grants of analysts on SCHEMA staging.gold"] == (
        "error",
        "RuntimeError: PERMISSION_DENIED: User does not have MANAGE on Schema 'staging.gold'",
    )
    assert result["sample query returns rows: staging.gold.daily_revenue_by_segment"] == (
        "passed",
        "1 row(s)",
    )
    assert (document["passed"], document["failed"]) == (6, 1)


def test_an_empty_gold_table_fails_the_sample_query() -> None:
    sql = healthy(**{"SELECT * FROM `staging`.`gold`.`daily_revenue_by_segment` LIMIT 10": []})
    assert statuses(run(sql))[
        "sample query returns rows: staging.gold.daily_revenue_by_segment"
    ] == (
        "failed",
        "no rows",
    )


def test_no_checks_is_not_a_pass() -> None:
    assert not integration.SuiteResult(catalog="staging").passed


def test_the_result_table_rows_carry_the_run() -> None:
    result = integration.run_checks(
        healthy(), "staging", expected_tables=(), grant_checks=(), schemas=("gold",)
    )
    assert integration.result_rows(result) == [
        (
            result.run_id,
            "staging",
            result.started_at,
            result.finished_at,
            "schema exists: staging.gold",
            "passed",
            "",
        ),
        (
            result.run_id,
            "staging",
            result.started_at,
            result.finished_at,
            "sample query returns rows: staging.gold.daily_revenue_by_segment",
            "passed",
            "1 row(s)",
        ),
    ]


def test_the_default_grant_check_is_analysts_select_not_modify_on_gold() -> None:
    assert (
        GrantCheck("analysts", "SCHEMA", "gold", must_have=("SELECT",), must_not_have=("MODIFY",)),
    ) == DEFAULT_GRANTS


NAME_RULE = "grant_checks[0].name must be empty for a CATALOG and set otherwise"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{",
            "grant_checks is not JSON: Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)",
        ),
        ('{"principal": "a"}', "grant_checks must be a JSON list of objects"),
        ("[1]", "grant_checks[0] must be an object"),
        (
            '[{"principal": "a", "securable": "VIEW", "name": "x"}]',
            "grant_checks[0].securable must be CATALOG, SCHEMA or TABLE",
        ),
        (
            '[{"principal": "", "securable": "SCHEMA", "name": "x"}]',
            "grant_checks[0].principal must be a non-empty string",
        ),
        ('[{"principal": "a", "securable": "SCHEMA"}]', NAME_RULE),
        ('[{"principal": "a", "securable": "CATALOG", "name": "x"}]', NAME_RULE),
        (
            '[{"principal": "a", "securable": "SCHEMA", "name": "x", "on": 1}]',
            "grant_checks[0]: unknown key(s) ['on']",
        ),
        (
            '[{"principal": "a", "securable": "SCHEMA", "name": "x", "must_have": "SELECT"}]',
            "grant_checks[0].must_have must be a list of privilege names",
        ),
    ],
)
def test_bad_grant_checks_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        GrantCheck.from_json(text)


def test_privileges_are_compared_in_one_spelling() -> None:
    (check,) = GrantCheck.from_json(
        '[{"principal": "a", "securable": "CATALOG", '
        '"must_have": ["use catalog", "ALL_PRIVILEGES"]}]'
    )
    assert check.must_have == ("USE_CATALOG", "ALL_PRIVILEGES")


def test_expected_tables_are_schema_dot_table() -> None:
    assert integration.parse_expected_tables(" gold.a, ,silver.b ") == ("gold.a", "silver.b")
    with pytest.raises(ValueError, match=r"^expected_tables: 'prod.gold.a' is not schema.table$"):
        integration.parse_expected_tables("prod.gold.a")


# ---------------------------------------------------------------------- schema prefix

PREFIX = "sbx_ben_okafor_"


def sandbox(**overrides: Rows | Exception) -> FakeSql:
    """The staging catalog with a sandbox's schemas beside the medallion's own."""
    schemas = SCHEMAS + [{"databaseName": f"{PREFIX}{s}"} for s in jp.MEDALLION_SCHEMAS]
    answers: dict[str, Rows | Exception] = {
        "SHOW SCHEMAS IN `staging`": schemas,
        f"SHOW TABLES IN `staging`.`{PREFIX}gold`": GOLD_TABLES,
        f"SHOW GRANTS ON SCHEMA `staging`.`{PREFIX}gold`": ANALYSTS_READ,
        f"SELECT * FROM `staging`.`{PREFIX}gold`.`daily_revenue_by_segment` LIMIT 10": [
            {"order_date": "2024-06-01", "segment": "smb", "revenue": 1}
        ],
    }
    answers.update(overrides)
    return FakeSql(answers)


# As the jobs layer passes them for a sandbox: the grant plan's schema names, prefixed.
SANDBOX_GRANTS = (
    GrantCheck(
        "analysts", "SCHEMA", f"{PREFIX}gold", must_have=("SELECT",), must_not_have=("MODIFY",)
    ),
)


def run_prefixed(
    sql: FakeSql, grant_checks: Sequence[GrantCheck] = SANDBOX_GRANTS
) -> dict[str, object]:
    result = integration.run_checks(
        sql,
        "staging",
        expected_tables=("gold.daily_revenue_by_segment", "gold.customer_revenue"),
        grant_checks=grant_checks,
        schema_prefix=PREFIX,
    )
    document: dict[str, object] = json.loads(result.to_json())
    return document


def test_a_sandbox_is_checked_in_its_prefixed_schemas() -> None:
    sql = sandbox()
    document = run_prefixed(sql)
    assert statuses(document) == {
        f"schema exists: staging.{PREFIX}bronze": ("passed", ""),
        f"schema exists: staging.{PREFIX}silver": ("passed", ""),
        f"schema exists: staging.{PREFIX}gold": ("passed", ""),
        f"table exists: staging.{PREFIX}gold.daily_revenue_by_segment": ("passed", ""),
        f"table exists: staging.{PREFIX}gold.customer_revenue": ("passed", ""),
        # Named as the caller gave it: not prefixed a second time.
        f"grants of analysts on SCHEMA staging.{PREFIX}gold": ("passed", ""),
        f"sample query returns rows: staging.{PREFIX}gold.daily_revenue_by_segment": (
            "passed",
            "1 row(s)",
        ),
    }
    assert (document["status"], document["passed"]) == ("passed", 7)
    # Nothing reads the unprefixed medallion.
    assert sql.statements == [
        "SHOW SCHEMAS IN `staging`",
        f"SHOW TABLES IN `staging`.`{PREFIX}gold`",
        f"SHOW GRANTS ON SCHEMA `staging`.`{PREFIX}gold`",
        f"SELECT * FROM `staging`.`{PREFIX}gold`.`daily_revenue_by_segment` LIMIT 10",
    ]


def test_a_sandbox_whose_schemas_are_missing_fails_though_the_medallion_exists() -> None:
    # healthy(): staging has bronze, silver and gold, and nothing under the prefix.
    sql = healthy()
    document = run_prefixed(sql, grant_checks=())
    result = statuses(document)
    assert result[f"schema exists: staging.{PREFIX}gold"] == (
        "failed",
        "not in SHOW SCHEMAS IN staging (bronze, default, gold, silver)",
    )
    assert result[f"table exists: staging.{PREFIX}gold.customer_revenue"] == (
        "error",
        "RuntimeError: [TABLE_OR_VIEW_NOT_FOUND] unexpected statement: "
        f"SHOW TABLES IN `staging`.`{PREFIX}gold`",
    )
    sample = f"sample query on staging.{PREFIX}gold.daily_revenue_by_segment"
    assert result[sample][0] == "error"
    assert (document["status"], document["passed"], document["failed"]) == ("failed", 0, 6)
    assert not [s for s in sql.statements if "`staging`.`gold`" in s]


def test_a_sandbox_grant_check_on_an_unprefixed_name_checks_that_schema() -> None:
    """Grant checks are used as given: a caller that forgot to prefix a schema's name
    checks the medallion's own schema, which the check's name shows."""
    (gold,) = DEFAULT_GRANTS
    sql = sandbox(**{"SHOW GRANTS ON SCHEMA `staging`.`gold`": ANALYSTS_READ})
    assert "grants of analysts on SCHEMA staging.gold" in statuses(run_prefixed(sql, [gold]))


def test_expected_tables_outside_the_medallion_are_checked_as_named() -> None:
    sql = sandbox(
        **{"SHOW TABLES IN `staging`.`reports`": [{"tableName": "monthly", "database": "reports"}]}
    )
    result = integration.run_checks(
        sql,
        "staging",
        expected_tables=("reports.monthly", f"{PREFIX}gold.customer_revenue"),
        grant_checks=(),
        schemas=(),
        sample_table="",
        schema_prefix=PREFIX,
    )
    assert [(c.name, c.status) for c in result.checks] == [
        ("table exists: staging.reports.monthly", "passed"),
        (f"table exists: staging.{PREFIX}gold.customer_revenue", "passed"),
    ]


def test_a_bad_schema_prefix_runs_no_statement() -> None:
    sql = sandbox()
    with pytest.raises(ValueError, match=r"^schema_prefix 'Sbx-Ben' is not a schema name prefix"):
        integration.run_checks(
            sql, "staging", expected_tables=(), grant_checks=(), schema_prefix="Sbx-Ben"
        )
    assert sql.statements == []


def test_the_default_results_table_is_in_the_prefixed_bronze() -> None:
    assert integration.results_table("staging") == ("`staging`.`bronze`.`integration_test_results`")
    assert integration.results_table("dev-ws", PREFIX) == (
        f"`dev-ws`.`{PREFIX}bronze`.`integration_test_results`"
    )
