"""Job parameters of the entry notebooks: the contract between the job code and the jobs layer.

The Pulumi jobs layer imports this module (standard library only, no pyspark):

    from notebooks.dataops_jobs import parameters as jp

    task = jp.MEDALLION_BRONZE
    notebook_path = f"{code_folder}/{task.workspace_path}"          # .../medallion_bronze
    values = task.values(catalog="prod", landing_path=..., checkpoint_path=...)
    base_parameters = task.task_parameters(values)

``EntryPoint.values`` fills in defaults and refuses unknown names, missing required ones
and values a parameter's check refuses (a bad ``schema_prefix``), so a typo fails the
plan, not the first run. All values are strings (Databricks passes job parameters as
strings; booleans are "true"/"false"). ``EntryPoint.task_parameters`` is what the task's
base parameters hold: not the pinned parameters (they travel in the cluster's
environment), nor ``schema_prefix`` while it is empty, so the jobs of a stack without a
prefix kept their definitions when the parameter was added; the notebook reads the same
empty value from its widget's default.

Schema prefix
=============

The medallion's schemas are ``<catalog>.bronze``, ``.silver`` and ``.gold``. With
``schema_prefix`` (bronze, silver, gold and integration_tests take it; default empty) they
are ``<catalog>.<schema_prefix>bronze`` etc.: a sandbox gives each developer and branch
its own schemas in the dev catalog, where a developer may create schemas but not
catalogs. The schemas must exist (the job code creates tables, not schemas).

The prefix is empty or lower-case letters, digits and ``_``, starting with a letter or
``_``, at most 249 characters (``<prefix>bronze`` stays within Unity Catalog's 255);
anything else fails the plan, and a run that sets it fails reading its parameters,
before it touches Spark.

It applies to the three medallion schemas wherever the job code names them, and to
nothing else: the tables the medallion reads and writes, bronze's checkpoints
(``<checkpoint_path>/<schema_prefix>orders``), the schemas the integration tests look
for, ``expected_tables`` and the sample query (named unprefixed: ``gold.t`` is checked as
``<prefix>gold.t``, a schema outside the medallion as named) and the default
``results_table``. ``grant_checks`` and a given ``results_table`` are used as they are:
the grant checks come from the grant plan, which names the schemas it granted on, so with
a prefix the jobs layer passes the prefixed names. The git sync's run history has its own
schema (``history_schema``) and takes no prefix.

Hand-off: the five job tasks
============================

Every entry is a **notebook** (Databricks source format: ``# Databricks notebook source``
header, ``# COMMAND ----------`` cells), uploaded as a notebook (``databricks.Notebook``,
language PYTHON) to ``<code folder>/<workspace_path>``, i.e. the file name without ``.py``.
Everything else in ``upload.upload_manifest()`` (this package, the sample data, the
``gitsync`` package) is uploaded as workspace files next to them, keeping relative paths:
a notebook imports ``dataops_jobs`` (and runs ``gitsync``) from its own folder, which
Databricks puts on ``sys.path``. Run them on a single-user (dedicated) job cluster:
Unity Catalog, Databricks Runtime 15.4 LTS (Spark 3.5, Python 3.11).

``medallion_bronze.py`` (task ``bronze``)
    Parameters: ``catalog`` (``prod``), ``schema_prefix`` (default empty), ``landing_path``
    (``abfss://landing@stdatanovaprod.dfs.core.windows.net/datanova``: the landing
    external location), ``checkpoint_path``
    (``abfss://bronze@stdatanovaprod.dfs.core.windows.net/_checkpoints/medallion``:
    a path the job may write, under the bronze external location), ``seed_sample_data``
    (``false``; ``true`` copies the shipped sample files into the landing path first,
    skipping files already there: for dev and staging).
    Reads ``<landing_path>/orders/*.jsonl`` and ``<landing_path>/customers/*.csv``
    incrementally with Auto Loader (``availableNow``; the checkpoints remember which files
    were ingested) and appends the raw records, all columns as strings, plus
    ``_corrupt_record``, ``_source_file`` and ``_ingested_at`` to
    ``<catalog>.<schema_prefix>bronze.orders`` and ``...bronze.customers``. Each table's
    stream keeps its checkpoint in ``<checkpoint_path>/<schema_prefix><source>``
    (``.../orders`` without a prefix): a prefixed run neither reads nor advances the
    unprefixed tables' checkpoints, so both ingest every landed file.
    Needs: READ FILES on the landing location, READ/WRITE FILES on the checkpoint path,
    USE CATALOG, USE SCHEMA + CREATE TABLE + MODIFY on ``<schema_prefix>bronze``.
    Success: the notebook exits with JSON ``{"task": "bronze", "rows": {"orders": n, ...}}``
    (rows appended by this run). Failure: an exception (bad parameter, unreadable path),
    the task fails.

``medallion_silver.py`` (task ``silver``, depends on ``bronze``)
    Parameters: ``catalog``, ``schema_prefix``.
    Reads the bronze tables, types and validates every record, keeps the latest valid
    version per key (``order_id``, ``customer_id``; latest ``updated_at``) and overwrites
    ``<catalog>.<schema_prefix>silver.orders`` and ``...silver.customers``; rejected
    records go, with the reasons, to ``...silver.quarantine`` (overwritten: it reflects
    bronze).
    Success: exits with JSON ``{"task": "silver", "rows": {...}, "rejected": {...}}``.
    Rejected records do not fail the task; they are counted in the exit value.

``medallion_gold.py`` (task ``gold``, depends on ``silver``)
    Parameters: ``catalog``, ``schema_prefix``.
    Overwrites ``<catalog>.<schema_prefix>gold.daily_revenue_by_segment`` and
    ``...gold.customer_revenue`` from the silver tables.
    Success: exits with JSON ``{"task": "gold", "rows": {...}}``.

``integration_tests.py`` (task ``integration_tests``)
    Parameters: ``catalog`` (``staging``); ``schema_prefix`` (default empty);
    ``expected_tables`` (default: the medallion's tables,
    ``bronze.orders,bronze.customers,silver.orders,...``; comma-separated ``schema.table``,
    the medallion's schemas unprefixed); ``grant_checks`` (JSON list, default
    ``[{"principal": "analysts", "securable": "SCHEMA", "name": "gold",
    "must_have": ["SELECT"], "must_not_have": ["MODIFY"]}]``; ``name`` relative to the
    catalog and used as given: with a schema prefix, pass the prefixed schema names, as
    the grant plan names the schemas it granted on); ``results_table`` (default
    ``<catalog>.<schema_prefix>bronze.integration_test_results``).
    Checks: the (prefixed) bronze/silver/gold schemas and the expected tables exist, the
    grants hold (``SHOW GRANTS``, inherited privileges included, ``ALL PRIVILEGES`` counts
    as every privilege) and a sample query on gold returns rows. The running identity
    needs ``MANAGE`` on the catalog (or ownership) to read grants it does not hold itself.
    Writes one row per check to ``results_table`` (appended, with the run's id) and
    prints the result as one JSON line.
    Success: exits with the result JSON (``dbutils.notebook.exit``): ``{"suite",
    "catalog", "status": "passed", "passed", "failed", "started_at", "finished_at",
    "run_id", "checks": [{"name", "status", "detail"}]}``; CI reads it from
    ``jobs/runs/get-output`` (``notebook_output.result``). Failure: the task fails with
    ``IntegrationTestsError: <the same JSON>`` as its error (``error`` in get-output).
    The gold tables exist only after the medallion job ran once: run it first (CI, or a
    ``run_job_task`` before the test task).

``git_sync.py`` (task ``git_sync``)
    Parameters: ``source_path`` (``/Clients``), ``target_repository``
    (``https://github.com/datanova/notebook-backup.git``; no credentials in the URL),
    ``target_branch`` (``main``), ``secret_scope`` (``dataops``; empty: no token, e.g. an
    ssh remote), ``secret_key`` (``git-sync-token``), ``report_dir``
    (``/Workspace/Shared/dataops/reports/gitsync``: where each run's JSON report is kept).
    Reads the git token with ``dbutils.secrets.get(secret_scope, secret_key)`` (a Key
    Vault-backed scope) and runs ``python -m gitsync run --source ... --repo ...
    --branch ... --report ...`` from the code folder, with the token only in the child's
    environment (``GITSYNC_GIT_TOKEN``) and the workspace credentials of the run
    (``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` from the notebook context) likewise.
    Needs: the PyPI library ``databricks-sdk`` in the range of ``requirements.txt`` (the
    runtime's own is older) as a task library, ``git`` (in the runtime), READ on the
    secret scope for the run-as identity.
    Writes ``<report_dir>/gitsync-<UTC time>.json`` and pushes the backup branch.
    Run history (``run_history.py``): with ``catalog`` set, every run, failed ones
    included, appends one row to ``<catalog>.<history_schema>.gitsync_runs`` and its
    failed or skipped objects to ``...gitsync_run_failures``, then removes rows older
    than ``retention_days`` (default 30) from both; ``job_run_id`` (``{{job.run_id}}``)
    is recorded with the row. Needs USE SCHEMA, CREATE TABLE, SELECT and MODIFY on
    the history schema.
    Success: prints gitsync's one-line summary and exits with JSON ``{"task": "git_sync",
    "exit_code": 0, "summary", "report_path", "report"}``. Failure: any non-zero gitsync
    exit (1 error, 2 bad arguments, 3 incomplete) fails the task with
    ``GitSyncError: gitsync exited <code> (<meaning>): <summary or error line>``.

Suggested jobs: ``medallion`` = bronze -> silver -> gold; ``integration-tests`` =
integration_tests; ``git-sync`` = git_sync. The task keys above are suggestions
(``EntryPoint.task_key``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal, NamedTuple

# The medallion's fixed layout inside the environment's catalog.
BRONZE, SILVER, GOLD = "bronze", "silver", "gold"
MEDALLION_SCHEMAS = (BRONZE, SILVER, GOLD)
BRONZE_TABLES = ("orders", "customers")
SILVER_TABLES = ("orders", "customers", "quarantine")
GOLD_TABLES = ("daily_revenue_by_segment", "customer_revenue")
MEDALLION_TABLES = (
    tuple(f"{BRONZE}.{t}" for t in BRONZE_TABLES)
    + tuple(f"{SILVER}.{t}" for t in SILVER_TABLES)
    + tuple(f"{GOLD}.{t}" for t in GOLD_TABLES)
)
INTEGRATION_RESULTS_TABLE = "integration_test_results"  # in the bronze schema by default

# Unity Catalog object names are at most 255 characters
# (https://learn.microsoft.com/azure/databricks/sql/language-manual/sql-ref-names): the
# longest medallion schema name under a prefix must fit.
MAX_OBJECT_NAME_LENGTH = 255
MAX_SCHEMA_PREFIX_LENGTH = MAX_OBJECT_NAME_LENGTH - max(len(s) for s in MEDALLION_SCHEMAS)
# As dataops writes Unity Catalog identifiers (components/config/types.py): lower-case
# letters, digits and '_', not starting with a digit. Lower-case because Unity Catalog
# stores names in lower case (same page): the names the job code reports are the
# catalog's. No '.', '`' or space: the prefix is part of one name, quoted or not.
_SCHEMA_PREFIX = re.compile(r"[a-z_][a-z0-9_]*")

# Parameter names (the widget names the notebooks read).
CATALOG = "catalog"
SCHEMA_PREFIX = "schema_prefix"
LANDING_PATH = "landing_path"
CHECKPOINT_PATH = "checkpoint_path"
SEED_SAMPLE_DATA = "seed_sample_data"
EXPECTED_TABLES = "expected_tables"
GRANT_CHECKS = "grant_checks"
RESULTS_TABLE = "results_table"
SOURCE_PATH = "source_path"
TARGET_REPOSITORY = "target_repository"
TARGET_BRANCH = "target_branch"
SECRET_SCOPE = "secret_scope"
SECRET_KEY = "secret_key"
REPORT_DIR = "report_dir"
HISTORY_SCHEMA = "history_schema"
RETENTION_DAYS = "retention_days"
JOB_RUN_ID = "job_run_id"

DEFAULT_SECRET_SCOPE = "dataops"
DEFAULT_GIT_TOKEN_KEY = "git-sync-token"
DEFAULT_REPORT_DIR = "/Workspace/Shared/dataops/reports/gitsync"
# The run history's schema in the environment's catalog, and how long rows are kept.
DEFAULT_HISTORY_SCHEMA = "ops"
DEFAULT_RETENTION_DAYS = "30"
# A Databricks dynamic value reference: the job run's id, filled in at run time
# (https://docs.databricks.com/en/jobs/dynamic-value-references.html).
JOB_RUN_ID_REFERENCE = "{{job.run_id}}"
DEFAULT_GRANT_CHECKS = (
    {
        "principal": "analysts",
        "securable": "SCHEMA",
        "name": GOLD,
        "must_have": ["SELECT"],
        "must_not_have": ["MODIFY"],
    },
)


# Pinned parameters reach the task as environment variables of its job cluster
# (spark_env_vars), which are part of the job definition: "Run now with different
# parameters" sends notebook_params (job_parameters), which override a notebook task's
# base_parameters but cannot change the cluster spec (Jobs API 2.1 run-now request:
# https://docs.databricks.com/api/azure/workspace/jobs/runnow). Only those who may edit
# the job (the deployer) can change where a pinned parameter points.
PINNED_ENV_PREFIX = "DATAOPS_PINNED_"


def check_schema_prefix(value: str) -> str:
    """``value`` if it is a usable schema prefix (or empty); ValueError saying why not."""
    if value and not _SCHEMA_PREFIX.fullmatch(value):
        raise ValueError(
            f"{SCHEMA_PREFIX} {value!r} is not a schema name prefix: use lower-case letters, "
            "digits and '_', starting with a letter or '_' (e.g. sbx_ben_okafor_orders_), "
            "or leave it empty for the medallion's own schemas"
        )
    if len(value) > MAX_SCHEMA_PREFIX_LENGTH:
        raise ValueError(
            f"{SCHEMA_PREFIX} is {len(value)} characters long; at most "
            f"{MAX_SCHEMA_PREFIX_LENGTH}, so that '<prefix>{BRONZE}' stays within Unity "
            f"Catalog's {MAX_OBJECT_NAME_LENGTH} characters for a name"
        )
    return value


class MedallionSchemas(NamedTuple):
    """The medallion's schema names in the catalog, under a schema prefix."""

    bronze: str
    silver: str
    gold: str


def medallion_schemas(schema_prefix: str = "") -> MedallionSchemas:
    """bronze, silver and gold under ``schema_prefix`` (checked: ValueError if unusable)."""
    check_schema_prefix(schema_prefix)
    return MedallionSchemas(*(f"{schema_prefix}{schema}" for schema in MEDALLION_SCHEMAS))


def prefixed_name(name: str, schema_prefix: str) -> str:
    """A ``schema`` or ``schema.table`` name as it is in the catalog: a medallion schema
    under ``schema_prefix`` (``gold.t`` -> ``<prefix>gold.t``), any other as given."""
    schema, dot, table = name.partition(".")
    by_name = dict(zip(MEDALLION_SCHEMAS, medallion_schemas(schema_prefix), strict=True))
    return f"{by_name.get(schema, schema)}{dot}{table}"


@dataclass(frozen=True)
class Parameter:
    """One job parameter: a notebook widget. ``default`` None means required.

    ``pinned``: it chooses where data or secrets go (a backup target, a secret scope, a
    source folder), so it is fixed in the job definition and a run cannot change it.
    ``check``: refuses a bad value (ValueError) when the plan is made and when the task
    starts. ``omit_at_default``: the task's base parameters leave it out while it holds its
    default; for a parameter added after the jobs were deployed, so a job that does not use
    it keeps its definition. The notebook reads the same value either way: its widget is
    declared with the default, and "if the notebook takes a parameter that is not specified
    in the job's base_parameters or the run-now override parameters, the default value from
    the notebook is used" (Jobs API, notebook_task.base_parameters:
    https://docs.databricks.com/api/azure/workspace/jobs/create).
    """

    name: str
    description: str
    example: str
    default: str | None = None
    pinned: bool = False
    check: Callable[[str], object] | None = None
    omit_at_default: bool = False

    @property
    def required(self) -> bool:
        return self.default is None

    @property
    def env_var(self) -> str:
        """The cluster environment variable a pinned parameter travels in."""
        return f"{PINNED_ENV_PREFIX}{self.name.upper()}"


@dataclass(frozen=True)
class EntryPoint:
    """One job task's code: which file, what it takes, what it writes."""

    task_key: str
    path: str  # relative to notebooks/ and to the deployed code folder
    kind: Literal["NOTEBOOK"]
    parameters: tuple[Parameter, ...]
    writes: str
    # (scope parameter, key parameter) of the secret the task reads with dbutils.secrets.get;
    # the run-as identity needs READ on that scope.
    secret_parameters: tuple[str, str] | None = None

    @property
    def workspace_path(self) -> str:
        """Path under the code folder: notebooks carry no extension in the workspace."""
        return str(PurePosixPath(self.path).with_suffix(""))

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def task_parameters(self, values: dict[str, str]) -> dict[str, str]:
        """The values a run may override: the notebook task's base parameters, without
        those the notebook falls back to (``omit_at_default`` at their default)."""
        return {
            p.name: values[p.name]
            for p in self.parameters
            if not p.pinned and not (p.omit_at_default and values[p.name] == p.default)
        }

    def pinned_environment(self, values: dict[str, str]) -> dict[str, str]:
        """The pinned values, as the job cluster's environment variables."""
        return {p.env_var: values[p.name] for p in self.parameters if p.pinned}

    def values(self, **given: str) -> dict[str, str]:
        """The task's parameters with defaults filled in; refuses unknown or missing names."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(
                f"{self.path}: unknown parameter(s) {unknown}; it takes {sorted(known)}"
            )
        resolved: dict[str, str] = {}
        missing: list[str] = []
        for name, parameter in known.items():
            value = given.get(name, parameter.default)
            if value is None or (parameter.required and value == ""):
                missing.append(name)
            else:
                resolved[name] = value
        if missing:
            raise ValueError(f"{self.path}: required parameter(s) {missing} not given")
        return self.checked(resolved)

    def checked(self, values: dict[str, str]) -> dict[str, str]:
        """``values`` once every parameter's check accepts its value; else a ValueError
        naming the notebook (the plan and the task refuse the same values)."""
        for parameter in self.parameters:
            if parameter.check is not None and parameter.name in values:
                try:
                    parameter.check(values[parameter.name])
                except ValueError as err:
                    raise ValueError(f"{self.path}: {err}") from None
        return values


_CATALOG = Parameter(CATALOG, "The environment's Unity Catalog catalog", "prod")
_SCHEMA_PREFIX_PARAMETER = Parameter(
    SCHEMA_PREFIX,
    "Prepended to the medallion's schema names (bronze, silver, gold); empty: none",
    "sbx_ben_okafor_feature_orders_v2_3f9a1c2b7e_",
    default="",
    check=check_schema_prefix,
    omit_at_default=True,
)

MEDALLION_BRONZE = EntryPoint(
    task_key="bronze",
    path="medallion_bronze.py",
    kind="NOTEBOOK",
    parameters=(
        _CATALOG,
        _SCHEMA_PREFIX_PARAMETER,
        Parameter(
            LANDING_PATH,
            "Landing zone root (the landing external location); orders/ and customers/ below",
            "abfss://landing@stdatanovaprod.dfs.core.windows.net/datanova",
        ),
        Parameter(
            CHECKPOINT_PATH,
            "Where the incremental readers keep their checkpoints (writable by the job)",
            "abfss://bronze@stdatanovaprod.dfs.core.windows.net/_checkpoints/medallion",
        ),
        Parameter(
            SEED_SAMPLE_DATA,
            "true: copy the shipped sample files into the landing path first (dev, staging)",
            "false",
            default="false",
        ),
    ),
    writes=(
        "<catalog>.<schema_prefix>bronze.orders, <catalog>.<schema_prefix>bronze.customers (append)"
    ),
)

MEDALLION_SILVER = EntryPoint(
    task_key="silver",
    path="medallion_silver.py",
    kind="NOTEBOOK",
    parameters=(_CATALOG, _SCHEMA_PREFIX_PARAMETER),
    writes=(
        "<catalog>.<schema_prefix>silver.orders, <catalog>.<schema_prefix>silver.customers, "
        "<catalog>.<schema_prefix>silver.quarantine (overwrite)"
    ),
)

MEDALLION_GOLD = EntryPoint(
    task_key="gold",
    path="medallion_gold.py",
    kind="NOTEBOOK",
    parameters=(_CATALOG, _SCHEMA_PREFIX_PARAMETER),
    writes=(
        "<catalog>.<schema_prefix>gold.daily_revenue_by_segment, "
        "<catalog>.<schema_prefix>gold.customer_revenue (overwrite)"
    ),
)

INTEGRATION_TESTS = EntryPoint(
    task_key="integration_tests",
    path="integration_tests.py",
    kind="NOTEBOOK",
    parameters=(
        Parameter(CATALOG, "The environment's catalog under test", "staging"),
        _SCHEMA_PREFIX_PARAMETER,
        Parameter(
            EXPECTED_TABLES,
            "Comma-separated schema.table names that must exist; bronze, silver and gold "
            "are looked for under schema_prefix",
            "gold.daily_revenue_by_segment,gold.customer_revenue",
            default=",".join(MEDALLION_TABLES),
        ),
        Parameter(
            GRANT_CHECKS,
            "JSON list of {principal, securable, name, must_have, must_not_have}; names "
            "as they are in the catalog (schema_prefix is not applied)",
            json.dumps(list(DEFAULT_GRANT_CHECKS)),
            default=json.dumps(list(DEFAULT_GRANT_CHECKS)),
        ),
        Parameter(
            RESULTS_TABLE,
            "Table the per-check results are appended to; empty: "
            f"<catalog>.<schema_prefix>{BRONZE}.{INTEGRATION_RESULTS_TABLE}",
            f"staging.{BRONZE}.{INTEGRATION_RESULTS_TABLE}",
            default="",
        ),
    ),
    writes=(
        "results_table (default "
        f"<catalog>.<schema_prefix>{BRONZE}.{INTEGRATION_RESULTS_TABLE}, append)"
    ),
)

GIT_SYNC = EntryPoint(
    task_key="git_sync",
    path="git_sync.py",
    kind="NOTEBOOK",
    parameters=(
        Parameter(SOURCE_PATH, "Workspace folder mirrored into git", "/Clients", pinned=True),
        Parameter(
            TARGET_REPOSITORY,
            "Git remote the backup is pushed to (no credentials in the URL)",
            "https://github.com/datanova/notebook-backup.git",
            pinned=True,
        ),
        Parameter(
            TARGET_BRANCH, "Branch of the backup repository", "main", default="main", pinned=True
        ),
        Parameter(
            SECRET_SCOPE,
            "Secret scope holding the git token; empty: no token (ssh or local remote)",
            DEFAULT_SECRET_SCOPE,
            default=DEFAULT_SECRET_SCOPE,
            pinned=True,
        ),
        Parameter(
            SECRET_KEY,
            "Key of the git token in the secret scope",
            DEFAULT_GIT_TOKEN_KEY,
            default=DEFAULT_GIT_TOKEN_KEY,
            pinned=True,
        ),
        Parameter(
            REPORT_DIR,
            "Folder each run's JSON report is copied to (/Workspace, /Volumes or /dbfs path)",
            DEFAULT_REPORT_DIR,
            default=DEFAULT_REPORT_DIR,
            pinned=True,
        ),
        Parameter(
            CATALOG,
            "Catalog of the run history; empty: no history is written",
            "prod",
            default="",
            pinned=True,
        ),
        Parameter(
            HISTORY_SCHEMA,
            "Schema of the run-history tables in the catalog",
            DEFAULT_HISTORY_SCHEMA,
            default=DEFAULT_HISTORY_SCHEMA,
            pinned=True,
        ),
        Parameter(
            RETENTION_DAYS,
            "Run-history rows older than this many days are removed by each run",
            DEFAULT_RETENTION_DAYS,
            default=DEFAULT_RETENTION_DAYS,
            pinned=True,
        ),
        Parameter(
            JOB_RUN_ID,
            "The job run's id, recorded with the run (the job passes {{job.run_id}})",
            "912345678",
            default="",
        ),
    ),
    writes=(
        "<report_dir>/gitsync-<UTC time>.json; the backup branch and its tag; one row per "
        "run in <catalog>.<history_schema>.gitsync_runs, its failures in "
        "<catalog>.<history_schema>.gitsync_run_failures (append, trimmed to retention_days)"
    ),
    secret_parameters=(SECRET_SCOPE, SECRET_KEY),
)

MEDALLION_TASKS = (MEDALLION_BRONZE, MEDALLION_SILVER, MEDALLION_GOLD)
ENTRY_POINTS = (*MEDALLION_TASKS, INTEGRATION_TESTS, GIT_SYNC)


def entry_point(path: str) -> EntryPoint:
    """The entry point of a notebook file, by its path relative to notebooks/."""
    for entry in ENTRY_POINTS:
        if entry.path == path:
            return entry
    raise KeyError(f"{path!r} is not an entry point; they are {[e.path for e in ENTRY_POINTS]}")


def parse_bool(name: str, value: str) -> bool:
    """Job parameters are strings: accept true/false (any case), refuse anything else."""
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ValueError(f"parameter {name}: {value!r} is not true or false")
