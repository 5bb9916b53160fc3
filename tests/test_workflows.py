"""Governance of the delivery pipeline: the workflow files, read as data.

Branch protection (Pulumi.prod.yaml, sourceControl.github.*Protection.requiredChecks)
names status checks; GitHub reports a job under its name. Rename one side alone and every
pull request waits forever for a check that never reports, so these tests read the stack
configs and the workflows together. The rest hold the pipeline to least privilege: no
stored cloud credential, OIDC only where a job signs in, write scopes only where a job
writes, one deploy per stack at a time, prod only from a release, behind its reviewers.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from plan_helpers import SHIPPED_STACKS, StackDocument

from components.config import BranchProtectionConfig, StackConfig
from dataops.engine import PROJECT_ROOT

WORKFLOWS = PROJECT_ROOT / ".github" / "workflows"
SCRIPTS = PROJECT_ROOT / ".github" / "scripts"
PIPELINES = PROJECT_ROOT / "azure-pipelines.yml"

# Secrets a workflow may read. None signs in to a cloud: the Teams webhook, the GitHub
# App key deploys mint a run-scoped GitHub token with (the GitHub provider manages
# environments), and the passphrase of stacks still on the passphrase secrets provider.
ALLOWED_SECRETS = {"TEAMS_WEBHOOK_URL", "DATAOPS_APP_PRIVATE_KEY", "PULUMI_CONFIG_PASSPHRASE"}
# Long-lived credentials that must never appear in a pipeline definition.
STORED_CREDENTIALS = (
    "ARM_CLIENT_SECRET",
    "ARM_CLIENT_CERTIFICATE",
    "AZURE_CLIENT_SECRET",
    "AZURE_CREDENTIALS",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
    "DATABRICKS_TOKEN",
    "DATABRICKS_CLIENT_SECRET",
    "PULUMI_ACCESS_TOKEN",
    "creds:",
    "client-secret",
)
# The jobs that write to pull requests, and why; anything else asking is a finding.
PULL_REQUEST_WRITERS = {
    ("pull-request", "offline-diff"): "the sticky offline-diff comment",
    ("pull-request", "preview"): "pulumi/actions' preview comment",
    ("delivery", "release-please"): "the release pull request",
    ("release-command", "fast-track"): "merges the release pull request and replies",
}
# Stacks deployed by CI: GitHub deploys dev from develop too; Azure Pipelines staging and prod.
DEPLOY_STACKS = ("staging", "prod")
GITHUB_DEPLOY_STACKS = ("dev", "staging", "prod")


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as the boolean true.
    if True in document:
        document["on"] = document.pop(True)
    return document


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    """Every workflow file by its `name:`."""
    loaded = [_load(path) for path in sorted(WORKFLOWS.glob("*.y*ml"))]
    assert loaded, f"no workflows in {WORKFLOWS}"
    return {document["name"]: document for document in loaded}


def _jobs(workflows: dict[str, dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, workflow in workflows.items():
        for job_id, job in workflow["jobs"].items():
            yield name, job_id, job


def _check_name(job_id: str, job: dict[str, Any]) -> str:
    """The name GitHub reports a job's status check under."""
    return str(job.get("name", job_id))


def _triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow["on"]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return dict(on)


def _pull_request_branches(workflow: dict[str, Any]) -> list[str] | None:
    """Branches whose pull requests start the workflow (None: every branch; []: none)."""
    triggers = _triggers(workflow)
    if "pull_request" not in triggers:
        return []
    return (triggers["pull_request"] or {}).get("branches")


def _uses(job: dict[str, Any]) -> list[str]:
    return [str(step["uses"]) for step in job.get("steps", []) if "uses" in step]


def _signs_in(job: dict[str, Any]) -> bool:
    """The job authenticates to a cloud: Azure login, or Pulumi against the cloud."""
    return any(u.startswith(("azure/login@", "pulumi/actions@")) for u in _uses(job))


def _permissions(job: dict[str, Any]) -> dict[str, str]:
    permissions = job.get("permissions")
    assert isinstance(permissions, dict), "every job states its permissions"
    return {str(k): str(v) for k, v in permissions.items()}


@pytest.fixture
def protections(
    stack_document: Callable[[str], StackDocument],
    validate: Callable[[str, StackDocument], StackConfig],
) -> list[tuple[str, str, BranchProtectionConfig]]:
    """(stack, branch, protection) of every shipped stack that manages the repository."""
    found = []
    for stack in SHIPPED_STACKS:
        source = validate(stack, stack_document(stack)).source_control
        github = source.github
        if github is None or not github.manage_repository:
            continue
        found.append((stack, source.main_branch, github.main_protection))
        found.append((stack, source.develop_branch, github.develop_protection))
    assert found, "no shipped stack manages the GitHub repository"
    return found


def _pull_request_checks(workflows: dict[str, dict[str, Any]], branch: str) -> dict[str, int]:
    """Check names of jobs that run on pull requests into `branch`, with their counts."""
    counts: dict[str, int] = {}
    for name, job_id, job in _jobs(workflows):
        branches = _pull_request_branches(workflows[name])
        if branches is not None and branch not in branches:
            continue
        check = _check_name(job_id, job)
        counts[check] = counts.get(check, 0) + 1
    return counts


# --- Required status checks ----------------------------------------------------------------


def test_every_required_check_is_a_job_that_runs_on_pull_requests_into_its_branch(
    workflows: dict[str, dict[str, Any]],
    protections: list[tuple[str, str, BranchProtectionConfig]],
) -> None:
    for stack, branch, protection in protections:
        checks = _pull_request_checks(workflows, branch)
        for required in protection.required_checks:
            assert required in checks, (
                f"Pulumi.{stack}.yaml requires check {required!r} on {branch}, but no job of a "
                f"pull_request workflow into {branch} is named so; jobs: {sorted(checks)}"
            )


def test_shipped_protection_requires_the_pipelines_checks(
    protections: list[tuple[str, str, BranchProtectionConfig]],
) -> None:
    # The other tests compare two sides; this pins the side that makes them meaningful.
    required = {branch: set(p.required_checks) for _, branch, p in protections}
    assert required["main"] >= {"lint", "typecheck", "test", "offline-diff"}
    assert required["develop"] >= {"test"}


def test_required_checks_come_from_exactly_one_job(
    workflows: dict[str, dict[str, Any]],
    protections: list[tuple[str, str, BranchProtectionConfig]],
) -> None:
    for _, branch, protection in protections:
        checks = _pull_request_checks(workflows, branch)
        for required in protection.required_checks:
            assert checks.get(required) == 1, (
                f"{required!r} is reported by {checks.get(required)} jobs"
            )


def test_required_check_jobs_always_run_on_every_pull_request(
    workflows: dict[str, dict[str, Any]],
    protections: list[tuple[str, str, BranchProtectionConfig]],
) -> None:
    # A skipped job counts as passed, and a path filter leaves the check pending forever.
    required = {check for _, _, p in protections for check in p.required_checks}
    for name, job_id, job in _jobs(workflows):
        if (
            _pull_request_branches(workflows[name]) == []
            or _check_name(job_id, job) not in required
        ):
            continue
        assert "if" not in job, f"{name}/{job_id} is a required check but has an `if:`"
        assert "strategy" not in job, f"{name}/{job_id} is a required check but is a matrix"
        trigger = _triggers(workflows[name])["pull_request"] or {}
        assert not {"paths", "paths-ignore"} & set(trigger), f"{name} filters pull requests by path"


def test_release_pull_request_gets_every_main_check_as_a_status(
    workflows: dict[str, dict[str, Any]],
    protections: list[tuple[str, str, BranchProtectionConfig]],
) -> None:
    # release-please's pushes start no workflow; delivery reports the checks itself.
    job = workflows["delivery"]["jobs"]["release-pr-checks"]
    (step,) = [s for s in job["steps"] if "CHECKS" in s.get("env", {})]
    reported = set(step["env"]["CHECKS"].split())
    script = (SCRIPTS / "release-pr-checks.sh").read_text(encoding="utf-8")
    commands = set(re.findall(r"^\s*([a-z-]+)\)", script, flags=re.MULTILINE))
    for _, branch, protection in protections:
        if branch != "main":
            continue
        missing = set(protection.required_checks) - reported
        assert not missing, f"release pull requests would never report {sorted(missing)}"
    assert reported <= commands, f"no command for {sorted(reported - commands)}"
    assert _permissions(job) == {"contents": "read", "statuses": "write"}


# --- Least privilege -----------------------------------------------------------------------


def test_workflows_grant_nothing_by_default(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        permissions = workflow.get("permissions")
        assert permissions is not None, f"{name} has no top-level permissions (defaults are broad)"
        assert permissions == {} or set(permissions.values()) == {"read"}, name


def test_oidc_tokens_only_for_jobs_that_sign_in(workflows: dict[str, dict[str, Any]]) -> None:
    signing_in = set()
    for name, job_id, job in _jobs(workflows):
        oidc = _permissions(job).get("id-token") == "write"
        assert oidc == _signs_in(job), f"{name}/{job_id}: id-token write iff it signs in"
        if oidc:
            signing_in.add((name, job_id))
    assert signing_in == {
        ("pull-request", "preview"),
        ("delivery", "deploy-dev"),
        ("delivery", "deploy-staging"),
        ("delivery", "deploy-prod"),
    }


def test_only_the_commenting_jobs_write_to_pull_requests(
    workflows: dict[str, dict[str, Any]],
) -> None:
    writers = {
        (name, job_id)
        for name, job_id, job in _jobs(workflows)
        if _permissions(job).get("pull-requests") == "write"
    }
    assert writers == set(PULL_REQUEST_WRITERS)


def test_cloud_jobs_use_oidc_from_environment_variables(
    workflows: dict[str, dict[str, Any]],
) -> None:
    for name, job_id, job in _jobs(workflows):
        if not _signs_in(job):
            continue
        env = job["env"]
        assert env["ARM_USE_OIDC"] == "true", f"{name}/{job_id}"
        for key in (
            "ARM_CLIENT_ID",
            "ARM_TENANT_ID",
            "ARM_SUBSCRIPTION_ID",
            "DATABRICKS_CLIENT_ID",
        ):
            assert env[key] == f"${{{{ vars.{key} }}}}", f"{name}/{job_id}: {key}"
        assert env["DATABRICKS_AUTH_TYPE"] == "github-oidc", f"{name}/{job_id}"
        assert "environment" in job, f"{name}/{job_id} signs in outside a GitHub environment"


@pytest.mark.parametrize(
    "path", [*sorted(WORKFLOWS.glob("*.yml")), PIPELINES], ids=lambda path: path.name
)
def test_no_stored_cloud_credential(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for credential in STORED_CREDENTIALS:
        word = rf"(?<![A-Za-z0-9_-]){re.escape(credential)}(?![A-Za-z0-9_-])"
        assert not re.search(word, text), f"{path.name} mentions {credential}"
    secrets = set(re.findall(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)", text))
    assert secrets <= ALLOWED_SECRETS, (
        f"{path.name} reads secrets {sorted(secrets - ALLOWED_SECRETS)}"
    )


def test_third_party_actions_are_pinned(workflows: dict[str, dict[str, Any]]) -> None:
    actions = [use for _, _, job in _jobs(workflows) for use in _uses(job)]
    assert actions
    for use in actions:
        if use.startswith("./"):
            continue
        _, _, ref = use.partition("@")
        assert re.fullmatch(r"v\d+(\.\d+){0,2}|[0-9a-f]{40}", ref), f"{use}: pin a tag or a sha"


# --- Previews ------------------------------------------------------------------------------


def test_previews_cover_every_shipped_stack_through_its_preview_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    preview = workflows["pull-request"]["jobs"]["preview"]
    assert sorted(preview["strategy"]["matrix"]["stack"]) == sorted(SHIPPED_STACKS)
    assert preview["environment"] == "${{ matrix.stack }}-preview"
    (pulumi,) = [s for s in preview["steps"] if str(s.get("uses", "")).startswith("pulumi/")]
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True


def test_pull_requests_never_use_a_deploy_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    # prod deploys from main only, and deploy identities may change the cloud.
    for name, job_id, job in _jobs(workflows):
        if "pull_request" not in _triggers(workflows[name]):
            continue
        environment = str(job.get("environment", ""))
        assert environment == "" or environment.endswith("-preview"), f"{name}/{job_id}"


def test_the_offline_diff_is_one_sticky_comment(workflows: dict[str, dict[str, Any]]) -> None:
    job = workflows["pull-request"]["jobs"]["offline-diff"]
    runs = "\n".join(str(step.get("run", "")) for step in job["steps"])
    assert "offline-diff.sh" in runs and "sticky-comment.sh" in runs
    assert job["steps"][0]["with"]["fetch-depth"] == 0, "the base commit must be in the clone"
    diff = (SCRIPTS / "offline-diff.sh").read_text(encoding="utf-8")
    assert "--markdown" in diff and "Pulumi.*.yaml" in diff


# --- Deploys -------------------------------------------------------------------------------


def _deploy_jobs(workflows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Jobs that run `pulumi up`, by the stack they deploy."""
    found: dict[str, dict[str, Any]] = {}
    for name, job_id, job in _jobs(workflows):
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("pulumi/") and step["with"]["command"] == "up":
                stack = step["with"]["stack-name"]
                assert stack not in found, f"two jobs deploy {stack} ({name}/{job_id})"
                found[stack] = job
    return found


def test_one_deploy_per_stack_at_a_time_never_cancelled(
    workflows: dict[str, dict[str, Any]],
) -> None:
    deploys = _deploy_jobs(workflows)
    assert sorted(deploys) == sorted(GITHUB_DEPLOY_STACKS)
    for stack, job in deploys.items():
        assert job["environment"] == stack
        assert job["concurrency"] == {"group": f"deploy-{stack}", "cancel-in-progress": False}


def test_staging_deploys_on_main_and_passes_its_integration_tests(
    workflows: dict[str, dict[str, Any]],
) -> None:
    delivery = workflows["delivery"]
    assert _triggers(delivery)["push"]["branches"] == ["main", "develop"]
    job = _deploy_jobs(workflows)["staging"]
    assert job["if"] == "github.ref == 'refs/heads/main'"
    (test_step,) = [s for s in job["steps"] if "run_databricks_job.py" in str(s.get("run", ""))]
    assert test_step["env"]["JOB_ID"] == "${{ steps.up.outputs.integrationTestJobId }}"
    assert test_step["env"]["WORKSPACE_URL"] == "${{ steps.up.outputs.workspaceUrl }}"


def test_dev_deploys_from_develop_only(workflows: dict[str, dict[str, Any]]) -> None:
    # The dev environment accepts develop only (components/source_control.py); a job that
    # could run elsewhere would wait on a gate it can never pass.
    job = _deploy_jobs(workflows)["dev"]
    assert job["if"] == "github.ref == 'refs/heads/develop'"
    assert job["environment"] == "dev"


def test_prod_deploys_only_a_release_after_staging_behind_its_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    job = _deploy_jobs(workflows)["prod"]
    assert job["needs"] == ["release-please", "deploy-staging"]
    assert job["if"] == "needs.release-please.outputs.release_created == 'true'"
    assert job["environment"] == "prod"
    checkout = job["steps"][0]
    assert checkout["with"]["ref"] == "${{ needs.release-please.outputs.tag_name }}"
    # A release made with GITHUB_TOKEN starts no workflow: no `on: release` deploy exists.
    assert not any("release" in _triggers(w) for w in workflows.values())


def test_release_please_follows_conventional_commits_and_the_project_version() -> None:
    config = json.loads((PROJECT_ROOT / "release-please-config.json").read_text(encoding="utf-8"))
    manifest = json.loads((PROJECT_ROOT / ".release-please-manifest.json").read_text("utf-8"))
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["release-type"] == "python"
    assert set(config["packages"]) == {"."}
    assert manifest == {".": pyproject["project"]["version"]}
    sections = {entry["type"]: entry.get("hidden", False) for entry in config["changelog-sections"]}
    assert sections["feat"] is False and sections["fix"] is False


def test_every_failed_delivery_is_posted_to_teams(workflows: dict[str, dict[str, Any]]) -> None:
    delivery = workflows["delivery"]
    notify = delivery["jobs"]["notify-failure"]
    assert notify["if"] == "failure()"
    assert set(notify["needs"]) == set(delivery["jobs"]) - {"notify-failure"}
    (step,) = [s for s in notify["steps"] if s.get("uses") == "./.github/actions/notify-teams"]
    assert step["with"]["webhook-url"] == "${{ secrets.TEAMS_WEBHOOK_URL }}"
    script = (SCRIPTS / "notify-teams.sh").read_text(encoding="utf-8")
    assert "curl --config -" in script, "the webhook URL goes to curl on stdin, not argv"
    assert not re.search(r"echo[^\n]*\$\{?WEBHOOK_URL", script), "the webhook URL is printed"


# --- The /release fast-track ---------------------------------------------------------------


def test_release_command_is_for_maintainers_and_starts_a_run_that_runs(
    workflows: dict[str, dict[str, Any]],
) -> None:
    command = workflows["release-command"]
    assert _triggers(command) == {"issue_comment": {"types": ["created"]}}
    job = command["jobs"]["fast-track"]
    script = "\n".join(str(step.get("run", "")) for step in job["steps"])
    # The role on this repository, from the API: author_association cannot tell it.
    assert "collaborators/$COMMENTER/permission" in script and ".role_name" in script
    assert re.search(r"admin \| maintain\)", script)
    assert "author_association" not in json.dumps(command)
    # GITHUB_TOKEN's merge starts nothing; a workflow_dispatch does.
    assert "gh workflow run delivery.yml" in script and "--ref main" in script
    assert "workflow_dispatch" in _triggers(workflows["delivery"])
    assert not any("actions/checkout" in use for use in _uses(job)), "never run PR code here"


# --- Policy pack ---------------------------------------------------------------------------


def test_every_preview_and_deploy_runs_the_policy_pack(
    workflows: dict[str, dict[str, Any]],
) -> None:
    # The pack (policy/) is what stops a non-compliant change in the cloud's preview and
    # before a deploy; a pulumi step without it would let one through.
    pulumi_steps = 0
    for name, job_id, job in _jobs(workflows):
        steps = job.get("steps", [])
        for index, step in enumerate(steps):
            if not str(step.get("uses", "")).startswith("pulumi/"):
                continue
            pulumi_steps += 1
            assert step["with"].get("policyPacks") == "policy", f"{name}/{job_id}: no policy pack"
            earlier = [str(s.get("run", "")) for s in steps[:index]]
            assert "./taskw policy:setup" in earlier, f"{name}/{job_id}: pack virtualenv missing"
    assert pulumi_steps == 1 + len(GITHUB_DEPLOY_STACKS)
    pipeline = PIPELINES.read_text(encoding="utf-8")
    commands = re.findall(r"pulumi (?:preview|up) --stack[^\n]*", pipeline)
    assert len(commands) == len(SHIPPED_STACKS) + len(DEPLOY_STACKS)
    for command in commands:
        assert "--policy-pack policy" in command, command
    assert pipeline.count("./taskw policy:setup") == len(commands)
    tasks = yaml.safe_load((PROJECT_ROOT / "Taskfile.yml").read_text(encoding="utf-8"))["tasks"]
    for task in ("preview:*", "up:*"):
        assert "policy:setup" in tasks[task]["deps"], task
        assert all("--policy-pack policy" in command for command in tasks[task]["cmds"]), task


# --- Azure Pipelines -----------------------------------------------------------------------


def _pipeline_jobs(stage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(job.get("job") or job.get("deployment")): job for job in stage["jobs"]}


def _azure_cli_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
    return [step for step in steps if step.get("task") == "AzureCLI@2"]


def test_azure_pipelines_previews_every_stack_with_its_preview_connection() -> None:
    pipeline = yaml.safe_load(PIPELINES.read_text(encoding="utf-8"))
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    previews = _pipeline_jobs(stages["preview"])
    assert sorted(previews) == sorted(f"preview_{stack}" for stack in SHIPPED_STACKS)
    for stack in SHIPPED_STACKS:
        (step,) = _azure_cli_steps(previews[f"preview_{stack}"])
        assert step["inputs"]["azureSubscription"] == f"dataops-{stack}-preview"
        assert f'pulumi preview --stack "{stack}"' in step["inputs"]["inlineScript"]


def test_azure_pipelines_deploys_staging_then_prod_through_environments() -> None:
    pipeline = yaml.safe_load(PIPELINES.read_text(encoding="utf-8"))
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    assert stages["prod"]["dependsOn"] == "staging"
    for stack in DEPLOY_STACKS:
        stage = stages[stack]
        assert stage["lockBehavior"] == "sequential"
        (job,) = stage["jobs"]
        assert job["environment"] == f"dataops-{stack}"
        (step,) = _azure_cli_steps(job)
        inputs = step["inputs"]
        assert inputs["azureSubscription"] == f"dataops-{stack}"
        assert inputs["addSpnToEnvironment"] is True
        assert 'ARM_OIDC_TOKEN="$idToken"' in inputs["inlineScript"]
        assert f"pulumi up --stack {stack} --yes" in inputs["inlineScript"]
    staging_script = _azure_cli_steps(stages["staging"]["jobs"][0])[0]["inputs"]["inlineScript"]
    assert "integrationTestJobId" in staging_script and "run_databricks_job.py" in staging_script


# --- The integration-test runner -----------------------------------------------------------


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "run_databricks_job", SCRIPTS / "run_databricks_job.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _FakeWait:
    def __init__(self, run: Any) -> None:
        self._run = run

    def bind(self) -> dict[str, Any]:
        return {"run_id": self._run.run_id}

    def result(self, timeout: Any) -> Any:
        return self._run


class _FakeJobs:
    def __init__(self, run: Any) -> None:
        self.run = run
        self.started: list[int] = []

    def run_now(self, job_id: int) -> _FakeWait:
        self.started.append(job_id)
        return _FakeWait(self.run)


class _FakeWorkspace:
    def __init__(self, run: Any) -> None:
        self.jobs = _FakeJobs(run)


def _run(result: str | None, lifecycle: str = "TERMINATED") -> Any:
    from databricks.sdk.service.jobs import Run, RunLifeCycleState, RunResultState, RunState

    return Run(
        run_id=42,
        run_page_url="https://adb-1.azuredatabricks.net/#job/7/run/42",
        state=RunState(
            life_cycle_state=RunLifeCycleState(lifecycle),
            result_state=RunResultState(result) if result else None,
            state_message="" if result == "SUCCESS" else "Task integration_tests failed",
        ),
    )


@pytest.mark.parametrize(
    ("result", "status"),
    [("SUCCESS", 0), ("FAILED", 1), ("TIMEDOUT", 1), ("CANCELED", 1), (None, 1)],
)
def test_the_integration_test_run_passes_only_on_success(
    result: str | None, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = _runner()
    workspace = _FakeWorkspace(_run(result, "TERMINATED" if result else "SKIPPED"))
    argv = ["--host", "adb-1.azuredatabricks.net", "--job-id", "7"]
    assert runner.main(argv, client=workspace) == status
    assert workspace.jobs.started == [7]
    captured = capsys.readouterr()
    assert "run 42" in captured.out + captured.err


def test_a_missing_integration_test_job_output_is_bad_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    runner = _runner()
    workspace = _FakeWorkspace(_run("SUCCESS"))
    assert runner.main(["--host", "adb-1", "--job-id", ""], client=workspace) == 2
    assert workspace.jobs.started == []
    assert "integrationTestJobId" in capsys.readouterr().err


# --- Shared helpers of the GitHub and Azure DevOps comments -------------------------------


def test_an_azure_devops_comment_is_found_again_by_its_marker() -> None:
    spec = importlib.util.spec_from_file_location("ado_pr_comment", SCRIPTS / "ado_pr_comment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    marker = "<!-- dataops:offline-diff -->"
    threads = [
        {"id": 1, "comments": [{"id": 1, "content": "LGTM"}]},
        {"id": 2, "isDeleted": True, "comments": [{"id": 1, "content": f"{marker}\nold"}]},
        {"id": 3, "comments": [{"id": 5, "content": f"{marker}\n## diff"}]},
    ]
    assert module.existing_comment(threads, marker) == (3, 5)
    assert module.existing_comment(threads[:2], marker) is None
