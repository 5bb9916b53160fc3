"""The git sync task: run ``python -m gitsync run`` with its secrets only in the environment.

The git token (from a secret scope) and the run's workspace credentials reach gitsync as
environment variables of the child process, never as arguments: a process's command line
is visible to every user of the machine (``ps``) and ends up in logs. Whatever the child
prints is passed on with both secrets masked, in case one ever slips into a message.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

# gitsync's interface (gitsync/README.md): the token variable and the exit codes.
GIT_TOKEN_ENV = "GITSYNC_GIT_TOKEN"
EXIT_CODES = {0: "ok", 1: "error", 2: "bad arguments", 3: "incomplete"}
MASK = "[REDACTED]"

# The summary gitsync prints last on success ("gitsync ok: ..."), or its error line.
_SUMMARY = re.compile(r"^gitsync( [a-z]+:|: error:) ")


class GitSyncError(Exception):
    """Raised by the notebook so the task fails on a non-zero gitsync exit."""


@dataclass(frozen=True)
class GitSyncSettings:
    source_path: str
    target_repository: str
    target_branch: str = "main"

    def __post_init__(self) -> None:
        if not self.source_path.startswith("/"):
            raise ValueError(f"source_path {self.source_path!r} is not an absolute workspace path")
        parts = urlsplit(self.target_repository)
        if parts.password is not None or (parts.scheme in ("http", "https") and parts.username):
            raise ValueError(
                "target_repository carries credentials; give the URL without them and put "
                "the token in the secret scope"
            )
        if not self.target_branch.strip():
            raise ValueError("target_branch is empty")


@dataclass(frozen=True)
class WorkspaceAuth:
    """The credentials of the notebook's run, handed to the child through its environment."""

    host: str
    token: str


@dataclass(frozen=True)
class GitSyncOutcome:
    exit_code: int
    summary: str
    report_path: Path | None
    report: Mapping[str, object] | None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def failure_message(self) -> str:
        meaning = EXIT_CODES.get(self.exit_code, "unexpected exit")
        return f"gitsync exited {self.exit_code} ({meaning}): {self.summary or 'no output'}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "task": "git_sync",
                "exit_code": self.exit_code,
                "summary": self.summary,
                "report_path": str(self.report_path) if self.report_path else None,
                "report": self.report,
            },
            sort_keys=True,
        )


def gitsync_argv(python: str, settings: GitSyncSettings, report_file: Path) -> list[str]:
    """The command line: what to sync and where; nothing secret."""
    return [
        python,
        "-m",
        "gitsync",
        "run",
        "--source",
        settings.source_path,
        "--repo",
        settings.target_repository,
        "--branch",
        settings.target_branch,
        "--report",
        str(report_file),
        "--progress",
        "never",
    ]


def gitsync_env(
    base: Mapping[str, str],
    *,
    code_root: Path,
    git_token: str | None,
    workspace: WorkspaceAuth | None,
) -> dict[str, str]:
    """The child's environment: ``gitsync`` importable from the code folder, the secrets."""
    env = dict(base)
    # Never let a token of the cluster's environment stand in for the one asked for.
    env.pop(GIT_TOKEN_ENV, None)
    pythonpath = [str(code_root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    env["PYTHONUNBUFFERED"] = "1"
    if git_token:
        env[GIT_TOKEN_ENV] = git_token
    if workspace is not None:
        env["DATABRICKS_HOST"] = workspace.host
        env["DATABRICKS_TOKEN"] = workspace.token
    return env


def masker(*secrets: str | None) -> Callable[[str], str]:
    """Replaces every secret (longest first, so a secret containing another goes whole)."""
    hidden = sorted({s for s in secrets if s}, key=len, reverse=True)

    def mask(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, MASK)
        return text

    return mask


def code_root() -> Path:
    """The deployed code folder: the entry notebooks, ``dataops_jobs`` and ``gitsync``."""
    return Path(__file__).resolve().parent.parent


def report_name(now: datetime) -> str:
    return f"gitsync-{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"


Popen = Callable[..., "subprocess.Popen[str]"]


def run_git_sync(
    settings: GitSyncSettings,
    *,
    code_root: Path,
    git_token: str | None,
    workspace: WorkspaceAuth | None = None,
    report_dir: Path | None = None,
    log: Callable[[str], None] = print,
    python: str = sys.executable,
    base_env: Mapping[str, str] | None = None,
    popen: Popen = subprocess.Popen,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> GitSyncOutcome:
    """Run one sync; stream its output (masked) to ``log``; keep its report in ``report_dir``.

    The report is written to a local temporary file first and copied when the run ends:
    ``report_dir`` may be a FUSE path (``/Workspace``, ``/Volumes``) that is slow to append.
    """
    mask = masker(git_token, workspace.token if workspace else None)
    started = now()
    summary = ""
    with tempfile.TemporaryDirectory(prefix="gitsync-") as scratch:
        local_report = Path(scratch) / report_name(started)
        argv = gitsync_argv(python, settings, local_report)
        env = gitsync_env(
            os.environ if base_env is None else base_env,
            code_root=code_root,
            git_token=git_token,
            workspace=workspace,
        )
        log(f"running: {' '.join(argv[1:])}")
        with popen(
            argv,
            env=env,
            cwd=str(code_root),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        ) as child:
            if child.stdout is None:
                raise RuntimeError("gitsync's output is not a pipe")
            for raw in child.stdout:
                line = mask(raw.rstrip("\n"))
                log(line)
                if _SUMMARY.match(line):
                    summary = line
            exit_code = child.wait()
        report = _read_report(local_report)
        kept = _keep_report(local_report, report_dir) if report is not None else None
    return GitSyncOutcome(exit_code=exit_code, summary=summary, report_path=kept, report=report)


def _read_report(path: Path) -> dict[str, object] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _keep_report(local: Path, report_dir: Path | None) -> Path | None:
    if report_dir is None:
        return None
    report_dir.mkdir(parents=True, exist_ok=True)
    kept = report_dir / local.name
    shutil.copyfile(local, kept)
    return kept
