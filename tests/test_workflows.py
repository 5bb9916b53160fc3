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
from workflow_runner import Status, condition

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
    ("delivery", "report-release"): "tells the release pull request how /release ended",
}
# The reusable workflow every deploy job of delivery.yml calls (workflow_call).
DEPLOY_WORKFLOW = "./.github/workflows/deploy.yml"
# Stacks deployed by CI, on GitHub and on Azure DevOps alike: dev from develop, staging
# from main, prod from a release.
DEPLOY_STACKS = ("dev", "staging", "prod")
GITHUB_DEPLOY_STACKS = DEPLOY_STACKS


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
    """The job authenticates to a cloud: Azure login, or Pulumi against the cloud, itself or
    through the reusable deploy workflow (whose OIDC token the caller must grant)."""
    if job.get("uses") == DEPLOY_WORKFLOW:
        return True
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
        ("deploy", "deploy"),
        ("delivery", "deploy-dev"),
        ("delivery", "deploy-staging"),
        ("delivery", "deploy-prod"),
        ("sandbox-cleanup", "sweep"),
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
        if not _signs_in(job) or "uses" in job:  # a caller: the called job is checked
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
    # prod deploys from main only, and deploy identities may change the cloud. A workflow
    # with other triggers too may hold a job in a deploy environment that never runs on a
    # pull request (sandbox-cleanup's sweep): its `if:` is false for every pull_request run.
    pull_request = {
        "github": {
            "event_name": "pull_request",
            "repository": "acme/dataops",
            "event": {"pull_request": {"head": {"repo": {"full_name": "acme/dataops"}}}},
        }
    }
    for name, job_id, job in _jobs(workflows):
        if "pull_request" not in _triggers(workflows[name]):
            continue
        environment = str(job.get("environment", ""))
        if environment == "" or environment.endswith("-preview"):
            continue
        assert not condition(job.get("if"), pull_request, Status()), f"{name}/{job_id}"


def test_the_offline_diff_is_one_sticky_comment(workflows: dict[str, dict[str, Any]]) -> None:
    job = workflows["pull-request"]["jobs"]["offline-diff"]
    runs = "\n".join(str(step.get("run", "")) for step in job["steps"])
    assert "offline-diff.sh" in runs and "sticky-comment.sh" in runs
    assert job["steps"][0]["with"]["fetch-depth"] == 0, "the base commit must be in the clone"
    diff = (SCRIPTS / "offline-diff.sh").read_text(encoding="utf-8")
    assert "--markdown" in diff and "Pulumi.*.yaml" in diff


# --- Deploys -------------------------------------------------------------------------------


def _deploy_jobs(workflows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The delivery jobs that call the reusable deploy workflow, by the stack they deploy."""
    found: dict[str, dict[str, Any]] = {}
    for name, job_id, job in _jobs(workflows):
        if job.get("uses") == DEPLOY_WORKFLOW:
            stack = job["with"]["stack"]
            assert stack not in found, f"two jobs deploy {stack} ({name}/{job_id})"
            assert job["secrets"] == "inherit", f"{name}/{job_id}: environment secrets"
            found[stack] = job
    return found


def _deploy_job(workflows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The one job of the reusable deploy workflow."""
    (job,) = workflows["deploy"]["jobs"].values()
    assert isinstance(job, dict)
    return job


def test_deploys_go_through_one_reusable_workflow(workflows: dict[str, dict[str, Any]]) -> None:
    deploy = workflows["deploy"]
    assert set(_triggers(deploy)) == {"workflow_call"}
    inputs = _triggers(deploy)["workflow_call"]["inputs"]
    assert inputs["stack"]["required"] is True
    # No job but the reusable one runs `pulumi up`: the deploy bodies cannot drift.
    ups = [
        (name, job_id)
        for name, job_id, job in _jobs(workflows)
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("pulumi/") and step["with"].get("command") == "up"
    ]
    assert ups == [("deploy", "deploy")]
    (pulumi,) = [s for s in _deploy_job(workflows)["steps"] if "pulumi/" in str(s.get("uses"))]
    assert pulumi["with"]["stack-name"] == "${{ inputs.stack }}"


def test_one_deploy_per_stack_at_a_time_never_cancelled(
    workflows: dict[str, dict[str, Any]],
) -> None:
    deploys = _deploy_jobs(workflows)
    assert sorted(deploys) == sorted(GITHUB_DEPLOY_STACKS)
    job = _deploy_job(workflows)
    assert job["environment"] == "${{ inputs.stack }}"
    assert job["concurrency"] == {
        "group": "deploy-${{ inputs.stack }}",
        "cancel-in-progress": False,
    }


def test_staging_deploys_on_main_and_passes_its_integration_tests(
    workflows: dict[str, dict[str, Any]],
) -> None:
    delivery = workflows["delivery"]
    assert _triggers(delivery)["push"]["branches"] == ["main", "develop"]
    caller = _deploy_jobs(workflows)["staging"]
    assert caller["if"] == "github.ref == 'refs/heads/main'"
    assert caller["with"]["integration-tests"] is True
    assert not any(
        j["with"].get("integration-tests")
        for s, j in _deploy_jobs(workflows).items()
        if s != "staging"
    )
    job = _deploy_job(workflows)
    (test_step,) = [s for s in job["steps"] if "run_databricks_job.py" in str(s.get("run", ""))]
    assert test_step["if"] == "inputs.integration-tests"
    assert test_step["env"]["JOB_ID"] == "${{ steps.up.outputs.integrationTestJobId }}"
    assert test_step["env"]["WORKSPACE_URL"] == "${{ steps.up.outputs.workspaceUrl }}"


def test_dev_deploys_from_develop_only(workflows: dict[str, dict[str, Any]]) -> None:
    # The dev environment accepts develop only (components/source_control.py); a job that
    # could run elsewhere would wait on a gate it can never pass.
    job = _deploy_jobs(workflows)["dev"]
    assert job["if"] == "github.ref == 'refs/heads/develop'"
    assert job["with"]["stack"] == "dev"


def test_prod_deploys_only_a_release_after_staging_behind_its_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    job = _deploy_jobs(workflows)["prod"]
    assert job["needs"] == ["release-please", "deploy-staging"]
    assert job["if"] == "needs.release-please.outputs.release_created == 'true'"
    assert job["with"]["ref"] == "${{ needs.release-please.outputs.tag_name }}"
    checkout = _deploy_job(workflows)["steps"][0]
    assert checkout["with"]["ref"] == "${{ inputs.ref }}"
    # A release made with GITHUB_TOKEN starts no workflow: no `on: release` deploy exists.
    assert not any("release" in _triggers(w) for w in workflows.values())


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_every_pulumi_run_uses_the_pinned_cli(workflows: dict[str, dict[str, Any]]) -> None:
    # One file pins the CLI for GitHub and Azure DevOps; the runner image's CLI may be older
    # than the SDK of requirements.txt.
    pinned = (PROJECT_ROOT / ".pulumi.version").read_text(encoding="utf-8").strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned)
    floor = re.search(r"^pulumi>=([\d.]+)", (PROJECT_ROOT / "requirements.txt").read_text(), re.M)
    assert floor is not None
    assert _version(pinned) >= _version(floor.group(1)), "the CLI is older than the SDK floor"
    for name, job_id, job in _jobs(workflows):
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("pulumi/actions@"):
                assert step["with"]["pulumi-version-file"] == ".pulumi.version", f"{name}/{job_id}"
    pipeline = PIPELINES.read_text(encoding="utf-8")
    installs = re.findall(r"get\.pulumi\.com[^\n]*", pipeline)
    assert installs, "azure-pipelines.yml installs no Pulumi CLI"
    for install in installs:
        assert '--version "$(cat .pulumi.version)"' in install, install


def test_release_please_follows_conventional_commits_and_the_project_version() -> None:
    config = json.loads((PROJECT_ROOT / "release-please-config.json").read_text(encoding="utf-8"))
    manifest = json.loads((PROJECT_ROOT / ".release-please-manifest.json").read_text("utf-8"))
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["release-type"] == "python"
    assert set(config["packages"]) == {"."}
    assert manifest == {".": pyproject["project"]["version"]}
    # Tags are vX.Y.Z, as README and the prod deploy say: release-please names a manifest
    # package's tag <component>-vX.Y.Z unless include-component-in-tag is false
    # (https://github.com/googleapis/release-please/blob/main/docs/manifest-releaser.md#configfile).
    assert config["include-v-in-tag"] is True
    assert config["include-component-in-tag"] is False
    sections = {entry["type"]: entry.get("hidden", False) for entry in config["changelog-sections"]}
    assert sections["feat"] is False and sections["fix"] is False


def test_every_failed_delivery_is_posted_to_teams(workflows: dict[str, dict[str, Any]]) -> None:
    delivery = workflows["delivery"]
    notify = delivery["jobs"]["notify-failure"]
    assert notify["if"] == "failure()"
    assert set(notify["needs"]) == set(delivery["jobs"]) - {"notify-failure", "report-release"}
    (step,) = [s for s in notify["steps"] if s.get("uses") == "./.github/actions/notify-teams"]
    assert step["with"]["webhook-url"] == "${{ secrets.TEAMS_WEBHOOK_URL }}"
    assert step["with"]["version"] == "${{ needs.release-please.outputs.tag_name }}"
    assert step["with"]["stack"] == "${{ steps.failed.outputs.stack }}"
    action = yaml.safe_load((PROJECT_ROOT / ".github/actions/notify-teams/action.yml").read_text())
    (run,) = [s["run"] for s in action["runs"]["steps"]]
    assert "notify_teams.py" in run and "WEBHOOK_URL" not in run, "the URL stays in the env"


# --- The /release fast-track ---------------------------------------------------------------


def test_release_command_is_for_maintainers_and_starts_a_run_that_runs(
    workflows: dict[str, dict[str, Any]],
) -> None:
    command = workflows["release-command"]
    assert _triggers(command) == {"issue_comment": {"types": ["created"]}}
    job = command["jobs"]["fast-track"]
    (checkout, step) = job["steps"]
    # Only the default branch's scripts (the event's commit), never the pull request's.
    assert checkout["uses"] == "actions/checkout@v4"
    assert checkout["with"] == {
        "ref": "${{ github.sha }}",
        "sparse-checkout": ".github/scripts",
        "persist-credentials": False,
    }
    assert step["run"] == ".github/scripts/release-command.sh start"
    assert "author_association" not in json.dumps(command)
    script = (SCRIPTS / "release-command.sh").read_text(encoding="utf-8")
    # The role on this repository, from the API: author_association cannot tell it.
    assert "collaborators/$commenter/permission" in script and ".role_name" in script
    assert re.search(r"admin \| maintain\)", script)
    # GITHUB_TOKEN's merge starts nothing; a workflow_dispatch does, carrying the PR.
    assert "gh workflow run delivery.yml" in script and '-f "release-pr=$pr"' in script
    assert "--match-head-commit" in script
    dispatch = _triggers(workflows["delivery"])["workflow_dispatch"]
    assert dispatch["inputs"]["release-pr"]["default"] == ""


def test_the_release_pull_request_hears_how_its_release_ended(
    workflows: dict[str, dict[str, Any]],
) -> None:
    delivery = workflows["delivery"]
    report = delivery["jobs"]["report-release"]
    assert report["if"] == (
        "always() && github.event_name == 'workflow_dispatch' && inputs.release-pr != ''"
    )
    assert set(report["needs"]) == {"release-please", "deploy-staging", "deploy-prod"}
    (step,) = [s for s in report["steps"] if "run" in s]
    assert step["run"] == ".github/scripts/release-command.sh report"
    assert step["env"]["PR_NUMBER"] == "${{ inputs.release-pr }}"
    assert step["env"]["PROD_RESULT"] == "${{ needs.deploy-prod.result }}"


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
            # A run: step calling the CLI itself is held to the same rule.
            for command in re.findall(r"pulumi (?:preview|up)\b[^\n]*", str(step.get("run", ""))):
                assert "--policy-pack policy" in command, f"{name}/{job_id}: {command}"
            if not str(step.get("uses", "")).startswith("pulumi/"):
                continue
            if "command" not in step["with"]:
                continue  # installs the CLI only (sandbox-cleanup: it destroys, no policy)
            pulumi_steps += 1
            assert step["with"].get("policyPacks") == "policy", f"{name}/{job_id}: no policy pack"
            earlier = [str(s.get("run", "")) for s in steps[:index]]
            assert "./taskw policy:setup" in earlier, f"{name}/{job_id}: pack virtualenv missing"
    assert pulumi_steps == 2  # the previews (a matrix) and the reusable deploy
    pipeline = PIPELINES.read_text(encoding="utf-8")
    commands = re.findall(r"pulumi (?:preview|up) --stack[^\n]*", pipeline)
    assert len(commands) == len(SHIPPED_STACKS) + len(DEPLOY_STACKS)
    for command in commands:
        assert "--policy-pack policy" in command, command
    assert pipeline.count("./taskw policy:setup") == len(commands)
    tasks = yaml.safe_load((PROJECT_ROOT / "Taskfile.yml").read_text(encoding="utf-8"))["tasks"]
    for task in ("preview:*", "up:*", "sandbox:up"):
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


def _pipeline_scripts(node: Any) -> Iterator[str]:
    """Every shell script of the pipeline: `script:`, `bash:` and AzureCLI inline scripts."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("script", "bash", "inlineScript") and isinstance(value, str):
                yield value
            else:
                yield from _pipeline_scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _pipeline_scripts(item)


def test_every_azure_pipelines_script_fails_fast() -> None:
    # `script:` runs under bash without -e: a failed `validate` would pass the step.
    pipeline = yaml.safe_load(PIPELINES.read_text(encoding="utf-8"))
    scripts = list(_pipeline_scripts(pipeline))
    assert len(scripts) > 10
    for script in scripts:
        lines = [line for line in script.splitlines() if not line.startswith("#")]
        assert lines[0] == "set -euo pipefail", script


def test_azure_pipelines_deploys_dev_staging_and_release_tags_to_prod() -> None:
    pipeline = yaml.safe_load(PIPELINES.read_text(encoding="utf-8"))
    assert pipeline["trigger"]["branches"]["include"] == ["main", "develop"]
    assert pipeline["trigger"]["tags"]["include"] == ["v*"]
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    branch = "eq(variables['Build.SourceBranch'], '{}')"
    conditions = {
        "dev": branch.format("refs/heads/develop"),
        "staging": branch.format("refs/heads/main"),
        # Only a release tag reaches prod.
        "prod": "startsWith(variables['Build.SourceBranch'], 'refs/tags/v')",
    }
    for stack in DEPLOY_STACKS:
        stage = stages[stack]
        assert stage["dependsOn"] == "checks"
        assert stage["condition"] == (
            f"and(succeeded(), {conditions[stack]}, ne(variables['Build.Reason'], 'PullRequest'))"
        )
        assert stage["lockBehavior"] == "sequential"
        (job,) = stage["jobs"]
        # prod's approvals are a check on this environment.
        assert job["environment"] == f"dataops-{stack}"
        (step,) = _azure_cli_steps(job)
        inputs = step["inputs"]
        script = inputs["inlineScript"]
        assert inputs["azureSubscription"] == f"dataops-{stack}"
        assert f"pulumi up --stack {stack} --yes" in script
        # Azure: the refreshable Azure CLI session; no static federated token to a provider.
        assert inputs["keepAzSessionActive"] is True
        assert "idToken" not in script and "ARM_OIDC_TOKEN" not in script
        assert "addSpnToEnvironment" not in inputs
        # Databricks: the deployer principal, by token exchange from a refreshed file.
        assert "export DATABRICKS_AUTH_TYPE=file-oidc" in script
        assert f"pulumi stack output deployerApplicationId --stack {stack}" in script
        assert "ado_oidc_token.py" in script and "--refresh-every" in script
        assert "azure-cli" not in script
        assert step["env"]["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"
        steps = job["strategy"]["runOnce"]["deploy"]["steps"]
        (notify,) = [s for s in steps if "notify_teams.py" in str(s.get("script"))]
        assert notify["condition"] == "failed()"
        assert notify["env"]["STACK"] == stack
        assert notify["env"]["ENVIRONMENT"] == f"dataops-{stack}"
    staging_script = _azure_cli_steps(stages["staging"]["jobs"][0])[0]["inputs"]["inlineScript"]
    assert "integrationTestJobId" in staging_script and "run_databricks_job.py" in staging_script


def test_azure_pipelines_previews_sign_in_to_databricks_as_the_preview_principal() -> None:
    pipeline = yaml.safe_load(PIPELINES.read_text(encoding="utf-8"))
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    for stack in SHIPPED_STACKS:
        job = _pipeline_jobs(stages["preview"])[f"preview_{stack}"]
        assert job["variables"] == [{"group": f"dataops-{stack}-preview"}]
        (step,) = _azure_cli_steps(job)
        script = step["inputs"]["inlineScript"]
        assert "export DATABRICKS_AUTH_TYPE=file-oidc" in script
        assert "idToken" not in script and "azure-cli" not in script


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
