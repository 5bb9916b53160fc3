"""The delivery loop, walked offline: the workflows run as GitHub would run them
(tests/workflow_runner.py) against local fakes of GitHub (`gh`, tests/fake_gh.py), GitHub's
and Azure DevOps' OIDC endpoints, Databricks and Teams (tests/delivery_fakes.py), all on
127.0.0.1.

A change: pull request -> checks and the offline-diff comment -> merge -> staging deploy and
its integration tests -> the release pull request's checks -> release -> prod. The
fast-track: `/release` -> "Initialized" -> merge at the head commit -> dispatch -> prod ->
"Release Complete". And the ways it fails: a refusal, a merge or dispatch that fails, a
deploy that fails, each answered on the pull request and carded to Teams with the stack,
environment, version and run link.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from delivery_fakes import (
    FAKE_JWT,
    REPOSITORY_VARS,
    FakeServer,
    databricks_routes,
    oidc_routes,
    serve,
    teams_routes,
)
from workflow_runner import ROOT, JobRun, Runner, work_tree

REPO = "acme/dataops"
SERVER = "https://github.com"
# The branch release-please names its pull request (tests/test_release_please.py).
RELEASE_BRANCH = "release-please--branches--main--components--dataops"
TAG = "v0.2.0"
PYPROJECT_VERSION = "0.1.0"


def run_url(run_id: str) -> str:
    return f"{SERVER}/{REPO}/actions/runs/{run_id}"


@dataclass
class Loop:
    """One repository, its fakes, and what the fake actions were asked to do."""

    runner: Runner
    teams: FakeServer
    databricks: FakeServer
    head_sha: str
    release: dict[str, str] = field(default_factory=dict)  # release-please's outputs
    failing_stacks: set[str] = field(default_factory=set)  # `pulumi up` fails for these
    deploys: list[dict[str, Any]] = field(default_factory=list)  # pulumi/actions `with:`
    checkouts: list[str] = field(default_factory=list)  # actions/checkout refs

    @property
    def gh(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.runner.gh_state.read_text())
        return state

    def set_gh(self, update: Callable[[dict[str, Any]], None]) -> None:
        state = self.gh
        update(state)
        self.runner.gh_state.write_text(json.dumps(state))

    def comments(self, pr: str) -> list[str]:
        return [comment["body"] for comment in self.gh["comments"].get(pr, [])]

    def cards(self) -> list[dict[str, Any]]:
        return [request.json() for request in self.teams.requests]

    def github(self, run_id: str, **extra: Any) -> dict[str, Any]:
        context = {
            "repository": REPO,
            "server_url": SERVER,
            "run_id": run_id,
            "sha": self.head_sha,
            "actor": "alice",
            "token": "ghs_fake_run_token",
            "ref": "refs/heads/main",
            "ref_name": "main",
            "event_name": "push",
            "event": {},
        }
        context.update(extra)
        return {"github": context, "vars": REPOSITORY_VARS}

    def push(self, branch: str, run_id: str) -> dict[str, JobRun]:
        context = self.github(run_id, ref=f"refs/heads/{branch}", ref_name=branch)
        return self.runner.run_workflow("delivery.yml", context, secrets=self.secrets)

    def dispatch(self, run_id: str, inputs: dict[str, str]) -> dict[str, JobRun]:
        context = self.github(run_id, event_name="workflow_dispatch")
        return self.runner.run_workflow(
            "delivery.yml", context, inputs=inputs, secrets=self.secrets
        )

    def comment(self, run_id: str, author: str, body: str, pr: int = 13) -> dict[str, JobRun]:
        event = {
            "issue": {"number": pr, "pull_request": {"url": f"{SERVER}/{REPO}/pull/{pr}"}},
            "comment": {"id": 555, "body": body, "user": {"login": author}},
        }
        context = self.github(run_id, event_name="issue_comment", event=event)
        return self.runner.run_workflow("release-command.yml", context, secrets=self.secrets)

    @property
    def secrets(self) -> dict[str, str]:
        return {
            "TEAMS_WEBHOOK_URL": f"{self.teams.url}/webhook",
            "DATAOPS_APP_PRIVATE_KEY": "fake-key",
        }


def _results(runs: dict[str, JobRun]) -> dict[str, str]:
    return {job: run.result for job, run in runs.items()}


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[Loop]:
    with ExitStack() as stack:
        teams = stack.enter_context(serve(teams_routes()))
        oidc = stack.enter_context(serve(oidc_routes()))
        databricks = stack.enter_context(serve({}))
        databricks.routes.update(databricks_routes(lambda: databricks.url))
        workdir = work_tree(tmp_path / "repo", sys.executable)
        for stack_name in ("dev", "staging", "prod"):
            (workdir / f"Pulumi.{stack_name}.yaml").write_text("config: {}\n")
        # The offline engine's place: offline-diff.sh runs `$PYTHON -m dataops diff …`.
        renderer = workdir / ".fakebin" / "fake-dataops"
        renderer.write_text(
            "#!/usr/bin/env bash\n"
            "# fake-dataops -m dataops diff <stack> --against <ref> --markdown\n"
            'printf "### \\`%s\\`: 1 to create\\n" "$4"\n'
        )
        renderer.chmod(0o755)
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
        subprocess.run([*git, "add", "-A"], cwd=workdir, check=True)
        subprocess.run([*git, "commit", "-qm", "feat: stacks"], cwd=workdir, check=True)
        subprocess.run(
            ["git", "update-ref", "refs/remotes/origin/main", "HEAD"], cwd=workdir, check=True
        )
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=workdir, capture_output=True, text=True, check=True
        ).stdout.strip()
        gh_state = tmp_path / "gh.json"
        gh_state.write_text(
            json.dumps(
                {
                    "repo": REPO,
                    "roles": {"alice": "admin", "mallory": "write"},
                    "prs": {
                        "13": {
                            "headRefName": RELEASE_BRANCH,
                            "headRefOid": head,
                            "baseRefName": "main",
                            "state": "OPEN",
                            "isCrossRepository": False,
                            "title": "chore(main): release 0.2.0",
                        }
                    },
                    "comments": {},
                    "fail": {},
                    "merges": [],
                    "dispatches": [],
                    "reactions": [],
                    "statuses": [],
                    "calls": [],
                }
            )
        )
        holder: dict[str, Loop] = {}

        def ok(with_: dict[str, Any], env: dict[str, str]) -> tuple[str, dict[str, Any]]:
            return "success", {}

        def checkout(with_: dict[str, Any], env: dict[str, str]) -> tuple[str, dict[str, Any]]:
            holder["loop"].checkouts.append(str(with_.get("ref") or ""))
            return "success", {}

        def release_please(
            with_: dict[str, Any], env: dict[str, str]
        ) -> tuple[str, dict[str, Any]]:
            return "success", dict(holder["loop"].release)

        def pulumi(with_: dict[str, Any], env: dict[str, str]) -> tuple[str, dict[str, Any]]:
            current = holder["loop"]
            current.deploys.append({**with_, "GITHUB_TOKEN": env.get("GITHUB_TOKEN")})
            if with_["command"] == "up" and with_["stack-name"] in current.failing_stacks:
                return "failure", {}
            return "success", {"workspaceUrl": databricks.url, "integrationTestJobId": "7"}

        runner = Runner(
            workdir=workdir,
            gh_state=gh_state,
            actions={
                "actions/checkout": checkout,
                "actions/setup-python": ok,
                "actions/setup-node": ok,
                "azure/login": ok,
                "actions/create-github-app-token": lambda w, e: ("success", {"token": "ghs_app"}),
                "googleapis/release-please-action": release_please,
                "pulumi/actions": pulumi,
            },
            env={
                "PYTHON": str(renderer),
                # What the runner gives a job with `id-token: write`.
                "ACTIONS_ID_TOKEN_REQUEST_URL": f"{oidc.url}/github-id-token?api-version=2.0",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "fake-request-token",
            },
        )
        holder["loop"] = Loop(runner, teams, databricks, head)
        yield holder["loop"]
        # What each step printed, for whoever reads a failure (pytest shows it then).
        print("\n".join(runner.log))


def _card(
    title: str, stack: str, environment: str, version: str, commit: str, failed: str, url: str
) -> dict[str, Any]:
    """The Adaptive Card notify_teams.py sends, in full."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": title,
                            "weight": "Bolder",
                            "size": "Medium",
                            "color": "Attention",
                            "wrap": True,
                        },
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "Stack", "value": stack},
                                {"title": "Environment", "value": environment},
                                {"title": "Version", "value": version},
                                {"title": "Commit", "value": commit},
                                {"title": "Failed", "value": failed},
                                {"title": "Triggered by", "value": "alice"},
                            ],
                        },
                    ],
                    "actions": [{"type": "Action.OpenUrl", "title": "Open the run", "url": url}],
                },
            }
        ],
    }


def _initialized(sha: str, run_id: str) -> str:
    return (
        "🚀 **Fast-Track Release Initialized** by @alice: merging chore(main): release 0.2.0 "
        f"at `{sha[:7]}`, then `delivery` creates the release, deploys staging and, once the "
        "`prod` environment's reviewers approve, prod. This pull request hears back when prod "
        f"is done. Run: {run_url(run_id)}\n"
    )


# --- The loop -------------------------------------------------------------------------------


def test_a_change_walks_from_pull_request_to_prod(loop: Loop) -> None:
    # 1. A pull request into main: the checks pass, the offline diff is one comment.
    event = {
        "pull_request": {
            "number": 12,
            "base": {"sha": loop.head_sha},
            "head": {"repo": {"full_name": REPO}},
        }
    }
    pr_context = loop.github("1001", event_name="pull_request", event=event)
    pr_context["github"]["ref"] = "refs/pull/12/merge"
    for _ in range(2):  # a second push edits the same comment
        runs = loop.runner.run_workflow("pull-request.yml", pr_context, secrets=loop.secrets)
        assert _results(runs) == dict.fromkeys(
            ["lint", "typecheck", "test", "offline-diff", "preview"], "success"
        )
    (diff,) = loop.comments("12")
    short = loop.head_sha[:7]
    assert diff.startswith(
        f"<!-- dataops:offline-diff -->\n## Offline desired-state diff against `{short}`"
    )
    for stack in ("dev", "prod", "staging"):
        assert f"### `{stack}`: 1 to create" in diff
    previews = [d["stack-name"] for d in loop.deploys if d["command"] == "preview"]
    assert previews == ["dev", "staging", "prod"] * 2
    assert {d["pulumi-version-file"] for d in loop.deploys} == {".pulumi.version"}

    # 2. Merged into main: verify, release-please opens its pull request (whose checks
    # delivery runs and reports), staging is deployed and its integration tests pass.
    loop.release = {
        "prs_created": "true",
        "pr": json.dumps({"headBranchName": RELEASE_BRANCH, "number": 13}),
    }
    # The release branch checked out: release-please's one commit on top of main.
    release_sha = _commit(loop.runner.workdir, "chore(main): release 0.2.0")
    runs = loop.push("main", "1002")
    assert _results(runs) == {
        "verify": "success",
        "release-please": "success",
        "release-pr-checks": "success",
        "deploy-dev": "skipped",
        "deploy-staging": "success",
        "deploy-prod": "skipped",
        "notify-failure": "skipped",
        "report-release": "skipped",
    }
    statuses = {(s["context"], s["state"], s["sha"]) for s in loop.gh["statuses"]}
    checks = ("lint", "typecheck", "test", "offline-diff", "pr-title", "commits")
    assert statuses == {(check, "success", release_sha) for check in checks}
    (staging,) = [d for d in loop.deploys if d["command"] == "up"]
    assert staging["stack-name"] == "staging"
    assert staging["message"] == f"{loop.head_sha} (run 1002)"
    assert staging["GITHUB_TOKEN"] == "ghs_app"
    # The integration-test job ran on the staging workspace, signed in by token exchange
    # of the run's GitHub OIDC token (github-oidc, as deploy.yml's environment says).
    exchange = [r for r in loop.databricks.requests if r.path == "/oidc/v1/token"]
    assert exchange and f"subject_token={FAKE_JWT}" in exchange[0].body.decode()
    run_now = [r for r in loop.databricks.requests if r.path.endswith("/jobs/run-now")]
    assert [r.json()["job_id"] for r in run_now] == [7]

    # 3. The release pull request is merged: the release is created, staging again, then
    # prod from the tag.
    loop.release = {"release_created": "true", "tag_name": TAG, "prs_created": "false"}
    loop.deploys.clear()
    loop.checkouts.clear()
    runs = loop.push("main", "1003")
    assert _results(runs)["deploy-prod"] == "success"
    assert _results(runs)["notify-failure"] == "skipped"
    ups = [(d["stack-name"], d["message"]) for d in loop.deploys if d["command"] == "up"]
    assert ups == [("staging", f"{loop.head_sha} (run 1003)"), ("prod", f"{TAG} (run 1003)")]
    assert TAG in loop.checkouts, "prod is deployed from the release tag"
    assert loop.cards() == []


def test_release_command_merges_the_reviewed_head_and_prod_answers_complete(loop: Loop) -> None:
    runs = loop.comment("3001", "alice", "/release")
    assert _results(runs) == {"fast-track": "success"}
    assert loop.comments("13") == [_initialized(loop.head_sha, "3001")]
    assert loop.gh["reactions"] == [{"comment": 555, "content": "rocket"}]
    assert loop.gh["merges"] == [{"pr": "13", "sha": loop.head_sha, "squash": True}]
    (dispatch,) = loop.gh["dispatches"]
    assert dispatch == {"workflow": "delivery.yml", "ref": "main", "inputs": {"release-pr": "13"}}

    # The dispatched run, with the inputs the dispatch carried.
    loop.release = {"release_created": "true", "tag_name": TAG, "prs_created": "false"}
    runs = loop.dispatch("3002", dispatch["inputs"])
    assert _results(runs)["deploy-prod"] == "success"
    assert _results(runs)["report-release"] == "success"
    assert loop.comments("13")[1:] == [
        f"✅ **Release Complete**: `{TAG}` is released and deployed to prod. "
        f"Run: {run_url('3002')}\n"
    ]
    assert loop.cards() == []


def test_a_dispatch_that_fails_after_the_merge_is_answered(loop: Loop) -> None:
    loop.set_gh(
        lambda s: s["fail"].update(
            {"workflow run": "HTTP 403: Resource not accessible by integration"}
        )
    )
    runs = loop.comment("3101", "alice", "/release")
    assert _results(runs) == {"fast-track": "failure"}
    assert loop.gh["merges"] == [{"pr": "13", "sha": loop.head_sha, "squash": True}]
    assert loop.gh["dispatches"] == []
    assert loop.comments("13") == [
        _initialized(loop.head_sha, "3101"),
        "❌ **Fast-Track Release Failed**: merged, but `delivery` could not be started on "
        "`main`, so nothing is released or deployed: HTTP 403: Resource not accessible by "
        "integration. Start it with `gh workflow run delivery.yml --ref main -f release-pr=13`. "
        f"Check the logs: {run_url('3101')}\n",
    ]


def test_a_merge_refused_at_a_moved_head_is_answered(loop: Loop) -> None:
    # The branch moved between the check and the merge: GitHub refuses the stale head.
    loop.set_gh(lambda s: s["prs"]["13"].update({"headRefOid": "f" * 40}))
    loop.set_gh(lambda s: s["fail"].update({"merge": "GraphQL: Head branch was modified."}))
    runs = loop.comment("3201", "alice", "/release")
    assert _results(runs) == {"fast-track": "failure"}
    assert loop.gh["dispatches"] == [] and loop.gh["merges"] == []
    assert loop.comments("13")[1] == (
        "❌ **Fast-Track Release Failed**: could not merge at `fffffff` (approvals or checks "
        "missing, or the branch moved): GraphQL: Head branch was modified.. "
        f"Check the logs: {run_url('3201')}\n"
    )


def test_a_failed_prod_deploy_is_answered_and_carded(loop: Loop) -> None:
    loop.comment("3301", "alice", "/release")
    loop.release = {"release_created": "true", "tag_name": TAG, "prs_created": "false"}
    loop.failing_stacks = {"prod"}
    runs = loop.dispatch("3302", {"release-pr": "13"})
    assert _results(runs)["deploy-staging"] == "success"
    assert _results(runs)["deploy-prod"] == "failure"
    assert _results(runs)["notify-failure"] == "success"
    assert _results(runs)["report-release"] == "success"
    assert loop.comments("13")[1:] == [
        f"❌ **Fast-Track Release Failed**: the prod deploy of `{TAG}` ended `failure`. "
        f"Check the logs: {run_url('3302')}\n"
    ]
    assert loop.cards() == [
        _card(
            "dataops delivery failed on main",
            stack="dataops/prod",
            environment="prod",
            version=TAG,
            commit=f"main @ {loop.head_sha[:8]}",
            failed="deploy-prod",
            url=run_url("3302"),
        )
    ]


def test_failed_staging_integration_tests_stop_prod_and_are_carded(loop: Loop) -> None:
    loop.databricks.routes.update(databricks_routes(lambda: loop.databricks.url, result="FAILED"))
    loop.release = {"release_created": "true", "tag_name": TAG, "prs_created": "false"}
    runs = loop.dispatch("3401", {"release-pr": "13"})
    assert _results(runs)["deploy-staging"] == "failure"
    assert _results(runs)["deploy-prod"] == "skipped"
    assert loop.comments("13") == [
        "❌ **Fast-Track Release Failed**: the staging deploy or its integration tests ended "
        f"`failure`, so prod was not deployed. Check the logs: {run_url('3401')}\n"
    ]
    (card,) = loop.cards()
    facts = card["attachments"][0]["content"]["body"][1]["facts"]
    assert facts[:3] == [
        {"title": "Stack", "value": "dataops/staging"},
        {"title": "Environment", "value": "staging"},
        {"title": "Version", "value": TAG},
    ]


def test_a_failed_check_on_develop_is_carded_with_the_pyproject_version(loop: Loop) -> None:
    (loop.runner.workdir / "taskw").write_text("#!/usr/bin/env bash\nexit 1\n")
    runs = loop.push("develop", "3501")
    assert _results(runs)["verify"] == "failure"
    assert _results(runs)["deploy-dev"] == "skipped"
    assert loop.cards() == [
        _card(
            "dataops delivery failed on develop",
            stack="dataops/dev",
            environment="dev",
            version=f"{PYPROJECT_VERSION} (pyproject.toml, unreleased)",
            commit=f"develop @ {loop.head_sha[:8]}",
            failed="verify",
            url=run_url("3501"),
        )
    ]


# --- Refusals ---------------------------------------------------------------------------------


def test_a_commenter_without_rights_is_answered(loop: Loop) -> None:
    runs = loop.comment("3601", "mallory", "/release")
    assert _results(runs) == {"fast-track": "failure"}
    assert loop.comments("13") == [
        "@mallory `/release` is for repository maintainers and admins (your role: write); "
        "nothing was merged.\n"
    ]
    loop.comment("3602", "stranger", "/release")  # not a collaborator: a 404, no role
    assert loop.comments("13")[1] == (
        "@stranger `/release` is for repository maintainers and admins (your role: none); "
        "nothing was merged.\n"
    )
    assert loop.gh["merges"] == [] and loop.gh["dispatches"] == []


def test_a_fork_branch_named_like_the_release_branch_is_refused(loop: Loop) -> None:
    loop.set_gh(lambda s: s["prs"]["13"].update({"isCrossRepository": True}))
    runs = loop.comment("3701", "alice", "/release")
    assert _results(runs) == {"fast-track": "failure"}
    assert loop.comments("13") == [
        "@alice `/release` works on the open release pull request (release-please's branch "
        f"in this repository, into `main`); this one is `{RELEASE_BRANCH}` from a fork into "
        "`main` (OPEN). Nothing was merged.\n"
    ]
    assert loop.gh["merges"] == []


def test_other_comments_are_not_commands(loop: Loop) -> None:
    runs = loop.comment("3801", "alice", "/release-notes look fine")
    assert _results(runs) == {"fast-track": "success"}
    assert loop.gh["calls"] == []
    runs = loop.comment("3802", "alice", "LGTM")
    assert _results(runs) == {"fast-track": "skipped"}


# --- Azure DevOps: the same card builder ------------------------------------------------------


def test_azure_pipelines_cards_a_failed_prod_deploy_with_the_release_tag(tmp_path: Path) -> None:
    pipeline = yaml.safe_load((ROOT / "azure-pipelines.yml").read_text(encoding="utf-8"))
    (stage,) = [s for s in pipeline["stages"] if s["stage"] == "prod"]
    steps = stage["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]
    (notify,) = [s for s in steps if "notify_teams.py" in str(s.get("script"))]
    macros = {
        "$(Build.SourceBranchName)": TAG,
        "$(Build.BuildNumber)": "20261202.4",
        "$(Build.SourceVersion)": "0123456789abcdef0123456789abcdef01234567",
        "$(Build.RequestedFor)": "alice",
        "$(System.CollectionUri)": "https://dev.azure.com/acme/",
        "$(System.TeamProject)": "dataops",
        "$(Build.BuildId)": "4711",
    }
    with serve(teams_routes()) as teams:
        macros["$(TEAMS_WEBHOOK_URL)"] = f"{teams.url}/webhook"
        env = {}
        for key, value in notify["env"].items():
            for macro, replacement in macros.items():
                value = str(value).replace(macro, replacement)
            env[key] = value
        script = notify["script"].replace("python3", sys.executable)
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], **env},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert [r.json() for r in teams.requests] == [
            _card(
                f"dataops delivery failed deploying prod ({TAG})",
                stack="dataops/prod",
                environment="dataops-prod",
                version=TAG,
                commit=f"{TAG} @ 01234567",
                failed="deploy_prod of build 20261202.4",
                url="https://dev.azure.com/acme/dataops/_build/results?buildId=4711",
            )
        ]


# --- What reaches main is what was checked ----------------------------------------------------


def _commit(workdir: Path, message: str) -> str:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", message], cwd=workdir, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=workdir, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize(
    ("base", "title", "messages", "results"),
    [
        # A promotion into main (rebase merge): every commit must be conventional.
        ("main", "feat: sprint 12", ["feat(jobs): x", "fix: y"], ("success", "success")),
        ("main", "feat: sprint 12", ["feat(jobs): x", "wip"], ("success", "failure")),
        # Into develop only squash merges exist: the title is the commit.
        ("develop", "Update stuff", ["wip"], ("failure", "success")),
        ("develop", "fix!: drop the v1 outputs", ["wip"], ("success", "success")),
    ],
)
def test_titles_and_rebased_commits_are_conventional(
    loop: Loop, base: str, title: str, messages: list[str], results: tuple[str, str]
) -> None:
    workdir = loop.runner.workdir
    head = ""
    for message in messages:
        head = _commit(workdir, message)
    event = {
        "pull_request": {
            "number": 21,
            "title": title,
            "base": {"ref": base, "sha": loop.head_sha},
            "head": {"sha": head, "repo": {"full_name": REPO}},
        }
    }
    context = loop.github("4001", event_name="pull_request", event=event)
    runs = loop.runner.run_workflow("pr-title.yml", context)
    assert (runs["pr-title"].result, runs["commits"].result) == results
    if results[1] == "failure":
        (line,) = [line for line in loop.runner.log if "is not a Conventional Commit" in line]
        assert f"::error::commit {head[:7]} 'wip' is not a Conventional Commit" in line


def _fake_tool(path: Path, body: str) -> None:
    path.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + body)
    path.chmod(0o755)


@pytest.mark.parametrize("up_fails", [False, True])
def test_azure_pipelines_staging_deploy_signs_in_as_the_deployer(
    tmp_path: Path, up_fails: bool
) -> None:
    """The staging deploy's inline script, run as AzureCLI@2 would run it (bash, its
    environment, the macros expanded), with fake `az` and `pulumi`, the real token keeper
    against a fake Azure DevOps OIDC endpoint, and the real integration-test runner
    against a fake workspace that only accepts the exchanged token of the deployer."""
    pipeline = yaml.safe_load((ROOT / "azure-pipelines.yml").read_text(encoding="utf-8"))
    (stage,) = [s for s in pipeline["stages"] if s["stage"] == "staging"]
    steps = stage["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]
    (task,) = [s for s in steps if s.get("task") == "AzureCLI@2"]
    script = task["inputs"]["inlineScript"]
    script = script.replace("$(Build.SourceVersion)", "0" * 40).replace("$(Build.BuildId)", "7")
    workdir = work_tree(tmp_path / "repo", sys.executable)
    record = tmp_path / "pulumi.log"
    with ExitStack() as stack:
        ado = stack.enter_context(serve(oidc_routes()))
        databricks = stack.enter_context(serve({}))
        databricks.routes.update(databricks_routes(lambda: databricks.url))
        fakebin = workdir / ".fakebin"
        _fake_tool(fakebin / "az", 'echo "00000000-0000-0000-0000-0000000000a3"\n')
        _fake_tool(
            fakebin / "pulumi",
            f"""case "$1 ${{2:-}} ${{3:-}}" in
"login "*) ;;
"stack output deployerApplicationId") echo deployer-application-id ;;
"stack output workspaceUrl") echo "{databricks.url}" ;;
"stack output integrationTestJobId") echo 7 ;;
"up "*)
  {{
    echo "args=$*"
    echo "auth=$DATABRICKS_AUTH_TYPE client=$DATABRICKS_CLIENT_ID"
    echo "token=$(cat "$DATABRICKS_OIDC_TOKEN_FILEPATH")"
    echo "arm=${{ARM_USE_OIDC:-}}${{ARM_OIDC_TOKEN:-}} sub=$ARM_SUBSCRIPTION_ID"
  }} >> "{record}"
  exit {1 if up_fails else 0} ;;
*) echo "fake pulumi: $*" >&2; exit 64 ;;
esac
""",
        )
        env = {
            "PATH": f"{fakebin}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "AGENT_TEMPDIRECTORY": str(tmp_path),
            "PULUMI_BACKEND_URL": "azblob://pulumi-state",
            "SYSTEM_OIDCREQUESTURI": f"{ado.url}/ado-oidc",
            "SYSTEM_ACCESSTOKEN": "system-access-token",
            "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
        }
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        exchanges = [r for r in databricks.requests if r.path == "/oidc/v1/token"]
        run_now = [r for r in databricks.requests if r.path.endswith("/jobs/run-now")]
    lines = record.read_text().splitlines()
    assert lines == [
        "args=up --stack staging --yes --diff --non-interactive --policy-pack policy "
        f"--message {'0' * 40} (build 7)",
        "auth=file-oidc client=deployer-application-id",
        f"token={FAKE_JWT}",
        "arm= sub=00000000-0000-0000-0000-0000000000a3",
    ]
    if up_fails:
        # set -e: a failed deploy ends the step; the integration tests never start.
        assert done.returncode == 1
        assert run_now == []
        return
    assert done.returncode == 0, done.stderr
    (exchange,) = exchanges
    form = dict(pair.split("=", 1) for pair in exchange.body.decode().split("&"))
    assert form["subject_token"] == FAKE_JWT
    assert form["client_id"] == "deployer-application-id"
    assert [r.json()["job_id"] for r in run_now] == [7]


def test_a_dispatch_that_creates_no_release_says_so(loop: Loop) -> None:
    loop.release = {"prs_created": "false"}
    runs = loop.dispatch("3901", {"release-pr": "13"})
    assert _results(runs)["deploy-prod"] == "skipped"
    assert _results(runs)["report-release"] == "success"
    assert loop.comments("13") == [
        "❌ **Fast-Track Release Failed**: release-please created no release in this run "
        "(nothing to release, or another delivery run on `main` released it first: its prod "
        "deploy is the one to follow), so this run deployed no prod. "
        f"Check the logs: {run_url('3901')}\n"
    ]
    assert loop.cards() == [], "nothing failed: no Teams card"
