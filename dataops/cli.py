"""``python -m dataops``: plan, validate, diff and access-check stacks offline; list,
destroy and sweep sandbox stacks through the Pulumi CLI (``sandbox``).

``plan`` also runs the policy pack (``policy/``) over the rendered stack, at the
enforcement of its tier: violations go to stderr, one line each naming the rule and the
resource; advisory ones (dev) are warnings. ``--no-policy`` skips it.

``bundle-targets`` writes the Databricks Asset Bundle target of a stack, from its offline
plan or its real outputs (``dataops.bundles``).

Exit status: 0 success; 1 the plan is not deployable (for example two resources with
one URN, or a mandatory policy violation) or, with ``diff --exit-code``, there are
differences; 2 bad input (arguments, stack file, stack config, git ref, stack outputs),
reported as one line on stderr. ``sandbox``: 1 pulumi failed (not logged in, a destroy
that did not finish), with pulumi's last error line; 2 no Pulumi CLI, or a name that is
not a sandbox.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from components.config import (
    AnyStackConfig,
    ConfigError,
    SandboxStackConfig,
    StackConfig,
    check_shared_singletons,
)
from dataops import sandbox_stacks
from dataops.access import (
    AccessError,
    Caller,
    check_access,
    denied_line,
    render_grants,
    render_report,
)
from dataops.bundles import TARGETS_FOLDER, BundleTargetError, target_name, targets_document
from dataops.diff import diff_plans, render_markdown, render_text
from dataops.engine import PROJECT_ROOT, DuplicateResourceError, render_stack_file, validate_stack
from dataops.gitref import GitRefError, plan_at_ref
from dataops.policy import check_plan
from dataops.reference import print_reference, write_reference
from dataops.sandbox import SandboxConfigError, generate
from dataops.sandbox_stacks import PulumiCli, PulumiError, PulumiMissingError, SandboxInputError
from dataops.stackfile import StackFileError, read_stack_file, secret_placeholder, stack_names
from dataops.tree import render_tree

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exit: one line, status 2
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m dataops",
        description="Offline engine of the dataops Pulumi program: desired state, no cloud.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=PROJECT_ROOT,
        help="project root holding Pulumi.yaml and the stack files (default: this checkout)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    plan = commands.add_parser("plan", help="render a stack: resource tree and outputs")
    plan.add_argument("stack", help="stack name: Pulumi.<stack>.yaml in the project root")
    plan.add_argument(
        "--json",
        metavar="FILE",
        nargs="?",
        const="-",
        help="write the plan as JSON to FILE ('-' or no FILE: standard output)",
    )
    plan.add_argument(
        "--no-policy",
        action="store_true",
        help="skip the policy pack (its violations go to stderr; a mandatory one exits 1)",
    )

    validate = commands.add_parser("validate", help="check stack config only")
    validate.add_argument("stacks", nargs="*", metavar="stack")
    validate.add_argument(
        "--all", action="store_true", help="every Pulumi.<stack>.yaml in the root"
    )

    diff = commands.add_parser(
        "diff", help="desired-state changes between two stacks, or a stack and a git ref"
    )
    diff.add_argument("stack", help="the stack (the 'after' side)")
    diff.add_argument(
        "other", nargs="?", help="a second stack: diff STACK OTHER shows STACK -> OTHER"
    )
    diff.add_argument("--against", metavar="REF", help="git ref whose code and config are 'before'")
    diff.add_argument("--markdown", action="store_true", help="pull-request comment format")
    diff.add_argument("--json", metavar="FILE", nargs="?", const="-", help="write the diff as JSON")
    diff.add_argument(
        "--exit-code", action="store_true", help="exit 1 when there are differences (like git diff)"
    )
    access = commands.add_parser(
        "access",
        help="prove the caller can create every resource of a stack, in dependency order",
    )
    access.add_argument("stack", help="stack name: Pulumi.<stack>.yaml in the project root")
    access.add_argument(
        "--caller",
        choices=("bootstrap", "ci", "developer"),
        action="append",
        help="who deploys: the bootstrap person, or CI as the deployer (default: both); a "
        "sandbox: its developer (the default there)",
    )
    access.add_argument(
        "--grants", action="store_true", help="also print everything the plan grants each principal"
    )
    reference = commands.add_parser(
        "reference", help="print the README's generated tables: config keys and stack outputs"
    )
    reference.add_argument(
        "--write", metavar="FILE", type=Path, help="replace the generated block in FILE instead"
    )
    sandbox = commands.add_parser(
        "sandbox", help="personal sandbox stacks (sandbox-<namespace>) in the dev workspace"
    )
    sandbox_commands = sandbox.add_subparsers(
        dest="sandbox_command",
        metavar="{" + ",".join(SANDBOX_COMMANDS) + "}",
        required=True,
        parser_class=_Parser,
    )
    for name, command in SANDBOX_COMMANDS.items():
        command.arguments(sandbox_commands.add_parser(name, help=command.help))
    bundle = commands.add_parser(
        "bundle-targets",
        help="write the Databricks Asset Bundle target of a stack, from its outputs",
    )
    bundle.add_argument("stack", help="stack name: its outputs define the target")
    bundle.add_argument(
        "--outputs",
        metavar="FILE",
        type=Path,
        help="the stack's real outputs, as `pulumi stack output --json` prints them "
        "(default: render the stack offline and use the plan's outputs)",
    )
    bundle.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=Path(),
        help="the bundle's folder: writes DIR/targets/<tier>.yml (default: .)",
    )
    return parser


class OutputError(Exception):
    """An output file cannot be written; ``str(err)`` is one line naming it and what to do."""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    root: Path = args.root.resolve()
    try:
        if args.command == "plan":
            _check_target(getattr(args, "json", None), "--json")
            return _plan(root, args)
        if args.command == "validate":
            return _validate(root, args)
        if args.command == "reference":
            return _reference(args)
        if args.command == "access":
            return _access(root, args)
        if args.command == "sandbox":
            return SANDBOX_COMMANDS[args.sandbox_command].run(root, args)
        if args.command == "bundle-targets":
            return _bundle_targets(root, args)
        _check_target(getattr(args, "json", None), "--json")
        return _diff(root, args)
    except (
        ConfigError,
        StackFileError,
        GitRefError,
        OutputError,
        BundleTargetError,
        PulumiMissingError,
        SandboxInputError,
        SandboxConfigError,
    ) as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    except DuplicateResourceError as error:
        print(f"plan is not deployable: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (AccessError, PulumiError) as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED


def _plan(root: Path, args: argparse.Namespace) -> int:
    stack_file = read_stack_file(root, args.stack)
    plan = render_stack_file(stack_file)
    if args.json is None:
        sys.stdout.write(render_tree(plan))
    else:
        _write(args.json, plan.dumps())
    if args.no_policy:
        return EXIT_OK
    # On stderr: standard output stays the plan (a tree, or JSON another tool reads).
    report = check_plan(plan, frozenset(secret_placeholder(key) for key in stack_file.secure_keys))
    for line in report.lines():
        print(line, file=sys.stderr)
    return EXIT_FAILED if report.mandatory else EXIT_OK


def _validate(root: Path, args: argparse.Namespace) -> int:
    stacks: list[str] = stack_names(root) if args.all else list(args.stacks)
    if not stacks and args.all:
        print(
            f"validate --all: no Pulumi.<stack>.yaml in {root}; is this the project root (--root)?",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if not stacks:
        print("validate: name one or more stacks, or --all", file=sys.stderr)
        return EXIT_BAD_INPUT
    failed = 0
    configs: dict[str, AnyStackConfig] = {}
    for stack in stacks:
        try:
            stack_file = read_stack_file(root, stack)
            configs[stack_file.file_name] = validate_stack(stack_file)
        except (ConfigError, StackFileError) as error:
            print(error, file=sys.stderr)
            failed += 1
            continue
        print(f"{stack_file.file_name}: ok ({configs[stack_file.file_name].environment.value})")
    if args.all and not failed:
        # Rules across stacks need all of them: one owner per shared singleton.
        platforms = {name: c for name, c in configs.items() if isinstance(c, StackConfig)}
        try:
            check_shared_singletons(platforms)
        except ConfigError as error:
            print(error, file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"shared singletons: one owner each across {len(platforms)} platform stacks")
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _diff(root: Path, args: argparse.Namespace) -> int:
    if (args.other is None) == (args.against is None):
        print("diff: give either a second stack or --against REF", file=sys.stderr)
        return EXIT_BAD_INPUT
    after = render_stack_file(read_stack_file(root, args.stack)).to_json()
    if args.against:
        before = plan_at_ref(root, args.against, args.stack)
        result = diff_plans(before, after, f"{args.stack}@{args.against}", args.stack)
    else:
        # `diff dev prod` reads as "from dev to prod": what promoting dev's shape changes.
        other = render_stack_file(read_stack_file(root, args.other)).to_json()
        result = diff_plans(after, other, args.stack, args.other)
    if args.json is not None:
        _write(args.json, json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_markdown(result) if args.markdown else render_text(result))
    return EXIT_FAILED if args.exit_code and not result.empty else EXIT_OK


def _access(root: Path, args: argparse.Namespace) -> int:
    plan = render_stack_file(read_stack_file(root, args.stack))
    default_callers: tuple[Caller, ...] = ("bootstrap", "ci")
    if isinstance(plan.config, SandboxStackConfig):
        default_callers = ("developer",)
    failed = False
    for caller in args.caller or default_callers:
        report = check_access(plan, caller)
        sys.stdout.write(render_report(report))
        if line := denied_line(report):
            print(line, file=sys.stderr)
            failed = True
    if args.grants:
        sys.stdout.write(render_grants(plan))
    return EXIT_FAILED if failed else EXIT_OK


def _bundle_targets(root: Path, args: argparse.Namespace) -> int:
    out: Path = args.out
    # Before any rendering: a typo in --out should not cost a plan.
    if not out.is_dir():
        raise OutputError(
            f"bundle-targets: --out {out}: no such folder; name the bundle's folder (the one "
            "holding databricks.yml), or create it first"
        )
    if args.outputs is None:
        outputs = render_stack_file(read_stack_file(root, args.stack)).outputs
    else:
        outputs = _read_outputs(args.outputs)
    text = targets_document(args.stack, outputs, outputs_file=args.outputs is not None)
    folder = out / TARGETS_FOLDER
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"bundle-targets: --out {out}: cannot create {folder}: {_reason(error)}"
        ) from None
    path = folder / f"{target_name(args.stack, outputs)}.yml"
    _write(str(path), text, option="bundle-targets: --out")
    print(path)
    return EXIT_OK


def _read_outputs(path: Path) -> dict[str, Any]:
    """A stack's outputs from a file `pulumi stack output --json` wrote; one line if not."""
    where = f"bundle-targets: --outputs {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BundleTargetError(
            f"{where}: no such file; write it with `pulumi stack output --json -s STACK > FILE`"
        ) from None
    except UnicodeDecodeError:
        raise BundleTargetError(f"{where}: is not UTF-8 text") from None
    except OSError as error:
        raise BundleTargetError(f"{where}: cannot read it: {_reason(error)}") from None
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise BundleTargetError(
            f"{where}: is not JSON ({error.msg}, line {error.lineno} column {error.colno})"
        ) from None
    except RecursionError:  # the decoder recurses per nesting level
        raise BundleTargetError(f"{where}: is nested too deeply to be stack outputs") from None
    if not isinstance(outputs, dict):
        raise BundleTargetError(
            f"{where}: holds a JSON {type(outputs).__name__}, not the object of outputs "
            "`pulumi stack output --json` prints"
        )
    return outputs


def _reference(args: argparse.Namespace) -> int:
    if args.write is None:
        sys.stdout.write(print_reference())
        return EXIT_OK
    path: Path = args.write
    try:
        changed = write_reference(path)
    except FileNotFoundError:
        raise OutputError(
            f"{path}: no such file; --write replaces the generated blocks of an existing "
            "README (without --write the tables go to standard output)"
        ) from None
    except UnicodeDecodeError:
        raise OutputError(f"{path}: is not UTF-8 text; --write needs the README") from None
    except ValueError as error:  # the markers are missing
        raise OutputError(
            f"{path}: {error}; add both marker lines where the tables belong, then rerun"
        ) from None
    except OSError as error:
        raise OutputError(f"{path}: cannot rewrite it: {_reason(error)}") from None
    if changed:
        print(f"{args.write}: config reference updated")
    return EXIT_OK


# --- sandbox ---------------------------------------------------------------------------------


def _sandbox_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user", required=True, help="the developer's email (./taskw: git config user.email)"
    )
    parser.add_argument(
        "--branch", required=True, help="the git branch (./taskw: git branch --show-current)"
    )
    parser.add_argument(
        "--base-stack", default="dev", help="the stack whose workspace it uses (default: dev)"
    )


def _sandbox_config(root: Path, args: argparse.Namespace) -> int:
    generated = generate(root, args.user, args.branch, args.base_stack)
    verb = "created" if generated.created else "regenerated"
    print(f"{generated.path.name}: {verb} (validated)")
    print(generated.stack)  # last: ./taskw sandbox:up and sandbox:down read it
    return EXIT_OK


def _sandbox_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="a JSON list instead of the table")


def _sandbox_list(root: Path, args: argparse.Namespace) -> int:
    found = sandbox_stacks.list_sandboxes(PulumiCli(root), warn=sys.stderr)
    at = sandbox_stacks.now()
    if args.json:
        records = [sandbox.to_json(at) for sandbox in found]
        sys.stdout.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(sandbox_stacks.render_table(found, at))
    return EXIT_OK


def _sandbox_down_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack",
        required=True,
        help="the sandbox stack (sandbox-<namespace>; `./taskw sandbox:down` finds yours)",
    )


def _sandbox_down(root: Path, args: argparse.Namespace) -> int:
    cli = PulumiCli(root)
    sandbox = sandbox_stacks.inspect(cli, args.stack)
    sandbox_stacks.destroy(cli, sandbox, sys.stdout)
    print(f"{sandbox.stack}: destroyed, stack removed")
    return EXIT_OK


def _days(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days (0 or more)")
    return int(text)


def _sandbox_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--branch",
        help="the sandboxes of this git branch (exact; a refs/heads/ prefix is ignored)",
    )
    parser.add_argument(
        "--older-than-days",
        type=_days,
        metavar="N",
        help="the sandboxes created more than N days ago (with --branch: both must hold)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be destroyed, destroy nothing"
    )


def _sandbox_sweep(root: Path, args: argparse.Namespace) -> int:
    result = sandbox_stacks.sweep(
        PulumiCli(root),
        branch=args.branch,
        older_than_days=args.older_than_days,
        dry_run=args.dry_run,
        at=sandbox_stacks.now(),
        out=sys.stdout,
        err=sys.stderr,
    )
    return EXIT_FAILED if result.failed else EXIT_OK


@dataclass(frozen=True)
class SandboxCommand:
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Path, argparse.Namespace], int]


# The `sandbox` subcommands; one more is one more entry (its arguments and its handler).
SANDBOX_COMMANDS: dict[str, SandboxCommand] = {
    "config": SandboxCommand(
        "write the sandbox stack file of a user and branch; the last line is its stack",
        _sandbox_config_arguments,
        _sandbox_config,
    ),
    "list": SandboxCommand(
        "every sandbox stack: owner, branch, age in days, resources",
        _sandbox_list_arguments,
        _sandbox_list,
    ),
    "down": SandboxCommand(
        "destroy a sandbox's resources, then remove the stack and its stack file",
        _sandbox_down_arguments,
        _sandbox_down,
    ),
    "sweep": SandboxCommand(
        "destroy the sandboxes of a branch, or older than N days; goes on past a failure",
        _sandbox_sweep_arguments,
        _sandbox_sweep,
    ),
}


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


def _check_target(target: str | None, option: str) -> None:
    """Refuse an output path that cannot be written before any work is done."""
    if target is None or target == "-":
        return
    path = Path(target)
    if path.is_dir():
        raise OutputError(f"{option} {target}: is a folder; name a file in it")
    if not path.parent.is_dir():
        raise OutputError(
            f"{option} {target}: the folder {path.parent} does not exist; create it first"
        )


def _write(target: str, text: str, stdout: TextIO | None = None, *, option: str = "--json") -> None:
    """Write ``text`` to ``target`` ('-': standard output) whole or not at all.

    A regular file is written beside itself and renamed over, so a full disk or a lost
    permission leaves the old file as it was (and no half-written JSON for a tool to read);
    a device or a pipe (``/dev/stdout``) is written as is.
    """
    if target == "-":
        (stdout or sys.stdout).write(text)
        return
    path = Path(target)
    data = text.encode("utf-8")
    try:
        if path.exists() and not path.is_file():
            with path.open("wb") as stream:
                stream.write(data)
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            tmp.replace(path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    except OSError as error:
        raise OutputError(f"{option} {target}: cannot write it: {_reason(error)}") from None
