"""Run the delivery workflows offline, the way GitHub would, against local fakes.

Enough of GitHub Actions to walk the loop: the `${{ }}` expressions these workflows use
(contexts, ==, !=, &&, ||, !, always/success/failure/cancelled, startsWith, toJSON,
fromJSON), job `needs` and `if:` with GitHub's status rules, step `if:`, reusable workflows
(`uses: ./.github/workflows/…`, `with:`, `secrets: inherit`), the repository's composite
action, and `run:` steps executed with bash -e -o pipefail (GitHub's default shell) in a
work tree, with GITHUB_OUTPUT/GITHUB_ENV. Third-party actions are fakes: the test says
what each returns (release-please's outputs, pulumi's stack outputs) through `actions`.

Nothing here talks to a network but 127.0.0.1; `gh` is tests/fake_gh.py on PATH.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
FAKE_GH = Path(__file__).resolve().parent / "fake_gh.py"

# --- Expressions ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||!|\(|\)|,|\.|\[|\])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"cannot parse expression {text!r} at {position}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


def _equal(left: Any, right: Any) -> bool:
    # https://docs.github.com/actions/reference/workflows-and-actions/expressions#operators:
    # strings compare ignoring case; other mismatched types are compared as numbers.
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    if type(left) is type(right) and not isinstance(left, str | int | float):
        return bool(left == right)
    return _number(left) == _number(right)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "") if not isinstance(value, dict | list) else True


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return str(value)


@dataclass
class Status:
    """What status functions see: the previous jobs' or steps' results."""

    results: list[str] = field(default_factory=list)

    def call(self, name: str) -> bool:
        if name == "always":
            return True
        if name == "cancelled":
            return "cancelled" in self.results
        if name == "failure":
            return "failure" in self.results
        if name == "success":
            return all(result == "success" for result in self.results)
        raise ValueError(f"unknown status function {name}")


class _Parser:
    def __init__(self, text: str, context: Mapping[str, Any], status: Status) -> None:
        self.tokens = _tokens(text)
        self.index = 0
        self.context = context
        self.status = status

    def _peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.tokens[self.index]
        if expected is not None and token[1] != expected:
            raise ValueError(f"expected {expected!r}, got {token[1]!r}")
        self.index += 1
        return token

    def parse(self) -> Any:
        value = self._or()
        if self.index != len(self.tokens):
            raise ValueError(f"trailing tokens {self.tokens[self.index :]}")
        return value

    def _or(self) -> Any:
        value = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            value = value if truthy(value) else right
        return value

    def _and(self) -> Any:
        value = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            value = right if truthy(value) else value
        return value

    def _compare(self) -> Any:
        value = self._unary()
        while self._peek() in ("==", "!="):
            operator = self._take()[1]
            right = self._unary()
            value = _equal(value, right) if operator == "==" else not _equal(value, right)
        return value

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._primary()

    def _primary(self) -> Any:
        kind, text = self._take()
        if text == "(":
            inner = self._or()
            self._take(")")
            return inner
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text)
        if kind != "name":
            raise ValueError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self._peek() == "(":
            self._take()
            arguments = []
            while self._peek() != ")":
                arguments.append(self._or())
                if self._peek() == ",":
                    self._take()
            self._take(")")
            value: Any = self._function(text, arguments)
        else:
            value = self.context.get(text)
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                key = self._take()[1]
            else:
                key = to_string(self._or())
                self._take("]")
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def _function(self, name: str, arguments: list[Any]) -> Any:
        if name in ("always", "success", "failure", "cancelled"):
            return self.status.call(name)
        if name == "startsWith":
            return to_string(arguments[0]).lower().startswith(to_string(arguments[1]).lower())
        if name == "toJSON":
            return json.dumps(arguments[0], indent=2)
        if name == "fromJSON":
            return json.loads(to_string(arguments[0]))
        raise ValueError(f"unknown function {name}")


def evaluate(text: str, context: Mapping[str, Any], status: Status | None = None) -> Any:
    return _Parser(text, context, status or Status()).parse()


def condition(text: Any, context: Mapping[str, Any], status: Status) -> bool:
    """A job's or step's `if:`; without a status function it is `success() && (…)`."""
    if text is None:
        return status.call("success")
    text = str(text).strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    if not re.search(r"\b(always|success|failure|cancelled)\(", text):
        text = f"success() && ({text})"
    return truthy(evaluate(text, context, status))


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """`${{ … }}` substituted in a string, a list or a mapping (a whole-value expression
    keeps its type, as in `with:`)."""
    if isinstance(value, dict):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\$\{\{(.*?)\}\}", value.strip(), flags=re.S)
    if whole and "}}" not in whole.group(1):
        return evaluate(whole.group(1), context)
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: to_string(evaluate(m.group(1), context)), value)


def load(path: Path) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in document:  # YAML 1.1 reads the bare key `on` as true
        document["on"] = document.pop(True)
    return document


# --- Running --------------------------------------------------------------------------------

# A fake action: (rendered `with:`, the step's env) -> (outcome, outputs).
FakeAction = Callable[[dict[str, Any], dict[str, str]], tuple[str, dict[str, Any]]]


@dataclass
class JobRun:
    result: str  # success, failure, skipped
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (step label, outcome)


@dataclass
class Runner:
    """One repository checkout (work tree), fake `gh` state, fake actions, event context."""

    workdir: Path
    gh_state: Path
    actions: dict[str, FakeAction]
    env: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def run_workflow(
        self,
        name: str,
        context: dict[str, Any],
        inputs: dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
    ) -> dict[str, JobRun]:
        workflow = load(ROOT / ".github" / "workflows" / name)
        context = {**context, "inputs": inputs or {}, "secrets": secrets or {}}
        context.setdefault("vars", {})
        results: dict[str, JobRun] = {}
        pending = dict(workflow["jobs"])
        while pending:
            ready = [
                job_id
                for job_id, job in pending.items()
                if all(need in results for need in _needs(job))
            ]
            assert ready, f"cycle in {name}: {sorted(pending)}"
            for job_id in ready:
                job = pending.pop(job_id)
                needs = {
                    need: {"result": results[need].result, "outputs": results[need].outputs}
                    for need in _needs(job)
                }
                ancestors = _ancestor_results(job_id, workflow["jobs"], results)
                job_context = {**context, "needs": needs}
                if not condition(job.get("if"), job_context, Status(ancestors)):
                    results[job_id] = JobRun("skipped")
                    self.log.append(f"{name}/{job_id}: skipped")
                    continue
                matrix = job.get("strategy", {}).get("matrix", {})
                if matrix:
                    # One key, a list of values: the only matrix shape these workflows use.
                    ((key, values),) = matrix.items()
                    runs = [
                        self.run_job(name, job_id, job, {**job_context, "matrix": {key: value}})
                        for value in values
                    ]
                    failed = any(run.result == "failure" for run in runs)
                    steps = [step for run in runs for step in run.steps]
                    results[job_id] = JobRun("failure" if failed else "success", {}, steps)
                else:
                    results[job_id] = self.run_job(name, job_id, job, job_context)
                self.log.append(f"{name}/{job_id}: {results[job_id].result}")
        return results

    def run_job(
        self, workflow: str, job_id: str, job: dict[str, Any], context: dict[str, Any]
    ) -> JobRun:
        if "uses" in job:
            called = str(job["uses"]).removeprefix("./.github/workflows/")
            inputs = render(job.get("with", {}), context)
            secrets = context["secrets"] if job.get("secrets") == "inherit" else {}
            runs = self.run_workflow(called, _base(context), inputs=inputs, secrets=secrets)
            failed = any(run.result == "failure" for run in runs.values())
            steps = [step for run in runs.values() for step in run.steps]
            outputs = {k: v for run in runs.values() for k, v in run.outputs.items()}
            return JobRun("failure" if failed else "success", outputs, steps)
        job_context = {**context, "steps": {}, "env": {}}
        job_env = {k: to_string(v) for k, v in render(job.get("env", {}), job_context).items()}
        run = JobRun("success")
        outcomes: list[str] = []
        for index, step in enumerate(job.get("steps", [])):
            label = str(step.get("id") or step.get("name") or step.get("uses") or f"step {index}")
            if not condition(step.get("if"), job_context, Status(list(outcomes))):
                run.steps.append((label, "skipped"))
                continue
            outcome, outputs = self.run_step(step, job_context, job_env)
            outcomes.append(outcome)
            run.steps.append((label, outcome))
            if "id" in step:
                job_context["steps"][step["id"]] = {"outputs": outputs, "outcome": outcome}
            if outcome == "failure" and not step.get("continue-on-error"):
                run.result = "failure"
        if run.result == "success" and job.get("outputs"):
            run.outputs = {k: render(v, job_context) for k, v in job["outputs"].items()}
        return run

    def run_step(
        self, step: dict[str, Any], context: dict[str, Any], job_env: dict[str, str]
    ) -> tuple[str, dict[str, Any]]:
        env = {**job_env}
        env.update({k: to_string(v) for k, v in render(step.get("env", {}), context).items()})
        if "run" in step:
            return self._bash(str(step["run"]), env, context)
        uses = str(step["uses"])
        with_ = render(step.get("with", {}), context)
        if uses.startswith("./.github/actions/"):
            return self._composite(uses, with_, context)
        action = uses.split("@", 1)[0]
        if action not in self.actions:
            raise AssertionError(f"no fake for action {uses}")
        return self.actions[action](with_, env)

    def _composite(
        self, uses: str, with_: dict[str, Any], context: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        path = self.workdir / uses / "action.yml"
        action = yaml.safe_load(path.read_text(encoding="utf-8"))
        inputs = {
            name: to_string(with_.get(name, spec.get("default", "")))
            for name, spec in action.get("inputs", {}).items()
        }
        github = {**context["github"], "action_path": str(path.parent)}
        inner = {**context, "inputs": inputs, "github": github}
        for step in action["runs"]["steps"]:
            env = {k: to_string(v) for k, v in render(step.get("env", {}), inner).items()}
            outcome, _ = self._bash(str(step["run"]), env, inner)
            if outcome != "success":
                return outcome, {}
        return "success", {}

    def _bash(
        self, script: str, env: dict[str, str], context: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        script = render(script, context)
        output_file = self.workdir / ".github_output"
        output_file.write_text("")
        full_env = {
            "PATH": f"{self.workdir / '.fakebin'}:{os.environ['PATH']}",
            "HOME": str(self.workdir),
            "FAKE_GH_STATE": str(self.gh_state),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_ENV": str(self.workdir / ".github_env"),
            "GITHUB_STEP_SUMMARY": str(self.workdir / ".step_summary"),
            "GITHUB_REPOSITORY": context["github"]["repository"],
            "GITHUB_SERVER_URL": context["github"]["server_url"],
            **self.env,
            **env,
        }
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=self.workdir,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.log.append(f"$ {script.strip()}\n{done.stdout}{done.stderr}")
        outputs = dict(
            line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line
        )
        return ("success" if done.returncode == 0 else "failure"), outputs


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _ancestor_results(job_id: str, jobs: dict[str, Any], results: dict[str, JobRun]) -> list[str]:
    # failure() of a job is true when any job it depends on, directly or not, failed.
    seen: set[str] = set()
    stack = _needs(jobs[job_id])
    while stack:
        need = stack.pop()
        if need not in seen:
            seen.add(need)
            stack.extend(_needs(jobs[need]))
    # success() asks the direct needs only (a skipped need is not a success).
    direct = [results[need].result for need in _needs(jobs[job_id])]
    failed = ["failure" for need in seen if results[need].result == "failure"]
    return direct + failed


def _base(context: dict[str, Any]) -> dict[str, Any]:
    return {key: context[key] for key in ("github", "vars") if key in context}


def work_tree(destination: Path, python: str) -> Path:
    """A checkout for the runner: .github, the root files the scripts read, a fake taskw
    (every task passes, and is recorded), .venv/bin/python (the test interpreter) and
    `gh` (tests/fake_gh.py) on PATH; a git repository with one commit."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / ".github", destination / ".github")
    for name in ("pyproject.toml", "Pulumi.yaml", ".pulumi.version"):
        shutil.copy(ROOT / name, destination / name)
    taskw = destination / "taskw"
    taskw.write_text('#!/usr/bin/env bash\necho "taskw $*" >> "$HOME/.taskw.log"\n')
    taskw.chmod(0o755)
    (destination / ".venv" / "bin").mkdir(parents=True)
    # A wrapper, not a symlink: a symlinked virtualenv interpreter loses its packages.
    venv_python = destination / ".venv" / "bin" / "python"
    venv_python.write_text(f'#!/bin/sh\nexec "{python}" "$@"\n')
    venv_python.chmod(0o755)
    fakebin = destination / ".fakebin"
    fakebin.mkdir()
    gh = fakebin / "gh"
    gh.write_text(f'#!/bin/sh\nexec "{python}" "{FAKE_GH}" "$@"\n')
    gh.chmod(0o755)
    (destination / ".gitignore").write_text(
        ".fakebin/\n.venv/\n.github_*\n.step_summary\n.taskw.log\n"
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=destination, check=True)
    subprocess.run([*git, "add", "-A"], cwd=destination, check=True)
    subprocess.run([*git, "commit", "-qm", "feat: first"], cwd=destination, check=True)
    return destination
