"""``python -m dataops sandbox list|down|sweep`` against a fake Pulumi CLI.

The fake (written to tmp_path, named by $PULUMI or found on PATH) answers `stack ls
--json` and `stack output --json` from a JSON state file in the shapes the real CLI prints,
destroys and removes stacks in it, and records every invocation; it refuses any call
without --non-interactive and any --show-secrets. The clock is fixed.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dataops import sandbox_stacks
from dataops.cli import main

NOW = datetime(2026, 12, 2, 16, 30, tzinfo=UTC)
# Any text a git branch may hold, and a long one: the sweep matches it exactly.
UNICODE_BRANCH = "fix/naïve-数据-🚀 $(touch pwned) 'q' \"dq\" " + "x" * 200

FAKE_PULUMI = r"""
import json, os, sys

state_path = os.environ["FAKE_PULUMI_STATE"]
with open(state_path, encoding="utf-8") as handle:
    state = json.load(handle)
argv = sys.argv[1:]
state["calls"].append(argv)


def done(status, out="", err=""):
    sys.stdout.write(out)
    sys.stderr.write(err)
    with open(state_path, "w", encoding="utf-8") as handle:
        json.dump(state, handle, ensure_ascii=False, indent=1)
    sys.exit(status)


if "--show-secrets" in argv:
    done(64, err="fake pulumi: --show-secrets is never to be used\n")
if "--non-interactive" not in argv or argv[argv.index("--color") + 1] != "never":
    done(64, err="fake pulumi: every call is --non-interactive --color never\n")
positional, flags, index = [], {}, 0
while index < len(argv):
    if argv[index] in ("--stack", "--color"):
        flags[argv[index]] = argv[index + 1]
        index += 2
        continue
    if argv[index].startswith("-"):
        flags[argv[index]] = True
    else:
        positional.append(argv[index])
    index += 1
names = [stack["name"] for stack in state["stacks"]]
stack = flags.get("--stack")
if positional == ["stack", "ls"] and flags.get("--json"):
    if "ls" in state["fail"]:
        done(255, err=state["fail"]["ls"] + "\n")
    # Sorted by name, as the real CLI prints them.
    listed = sorted(state["stacks"], key=lambda entry: entry["name"])
    done(0, out=json.dumps(listed, indent=4, ensure_ascii=False) + "\n")
if stack is not None and stack not in names:
    done(255, err=f"error: no stack named '{stack}' found\n")
if positional == ["stack", "output"] and flags.get("--json") and stack:
    if stack in state["fail"].get("output", []):
        done(255, err="error: getting outputs: failed to load checkpoint: 403 Forbidden\n")
    done(0, out=json.dumps(state["outputs"].get(stack, {}), ensure_ascii=False) + "\n")
if positional == ["destroy"] and flags.get("--yes") and stack:
    progress = f"Destroying ({stack}):\n"
    if stack in state["fail"].get("destroy", []):
        # Colour codes, in case a provider's message carries its own.
        failure = "    \x1b[31merror:\x1b[0m deleting urn:...:Job: 403 PERMISSION_DENIED\n"
        done(255, out=progress + failure + "Resources:\n    3 unchanged\n")
    for entry in state["stacks"]:
        if entry["name"] == stack:
            entry["resourceCount"] = 0
    state["outputs"][stack] = {}
    done(0, out=progress + "Resources:\n    - 12 deleted\n")
if positional == ["stack", "rm"] and flags.get("--yes") and stack:
    (entry,) = [entry for entry in state["stacks"] if entry["name"] == stack]
    if entry.get("resourceCount"):
        done(255, err=f"error: '{stack}' still has resources; removal rejected.\n")
    state["stacks"].remove(entry)
    done(0, out=f"Stack '{stack}' has been removed!\n")
done(64, err=f"fake pulumi: unexpected call {argv}\n")
"""


def outputs(owner: str, branch: str, created: str, **extra: str) -> dict[str, str]:
    return {
        "environment": "sandbox",
        "sandboxNamespace": "ns",
        "sandboxOwner": owner,
        "sandboxBranch": branch,
        "sandboxCreatedAt": created,
        "workspaceUrl": "https://adb-1.azuredatabricks.net",
        "deployerSecret": "[secret]",
        **extra,
    }


@dataclass
class FakePulumi:
    executable: Path
    state_file: Path
    root: Path

    @property
    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return state

    def update(self, **changes: Any) -> None:
        self.state_file.write_text(
            json.dumps({**self.state, **changes}, ensure_ascii=False), encoding="utf-8"
        )

    @property
    def calls(self) -> list[list[str]]:
        return [list(call) for call in self.state["calls"]]

    def commands(self) -> list[str]:
        """Every call as `<command> <stack>`, without the global flags."""
        shown = []
        for call in self.calls:
            words, index = [], 0
            while index < len(call):
                if call[index] in ("--color", "--stack"):
                    if call[index] == "--stack":
                        words.append(call[index + 1])
                    index += 2
                    continue
                if not call[index].startswith("-"):
                    words.append(call[index])
                index += 1
            shown.append(" ".join(words))
        return shown

    @property
    def stacks(self) -> list[str]:
        return [stack["name"] for stack in self.state["stacks"]]


@pytest.fixture
def pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePulumi]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text("name: dataops\nruntime: python\n")
    executable = tmp_path / "bin" / "pulumi"
    executable.parent.mkdir()
    executable.write_text(f"#!{sys.executable}\n{FAKE_PULUMI}", encoding="utf-8")
    executable.chmod(0o755)
    state_file = tmp_path / "pulumi-state.json"
    stacks = [
        {"name": "dev", "current": False, "lastUpdate": "2026-11-30T10:00:00.000Z"},
        {"name": "prod", "current": False, "lastUpdate": "2026-10-01T10:00:00.000Z"},
        # Named like a sandbox, but not one: upper case is outside the naming rule.
        {"name": "sandbox-Upper", "current": False, "resourceCount": 3},
        {
            "name": "sandbox-ben-okafor-feature-orders-v2-e799d33a2d",
            "current": True,
            "lastUpdate": "2026-11-20T09:00:00.000Z",
            "resourceCount": 42,
        },
        # Never deployed past its first, failed update; outputs empty.
        {
            "name": "sandbox-ada-spike-0a1b2c3d4e",
            "current": False,
            "lastUpdate": "2026-11-01T08:00:00.000Z",
            "resourceCount": 2,
        },
        {
            "name": "sandbox-li-wei-unicode-9f8e7d6c5b",
            "current": False,
            "lastUpdate": "2026-11-29T12:00:00.000Z",
            "resourceCount": 17,
        },
        {
            "name": "sandbox-sam-fresh-1234567890",
            "current": False,
            "lastUpdate": "2026-12-01T12:00:00.000Z",
            "resourceCount": 5,
        },
    ]
    state = {
        "stacks": stacks,
        "outputs": {
            # dev and prod claim the swept branch: they must not be touched anyway.
            "dev": outputs("ci@example.com", "feature/orders-v2", "2026-01-01T00:00:00Z")
            | {"environment": "dev"},
            "prod": outputs("ci@example.com", "feature/orders-v2", "2026-01-01T00:00:00Z")
            | {"environment": "prod"},
            "sandbox-Upper": outputs("x@example.com", "feature/orders-v2", "2026-01-01T00:00:00Z"),
            "sandbox-ben-okafor-feature-orders-v2-e799d33a2d": outputs(
                "ben.okafor@example.com", "feature/orders-v2", "2026-11-01T16:30:00Z"
            ),
            "sandbox-ada-spike-0a1b2c3d4e": {},
            "sandbox-li-wei-unicode-9f8e7d6c5b": outputs(
                "li.wei@example.com", UNICODE_BRANCH, "2026-11-25T16:30:00Z"
            ),
            "sandbox-sam-fresh-1234567890": outputs(
                "sam@example.com", "feature/fresh", "2026-11-29T16:30:00Z"
            ),
        },
        "fail": {},
        "calls": [],
    }
    state_file.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("PULUMI", str(executable))
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(state_file))
    monkeypatch.setattr(sandbox_stacks, "now", lambda: NOW)
    for stack in stacks:
        (root / f"Pulumi.{stack['name']}.yaml").write_text("config: {}\n")
    yield FakePulumi(executable, state_file, root)


def dataops(fake: FakePulumi, *args: str) -> subprocess.CompletedProcess[str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            status = main(["--root", str(fake.root), "sandbox", *args])
        except SystemExit as exit_:  # argparse exits on bad arguments
            status = int(exit_.code or 0)
    return subprocess.CompletedProcess(args, status, stdout.getvalue(), stderr.getvalue())


def assert_one_line(result: subprocess.CompletedProcess[str], status: int, text: str) -> None:
    assert result.returncode == status, result
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr, result.stderr


SANDBOXES = [
    "sandbox-ada-spike-0a1b2c3d4e",
    "sandbox-ben-okafor-feature-orders-v2-e799d33a2d",
    "sandbox-li-wei-unicode-9f8e7d6c5b",
    "sandbox-sam-fresh-1234567890",
]


# --- list ------------------------------------------------------------------------------------


def test_list_reads_every_sandbox_and_only_sandboxes(pulumi: FakePulumi) -> None:
    result = dataops(pulumi, "list", "--json")
    assert result.returncode == 0, result.stderr
    records = {record["stack"]: record for record in json.loads(result.stdout)}
    assert sorted(records) == SANDBOXES
    assert records["sandbox-ben-okafor-feature-orders-v2-e799d33a2d"] == {
        "stack": "sandbox-ben-okafor-feature-orders-v2-e799d33a2d",
        "owner": "ben.okafor@example.com",
        "branch": "feature/orders-v2",
        "createdAt": "2026-11-01T16:30:00Z",
        "lastUpdate": "2026-11-20T09:00:00Z",
        "ageDays": 31,
        "resourceCount": 42,
        "outputsUnreadable": None,
    }
    # Empty outputs: still listed, owner and branch unknown, aged by its last update.
    assert records["sandbox-ada-spike-0a1b2c3d4e"] == {
        "stack": "sandbox-ada-spike-0a1b2c3d4e",
        "owner": None,
        "branch": None,
        "createdAt": None,
        "lastUpdate": "2026-11-01T08:00:00Z",
        "ageDays": 31,
        "resourceCount": 2,
        "outputsUnreadable": None,
    }
    assert records["sandbox-li-wei-unicode-9f8e7d6c5b"]["branch"] == UNICODE_BRANCH
    # Outputs were read for the sandboxes alone, and never with --show-secrets.
    assert pulumi.commands() == ["stack ls"] + [f"stack output {stack}" for stack in SANDBOXES]


def test_list_table_shows_age_in_days_on_a_fixed_clock(pulumi: FakePulumi) -> None:
    result = dataops(pulumi, "list")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["STACK", "OWNER", "BRANCH", "AGE", "(DAYS)", "RESOURCES"]
    cells = {row.split()[0]: row.split() for row in rows}
    assert cells["sandbox-ben-okafor-feature-orders-v2-e799d33a2d"] == [
        "sandbox-ben-okafor-feature-orders-v2-e799d33a2d",
        "ben.okafor@example.com",
        "feature/orders-v2",
        "31",
        "42",
    ]
    assert cells["sandbox-ada-spike-0a1b2c3d4e"][1:] == ["-", "-", "31", "2"]
    # Created 2026-11-29T16:30Z: three days to the second. The long branch is cut to its
    # column.
    assert cells["sandbox-sam-fresh-1234567890"][3] == "3"
    unicode_row = next(row for row in rows if row.startswith("sandbox-li-wei"))
    assert "fix/naïve-数据-🚀" in unicode_row and "…" in unicode_row and "x" * 60 not in unicode_row


def test_ages_count_whole_days_from_the_creation_time() -> None:
    sandbox = sandbox_stacks.Sandbox(
        stack="sandbox-a",
        ref="sandbox-a",
        created_at=datetime(2026, 11, 2, 16, 30, 1, tzinfo=UTC),
        last_update=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert sandbox.age_days(NOW) == 29  # a second short of 30 days
    assert sandbox_stacks.Sandbox(stack="sandbox-a", ref="sandbox-a").age_days(NOW) is None


def test_a_stack_named_like_a_sandbox_that_says_otherwise_is_left_alone(
    pulumi: FakePulumi,
) -> None:
    state = pulumi.state
    state["stacks"].append({"name": "sandbox-impostor", "resourceCount": 9})
    state["outputs"]["sandbox-impostor"] = outputs("x@example.com", "feature/orders-v2", "")
    state["outputs"]["sandbox-impostor"]["environment"] = "prod"
    pulumi.update(**state)
    result = dataops(pulumi, "sweep", "--branch", "feature/orders-v2")
    assert result.returncode == 0, result.stderr
    assert "sandbox-impostor: named like a sandbox, but its environment output is 'prod'" in (
        result.stderr
    )
    assert "sandbox-impostor" in pulumi.stacks
    assert "destroy sandbox-impostor" not in pulumi.commands()
    assert dataops(pulumi, "down", "--stack", "sandbox-impostor").returncode == 2
    assert "sandbox-impostor" in pulumi.stacks


def test_a_sandbox_whose_outputs_cannot_be_read_is_listed_and_left_alone(
    pulumi: FakePulumi,
) -> None:
    stack = "sandbox-ada-spike-0a1b2c3d4e"
    pulumi.update(fail={"output": [stack]})
    listed = dataops(pulumi, "list", "--json")
    assert listed.returncode == 0
    assert listed.stderr == (
        f"{stack}: outputs unreadable: pulumi stack output --json --stack {stack}: error: "
        "getting outputs: failed to load checkpoint: 403 Forbidden\n"
    )
    (record,) = [r for r in json.loads(listed.stdout) if r["stack"] == stack]
    assert record["outputsUnreadable"] and record["ageDays"] == 31
    swept = dataops(pulumi, "sweep", "--older-than-days", "14")
    assert swept.returncode == 0
    assert f"destroy {stack}" not in pulumi.commands()
    assert "destroy sandbox-ben-okafor-feature-orders-v2-e799d33a2d" in pulumi.commands()


def test_text_from_outputs_cannot_drive_the_terminal() -> None:
    assert (
        sandbox_stacks.printable("feature/\x1b]0;owned\x07x\n")
        == "feature/\ufffd]0;owned\ufffdx\ufffd"
    )


# --- down ------------------------------------------------------------------------------------


def test_down_destroys_then_removes_the_stack_and_its_file(pulumi: FakePulumi) -> None:
    stack = "sandbox-ben-okafor-feature-orders-v2-e799d33a2d"
    result = dataops(pulumi, "down", "--stack", stack)
    assert result.returncode == 0, result.stderr
    assert pulumi.commands() == [f"stack output {stack}", f"destroy {stack}", f"stack rm {stack}"]
    destroy = pulumi.calls[1]
    # Unattended, but with the preview: a destroy that cannot finish stops before it starts.
    assert "--yes" in destroy and "--skip-preview" not in destroy
    assert stack not in pulumi.stacks
    assert not (pulumi.root / f"Pulumi.{stack}.yaml").exists()
    assert "Destroying (sandbox-ben" in result.stdout  # pulumi's progress, streamed
    assert result.stdout.endswith(f"{stack}: destroyed, stack removed\n")


@pytest.mark.parametrize(
    "stack", ["dev", "prod", "staging", "sandbox-Upper", "sandbox-", "sandbox-a/../../x"]
)
def test_down_refuses_what_is_not_a_sandbox_before_calling_pulumi(
    pulumi: FakePulumi, stack: str
) -> None:
    result = dataops(pulumi, "down", "--stack", stack)
    assert_one_line(result, 2, "is not a sandbox stack (sandbox-<namespace>")
    assert pulumi.calls == []


def test_down_of_a_stack_that_is_not_there(pulumi: FakePulumi) -> None:
    result = dataops(pulumi, "down", "--stack", "sandbox-gone")
    assert_one_line(result, 1, "error: no stack named 'sandbox-gone' found")
    assert pulumi.commands() == ["stack output sandbox-gone"]


# --- sweep -----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "refs/heads/"])
def test_sweep_by_branch_destroys_exactly_that_branch_s_sandboxes(
    pulumi: FakePulumi, prefix: str
) -> None:
    result = dataops(pulumi, "sweep", "--branch", prefix + UNICODE_BRANCH)
    assert result.returncode == 0, result.stderr
    stack = "sandbox-li-wei-unicode-9f8e7d6c5b"
    assert [c for c in pulumi.commands() if not c.startswith("stack output")] == [
        "stack ls",
        f"destroy {stack}",
        f"stack rm {stack}",
    ]
    assert pulumi.stacks == [
        "dev",
        "prod",
        "sandbox-Upper",
        "sandbox-ben-okafor-feature-orders-v2-e799d33a2d",
        "sandbox-ada-spike-0a1b2c3d4e",
        "sandbox-sam-fresh-1234567890",
    ]
    assert not (pulumi.root / f"Pulumi.{stack}.yaml").exists()
    assert (pulumi.root / "Pulumi.sandbox-sam-fresh-1234567890.yaml").exists()
    assert not (pulumi.root / "pwned").exists()
    assert result.stdout.splitlines()[-1].startswith("sweep: 1 of 4 sandboxes match branch ")
    assert result.stdout.splitlines()[-1].endswith("; destroyed 1")


def test_sweep_never_touches_dev_or_prod_whatever_their_outputs_say(pulumi: FakePulumi) -> None:
    result = dataops(pulumi, "sweep", "--branch", "feature/orders-v2")
    assert result.returncode == 0, result.stderr
    assert [call for call in pulumi.calls if set(call) & {"dev", "prod", "sandbox-Upper"}] == []
    assert "destroy sandbox-ben-okafor-feature-orders-v2-e799d33a2d" in pulumi.commands()
    assert {"dev", "prod", "sandbox-Upper"} <= set(pulumi.stacks)


def test_sweep_by_age_uses_the_creation_time_else_the_last_update(pulumi: FakePulumi) -> None:
    result = dataops(pulumi, "sweep", "--older-than-days", "14")
    assert result.returncode == 0, result.stderr
    destroyed = [c.split()[1] for c in pulumi.commands() if c.startswith("destroy")]
    # ben: created 31 days ago; ada: no outputs, last updated 31 days ago. li-wei (7 days)
    # and sam (3 days) stay, although sam's last update is recent and li-wei's too.
    assert destroyed == [
        "sandbox-ada-spike-0a1b2c3d4e",
        "sandbox-ben-okafor-feature-orders-v2-e799d33a2d",
    ]
    assert result.stdout.splitlines()[-1] == (
        "sweep: 2 of 4 sandboxes match older than 14 days; destroyed 2"
    )


def test_sweep_with_branch_and_age_needs_both(pulumi: FakePulumi) -> None:
    result = dataops(
        pulumi, "sweep", "--branch", "feature/orders-v2", "--older-than-days", "40", "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "sweep (dry run): 0 of 4 sandboxes match branch 'feature/orders-v2' and older than "
        "40 days; nothing destroyed"
    ]


def test_dry_run_destroys_nothing(pulumi: FakePulumi) -> None:
    result = dataops(pulumi, "sweep", "--older-than-days", "0", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert [c for c in pulumi.commands() if not c.startswith(("stack ls", "stack output"))] == []
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "would destroy sandbox-ada-spike-0a1b2c3d4e (owner ?, branch '?', 31 days old, 2 resources)"
    )
    assert len([line for line in lines if line.startswith("would destroy")]) == 4
    assert (
        lines[-1] == "sweep (dry run): 4 of 4 sandboxes match older than 0 days; nothing destroyed"
    )
    assert len(pulumi.stacks) == 7


def test_a_failed_destroy_keeps_its_stack_and_the_others_still_go(pulumi: FakePulumi) -> None:
    failing = "sandbox-ben-okafor-feature-orders-v2-e799d33a2d"
    pulumi.update(fail={"destroy": [failing]})
    result = dataops(pulumi, "sweep", "--older-than-days", "14")
    assert result.returncode == 1
    assert f"stack rm {failing}" not in pulumi.commands()
    assert "stack rm sandbox-ada-spike-0a1b2c3d4e" in pulumi.commands()
    assert failing in pulumi.stacks and "sandbox-ada-spike-0a1b2c3d4e" not in pulumi.stacks
    assert (pulumi.root / f"Pulumi.{failing}.yaml").exists()
    assert result.stderr == (
        f"{failing}: destroy failed, stack kept: error: deleting urn:...:Job: 403 "
        "PERMISSION_DENIED\n"
    )
    assert result.stdout.splitlines()[-1] == (
        f"sweep: 2 of 4 sandboxes match older than 14 days; destroyed 1, failed 1: {failing}"
    )


def test_a_failed_down_is_one_line_and_removes_nothing(pulumi: FakePulumi) -> None:
    stack = "sandbox-sam-fresh-1234567890"
    pulumi.update(fail={"destroy": [stack]})
    result = dataops(pulumi, "down", "--stack", stack)
    assert_one_line(result, 1, f"{stack}: destroy failed, stack kept: error: deleting urn:")
    assert f"stack rm {stack}" not in pulumi.commands()
    assert (pulumi.root / f"Pulumi.{stack}.yaml").exists()


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ([], "sweep: give --branch BRANCH, --older-than-days N, or both"),
        (["--branch", ""], "--branch '': no branch name"),
        (["--branch", "refs/heads/"], "--branch 'refs/heads/': no branch name"),
        (["--older-than-days", "-1"], "argument --older-than-days: '-1' is not a whole number"),
        (["--older-than-days", "two"], "argument --older-than-days: 'two' is not a whole number"),
    ],
)
def test_bad_sweep_input_is_one_line_and_calls_nothing(
    pulumi: FakePulumi, args: list[str], text: str
) -> None:
    assert_one_line(dataops(pulumi, "sweep", *args), 2, text)
    assert pulumi.calls == []


# --- The CLI itself --------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["list"], ["sweep", "--older-than-days", "1"]])
def test_no_pulumi_cli_is_one_line_with_status_2(
    pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    monkeypatch.setenv("PULUMI", str(tmp_path / "nowhere" / "pulumi"))
    assert_one_line(dataops(pulumi, *command), 2, "the Pulumi CLI is not installed")
    monkeypatch.delenv("PULUMI")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    result = dataops(pulumi, *command)
    assert_one_line(result, 2, "the Pulumi CLI is not installed: no 'pulumi' to run")
    assert "https://www.pulumi.com/docs/install/" in result.stderr


def test_the_pulumi_on_path_is_used_without_the_variable(
    pulumi: FakePulumi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULUMI")
    monkeypatch.setenv("PATH", f"{pulumi.executable.parent}:/usr/bin:/bin")
    result = dataops(pulumi, "list", "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 4


def test_pulumi_failing_is_its_last_error_line(pulumi: FakePulumi) -> None:
    pulumi.update(
        fail={
            "ls": "warning: A new version of Pulumi is available.\n"
            "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI "
            "sessions\nhint: run pulumi login"
        }
    )
    result = dataops(pulumi, "sweep", "--branch", "feature/x")
    assert_one_line(
        result,
        1,
        "pulumi stack ls --json: error: PULUMI_ACCESS_TOKEN must be set for login during "
        "non-interactive CLI sessions",
    )
    assert pulumi.commands() == ["stack ls"]


def test_the_sandbox_group_takes_one_handler_per_subcommand() -> None:
    from dataops import cli

    parser = cli.build_parser()
    assert set(cli.SANDBOX_COMMANDS) == {"config", "list", "down", "sweep"}
    args = parser.parse_args(["sandbox", "sweep", "--branch", "b", "--dry-run"])
    assert (args.command, args.sandbox_command, args.branch, args.dry_run) == (
        "sandbox",
        "sweep",
        "b",
        True,
    )
