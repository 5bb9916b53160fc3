"""``python -m dataops bundle-targets``: bundle targets from stack outputs, and the example bundle.

The targets are checked three ways: their contents per tier (who deploys, who runs, where,
who may do what), the refusals (one line naming what is missing), and the example bundle
(examples/bundle) loaded through the bundle tooling's own Python package,
``databricks-bundles`` (see ``_validate_with_package`` for what it does and does not check).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from databricks.bundles.core import Bundle, Variable, variables
from databricks.bundles.jobs import Job, JobRunAs, NotebookTask, Task

from dataops.bundles import BundleTargetError, bundle_target, short_user_name, targets_document
from dataops.cli import main
from dataops.engine import PROJECT_ROOT, Plan

EXAMPLE = PROJECT_ROOT / "examples" / "bundle"
# Set to rewrite examples/bundle/targets/*.yml from the current command instead of failing.
REGENERATE = "DATAOPS_REGENERATE_EXAMPLES"

# A sandbox's outputs, as the sandbox tier (built beside this command) promises them.
SANDBOX_STACK = "ben-okafor-feature-orders-v2-e799d33a2d"
SANDBOX_OUTPUTS: dict[str, Any] = {
    "environment": "sandbox",
    "baseStack": "dev",
    "sandboxNamespace": "ben-okafor-feature-orders-v2-e799d33a2d",
    "sandboxOwner": "ben.okafor@datanova.eu",
    "sandboxBranch": "feature/orders-v2",
    "sandboxCreatedAt": "2026-12-02T16:30:00Z",
    "workspaceUrl": "https://adb-1234567890123456.7.azuredatabricks.net",
    "catalogNames": ["dev"],
    "schemaPrefix": "sbx_ben_okafor_feature_orders_v2_e799d33a2d_",
    "schemaNames": [
        "dev.sbx_ben_okafor_feature_orders_v2_e799d33a2d_bronze",
        "dev.sbx_ben_okafor_feature_orders_v2_e799d33a2d_silver",
        "dev.sbx_ben_okafor_feature_orders_v2_e799d33a2d_gold",
    ],
    "groupNames": ["dev-platform-admins", "dev-data-engineers", "dev-analysts"],
    "reviewerGroups": ["dev-data-engineers"],
    "codeFolder": "/Users/ben.okafor@datanova.eu/sandboxes/ben-okafor-feature-orders-v2-e799d33a2d",
    "gitSyncJobId": "123",
    "integrationTestJobId": "124",
    "medallionJobId": "125",
    "jobUrls": {
        "gitSync": "https://adb-1234567890123456.7.azuredatabricks.net/jobs/123",
        "integrationTests": "https://adb-1234567890123456.7.azuredatabricks.net/jobs/124",
        "medallion": "https://adb-1234567890123456.7.azuredatabricks.net/jobs/125",
    },
}
SBX = "sbx_ben_okafor_feature_orders_v2_e799d33a2d_"


def outputs_of(plan: Callable[[str], Plan], stack: str) -> dict[str, Any]:
    return copy.deepcopy(plan(stack).outputs)


# --------------------------------------------------------------------- target contents


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_staging_and_prod_deploy_as_ci_and_run_as_the_job_runner_outside_shared(
    plan: Callable[[str], Plan], stack: str
) -> None:
    outputs = outputs_of(plan, stack)
    target = bundle_target(stack, outputs)
    runner, deployer = outputs["jobRunnerApplicationId"], outputs["deployerApplicationId"]
    assert target["mode"] == "production"
    assert target["workspace"] == {
        "host": outputs["workspaceUrl"],
        "root_path": f"/Workspace/dataops/{stack}/.bundle/${{bundle.name}}",
    }
    assert target["workspace"]["root_path"].startswith(f"/Workspace{outputs['codeFolder']}/")
    assert target["run_as"] == {"service_principal_name": runner}
    assert target["permissions"] == [
        {"level": "CAN_MANAGE", "group_name": f"{stack}-platform-admins"},
        {"level": "CAN_MANAGE", "service_principal_name": deployer},
        {"level": "CAN_RUN", "group_name": f"{stack}-data-engineers"},
        {"level": "CAN_VIEW", "group_name": f"{stack}-analysts"},
        {"level": "CAN_VIEW", "service_principal_name": runner},
    ]
    assert target["variables"] == {
        "catalog": outputs["jobsCatalog"],
        "schema_prefix": "",
        "bronze_schema": "bronze",
        "silver_schema": "silver",
        "gold_schema": "gold",
        # The job runner creates clusters only through the stack's policy.
        "cluster_policy_id": outputs["clusterPolicyId"],
    }
    assert outputs["jobsCatalog"] == stack


def test_schedules_are_paused_where_the_tier_pauses_the_platforms_own(
    plan: Callable[[str], Plan],
) -> None:
    stacks = ["dev", "staging", "prod"]
    presets = {stack: bundle_target(stack, plan(stack).outputs).get("presets") for stack in stacks}
    assert presets == {
        "dev": {"trigger_pause_status": "PAUSED"},
        "staging": {"trigger_pause_status": "PAUSED"},
        "prod": None,
    }


def test_dev_is_one_shared_copy_deployed_by_ci_in_the_dev_code_folder(
    plan: Callable[[str], Plan],
) -> None:
    outputs = outputs_of(plan, "dev")
    target = bundle_target("dev", outputs)
    assert target["mode"] == "production"
    assert (
        target["workspace"]["root_path"] == "/Workspace/Shared/dataops/dev/.bundle/${bundle.name}"
    )
    assert target["run_as"] == {"service_principal_name": outputs["jobRunnerApplicationId"]}


def test_sandbox_is_the_owners_development_copy_in_its_own_schemas() -> None:
    owner = "ben.okafor@datanova.eu"
    assert bundle_target(SANDBOX_STACK, SANDBOX_OUTPUTS) == {
        "mode": "development",
        "workspace": {
            "host": "https://adb-1234567890123456.7.azuredatabricks.net",
            "root_path": f"/Workspace/Users/{owner}/.bundle/${{bundle.name}}/{SANDBOX_STACK}",
        },
        "run_as": {"user_name": owner},
        "presets": {
            "name_prefix": "[sandbox ben_okafor feature/orders-v2] ",
            "trigger_pause_status": "PAUSED",
        },
        "variables": {
            "catalog": "dev",
            "schema_prefix": SBX,
            "bronze_schema": f"{SBX}bronze",
            "silver_schema": f"{SBX}silver",
            "gold_schema": f"{SBX}gold",
            "cluster_policy_id": "",
        },
        "permissions": [
            {"level": "CAN_MANAGE", "user_name": owner},
            {"level": "CAN_VIEW", "group_name": "dev-data-engineers"},
        ],
    }


def test_sandbox_passes_the_development_mode_rules_of_the_bundle_cli() -> None:
    # The CLI refuses, in development mode, a root path and a name prefix that contain
    # neither the deploying user's name nor their short name (validateDevelopmentMode in
    # https://github.com/databricks/cli/blob/main/bundle/config/mutator/resourcemutator/validate_target_mode.go);
    # the owner deploys their sandbox.
    target = bundle_target(SANDBOX_STACK, SANDBOX_OUTPUTS)
    owner, short = "ben.okafor@datanova.eu", "ben_okafor"
    assert owner in target["workspace"]["root_path"]
    assert short in target["presets"]["name_prefix"]
    assert target["presets"]["trigger_pause_status"] != "UNPAUSED"


@pytest.mark.parametrize(
    ("email", "short"),
    [
        ("ben.okafor@datanova.eu", "ben_okafor"),
        ("Chloe.Martin@datanova.eu", "chloe_martin"),
        ("dev..patel+bundles@datanova.eu", "dev_patel_bundles"),
        ("élodie.dürr@datanova.eu", "élodie_dürr"),
        ("_x_@datanova.eu", "x"),
    ],
)
def test_short_user_name_is_the_bundle_clis(email: str, short: str) -> None:
    # Cases from the rule of libs/textutil/textutil.go (NormalizeString): lower case,
    # non-letters and non-digits to '_', runs collapsed, ends trimmed; letters stay Unicode.
    assert short_user_name(email) == short


# ---------------------------------------------------------------------------- refusals


def test_missing_output_is_refused_naming_the_key(plan: Callable[[str], Plan]) -> None:
    outputs = outputs_of(plan, "staging")
    del outputs["jobRunnerApplicationId"]
    with pytest.raises(BundleTargetError) as refused:
        bundle_target("staging", outputs)
    assert str(refused.value) == (
        "bundle-targets: the outputs of staging have no 'jobRunnerApplicationId'"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"environment": "qa"}, "environment 'qa', not a tier bundle-targets knows"),
        ({"workspaceUrl": None}, "'workspaceUrl' = None; expected a string"),
        ({"workspaceUrl": "http://adb-1.2.azuredatabricks.net"}, "the workspace's https:// URL"),
        ({"deployerApplicationId": "deployer"}, "application id (a UUID)"),
        ({"groupNames": "staging-analysts"}, "expected a list of names"),
        ({"groupNames": ["staging-analysts"]}, "no 'groupNames' entry 'staging-platform-admins'"),
        ({"jobsCatalog": None}, "'jobsCatalog' = None; expected a string"),
        ({"clusterPolicyId": None}, "'clusterPolicyId' = None; expected a string"),
        ({"schemaNames": ["staging.bronze"]}, "no 'schemaNames' entry 'staging.silver'"),
        ({"codeFolder": "/Shared/dataops/staging"}, "under /Shared, which others than"),
        ({"codeFolder": "/Workspace/Users/a@b.eu/x"}, "under /Users, which others than"),
        ({"codeFolder": "/dataops/../Shared/x"}, "expected an absolute workspace folder"),
    ],
)
def test_outputs_that_cannot_make_a_target_are_refused_in_one_line(
    plan: Callable[[str], Plan], change: dict[str, Any], message: str
) -> None:
    outputs = {**outputs_of(plan, "staging"), **change}
    with pytest.raises(BundleTargetError) as refused:
        bundle_target("staging", outputs)
    assert message in str(refused.value)
    assert str(refused.value).startswith("bundle-targets: ")
    assert "\n" not in str(refused.value)


def test_a_stack_name_that_is_not_pulumis_is_refused(plan: Callable[[str], Plan]) -> None:
    # It ends up in the file's header comment, which a newline would end.
    with pytest.raises(BundleTargetError, match="is not a stack name"):
        bundle_target("staging\nmode: development", plan("staging").outputs)


def test_another_stacks_outputs_are_refused(plan: Callable[[str], Plan]) -> None:
    with pytest.raises(BundleTargetError, match="no 'groupNames' entry 'prod-platform-admins'"):
        bundle_target("prod", plan("staging").outputs)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sandboxOwner": None}, "'sandboxOwner' = None"),
        ({"sandboxOwner": "ben.okafor"}, "the owner's email"),
        ({"sandboxNamespace": "../../Shared/x"}, "may hold only letters, digits"),
        ({"schemaPrefix": ""}, "would write the dev schemas"),
        ({"reviewerGroups": "dev-analysts"}, "'reviewerGroups' = 'dev-analysts'"),
        ({"schemaNames": ["dev.bronze", "dev.silver", "dev.gold"]}, f"'dev.{SBX}bronze'"),
    ],
)
def test_sandbox_outputs_that_cannot_make_a_target_are_refused(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(BundleTargetError) as refused:
        bundle_target(SANDBOX_STACK, {**SANDBOX_OUTPUTS, **change})
    assert message in str(refused.value)


def test_a_sandbox_without_reviewers_is_only_its_owners() -> None:
    target = bundle_target(SANDBOX_STACK, {**SANDBOX_OUTPUTS, "reviewerGroups": []})
    assert target["permissions"] == [{"level": "CAN_MANAGE", "user_name": "ben.okafor@datanova.eu"}]


# -------------------------------------------------------------------------------- CLI


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["--root", str(PROJECT_ROOT), *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_command_writes_the_tiers_file_from_real_outputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(SANDBOX_OUTPUTS), encoding="utf-8")
    status, out, err = run(
        capsys, "bundle-targets", SANDBOX_STACK, "--outputs", str(outputs), "--out", str(tmp_path)
    )
    written = tmp_path / "targets" / "sandbox.yml"
    assert (status, out, err) == (0, f"{written}\n", "")
    text = written.read_text(encoding="utf-8")
    assert text.startswith(
        f"# Generated by `python -m dataops bundle-targets {SANDBOX_STACK} --outputs FILE`"
    )
    assert yaml.safe_load(text) == {
        "targets": {"sandbox": bundle_target(SANDBOX_STACK, SANDBOX_OUTPUTS)}
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file; write it with `pulumi stack output --json -s STACK > FILE`"),
        ("{", "is not JSON (Expecting property name enclosed in double quotes, line 1"),
        ("[1, 2]", "holds a JSON list, not the object of outputs"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        ("[" * 100_000, "is nested too deeply"),
    ],
)
def test_unreadable_outputs_file_is_bad_input_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "outputs.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    status, out, err = run(
        capsys, "bundle-targets", "staging", "--outputs", str(path), "--out", str(tmp_path)
    )
    assert (status, out) == (2, "")
    assert err.startswith(f"bundle-targets: --outputs {path}: {message}")
    assert err.count("\n") == 1
    assert not (tmp_path / "targets").exists()


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            {"jobRunnerApplicationId": None},
            "bundle-targets: the outputs of staging have no 'jobRunnerApplicationId'",
        ),
        (
            {"environment": "qa"},
            "bundle-targets: the outputs of staging have environment 'qa', not a tier "
            "bundle-targets knows (dev, sandbox, staging, prod)",
        ),
    ],
)
def test_outputs_lacking_what_a_target_needs_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    plan: Callable[[str], Plan],
    tmp_path: Path,
    change: dict[str, Any],
    line: str,
) -> None:
    outputs = {**outputs_of(plan, "staging"), **change}
    outputs = {key: value for key, value in outputs.items() if value is not None}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs), encoding="utf-8")
    status, out, err = run(
        capsys, "bundle-targets", "staging", "--outputs", str(path), "--out", str(tmp_path)
    )
    assert (status, out, err) == (2, "", f"{line}\n")


def test_missing_out_folder_is_refused_before_rendering(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run(capsys, "bundle-targets", "staging", "--out", str(tmp_path / "nope"))
    assert (status, out) == (2, "")
    assert err.startswith(f"bundle-targets: --out {tmp_path / 'nope'}: no such folder")


def test_a_targets_file_in_the_way_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(SANDBOX_OUTPUTS), encoding="utf-8")
    (tmp_path / "targets").write_text("not a folder\n", encoding="utf-8")
    status, out, err = run(
        capsys, "bundle-targets", SANDBOX_STACK, "--outputs", str(outputs), "--out", str(tmp_path)
    )
    assert (status, out) == (2, "")
    assert err == (
        f"bundle-targets: --out {tmp_path}: cannot create {tmp_path / 'targets'}: File exists\n"
    )


def test_unknown_stack_is_bad_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, "bundle-targets", "qa", "--out", str(tmp_path))
    assert status == 2
    assert err.startswith("Pulumi.qa.yaml: no such stack file")


# ----------------------------------------------------------------- the example bundle


def generated(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str) -> str:
    """What the command writes for the example's target ``name``, as a user runs it."""
    if name == "sandbox":
        outputs = tmp_path / "sandbox-outputs.json"
        outputs.write_text(json.dumps(SANDBOX_OUTPUTS), encoding="utf-8")
        args = [SANDBOX_STACK, "--outputs", str(outputs)]
    else:  # rendered offline, as `python -m dataops bundle-targets staging` does
        args = [name]
    status, _, err = run(capsys, "bundle-targets", *args, "--out", str(tmp_path))
    assert (status, err) == (0, "")
    return (tmp_path / "targets" / f"{name}.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["sandbox", "staging", "prod"])
def test_example_targets_are_what_the_command_writes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    expected = generated(capsys, tmp_path, name)
    shipped = EXAMPLE / "targets" / f"{name}.yml"
    if os.environ.get(REGENERATE):
        shipped.write_text(expected, encoding="utf-8")
    assert shipped.read_text(encoding="utf-8") == expected, (
        f"{shipped.relative_to(PROJECT_ROOT)} is stale: rerun `python -m dataops bundle-targets "
        f"{name} --out examples/bundle`, or {REGENERATE}=1 python -m pytest "
        "tests/test_bundles.py -k example_targets"
    )


def test_document_order_is_fixed_and_the_header_names_the_command(
    plan: Callable[[str], Plan],
) -> None:
    text = targets_document("prod", plan("prod").outputs, outputs_file=False)
    assert text.splitlines()[0] == (
        "# Generated by `python -m dataops bundle-targets prod` from the outputs of stack "
        "prod's offline plan."
    )
    assert list(yaml.safe_load(text)["targets"]["prod"]) == [
        "mode",
        "workspace",
        "run_as",
        "variables",
        "permissions",
    ]
    assert text == targets_document("prod", plan("prod").outputs, outputs_file=False)


# ------------------------------------------------- validation by databricks-bundles
#
# What the package (databricks-bundles, pinned in requirements-dev.txt) checks: its Python
# types mirror the bundle schema of *resources* (jobs, pipelines, ...) and of a job's
# run_as, which is also the type of a target's `run_as` (config.Target.RunAs is a
# jobs.JobRunAs: https://github.com/databricks/cli/blob/main/bundle/config/target.go).
# `from_dict` (core/_transform.py) refuses a field the type does not have, at any depth;
# a missing required field (Task.task_key, NotebookTask.notebook_path, ...); a value not
# in an enum (PauseStatus, JobPermissionLevel, DataSecurityMode, ...); and a value that
# is not a list, a mapping, an int or a bool where one is expected. `${var.x}`
# references are accepted wherever a value may be a variable.
#
# What it does not check: anything of databricks.yml above `resources` (bundle,
# workspace.host and root_path, mode, presets, targets, include, variable declarations,
# top-level permissions): it has no types for them and ships no JSON schema. Nor
# strings' contents (a node type that does not exist, a cron expression, a path), nor
# rules across fields (exactly one run_as identity, a task's job_cluster_key naming a job
# cluster), nor anything the workspace decides (principals existing, permissions to
# create clusters). So the tests below apply the target to the job as the bundle CLI
# does (each step cites the CLI's source) and hand the merged job to the package: a
# wrong level, principal field, pause status or run_as field in a target is refused by
# the package's job types; the few CLI rules without a type are asserted here, cited.


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def example_config(bundle: Path = EXAMPLE) -> dict[str, Any]:
    """databricks.yml with its `include` files merged in, as the bundle CLI loads them."""
    config: dict[str, Any] = yaml.safe_load((bundle / "databricks.yml").read_text(encoding="utf-8"))
    for pattern in config.get("include", []):
        for path in sorted(bundle.glob(pattern)):
            config = _deep_merge(config, yaml.safe_load(path.read_text(encoding="utf-8")))
    return config


# The bundle permission levels as a job's own: levelsMap["jobs"] in
# https://github.com/databricks/cli/blob/main/bundle/config/mutator/resourcemutator/apply_bundle_permissions.go
JOB_LEVELS = {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_VIEW", "CAN_RUN": "CAN_MANAGE_RUN"}
_VARIABLE = re.compile(r"\$\{var\.([A-Za-z0-9_]+)\}")


def _substitute(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: str(values[match.group(1)]), value)
    if isinstance(value, list):
        return [_substitute(item, values) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, values) for key, item in value.items()}
    return value


def select_target(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The bundle as the CLI hands it to its Python mutators for target ``name``.

    Steps, each the bundle CLI's (https://github.com/databricks/cli/tree/main/bundle/config/mutator):
    the target's variable values (variables must all be set: none has a default); its
    presets on every job (apply_presets.go: name prefix, pause status where a schedule
    has none); its run_as on every job without one (resourcemutator/run_as.go); its
    permissions appended to every job's at the job's level (apply_bundle_permissions.go,
    which refuses a level outside CAN_MANAGE, CAN_VIEW, CAN_RUN); `${var.x}` resolved.
    """
    target = config["targets"][name]
    values = {key: target["variables"][key] for key in config["variables"]}
    presets = target.get("presets", {})
    jobs: dict[str, Any] = copy.deepcopy(config["resources"]["jobs"])
    for job in jobs.values():
        job["name"] = presets.get("name_prefix", "") + job["name"]
        for trigger in ("schedule", "trigger", "continuous"):
            if trigger in job and "trigger_pause_status" in presets:
                job[trigger].setdefault("pause_status", presets["trigger_pause_status"])
        job.setdefault("run_as", copy.deepcopy(target["run_as"]))
        job.setdefault("permissions", [])
        for permission in target["permissions"]:
            level = permission["level"]
            assert level in JOB_LEVELS, f"the bundle CLI refuses permission level {level!r}"
            job["permissions"].append({**permission, "level": JOB_LEVELS[level]})
    return {
        "bundle": {"name": config["bundle"]["name"], "target": name},
        "variables": {
            key: {**declaration, "value": values[key]}
            for key, declaration in config["variables"].items()
        },
        "resources": {"jobs": _substitute(jobs, values)},
    }


def run_package(bundle: dict[str, Any], folder: Path) -> tuple[int, list[dict[str, Any]]]:
    """The package's entry point, as the bundle CLI runs it on a bundle (build.py)."""
    (folder / "input.json").write_text(json.dumps(bundle), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "databricks.bundles.build",
            "--phase",
            "apply_mutators",
            "--input",
            str(folder / "input.json"),
            "--output",
            str(folder / "output.json"),
            "--diagnostics",
            str(folder / "diagnostics.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    lines = (folder / "diagnostics.json").read_text(encoding="utf-8").splitlines()
    return done.returncode, [json.loads(line) for line in lines]


@variables
class ExampleVariables:
    catalog: Variable[str]
    schema_prefix: Variable[str]
    bronze_schema: Variable[str]
    silver_schema: Variable[str]
    gold_schema: Variable[str]


@pytest.mark.parametrize("name", ["sandbox", "staging", "prod"])
def test_example_bundle_loads_through_the_package_for_every_target(
    tmp_path: Path, name: str
) -> None:
    config = example_config()
    target = config["targets"][name]
    merged = select_target(config, name)

    status, diagnostics = run_package(merged, tmp_path)
    assert (status, diagnostics) == (0, [])
    job = Job.from_dict(merged["resources"]["jobs"]["orders_report"])
    assert job.run_as is not None
    assert job.permissions

    # A target's run_as has the job's run_as type; the CLI wants exactly one identity
    # (validateRunAs in resourcemutator/run_as.go), which the type does not check.
    run_as = JobRunAs.from_dict(target["run_as"])
    assert [run_as.user_name, run_as.service_principal_name].count(None) == 1

    # Every variable the job uses is declared, and every target gives each a string.
    text = (EXAMPLE / "resources" / "orders_report.job.yml").read_text(encoding="utf-8")
    assert set(_VARIABLE.findall(text)) <= set(config["variables"])
    bundle = Bundle(target=name, variables={k: v["value"] for k, v in merged["variables"].items()})
    for field in ("catalog", "schema_prefix", "bronze_schema", "silver_schema", "gold_schema"):
        assert isinstance(bundle.resolve_variable(getattr(ExampleVariables, field)), str)

    # Production mode wants an explicit root path (validateProductionMode in
    # resourcemutator/validate_target_mode.go); the notebook exists where the task says.
    assert target["workspace"]["root_path"]
    assert isinstance(job.tasks, list)
    task = job.tasks[0]
    assert isinstance(task, Task)
    assert isinstance(task.notebook_task, NotebookTask)
    assert isinstance(task.notebook_task.notebook_path, str)
    assert (EXAMPLE / "resources" / task.notebook_task.notebook_path).resolve().is_file()


def _corrupt(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def corrupt(config: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = config
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return corrupt


_DELETE = object()


def _rename(path: str, new: str) -> Callable[[dict[str, Any]], None]:
    def rename(config: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = config
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[new] = node.pop(last)

    return rename


@pytest.mark.parametrize(
    ("corrupt", "refusal"),
    [
        # In a generated target: a misspelled run_as or principal field, a pause status
        # the jobs API does not have.
        (
            _rename("targets.staging.run_as.service_principal_name", "service_principal"),
            "Unexpected field 'service_principal' for class JobRunAs",
        ),
        (
            _rename("targets.staging.permissions.0.group_name", "group"),
            "Unexpected field 'group' for class JobPermission",
        ),
        (
            _corrupt("targets.staging.presets", {"trigger_pause_status": "STOPPED"}),
            "'STOPPED' is not a valid PauseStatus",
        ),
        # In the example job.
        (
            _rename(
                "resources.jobs.orders_report.job_clusters.0.new_cluster.node_type_id",
                "node_type",
            ),
            "Unexpected field 'node_type' for class ClusterSpec",
        ),
        (
            _corrupt("resources.jobs.orders_report.job_clusters.0.new_cluster.num_workers", "none"),
            "invalid literal for int() with base 10: 'none'",
        ),
        (
            _corrupt("resources.jobs.orders_report.tasks.0.task_key", _DELETE),
            "missing 1 required keyword-only argument: 'task_key'",
        ),
    ],
)
def test_the_package_refuses_a_wrong_field(
    tmp_path: Path, corrupt: Callable[[dict[str, Any]], None], refusal: str
) -> None:
    config = example_config()
    corrupt(config)
    status, diagnostics = run_package(select_target(config, "staging"), tmp_path)
    assert status == 1
    assert [d["severity"] for d in diagnostics] == ["error"]
    assert diagnostics[0]["summary"] == "Error while loading job"
    assert diagnostics[0]["path"] == "resources.jobs.orders_report"
    assert refusal in diagnostics[0]["detail"]


def test_the_package_refuses_a_wrong_run_as_in_a_target_on_its_own() -> None:
    target = yaml.safe_load((EXAMPLE / "targets" / "prod.yml").read_text(encoding="utf-8"))
    run_as = target["targets"]["prod"]["run_as"]
    JobRunAs.from_dict(run_as)
    misspelt: Any = {"application_id": run_as["service_principal_name"]}
    with pytest.raises(ValueError, match="Unexpected field 'application_id' for class JobRunAs"):
        JobRunAs.from_dict(misspelt)


def iter_permission_levels() -> Iterator[str]:
    for path in sorted((EXAMPLE / "targets").glob("*.yml")):
        for target in yaml.safe_load(path.read_text(encoding="utf-8"))["targets"].values():
            for permission in target["permissions"]:
                yield permission["level"]


def test_example_targets_use_only_levels_the_bundle_cli_maps_to_jobs() -> None:
    assert set(iter_permission_levels()) <= set(JOB_LEVELS)
