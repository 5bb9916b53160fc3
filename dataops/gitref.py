"""Render a stack as it was at a git ref, with that ref's own program and config.

A pull request changes code and config together, so the "before" side of a diff must
run the old code on the old config. The ref's tree is extracted into a temporary
directory (no worktree, nothing in the user's checkout changes) and planned there by
``python -m dataops plan --json -`` in a subprocess, with ``--no-policy``: the "before"
side is the base a pull request starts from, and its own policy violations must not stop
the diff of a change that may be fixing them.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any


class GitRefError(Exception):
    """The ref cannot be read or planned; ``str(err)`` is one line."""


def plan_at_ref(root: Path, ref: str, stack: str) -> dict[str, Any] | None:
    """The plan JSON of ``stack`` at ``ref``, or ``None`` if the stack file is not there."""
    inside = _run_git(root, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0:
        # Without this, every ref would read as "not a commit": the user would hunt for
        # a typo in a ref that is fine.
        raise GitRefError(
            f"{ref}: {root} is not inside a git repository (git: {_last_line(inside.stderr)}); "
            "run diff --against from a clone of the project, or compare two stacks: "
            "diff STACK OTHER"
        )
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if not commit:
        raise GitRefError(f"{ref}: not a commit in the repository at {root}")
    prefix = _git(root, "rev-parse", "--show-prefix")
    try:
        archive = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "archive",
                "--format=tar",
                f"{commit}:{prefix}" if prefix else commit,
            ],
            capture_output=True,
            check=False,
        )
    except OSError as err:
        raise GitRefError(f"{ref}: cannot run git archive: {err.strerror or err}") from None
    if archive.returncode != 0:
        raise GitRefError(f"{ref}: git archive failed: {_last_line(archive.stderr)}")
    with tempfile.TemporaryDirectory(prefix="dataops-ref-") as tmp:
        tree = Path(tmp)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tree, filter="data")
        if not (tree / f"Pulumi.{stack}.yaml").is_file():
            return None
        if not (tree / "dataops" / "__main__.py").is_file():
            raise GitRefError(f"{ref}: has no offline engine (dataops/__main__.py) to plan with")
        env = dict(os.environ, PYTHONPATH=str(tree))
        command = [sys.executable, "-m", "dataops", "plan", stack, "--json", "-"]
        if _has_policy_flag(tree):
            command.append("--no-policy")  # refs older than the policy pack have no such flag
        result = subprocess.run(
            command,
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise GitRefError(f"{ref}: planning {stack} failed: {_last_line(result.stderr)}")
        try:
            plan: dict[str, Any] = json.loads(result.stdout)
        except ValueError:
            raise GitRefError(f"{ref}: planning {stack} did not print a JSON plan") from None
        return plan


def _has_policy_flag(tree: Path) -> bool:
    cli = tree / "dataops" / "cli.py"
    return cli.is_file() and "--no-policy" in cli.read_text(encoding="utf-8")


def _run_git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError as err:  # git not installed, or not runnable
        raise GitRefError(
            f"cannot run git ({err.strerror or err}): diff --against needs git on PATH"
        ) from None


def _git(root: Path, *args: str) -> str:
    result = _run_git(root, *args)
    if result.returncode != 0 and args[0] != "rev-parse":
        raise GitRefError(f"git {' '.join(args)}: {_last_line(result.stderr)}")
    return result.stdout.strip()


def _last_line(text: str | bytes) -> str:
    # The last line of a failed run is the one that says why (an error, or a traceback's end).
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
