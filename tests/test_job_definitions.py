"""Jobs and workspace code of every shipped stack: uploads, compute, jobs, access, secrets."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_databricks as databricks
import pytest
from plan_helpers import (
    CLUSTER_POLICY,
    DESTINATION,
    DIRECTORY,
    GRANTS,
    JOB,
    LOCATION,
    NOTEBOOK,
    PERMISSIONS,
    RULE_SET,
    SCOPE,
    SECRET,
    SECRET_ACL,
    SHIPPED_STACKS,
    WORKSPACE_ASSIGNMENT,
    WORKSPACE_FILE,
    StackDocument,
    assert_no_secret_in_clear,
    depends_on,
    masked,
    single,
)

from components import platform, program
from components.config import MEDALLION_SCHEMAS, ConfigError, StackConfig
from components.principals import Principal
from components.pulumi_config import read_stack_config
from components.workspace_code import WorkspaceCode, WorkspaceCodeArgs
from dataops.engine import PROJECT_ROOT, Plan, PlannedResource
from dataops.mocks import COMPUTED_OUTPUTS, MockResource
from dataops.stackfile import secret_placeholder
from dataops.tree import render_tree
from notebooks.dataops_jobs import parameters as jp
from notebooks.dataops_jobs.upload import upload_manifest

PlanOf = Callable[[str], Plan]
Render = Callable[[str, StackDocument], Plan]
DocumentOf = Callable[[str], StackDocument]

WORKSPACE_LEVEL = (
    JOB,
    CLUSTER_POLICY,
    NOTEBOOK,
    WORKSPACE_FILE,
    DIRECTORY,
    DESTINATION,
    SCOPE,
    SECRET,
    SECRET_ACL,
)


def _job(plan: Plan, suffix: str) -> PlannedResource:
    return single(plan, JOB, f"-jobs-{suffix}")


def _jobs(plan: Plan) -> list[PlannedResource]:
    return plan.of_type(JOB)


def _task(job: PlannedResource, key: str) -> dict[str, Any]:
    (task,) = [t for t in job.inputs["tasks"] if t["taskKey"] == key]
    return dict(task)


def _clusters(job: PlannedResource) -> dict[str, dict[str, Any]]:
    return {c["jobClusterKey"]: c["newCluster"] for c in job.inputs["jobClusters"]}


def _git_sync_parameters(job: PlannedResource) -> dict[str, str]:
    """The git sync task's parameters, as the notebook reads them: the run-overridable
    ones from the task, the pinned ones from its cluster's environment."""
    task = _task(job, "git_sync")
    environment = _clusters(job)[task["jobClusterKey"]].get("sparkEnvVars", {})
    pinned = {p.env_var: p.name for p in jp.GIT_SYNC.parameters if p.pinned}
    return {
        **task["notebookTask"].get("baseParameters", {}),
        **{pinned[variable]: value for variable, value in environment.items()},
    }


def _permissions_of(plan: Plan, job: PlannedResource) -> list[dict[str, str]]:
    (permissions,) = [
        p for p in plan.of_type(PERMISSIONS) if "jobId" in p.inputs and job.urn in p.dependencies
    ]
    assert permissions.inputs["jobId"] == _computed_id(job)
    controls: list[dict[str, str]] = permissions.inputs["accessControls"]
    return controls


def _computed_id(resource: PlannedResource) -> str:
    """The id the provider gives a resource, as the mocks compute it (a job's number)."""
    computed = COMPUTED_OUTPUTS[resource.type](
        MockResource(name=resource.name, inputs=resource.inputs, subscription_id="")
    )
    return str(computed["id"])


def _policy(plan: Plan) -> dict[str, dict[str, Any]]:
    definition: dict[str, dict[str, Any]] = json.loads(
        single(plan, CLUSTER_POLICY).inputs["definition"]
    )
    return definition


def _run_as(plan: Plan) -> str:
    key = (
        "deployerApplicationId"
        if plan.config.jobs.run_as == "deployer"
        else "jobRunnerApplicationId"
    )
    return str(plan.outputs[key])


# ---------------------------------------------------------------------------- uploads


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_file_of_the_manifest_is_uploaded_once_into_the_code_folder(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    folder = rendered.outputs["codeFolder"]
    assert folder == rendered.config.names(stack).code_folder
    uploaded = [
        (r.type, r.inputs["path"])
        for r in rendered.of_type(NOTEBOOK) + rendered.of_type(WORKSPACE_FILE)
    ]
    expected = [
        (NOTEBOOK if u.kind == "NOTEBOOK" else WORKSPACE_FILE, f"{folder}/{u.target}")
        for u in upload_manifest(PROJECT_ROOT)
    ]
    assert sorted(uploaded) == sorted(expected)
    assert any(path.startswith(f"{folder}/gitsync/") for _, path in uploaded)
    assert any(path.startswith(f"{folder}/sample_data/") for _, path in uploaded)


def test_the_entry_notebooks_are_uploaded_as_python_notebooks(plan: PlanOf) -> None:
    rendered = plan("staging")
    notebooks = {r.inputs["path"]: r for r in rendered.of_type(NOTEBOOK)}
    folder = rendered.outputs["codeFolder"]
    assert set(notebooks) == {f"{folder}/{entry.workspace_path}" for entry in jp.ENTRY_POINTS}
    for notebook in notebooks.values():
        assert notebook.inputs["language"] == "PYTHON"
        assert notebook.inputs["format"] == "SOURCE"
        assert notebook.inputs["source"].startswith("notebooks/")
    assert not [f for f in rendered.of_type(WORKSPACE_FILE) if f.inputs["path"] in notebooks]


def test_uploads_name_their_file_in_the_commit_with_its_md5(plan: PlanOf) -> None:
    rendered = plan("prod")
    for upload in rendered.of_type(NOTEBOOK) + rendered.of_type(WORKSPACE_FILE):
        source = upload.inputs["source"]
        # Relative to the project root: state does not depend on the checkout's location.
        assert not Path(source).is_absolute(), source
        content = (PROJECT_ROOT / source).read_bytes()
        assert upload.inputs["md5"] == hashlib.md5(content, usedforsecurity=False).hexdigest()
        assert "contentBase64" not in upload.inputs


def _copy_job_code(root: Path) -> Path:
    for folder in ("notebooks", "gitsync"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder)
    return root


def _code_only(root: Path) -> Callable[[], None]:
    """A program with the workspace code of the job code under ``root``, nothing else."""

    def define_stack() -> None:
        config = read_stack_config()
        deployer = databricks.ServicePrincipal("deployer", display_name="deployer")
        names = config.names(pulumi.get_stack())
        args = WorkspaceCodeArgs(
            folder=names.code_folder,
            manager=Principal.service_principal(deployer.application_id),
            reader_groups=[names.group(group) for group in config.identity.group_names()],
            reader=None,
            repo_root=root,
        )
        WorkspaceCode("code", args)

    return define_stack


def test_a_content_change_shows_in_the_plan_as_that_files_md5(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stack_document: DocumentOf, render: Render
) -> None:
    root = _copy_job_code(tmp_path)
    monkeypatch.setattr(program, "define_stack", _code_only(root))

    def md5s() -> dict[str, str]:
        rendered = render("dev", stack_document("dev"))
        return {
            r.inputs["path"]: r.inputs["md5"]
            for r in rendered.of_type(NOTEBOOK) + rendered.of_type(WORKSPACE_FILE)
        }

    before = md5s()
    changed = root / "notebooks" / "dataops_jobs" / "medallion.py"
    changed.write_text(changed.read_text() + "\n# a change\n")
    after = md5s()
    differing = [path for path in before if before[path] != after[path]]
    assert differing == ["/Shared/dataops/dev/dataops_jobs/medallion.py"]


def test_caches_tests_and_hidden_files_are_never_uploaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stack_document: DocumentOf, render: Render
) -> None:
    root = _copy_job_code(tmp_path)
    leftovers = [
        "notebooks/dataops_jobs/__pycache__/medallion.cpython-311.pyc",
        "notebooks/dataops_jobs/__pycache__/stale.py",
        "notebooks/tests/test_medallion.py",
        "gitsync/tests/test_sync.py",
        "notebooks/.ipynb_checkpoints/medallion_bronze-checkpoint.py",
        "notebooks/spark-warehouse/orders/part-0000.json",
        "gitsync/notes.txt",
    ]
    for leftover in leftovers:
        (root / leftover).parent.mkdir(parents=True, exist_ok=True)
        (root / leftover).write_text("x\n")
    monkeypatch.setattr(program, "define_stack", _code_only(root))
    rendered = render("dev", stack_document("dev"))
    paths = {
        r.inputs["path"] for r in rendered.of_type(NOTEBOOK) + rendered.of_type(WORKSPACE_FILE)
    }
    assert paths == {f"/Shared/dataops/dev/{u.target}" for u in upload_manifest(PROJECT_ROOT)}
    for path in paths:
        assert "__pycache__" not in path and "/tests/" not in path and "/." not in path


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_upload_waits_for_its_folder(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    folders = {d.inputs["path"]: d for d in rendered.of_type(DIRECTORY)}
    assert rendered.outputs["codeFolder"] in folders
    for upload in rendered.of_type(NOTEBOOK) + rendered.of_type(WORKSPACE_FILE):
        folder = folders[upload.inputs["path"].rsplit("/", 1)[0]]
        assert folder.urn in upload.dependencies, upload.name
    for path, folder in folders.items():
        parent = path.rsplit("/", 1)[0]
        if parent in folders:
            assert folders[parent].urn in folder.dependencies, path


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_code_folder_is_managed_by_the_deployer_and_read_by_the_stack(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    folder = rendered.outputs["codeFolder"]
    (permissions,) = [
        p for p in rendered.of_type(PERMISSIONS) if p.inputs.get("directoryPath") == folder
    ]
    controls = permissions.inputs["accessControls"]
    assert controls[0] == {
        "servicePrincipalName": rendered.outputs["deployerApplicationId"],
        "permissionLevel": "CAN_MANAGE",
    }
    readers = [c for c in controls[1:] if c["permissionLevel"] == "CAN_READ"]
    assert readers == controls[1:]
    assert {c.get("groupName") for c in readers} - {None} == set(rendered.outputs["groupNames"])
    runner = {c.get("servicePrincipalName") for c in readers} - {None}
    assert runner == {rendered.outputs["jobRunnerApplicationId"]}


def test_staging_and_prod_code_is_outside_shared_which_every_user_may_edit(plan: PlanOf) -> None:
    assert plan("prod").outputs["codeFolder"] == "/dataops/prod"
    assert plan("staging").outputs["codeFolder"] == "/dataops/staging"
    assert plan("dev").outputs["codeFolder"] == "/Shared/dataops/dev"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_workspace_code_and_jobs_live_on_the_workspace_provider(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    workspace = f"datanova-{stack}-databricks-workspace"
    for token in WORKSPACE_LEVEL:
        for resource in rendered.of_type(token):
            provider = rendered.provider_of(resource)
            assert provider is not None and provider.name == workspace, resource.name


# ----------------------------------------------------------------------- cluster policy


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_cluster_policy_pins_node_type_runtime_and_single_user_mode(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    cluster = rendered.config.jobs.cluster
    policy = _policy(rendered)
    assert single(rendered, CLUSTER_POLICY).inputs["name"] == f"datanova-{stack}-jobs"
    assert policy["spark_version"] == {"type": "fixed", "value": cluster.spark_version}
    for key in ("node_type_id", "driver_node_type_id"):
        assert policy[key]["type"] == "allowlist"
        assert policy[key]["values"] == [cluster.node_type]
    assert policy["data_security_mode"]["type"] == "fixed"
    assert policy["data_security_mode"]["value"] == "SINGLE_USER"
    assert policy["instance_pool_id"]["type"] == "forbidden"


def test_the_cluster_policy_limits_workers_and_idle_time_from_config(plan: PlanOf) -> None:
    prod = plan("prod")
    policy = _policy(prod)
    assert policy["num_workers"] == {"type": "range", "minValue": 0, "maxValue": 2}
    assert policy["autoscale.max_workers"]["type"] == "forbidden"
    idle = policy["autotermination_minutes"]
    assert idle["type"] == "range" and idle["maxValue"] == 30
    # Job clusters take no idle limit (they stop with their run): optional, no default.
    assert idle["isOptional"] is True and "defaultValue" not in idle
    assert _policy(plan("dev"))["num_workers"]["maxValue"] == 0


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_cluster_policy_fixes_the_stack_tags_on_all_compute(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    policy = _policy(rendered)
    tags = rendered.config.tags(stack)
    assert tags["project"] == "dataops" and tags["stack"] == stack
    assert tags["costCenter"] == "data-platform"
    for key, value in tags.items():
        assert policy[f"custom_tags.{key}"] == {"type": "fixed", "value": value}


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_job_cluster_goes_through_the_cluster_policy(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    policy = single(rendered, CLUSTER_POLICY)
    tags = rendered.config.tags(stack)
    clusters = [c for job in _jobs(rendered) for c in _clusters(job).values()]
    assert len(clusters) == 3
    for cluster in clusters:
        assert cluster["policyId"] == _computed_id(policy)
        assert cluster["applyPolicyDefaultValues"] is True
        assert cluster["dataSecurityMode"] == "SINGLE_USER"
        assert cluster["sparkVersion"] == rendered.config.jobs.cluster.spark_version
        assert cluster["nodeTypeId"] == rendered.config.jobs.cluster.node_type
        assert tags.items() <= cluster["customTags"].items()
    for job in _jobs(rendered):
        assert depends_on(rendered, job, policy), job.name
        assert job.inputs["tags"] == tags


# ------------------------------------------------------------------------- git sync


def test_git_sync_runs_daily_at_two_utc_by_default(plan: PlanOf) -> None:
    for stack in SHIPPED_STACKS:
        schedule = _job(plan(stack), "git-sync").inputs["schedule"]
        assert schedule["quartzCronExpression"] == "0 0 2 * * ?", stack
        assert schedule["timezoneId"] == "UTC", stack


def test_git_sync_is_paused_outside_prod_and_runs_in_prod(plan: PlanOf) -> None:
    pause = {s: _job(plan(s), "git-sync").inputs["schedule"]["pauseStatus"] for s in SHIPPED_STACKS}
    assert pause == {"dev": "PAUSED", "staging": "PAUSED", "prod": "UNPAUSED"}


def test_a_schedule_follows_its_config_and_may_run_outside_prod(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:jobs"]["gitSync"]["schedule"] = {
        "cron": "0 15 22 ? * MON-FRI",
        "timezone": "Europe/Amsterdam",
        "paused": False,
    }
    schedule = _job(render("dev", document), "git-sync").inputs["schedule"]
    assert schedule == {
        "quartzCronExpression": "0 15 22 ? * MON-FRI",
        "timezoneId": "Europe/Amsterdam",
        "pauseStatus": "UNPAUSED",
    }


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_job_runs_one_run_at_a_time(plan: PlanOf, stack: str) -> None:
    jobs = _jobs(plan(stack))
    assert len(jobs) == 3
    for job in jobs:
        assert job.inputs["maxConcurrentRuns"] == 1, job.name


def test_git_sync_takes_its_timeout_and_retries_from_config(plan: PlanOf) -> None:
    prod = plan("prod")
    task = _task(_job(prod, "git-sync"), "git_sync")
    assert task["timeoutSeconds"] == 28800
    assert task["maxRetries"] == 2
    assert task["retryOnTimeout"] is False
    assert _task(_job(plan("dev"), "git-sync"), "git_sync")["maxRetries"] == 1


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_git_sync_runs_on_a_small_single_node_cluster(plan: PlanOf, stack: str) -> None:
    job = _job(plan(stack), "git-sync")
    (cluster,) = _clusters(job).values()
    assert cluster["numWorkers"] == 0
    assert cluster["sparkConf"] == {
        "spark.databricks.cluster.profile": "singleNode",
        "spark.master": "local[*]",
    }
    assert cluster["customTags"]["ResourceClass"] == "SingleNode"
    assert _task(job, "git_sync")["jobClusterKey"] in _clusters(job)


def test_git_sync_parameters_come_from_config(plan: PlanOf) -> None:
    staging = plan("staging")
    task = _task(_job(staging, "git-sync"), "git_sync")
    assert task["notebookTask"]["notebookPath"] == "/dataops/staging/git_sync"
    assert task["notebookTask"]["source"] == "WORKSPACE"
    assert _git_sync_parameters(_job(staging, "git-sync")) == {
        "source_path": "/Clients",
        "target_repository": "https://github.com/datanova/notebook-backup-staging.git",
        "target_branch": "main",
        "secret_scope": "dataops",
        "secret_key": "git-sync-token",
        "report_dir": jp.DEFAULT_REPORT_DIR,
        # Every run is recorded in the jobs' catalog, in the run-history schema.
        "catalog": "staging",
        "history_schema": "ops",
        "retention_days": "30",
        "job_run_id": "{{job.run_id}}",
    }


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_where_the_backup_goes_is_fixed_in_the_job_not_in_a_run_parameter(
    plan: PlanOf, stack: str
) -> None:
    """Run-now parameters override a notebook task's base parameters, never its cluster:
    the target, source, scope and key live in the cluster's environment only."""
    job = _job(plan(stack), "git-sync")
    task = _task(job, "git_sync")
    # Only the run's own id, which the job fills in per run.
    assert task["notebookTask"]["baseParameters"] == {"job_run_id": "{{job.run_id}}"}
    environment = _clusters(job)[task["jobClusterKey"]]["sparkEnvVars"]
    assert set(environment) == {p.env_var for p in jp.GIT_SYNC.parameters if p.pinned}
    assert environment["DATAOPS_PINNED_TARGET_REPOSITORY"].startswith("https://github.com/")


def test_the_run_history_retention_comes_from_config(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:observability"] = {
        "runHistory": {"schemaName": "backup_ops", "retentionDays": 90}
    }
    parameters = _git_sync_parameters(_job(render("dev", document), "git-sync"))
    assert (parameters["history_schema"], parameters["retention_days"]) == ("backup_ops", "90")


def test_git_sync_installs_the_databricks_sdk_range_of_requirements(plan: PlanOf) -> None:
    task = _task(_job(plan("prod"), "git-sync"), "git_sync")
    requirements = (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
    (sdk,) = [line for line in requirements if line.startswith("databricks-sdk")]
    assert task["libraries"] == [{"pypi": {"package": sdk.strip()}}]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_git_token_is_a_secret_in_a_databricks_backed_scope_the_run_as_reads(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    scope = single(rendered, SCOPE)
    # Databricks-backed: no Key Vault metadata (CI's Databricks OIDC token cannot create one),
    # and no "users" manage principal, which would let everyone read the token.
    assert scope.inputs == {"name": "dataops"}
    secret = single(rendered, SECRET)
    assert secret.inputs["scope"] == "dataops" and secret.inputs["key"] == "git-sync-token"
    assert masked(secret.inputs["stringValue"])
    git_sync = _job(rendered, "git-sync")
    assert depends_on(rendered, git_sync, secret)
    (acl,) = rendered.of_type(SECRET_ACL)
    assert acl.inputs == {
        "scope": "dataops",
        "principal": rendered.outputs["jobRunnerApplicationId"],
        "permission": "READ",
    }
    assert depends_on(rendered, git_sync, acl)


def test_an_ssh_backup_remote_needs_no_token_and_no_scope(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("staging")
    document["config"]["dataops:jobs"]["gitSync"]["targetRepository"] = (
        "git@github.com:datanova/notebook-backup-staging.git"
    )
    del document["config"]["dataops:gitSyncToken"]
    rendered = render("staging", document)
    assert rendered.of_type(SCOPE) == rendered.of_type(SECRET) == rendered.of_type(SECRET_ACL) == []
    assert _git_sync_parameters(_job(rendered, "git-sync"))["secret_scope"] == ""


# ---------------------------------------------------------------- integration tests


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_integration_test_job_id_is_the_stack_output(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    tests = _job(rendered, "integration-tests")
    assert tests.inputs["name"] == f"datanova-{stack}-integration-tests"
    assert rendered.outputs["integrationTestJobId"] == _computed_id(tests)
    assert rendered.outputs["integrationTestJobId"].isdigit()


def test_integration_tests_run_nightly_in_staging_and_on_demand_elsewhere(plan: PlanOf) -> None:
    staging = _job(plan("staging"), "integration-tests")
    assert staging.inputs["schedule"] == {
        "quartzCronExpression": "0 30 3 * * ?",
        "timezoneId": "UTC",
        "pauseStatus": "UNPAUSED",
    }
    assert "schedule" not in _job(plan("dev"), "integration-tests").inputs
    assert "schedule" not in _job(plan("prod"), "integration-tests").inputs


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_integration_tests_run_the_medallion_then_check_the_jobs_catalog(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    job = _job(rendered, "integration-tests")
    refresh = _task(job, "medallion")
    assert str(refresh["runJobTask"]["jobId"]) == rendered.outputs["medallionJobId"]
    tests = _task(job, "integration_tests")
    assert tests["dependsOns"] == [{"taskKey": "medallion"}]
    assert (
        tests["notebookTask"]["notebookPath"]
        == f"{rendered.outputs['codeFolder']}/integration_tests"
    )
    parameters = tests["notebookTask"]["baseParameters"]
    assert parameters["catalog"] == stack
    assert parameters["expected_tables"] == ",".join(jp.MEDALLION_TABLES)
    assert job.inputs["timeoutSeconds"] == 3600
    (cluster,) = _clusters(job).values()
    assert cluster["numWorkers"] == 0


def test_integration_grant_checks_are_the_grants_config_makes(plan: PlanOf) -> None:
    prod = plan("prod")
    tests = _task(_job(prod, "integration-tests"), "integration_tests")
    checks = json.loads(tests["notebookTask"]["baseParameters"]["grant_checks"])
    by_target = {(c["principal"], c["securable"], c["name"]): c for c in checks}
    assert by_target[("prod-analysts", "CATALOG", "")]["must_have"] == [
        "USE_CATALOG",
        "USE_SCHEMA",
        "SELECT",
    ]
    # Analysts may read gold and may not modify it; platform admins hold everything.
    gold = by_target[("prod-analysts", "SCHEMA", "gold")]
    assert gold["must_have"] == ["USE_SCHEMA", "SELECT"]
    assert gold["must_not_have"] == ["MODIFY"]
    assert by_target[("prod-platform-admins", "CATALOG", "")]["must_not_have"] == []
    assert by_target[("prod-data-engineers", "SCHEMA", "bronze")]["must_have"] == [
        "USE_SCHEMA",
        "SELECT",
    ]
    # Every check names a group of this stack, as Unity Catalog knows it.
    assert {c["principal"] for c in checks} <= set(prod.outputs["groupNames"])


def test_the_integration_tests_may_read_the_grants_they_check(plan: PlanOf) -> None:
    staging = plan("staging")
    catalog = single(staging, GRANTS, "-catalog-staging-grants")
    held = {g["principal"]: g["privileges"] for g in catalog.inputs["grants"]}
    assert "MANAGE" in held[staging.outputs["jobRunnerApplicationId"]]


def test_a_checked_schema_outside_the_medallion_is_readable_for_its_grants_only(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("prod")
    schemas = document["config"]["dataops:unityCatalog"]["catalogs"][0]["schemas"]
    schemas.append({"name": "reports", "grants": [{"group": "analysts", "privileges": ["SELECT"]}]})
    rendered = render("prod", document)
    tests = _task(_job(rendered, "integration-tests"), "integration_tests")
    checks = json.loads(tests["notebookTask"]["baseParameters"]["grant_checks"])
    assert {
        "principal": "prod-analysts",
        "securable": "SCHEMA",
        "name": "reports",
        "must_have": ["SELECT"],
        "must_not_have": ["MODIFY"],
    } in checks
    (reports,) = [g for g in rendered.of_type(GRANTS) if g.inputs.get("schema") == "prod.reports"]
    held = {g["principal"]: g["privileges"] for g in reports.inputs["grants"]}
    assert held[rendered.outputs["jobRunnerApplicationId"]] == ["USE_SCHEMA", "MANAGE"]


def test_integration_tests_may_skip_the_medallion_run(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("staging")
    document["config"]["dataops:jobs"]["integrationTests"]["runMedallionFirst"] = False
    rendered = render("staging", document)
    job = _job(rendered, "integration-tests")
    assert [t["taskKey"] for t in job.inputs["tasks"]] == ["integration_tests"]
    assert "dependsOns" not in _task(job, "integration_tests")
    # Nobody but the groups then runs the medallion.
    medallion = _permissions_of(rendered, _job(rendered, "medallion"))
    assert not [c for c in medallion if c.get("servicePrincipalName") == _run_as(rendered)]


# ------------------------------------------------------------------------- medallion


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_medallion_runs_bronze_then_silver_then_gold(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    job = _job(rendered, "medallion")
    tasks = job.inputs["tasks"]
    assert [t["taskKey"] for t in tasks] == ["bronze", "silver", "gold"]
    assert "dependsOns" not in tasks[0]
    assert tasks[1]["dependsOns"] == [{"taskKey": "bronze"}]
    assert tasks[2]["dependsOns"] == [{"taskKey": "silver"}]
    folder = rendered.outputs["codeFolder"]
    for task, entry in zip(tasks, jp.MEDALLION_TASKS, strict=True):
        assert task["notebookTask"]["notebookPath"] == f"{folder}/{entry.workspace_path}"
        assert task["notebookTask"]["baseParameters"]["catalog"] == stack
        assert task["jobClusterKey"] == "medallion"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_bronze_reads_landing_through_its_external_location_and_checkpoints_in_bronze(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    job = _job(rendered, "medallion")
    parameters = _task(job, "bronze")["notebookTask"]["baseParameters"]
    landing = single(rendered, LOCATION, "-location-landing")
    bronze = single(rendered, LOCATION, "-location-bronze")
    assert parameters["landing_path"] == f"{landing.inputs['url']}datanova"
    assert parameters["checkpoint_path"] == f"{bronze.inputs['url']}_checkpoints/medallion"
    assert parameters["landing_path"].startswith(f"abfss://landing@stdatanova{stack}.dfs.")
    assert depends_on(rendered, job, landing) and depends_on(rendered, job, bronze)


def test_the_sample_data_is_seeded_outside_prod_only(plan: PlanOf) -> None:
    seeded = {
        stack: _task(_job(plan(stack), "medallion"), "bronze")["notebookTask"]["baseParameters"][
            "seed_sample_data"
        ]
        for stack in SHIPPED_STACKS
    }
    assert seeded == {"dev": "true", "staging": "true", "prod": "false"}


def test_the_medallion_cluster_is_sized_per_environment(plan: PlanOf) -> None:
    workers = {
        stack: _clusters(_job(plan(stack), "medallion"))["medallion"] for stack in SHIPPED_STACKS
    }
    assert {s: c["numWorkers"] for s, c in workers.items()} == {"dev": 0, "staging": 1, "prod": 2}
    assert workers["prod"]["nodeTypeId"] == "Standard_DS4_v2"
    assert "sparkConf" not in workers["prod"]
    assert workers["dev"]["sparkConf"]["spark.databricks.cluster.profile"] == "singleNode"


def test_only_prod_schedules_the_medallion(plan: PlanOf) -> None:
    assert _job(plan("prod"), "medallion").inputs["schedule"] == {
        "quartzCronExpression": "0 0 5 * * ?",
        "timezoneId": "Europe/Amsterdam",
        "pauseStatus": "UNPAUSED",
    }
    assert "schedule" not in _job(plan("staging"), "medallion").inputs


def test_the_medallion_schemas_are_the_job_codes() -> None:
    assert MEDALLION_SCHEMAS == jp.MEDALLION_SCHEMAS


# ---------------------------------------------------------------------- schema prefix

SANDBOX = "sbx_ben_okafor_feature_orders_v2_e799d33a2d_"


def _with_schema_prefix(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    """The jobs layer as a caller with a schema prefix builds it (no config sets one yet)."""
    jobs_args = platform._jobs_args
    monkeypatch.setattr(
        platform,
        "_jobs_args",
        lambda *args: dataclasses.replace(jobs_args(*args), schema_prefix=prefix),
    )


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_without_a_schema_prefix_no_task_names_one(plan: PlanOf, stack: str) -> None:
    """The empty prefix is left to the notebooks' widget default: the jobs keep the
    definitions they had before the parameter existed."""
    for job in _jobs(plan(stack)):
        for task in job.inputs["tasks"]:
            parameters = task.get("notebookTask", {}).get("baseParameters", {})
            assert jp.SCHEMA_PREFIX not in parameters, (job.name, task["taskKey"])


def test_a_schema_prefix_reaches_the_medallion_and_integration_tasks(
    monkeypatch: pytest.MonkeyPatch, stack_document: DocumentOf, render: Render
) -> None:
    _with_schema_prefix(monkeypatch, SANDBOX)
    rendered = render("dev", stack_document("dev"))
    medallion = _job(rendered, "medallion")
    for key in ("bronze", "silver", "gold"):
        parameters = _task(medallion, key)["notebookTask"]["baseParameters"]
        assert (parameters["catalog"], parameters["schema_prefix"]) == ("dev", SANDBOX), key
    tests = _task(_job(rendered, "integration-tests"), "integration_tests")
    parameters = tests["notebookTask"]["baseParameters"]
    assert (parameters["catalog"], parameters["schema_prefix"]) == ("dev", SANDBOX)
    # Unprefixed: the notebook looks the medallion's tables up under the prefix.
    assert parameters["expected_tables"] == ",".join(jp.MEDALLION_TABLES)
    # The run history has a schema of its own.
    assert jp.SCHEMA_PREFIX not in _git_sync_parameters(_job(rendered, "git-sync"))


def test_a_bad_schema_prefix_fails_the_plan(
    monkeypatch: pytest.MonkeyPatch, stack_document: DocumentOf, render: Render
) -> None:
    _with_schema_prefix(monkeypatch, "sbx-ben-")
    with pytest.raises(ValueError, match=r"^medallion_bronze.py: schema_prefix 'sbx-ben-' is not"):
        render("dev", stack_document("dev"))


# -------------------------------------------------------------------- run-as and access


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_jobs_run_as_the_job_runner_in_staging_and_prod(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    runner = rendered.outputs["jobRunnerApplicationId"]
    for job in _jobs(rendered):
        assert job.inputs["runAs"] == {"servicePrincipalName": runner}, job.name


def test_dev_jobs_run_as_the_job_runner_as_configured(plan: PlanOf) -> None:
    # dev's code folder is under /Shared: running it as the deployer is refused (issue 12).
    dev = plan("dev")
    assert dev.config.jobs.run_as == "servicePrincipal"
    for job in _jobs(dev):
        assert job.inputs["runAs"] == {
            "servicePrincipalName": dev.outputs["jobRunnerApplicationId"]
        }, job.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_jobs_wait_until_the_deployer_may_run_them_as_the_job_runner(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    rule_set = single(rendered, RULE_SET, "-identity-job-runner-users")
    runner_in_workspace = single(rendered, WORKSPACE_ASSIGNMENT, "-workspace-access-job-runner")
    for job in _jobs(rendered):
        assert depends_on(rendered, job, rule_set), job.name
        assert depends_on(rendered, job, runner_in_workspace), job.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_data_engineers_run_and_platform_admins_manage_every_job(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    for job in _jobs(rendered):
        controls = _permissions_of(rendered, job)
        assert controls[0] == {
            "servicePrincipalName": rendered.outputs["deployerApplicationId"],
            "permissionLevel": "IS_OWNER",
        }
        groups = {c["groupName"]: c["permissionLevel"] for c in controls if "groupName" in c}
        assert groups == {
            f"{stack}-platform-admins": "CAN_MANAGE",
            f"{stack}-data-engineers": "CAN_MANAGE_RUN",
        }, job.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_job_acls_wait_for_their_groups_in_the_workspace(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    assignments = [
        a for a in rendered.of_type(WORKSPACE_ASSIGNMENT) if "-workspace-access-group-" in a.name
    ]
    assert assignments
    for permissions in rendered.of_type(PERMISSIONS):
        if "jobId" not in permissions.inputs:
            continue
        for assignment in assignments:
            assert depends_on(rendered, permissions, assignment), permissions.name


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_job_runner_may_use_the_policy_and_start_the_medallion(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    runner = rendered.outputs["jobRunnerApplicationId"]
    (policy_acl,) = [p for p in rendered.of_type(PERMISSIONS) if "clusterPolicyId" in p.inputs]
    assert policy_acl.inputs["accessControls"] == [
        {"servicePrincipalName": runner, "permissionLevel": "CAN_USE"}
    ]
    medallion = _permissions_of(rendered, _job(rendered, "medallion"))
    assert {"servicePrincipalName": runner, "permissionLevel": "CAN_MANAGE_RUN"} in medallion
    for suffix in ("git-sync", "integration-tests"):
        controls = _permissions_of(rendered, _job(rendered, suffix))
        assert not [c for c in controls if c.get("servicePrincipalName") == runner], suffix


def test_job_groups_follow_the_config(stack_document: DocumentOf, render: Render) -> None:
    document = stack_document("staging")
    document["config"]["dataops:jobs"]["runGroups"] = ["data-engineers", "analysts"]
    rendered = render("staging", document)
    controls = _permissions_of(rendered, _job(rendered, "git-sync"))
    runners = {
        c["groupName"]
        for c in controls
        if c["permissionLevel"] == "CAN_MANAGE_RUN" and "groupName" in c
    }
    assert runners == {"staging-data-engineers", "staging-analysts"}


# ---------------------------------------------------------------------- notifications


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_failures_are_mailed_to_the_configured_addresses(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    emails = list(rendered.config.notifications.emails)
    assert emails
    for job in _jobs(rendered):
        assert job.inputs["emailNotifications"] == {"onFailures": emails}, job.name


def test_failures_post_to_a_teams_destination_whose_url_is_secret(plan: PlanOf) -> None:
    rendered = plan("staging")
    destination = single(rendered, DESTINATION)
    assert destination.inputs["displayName"] == "datanova-staging job failures (Teams)"
    assert masked(destination.inputs["config"]["microsoftTeams"]["url"])
    assert _computed_id(destination)
    for job in _jobs(rendered):
        webhooks = job.inputs["webhookNotifications"]["onFailures"]
        assert webhooks == [{"id": _computed_id(destination)}], job.name
        assert destination.urn in job.dependencies, job.name


def test_prod_failures_post_to_teams_and_slack_whose_urls_are_secret(plan: PlanOf) -> None:
    rendered = plan("prod")
    teams = single(rendered, DESTINATION, "-teams")
    slack = single(rendered, DESTINATION, "-slack")
    assert slack.inputs["displayName"] == "datanova-prod job failures (Slack)"
    assert masked(teams.inputs["config"]["microsoftTeams"]["url"])
    assert masked(slack.inputs["config"]["slack"]["url"])
    for job in _jobs(rendered):
        webhooks = job.inputs["webhookNotifications"]["onFailures"]
        assert webhooks == [{"id": _computed_id(teams)}, {"id": _computed_id(slack)}], job.name


def test_slack_without_its_webhook_secret_is_refused(
    stack_document: DocumentOf, validate: Callable[[str, StackDocument], StackConfig]
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:notifications"] = {"emails": ["a@datanova.eu"], "slack": True}
    with pytest.raises(ConfigError, match=r"slack is on but the secret dataops:slackWebhookUrl"):
        validate("dev", document)


def test_without_teams_there_is_no_destination_and_no_webhook(plan: PlanOf) -> None:
    rendered = plan("dev")
    assert not rendered.config.notifications.teams
    assert rendered.of_type(DESTINATION) == []
    for job in _jobs(rendered):
        assert "webhookNotifications" not in job.inputs, job.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_no_webhook_url_or_token_appears_in_clear(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    assert_no_secret_in_clear(rendered)
    text = rendered.dumps() + render_tree(rendered)
    for key in ("teamsWebhookUrl", "gitSyncToken", "gitCredentialToken", "slackWebhookUrl"):
        assert secret_placeholder(key) not in text, key
    assert "webhook.office.com" not in text


def test_outputs_carry_no_secret(plan: PlanOf) -> None:
    prod = plan("prod")
    assert "[secret]" not in json.dumps(prod.outputs)


# ------------------------------------------------------------------------------ outputs


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_outputs_name_the_jobs_their_urls_and_the_code_folder(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    outputs = rendered.outputs
    workspace = outputs["workspaceUrl"]
    ids = {
        "gitSync": outputs["gitSyncJobId"],
        "integrationTests": outputs["integrationTestJobId"],
        "medallion": outputs["medallionJobId"],
    }
    assert len(set(ids.values())) == 3
    for suffix, key in (
        ("git-sync", "gitSync"),
        ("integration-tests", "integrationTests"),
        ("medallion", "medallion"),
    ):
        assert ids[key] == _computed_id(_job(rendered, suffix))
    assert outputs["jobUrls"] == {key: f"{workspace}/jobs/{value}" for key, value in ids.items()}
    assert outputs["codeFolder"] == rendered.config.names(stack).code_folder


def test_jobs_default_to_the_default_catalog_bronze_checkpoints_and_seeding_outside_prod(
    stack_document: DocumentOf, validate: Callable[[str, StackDocument], StackConfig]
) -> None:
    dev = validate("dev", stack_document("dev"))
    prod = validate("prod", stack_document("prod"))
    assert dev.jobs_catalog == "dev" and prod.jobs_catalog == "prod"
    assert dev.landing_zone == "landing" and dev.checkpoint_zone == "bronze"
    assert dev.seed_sample_data and not prod.seed_sample_data
    assert dev.git_sync_uses_token
