"""Sandboxes through the Pulumi CLI: list the ``sandbox-<namespace>`` stacks, destroy one,
sweep those of a branch or past an age.

A sandbox is a developer's own stack of this project, named and configured by ``python -m
dataops sandbox config`` and deployed into the dev workspace. Only stacks whose name is a
sandbox name are ever read or destroyed: dev, staging and prod cannot match
``^sandbox-[a-z0-9-]+$``, whatever their outputs say; and a stack so named whose
``environment`` output is not ``sandbox`` is left alone too.

The CLI runs as an argv list (no shell) in the project root: ``pulumi stack ls`` without
``--all`` lists the stacks of the project whose Pulumi.yaml is in its working directory
(https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_ls/). Every call carries
``--non-interactive`` (a missing login fails instead of prompting) and ``--color never``
(error lines without escape codes), both global flags
(https://www.pulumi.com/docs/iac/cli/commands/pulumi/). The binary is ``$PULUMI``, else
``pulumi`` on PATH.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

SANDBOX_ENVIRONMENT = "sandbox"
# The names `sandbox config` gives (^sandbox-[a-z0-9-]+$, at most 100 characters).
SANDBOX_STACK = re.compile(r"sandbox-[a-z0-9-]+")
MAX_STACK_NAME = 100
BRANCH_REF_PREFIX = "refs/heads/"
INSTALL_URL = "https://www.pulumi.com/docs/install/"
# Reads (stack ls, stack output) answer in seconds; a backend that does not answer at all
# must not hang a sweep. A destroy runs as long as it takes (the workflow has a timeout).
READ_TIMEOUT_SECONDS = 300
# A long value (a 200-character branch) would push the table off the screen; --json has
# it whole.
TABLE_CELL = 48

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class PulumiMissingError(Exception):
    """The Pulumi CLI cannot be started; ``str(err)`` is one line."""


class SandboxInputError(Exception):
    """A name, branch or option that cannot be acted on; ``str(err)`` is one line."""


class PulumiError(Exception):
    """The Pulumi CLI answered with a failure; ``str(err)`` is one line ending with its
    last error line."""


def now() -> datetime:
    """The clock ages are measured with (tests fix it)."""
    return datetime.now(UTC)


# --- The CLI ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    returncode: int
    stdout: str
    error_line: str  # pulumi's last error line, or its last line


@dataclass(frozen=True)
class PulumiCli:
    """The Pulumi CLI, run in the project root."""

    root: Path
    binary: str = field(default_factory=lambda: os.environ.get("PULUMI") or "pulumi")

    def _argv(self, args: Sequence[str]) -> list[str]:
        return [self.binary, *args, "--non-interactive", "--color", "never"]

    def _env(self) -> dict[str, str]:
        # The "a new version is available" notice would otherwise end stderr, where the
        # reason of a failure is looked for
        # (https://www.pulumi.com/docs/iac/cli/environment-variables/).
        return dict(os.environ, PULUMI_SKIP_UPDATE_CHECK="true")

    def _missing(self, error: OSError) -> PulumiMissingError:
        if isinstance(error, FileNotFoundError):
            return PulumiMissingError(
                f"the Pulumi CLI is not installed: no {self.binary!r} to run (put pulumi on "
                f"PATH, or set PULUMI to its path): {INSTALL_URL}"
            )
        return PulumiMissingError(f"cannot run {self.binary}: {error.strerror or error}")

    def run(self, args: Sequence[str]) -> Answer:
        """Run to the end and capture what it prints."""
        try:
            done = subprocess.run(
                self._argv(args),
                cwd=self.root,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                encoding="utf-8",
                errors="replace",
                timeout=READ_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PulumiError(
                f"pulumi {' '.join(args[:2])}: no answer in {READ_TIMEOUT_SECONDS} s; "
                "is the state backend reachable?"
            ) from None
        except OSError as error:
            raise self._missing(error) from None
        # Pulumi reports a command's error on stderr; its progress display (a destroy's
        # diagnostics) goes to stdout.
        line = error_line(done.stderr) if done.stderr.strip() else error_line(done.stdout)
        return Answer(done.returncode, done.stdout, line)

    def stream(self, args: Sequence[str], out: TextIO) -> Answer:
        """Run to the end, copying its output to ``out`` line by line as it comes (a
        destroy takes minutes; CI logs and terminals show its progress)."""
        try:
            process = subprocess.Popen(
                self._argv(args),
                cwd=self.root,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                encoding="utf-8",
                errors="replace",
            )
        except OSError as error:
            raise self._missing(error) from None
        assert process.stdout is not None
        lines: list[str] = []

        def copy() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                out.write(line)
                out.flush()
                lines.append(line)

        with process:
            try:
                copy()
            except KeyboardInterrupt:
                # Ctrl-C reached pulumi too (one process group), which cancels cleanly
                # and says so; leaving before it ends would leave the stack locked.
                copy()
                raise PulumiError(
                    f"pulumi {args[0]}: interrupted; {error_line(''.join(lines))}"
                ) from None
        return Answer(process.returncode, "".join(lines), error_line("".join(lines)))

    def read_json(self, args: Sequence[str]) -> Any:
        answer = self.run(args)
        what = "pulumi " + " ".join(args)
        if answer.returncode != 0:
            raise PulumiError(f"{what}: {answer.error_line}")
        try:
            return json.loads(answer.stdout)
        except ValueError:
            raise PulumiError(f"{what}: the answer is not JSON: {answer.stdout[:80]!r}") from None


def error_line(text: str) -> str:
    """The line that says why pulumi failed: its last ``error:`` line, else its last line."""
    lines = [_ANSI.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    errors = [line for line in lines if line.lower().startswith("error:")]
    line = (errors or lines or ["no output"])[-1]
    return line if len(line) <= 400 else line[:399] + "…"


# --- Sandboxes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sandbox:
    stack: str  # sandbox-<namespace>
    ref: str  # the name `stack ls` gave (org/project-qualified outside the default org)
    owner: str | None = None
    branch: str | None = None
    created_at: datetime | None = None
    last_update: datetime | None = None
    resource_count: int | None = None
    # Why its outputs could not be read; a sweep leaves such a sandbox alone.
    unreadable: str | None = None

    def age(self, at: datetime) -> timedelta | None:
        """Since its creation; a sandbox without outputs (never deployed, or half
        destroyed) has only its last update to go by."""
        since = self.created_at or self.last_update
        return None if since is None else at - since

    def age_days(self, at: datetime) -> int | None:
        age = self.age(at)
        return None if age is None else max(age.days, 0)

    def to_json(self, at: datetime) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "owner": self.owner,
            "branch": self.branch,
            "createdAt": _iso(self.created_at),
            "lastUpdate": _iso(self.last_update),
            "ageDays": self.age_days(at),
            "resourceCount": self.resource_count,
            "outputsUnreadable": self.unreadable,
        }


def sandbox_name(stack: str) -> str:
    """``stack`` if it is a sandbox stack's name; anything else is refused."""
    if SANDBOX_STACK.fullmatch(stack) and len(stack) <= MAX_STACK_NAME:
        return stack
    raise SandboxInputError(
        f"{stack!r} is not a sandbox stack (sandbox-<namespace>: lower-case letters, digits "
        f"and '-', at most {MAX_STACK_NAME} characters); sandbox commands never touch "
        "dev, staging or prod"
    )


def branch_name(branch: str) -> str:
    """A branch as `sandboxBranch` holds it: without ``refs/heads/`` (a ref, as some
    events and tools give it, names the same branch)."""
    name = branch.removeprefix(BRANCH_REF_PREFIX)
    if not name:
        raise SandboxInputError(f"--branch {branch!r}: no branch name; give the git branch")
    return name


def list_sandboxes(cli: PulumiCli, warn: TextIO) -> list[Sandbox]:
    """Every sandbox stack of the project, with what its outputs and `stack ls` say.

    `stack ls --json` gives name, current, lastUpdate, updateInProgress, resourceCount
    and url, the last four only when known (``stackSummaryJSON`` in
    https://github.com/pulumi/pulumi/blob/master/pkg/cmd/pulumi/stack/stack_ls.go).
    """
    listed = cli.read_json(["stack", "ls", "--json"])
    if not isinstance(listed, list):
        raise PulumiError("pulumi stack ls --json: the answer is not a list of stacks")
    found: list[Sandbox] = []
    for entry in listed:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        ref: str = entry["name"]
        # Outside the default organization the name comes qualified (org/stack, or
        # organization/project/stack on a DIY backend); the stack's own name is last.
        stack = ref.rsplit("/", 1)[-1]
        if not (SANDBOX_STACK.fullmatch(stack) and len(stack) <= MAX_STACK_NAME):
            continue
        count = entry.get("resourceCount")
        summary = Sandbox(
            stack=stack,
            ref=ref,
            last_update=_timestamp(entry.get("lastUpdate")),
            resource_count=count if isinstance(count, int) else None,
        )
        sandbox = _with_outputs(cli, summary, warn)
        if sandbox is not None:
            found.append(sandbox)
    return found


def inspect(cli: PulumiCli, stack: str) -> Sandbox:
    """One sandbox by name, from its outputs; refused if they say it is not a sandbox."""
    summary = Sandbox(stack=sandbox_name(stack), ref=stack)
    outputs = _outputs(cli, stack)
    _check_environment(stack, outputs)
    return _from_outputs(summary, outputs)


def _outputs(cli: PulumiCli, ref: str) -> dict[str, Any]:
    # Without --show-secrets a secret output reads "[secret]"; the fields read here are
    # plain, and nothing secret is ever decrypted
    # (https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_output/). A stack with
    # no outputs (never deployed, or destroyed) answers {}.
    outputs = cli.read_json(["stack", "output", "--json", "--stack", ref])
    if not isinstance(outputs, dict):
        raise PulumiError(f"pulumi stack output --json --stack {ref}: the answer is not a map")
    return outputs


def _check_environment(stack: str, outputs: dict[str, Any]) -> None:
    environment = outputs.get("environment")
    if environment is not None and environment != SANDBOX_ENVIRONMENT:
        raise SandboxInputError(
            f"{stack}: named like a sandbox, but its environment output is "
            f"{printable(str(environment))!r}; left alone"
        )


def _with_outputs(cli: PulumiCli, summary: Sandbox, warn: TextIO) -> Sandbox | None:
    try:
        outputs = _outputs(cli, summary.ref)
        _check_environment(summary.stack, outputs)
    except PulumiError as error:
        print(f"{summary.stack}: outputs unreadable: {error}", file=warn)
        return replace(summary, unreadable=str(error))
    except SandboxInputError as error:
        print(error, file=warn)
        return None
    return _from_outputs(summary, outputs)


def _from_outputs(summary: Sandbox, outputs: dict[str, Any]) -> Sandbox:
    return replace(
        summary,
        owner=_text(outputs.get("sandboxOwner")),
        branch=_text(outputs.get("sandboxBranch")),
        created_at=_timestamp(outputs.get("sandboxCreatedAt")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value and value != "[secret]" else None


def _timestamp(value: object) -> datetime | None:
    """An ISO 8601 time (sandboxCreatedAt, stack ls' lastUpdate), in UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Python 3.11+ reads a trailing Z
    except ValueError:
        return None
    # sandboxCreatedAt is UTC by contract; a time without an offset is read so.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Choosing and destroying -----------------------------------------------------------------


def check_criteria(branch: str | None, older_than_days: int | None) -> str | None:
    """The branch to sweep, as `sandboxBranch` holds it; refuses no criterion at all."""
    if branch is None and older_than_days is None:
        raise SandboxInputError("sweep: give --branch BRANCH, --older-than-days N, or both")
    return None if branch is None else branch_name(branch)


def select(
    sandboxes: Iterable[Sandbox],
    *,
    branch: str | None,
    older_than_days: int | None,
    at: datetime,
) -> list[Sandbox]:
    """The sandboxes of ``branch`` (exact), older than ``older_than_days``, or both."""
    wanted = check_criteria(branch, older_than_days)
    chosen = []
    for sandbox in sandboxes:
        if sandbox.unreadable is not None:
            continue  # what could not be inspected is not destroyed unasked
        if wanted is not None and (
            sandbox.branch is None or sandbox.branch.removeprefix(BRANCH_REF_PREFIX) != wanted
        ):
            continue
        if older_than_days is not None:
            age = sandbox.age(at)
            # An unknown age proves nothing old: such a stack never deployed anything.
            if age is None or age <= timedelta(days=older_than_days):
                continue
        chosen.append(sandbox)
    return chosen


def destroy(cli: PulumiCli, sandbox: Sandbox, out: TextIO) -> None:
    """Delete the sandbox's resources, then the stack and its local stack file.

    ``--yes`` with the preview kept (no ``--skip-preview``): a destroy that cannot finish
    (a protected resource, a provider that cannot start) then stops in the preview, before
    anything is deleted, rather than halfway. `pulumi destroy --stack` works without the
    local stack file, from the configuration last deployed, and finds the secrets
    provider in the state (https://www.pulumi.com/docs/iac/cli/commands/pulumi_destroy/;
    ``GetStackConfigurationOrLatest`` and ``FallbackToState`` in pkg/cmd/pulumi/operations/
    destroy.go): CI has no Pulumi.sandbox-*.yaml, which is generated and gitignored.
    `stack rm` without ``--force`` refuses a stack that still has resources
    (https://www.pulumi.com/docs/iac/cli/commands/pulumi_stack_rm/).
    """
    destroyed = cli.stream(["destroy", "--yes", "--stack", sandbox.ref], out)
    if destroyed.returncode != 0:
        raise PulumiError(f"{sandbox.stack}: destroy failed, stack kept: {destroyed.error_line}")
    removed = cli.run(["stack", "rm", "--yes", "--stack", sandbox.ref])
    if removed.returncode != 0:
        raise PulumiError(
            f"{sandbox.stack}: resources destroyed, but pulumi stack rm failed: "
            f"{removed.error_line}"
        )
    # `stack rm` deletes the stack file it finds in the project; this covers a file it
    # did not (the stack listed under a qualified name). The name is a sandbox name, so
    # the path stays in the root.
    stack_file = cli.root / f"Pulumi.{sandbox.stack}.yaml"
    try:
        stack_file.unlink(missing_ok=True)
    except OSError as error:
        raise PulumiError(
            f"{sandbox.stack}: destroyed and removed, but {stack_file} is still there: "
            f"{error.strerror or error}"
        ) from None


@dataclass
class SweepResult:
    listed: int
    selected: list[Sandbox]
    failed: list[str] = field(default_factory=list)  # the stacks whose destroy failed


def sweep(
    cli: PulumiCli,
    *,
    branch: str | None,
    older_than_days: int | None,
    dry_run: bool,
    at: datetime,
    out: TextIO,
    err: TextIO,
) -> SweepResult:
    """Destroy every selected sandbox, going on past a failure; each failure is a line
    on ``err``, and the summary the last line on ``out``."""
    wanted = check_criteria(branch, older_than_days)  # refused before anything is listed
    sandboxes = list_sandboxes(cli, err)
    chosen = select(sandboxes, branch=branch, older_than_days=older_than_days, at=at)
    result = SweepResult(len(sandboxes), chosen)
    for sandbox in chosen:
        line = f"{sandbox.stack} ({_describe(sandbox, at)})"
        if dry_run:
            print(f"would destroy {line}", file=out)
            continue
        print(f"destroying {line}", file=out, flush=True)
        try:
            destroy(cli, sandbox, out)
        except PulumiError as error:
            result.failed.append(sandbox.stack)
            print(error, file=err, flush=True)
        else:
            print(f"{sandbox.stack}: destroyed, stack removed", file=out, flush=True)
    print(_summary(result, wanted, older_than_days, dry_run), file=out)
    return result


def _summary(
    result: SweepResult, branch: str | None, older_than_days: int | None, dry_run: bool
) -> str:
    criteria = []
    if branch is not None:
        criteria.append(f"branch {printable(branch)!r}")
    if older_than_days is not None:
        criteria.append(f"older than {older_than_days} days")
    chosen = len(result.selected)
    matched = f"{chosen} of {result.listed} sandboxes match {' and '.join(criteria)}"
    if dry_run:
        return f"sweep (dry run): {matched}; nothing destroyed"
    if result.failed:
        return (
            f"sweep: {matched}; destroyed {chosen - len(result.failed)}, "
            f"failed {len(result.failed)}: {', '.join(result.failed)}"
        )
    return f"sweep: {matched}; destroyed {chosen}"


def _describe(sandbox: Sandbox, at: datetime) -> str:
    age = sandbox.age_days(at)
    return ", ".join(
        [
            f"owner {printable(sandbox.owner or '?')}",
            f"branch {printable(sandbox.branch or '?')!r}",
            f"{'?' if age is None else age} days old",
            f"{'?' if sandbox.resource_count is None else sandbox.resource_count} resources",
        ]
    )


# --- Showing ---------------------------------------------------------------------------------


def printable(text: str) -> str:
    """``text`` safe for a terminal: a branch is any text, escape sequences included."""
    return "".join(char if char.isprintable() else "\ufffd" for char in text)


def _cell(text: str | None, width: int | None = TABLE_CELL) -> str:
    shown = "-" if text is None else printable(text)
    if width is not None and len(shown) > width:
        shown = shown[: width - 1] + "…"
    return shown


def render_table(sandboxes: Sequence[Sandbox], at: datetime) -> str:
    """The sandboxes as a table: stack, owner, branch, age in days, resources."""
    if not sandboxes:
        return "no sandbox stacks (sandbox-*) in this project's backend\n"
    header = ("STACK", "OWNER", "BRANCH", "AGE (DAYS)", "RESOURCES")
    rows = [header]
    for sandbox in sandboxes:
        age = sandbox.age_days(at)
        count = sandbox.resource_count
        rows.append(
            (
                _cell(sandbox.stack, None),
                _cell(sandbox.owner) if sandbox.unreadable is None else "(outputs unreadable)",
                _cell(sandbox.branch),
                "-" if age is None else str(age),
                "-" if count is None else str(count),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"
