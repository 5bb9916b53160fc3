"""The hand-off to the jobs layer: entry points, their parameters, the upload manifest."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from dataops_jobs import parameters as jp
from dataops_jobs.notebook import read_parameters
from dataops_jobs.upload import NOTEBOOK_HEADER, upload_manifest

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO_ROOT / "notebooks"


def test_the_entry_points_are_the_five_job_tasks() -> None:
    assert [(e.task_key, e.path, e.workspace_path) for e in jp.ENTRY_POINTS] == [
        ("bronze", "medallion_bronze.py", "medallion_bronze"),
        ("silver", "medallion_silver.py", "medallion_silver"),
        ("gold", "medallion_gold.py", "medallion_gold"),
        ("integration_tests", "integration_tests.py", "integration_tests"),
        ("git_sync", "git_sync.py", "git_sync"),
    ]


@pytest.mark.parametrize("entry", jp.ENTRY_POINTS, ids=lambda e: e.path)
def test_every_entry_point_is_a_databricks_notebook_beside_the_package(
    entry: jp.EntryPoint,
) -> None:
    source = (NOTEBOOKS / entry.path).read_text(encoding="utf-8")
    assert source.splitlines()[0] == NOTEBOOK_HEADER
    assert "\n# COMMAND ----------\n" in source
    # Databricks puts a notebook's own folder on sys.path: it must be the package's.
    assert "/" not in entry.path and (NOTEBOOKS / "dataops_jobs" / "__init__.py").is_file()


@pytest.mark.parametrize("entry", jp.ENTRY_POINTS, ids=lambda e: e.path)
def test_every_notebook_reads_the_parameters_of_its_entry_point(entry: jp.EntryPoint) -> None:
    source = (NOTEBOOKS / entry.path).read_text(encoding="utf-8")
    constant = next(name for name, value in vars(jp).items() if value is entry)
    assert f"read_parameters(dbutils.widgets, jp.{constant})" in source


def test_the_parameter_names_per_task() -> None:
    assert {e.task_key: e.parameter_names for e in jp.ENTRY_POINTS} == {
        "bronze": (
            "catalog",
            "schema_prefix",
            "landing_path",
            "checkpoint_path",
            "seed_sample_data",
        ),
        "silver": ("catalog", "schema_prefix"),
        "gold": ("catalog", "schema_prefix"),
        "integration_tests": (
            "catalog",
            "schema_prefix",
            "expected_tables",
            "grant_checks",
            "results_table",
        ),
        "git_sync": (
            "source_path",
            "target_repository",
            "target_branch",
            "secret_scope",
            "secret_key",
            "report_dir",
            "catalog",
            "history_schema",
            "retention_days",
            "job_run_id",
        ),
    }


def test_only_the_git_sync_task_reads_a_secret() -> None:
    assert {e.task_key: e.secret_parameters for e in jp.ENTRY_POINTS if e.secret_parameters} == {
        "git_sync": ("secret_scope", "secret_key")
    }


def test_values_fill_in_defaults() -> None:
    assert jp.GIT_SYNC.values(
        source_path="/Clients", target_repository="https://github.com/datanova/b.git"
    ) == {
        "source_path": "/Clients",
        "target_repository": "https://github.com/datanova/b.git",
        "target_branch": "main",
        "secret_scope": "dataops",
        "secret_key": "git-sync-token",
        "report_dir": "/Workspace/Shared/dataops/reports/gitsync",
        # No catalog: no run history; its schema and retention have defaults.
        "catalog": "",
        "history_schema": "ops",
        "retention_days": "30",
        "job_run_id": "",
    }


def test_values_refuse_an_unknown_parameter() -> None:
    message = (
        "medallion_silver.py: unknown parameter(s) ['catalogue']; "
        "it takes ['catalog', 'schema_prefix']"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        jp.MEDALLION_SILVER.values(catalogue="prod")


def test_values_refuse_a_missing_required_parameter() -> None:
    message = (
        "medallion_bronze.py: required parameter(s) ['landing_path', 'checkpoint_path'] not given"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        jp.MEDALLION_BRONZE.values(catalog="prod", landing_path="")


def test_medallion_tables_cover_the_three_schemas() -> None:
    assert jp.MEDALLION_TABLES == (
        "bronze.orders",
        "bronze.customers",
        "silver.orders",
        "silver.customers",
        "silver.quarantine",
        "gold.daily_revenue_by_segment",
        "gold.customer_revenue",
    )


@pytest.mark.parametrize(("text", "value"), [("true", True), (" FALSE ", False), ("True", True)])
def test_booleans_are_true_or_false(text: str, value: bool) -> None:
    assert jp.parse_bool("seed_sample_data", text) is value


def test_other_booleans_are_refused() -> None:
    with pytest.raises(
        ValueError, match=r"^parameter seed_sample_data: 'yes' is not true or false$"
    ):
        jp.parse_bool("seed_sample_data", "yes")


class Widgets:
    def __init__(self, job_parameters: dict[str, str]) -> None:
        self.job_parameters = job_parameters
        self.declared: dict[str, str] = {}

    def text(self, name: str, defaultValue: str, label: str | None = None) -> None:  # noqa: N803
        self.declared[name] = defaultValue

    def get(self, name: str) -> str:
        return self.job_parameters.get(name, self.declared[name])


def test_notebooks_declare_every_widget_with_its_default() -> None:
    widgets = Widgets({"catalog": " prod ", "landing_path": "abfss://l/x", "checkpoint_path": "c"})
    values = read_parameters(widgets, jp.MEDALLION_BRONZE)
    assert widgets.declared == {
        "catalog": "",
        "schema_prefix": "",
        "landing_path": "",
        "checkpoint_path": "",
        "seed_sample_data": "false",
    }
    # A task that leaves schema_prefix out of its base parameters reads the default.
    assert values == {
        "catalog": "prod",
        "schema_prefix": "",
        "landing_path": "abfss://l/x",
        "checkpoint_path": "c",
        "seed_sample_data": "false",
    }


def test_a_run_cannot_override_a_pinned_parameter() -> None:
    """ "Run now with different parameters" sets widgets; a pinned value comes from the
    job cluster's environment, and a run that tries to change it is refused."""
    pinned = {p.env_var: p.example for p in jp.GIT_SYNC.parameters if p.pinned}
    pinned["DATAOPS_PINNED_TARGET_REPOSITORY"] = "https://github.com/datanova/backup.git"
    values = read_parameters(Widgets({}), jp.GIT_SYNC, pinned)
    assert values["target_repository"] == "https://github.com/datanova/backup.git"
    # The same value, or the widget's declared default, is no override.
    assert read_parameters(Widgets({"secret_scope": "dataops"}), jp.GIT_SYNC, pinned)
    hostile = Widgets({"target_repository": "https://evil.example/steal.git"})
    with pytest.raises(ValueError, match=r"^target_repository is fixed in the job definition"):
        read_parameters(hostile, jp.GIT_SYNC, pinned)
    with pytest.raises(ValueError, match=r"^secret_scope is fixed"):
        read_parameters(Widgets({"secret_scope": "other"}), jp.GIT_SYNC, pinned)


def test_a_notebook_names_every_missing_parameter_with_an_example() -> None:
    message = (
        "git_sync.py: job parameter(s) ['source_path', 'target_repository'] are required; "
        "set them on the task (e.g. source_path=/Clients, "
        "target_repository=https://github.com/datanova/notebook-backup.git)"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        read_parameters(Widgets({}), jp.GIT_SYNC, {})


# ---------------------------------------------------------------------- schema prefix

SANDBOX = "sbx_ben_okafor_feature_orders_v2_e799d33a2d_"
PREFIXED = (jp.MEDALLION_BRONZE, jp.MEDALLION_SILVER, jp.MEDALLION_GOLD, jp.INTEGRATION_TESTS)
PREFIX_RULE = (
    "is not a schema name prefix: use lower-case letters, digits and '_', starting with a "
    "letter or '_' (e.g. sbx_ben_okafor_orders_), or leave it empty for the medallion's "
    "own schemas"
)
# Unity Catalog names are at most 255 characters, and "bronze" and "silver" have 6.
LONGEST_PREFIX = "p" * 249
BAD_PREFIXES = [
    pytest.param(prefix, message, id=case)
    for case, prefix, message in [
        ("upper-case", "Sbx_Ben_", f"schema_prefix 'Sbx_Ben_' {PREFIX_RULE}"),
        ("hyphen", "sbx-ben_", f"schema_prefix 'sbx-ben_' {PREFIX_RULE}"),
        ("leading-digit", "1sbx_", f"schema_prefix '1sbx_' {PREFIX_RULE}"),
        ("dot", "sbx.ben_", f"schema_prefix 'sbx.ben_' {PREFIX_RULE}"),
        ("space", "sbx ben_", f"schema_prefix 'sbx ben_' {PREFIX_RULE}"),
        ("backtick", "sbx`_", f"schema_prefix 'sbx`_' {PREFIX_RULE}"),
        (
            "too-long",
            f"{LONGEST_PREFIX}_",
            "schema_prefix is 250 characters long; at most 249, so that '<prefix>bronze' "
            "stays within Unity Catalog's 255 characters for a name",
        ),
    ]
]


def test_the_medallion_and_its_checks_take_a_schema_prefix_the_git_sync_does_not() -> None:
    # The run history has its own schema parameter (history_schema).
    assert [e.task_key for e in jp.ENTRY_POINTS if jp.SCHEMA_PREFIX in e.parameter_names] == [
        e.task_key for e in PREFIXED
    ]


def test_a_schema_prefix_names_the_medallion_schemas() -> None:
    assert jp.medallion_schemas() == ("bronze", "silver", "gold")
    assert jp.medallion_schemas(SANDBOX) == (
        f"{SANDBOX}bronze",
        f"{SANDBOX}silver",
        f"{SANDBOX}gold",
    )
    assert max(len(s) for s in jp.medallion_schemas(LONGEST_PREFIX)) == 255
    assert jp.medallion_schemas("_1").gold == "_1gold"


def test_a_schema_prefix_applies_to_the_medallion_schemas_only() -> None:
    assert jp.prefixed_name("gold.customer_revenue", "sbx_") == "sbx_gold.customer_revenue"
    assert jp.prefixed_name("bronze", "sbx_") == "sbx_bronze"
    assert jp.prefixed_name("reports.monthly", "sbx_") == "reports.monthly"
    # A name already under the prefix is not prefixed twice.
    assert jp.prefixed_name("sbx_gold.t", "sbx_") == "sbx_gold.t"
    assert jp.prefixed_name("gold.t", "") == "gold.t"


@pytest.mark.parametrize("entry", PREFIXED, ids=lambda e: e.path)
@pytest.mark.parametrize(("prefix", "message"), BAD_PREFIXES)
def test_a_bad_schema_prefix_fails_the_plan(
    entry: jp.EntryPoint, prefix: str, message: str
) -> None:
    required = {p.name: p.example for p in entry.parameters if p.required}
    with pytest.raises(ValueError, match=f"^{re.escape(f'{entry.path}: {message}')}$"):
        entry.values(**{**required, jp.SCHEMA_PREFIX: prefix})


@pytest.mark.parametrize("entry", PREFIXED, ids=lambda e: e.path)
@pytest.mark.parametrize(("prefix", "message"), BAD_PREFIXES)
def test_a_bad_schema_prefix_fails_the_task(
    entry: jp.EntryPoint, prefix: str, message: str
) -> None:
    """A run that sets a bad prefix ("Run now with different parameters") fails reading
    its parameters, before the notebook does anything else."""
    required = {p.name: p.example for p in entry.parameters if p.required}
    widgets = Widgets({**required, jp.SCHEMA_PREFIX: prefix})
    with pytest.raises(ValueError, match=f"^{re.escape(f'{entry.path}: {message}')}$"):
        read_parameters(widgets, entry, {})


@pytest.mark.parametrize("entry", PREFIXED, ids=lambda e: e.path)
def test_a_good_schema_prefix_reaches_the_notebook(entry: jp.EntryPoint) -> None:
    required = {p.name: p.example for p in entry.parameters if p.required}
    for prefix in ("", SANDBOX, LONGEST_PREFIX, "_"):
        assert entry.values(**required, schema_prefix=prefix)[jp.SCHEMA_PREFIX] == prefix
        widgets = Widgets({**required, jp.SCHEMA_PREFIX: f" {prefix} "})
        assert read_parameters(widgets, entry, {})[jp.SCHEMA_PREFIX] == prefix


def test_a_task_leaves_the_schema_prefix_out_while_it_is_empty() -> None:
    """The notebook then reads the widget's default, the same empty prefix, and the jobs
    of a stack without a prefix keep the definitions they had before it existed."""
    silver = jp.MEDALLION_SILVER
    assert silver.task_parameters(silver.values(catalog="dev")) == {"catalog": "dev"}
    assert silver.task_parameters(silver.values(catalog="dev", schema_prefix=SANDBOX)) == {
        "catalog": "dev",
        "schema_prefix": SANDBOX,
    }
    # Other parameters at their default stay: they were in the task before.
    tests = jp.INTEGRATION_TESTS
    assert set(tests.task_parameters(tests.values(catalog="dev"))) == {
        "catalog",
        "expected_tables",
        "grant_checks",
        "results_table",
    }


# ---------------------------------------------------------------------------- upload


def test_the_manifest_ships_the_notebooks_package_sample_data_and_gitsync() -> None:
    manifest = upload_manifest(REPO_ROOT)
    notebooks = sorted(u.target for u in manifest if u.kind == "NOTEBOOK")
    assert notebooks == sorted(e.workspace_path for e in jp.ENTRY_POINTS)
    files = {u.target for u in manifest if u.kind == "FILE"}
    assert {
        "dataops_jobs/__init__.py",
        "dataops_jobs/git_sync.py",
        "dataops_jobs/integration.py",
        "dataops_jobs/medallion.py",
        "dataops_jobs/notebook.py",
        "dataops_jobs/parameters.py",
        "dataops_jobs/run_history.py",
        "dataops_jobs/upload.py",
        "sample_data/customers/customers_2024-06-01.csv",
        "sample_data/customers/customers_2024-06-03.csv",
        "sample_data/orders/orders_2024-06-01.jsonl",
        "sample_data/orders/orders_2024-06-02.jsonl",
        "sample_data/orders/orders_2024-06-03.jsonl",
    } == {f for f in files if not f.startswith("gitsync/")}
    assert {"gitsync/__main__.py", "gitsync/cli.py"} <= files
    assert all(u.source.is_file() for u in manifest)
    assert {u.language for u in manifest if u.kind == "NOTEBOOK"} == {"PYTHON"}


def test_the_manifest_leaves_caches_and_local_leftovers_home(tmp_path: Path) -> None:
    notebooks, gitsync = tmp_path / "notebooks", tmp_path / "gitsync"
    for path, text in {
        notebooks / "job.py": f"{NOTEBOOK_HEADER}\nprint(1)\n",
        notebooks / "pkg" / "mod.py": "x = 1\n",
        notebooks / "pkg" / "__pycache__" / "mod.cpython-311.pyc": "",
        notebooks / "pkg" / "__pycache__" / "mod.py": "",
        notebooks / ".ipynb_checkpoints" / "job-checkpoint.py": "",
        notebooks / "spark-warehouse" / "t" / "part-0.json": "",
        notebooks / "tests" / "test_x.py": "",
        notebooks / "README.md": "",
        notebooks / "derby.log": "",
        gitsync / "cli.py": "",
        gitsync / "README.md": "",
    }.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert [(u.target, u.kind) for u in upload_manifest(tmp_path)] == [
        ("job", "NOTEBOOK"),
        ("pkg/mod.py", "FILE"),
        ("gitsync/cli.py", "FILE"),
    ]


def test_the_pulumi_program_can_import_the_contract_without_pyspark() -> None:
    # As components/ will: from the repository root, as notebooks.dataops_jobs, with no
    # pyspark installed (requirements.txt does not have it).
    script = (
        "import sys; sys.modules['pyspark'] = None\n"
        "from notebooks.dataops_jobs import parameters, upload\n"
        "print(len(parameters.ENTRY_POINTS), len(upload.upload_manifest(__import__('pathlib')"
        ".Path('.'))) > 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "5 True"), done.stderr
