"""``python -m gitsync run ...``: arguments, exit codes, the one-line summary or error."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from gitsync import __version__
from gitsync.errors import EXIT_FATAL, EXIT_INCOMPLETE, EXIT_OK, GitsyncError
from gitsync.folder_export import EXPORT_MODES
from gitsync.gitwriter import check_git, redact
from gitsync.paths import normalize_source
from gitsync.report import Report
from gitsync.retry import RetryPolicy
from gitsync.sync import Options, run
from gitsync.workspace import Limits, quiet_sdk_logging


def _number(
    kind: type[float] | type[int], *, minimum: float = 0.0, maximum: float | None = None
) -> Callable[[str], float | int]:
    """A finite number greater than ``minimum`` (``nan``/``inf`` would disable a limit)."""

    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} must be a finite number")
        if value <= minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than {minimum:g}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at most {maximum:g}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _positive(
    kind: type[float] | type[int], maximum: float | None = None
) -> Callable[[str], float | int]:
    return _number(kind, maximum=maximum)


# Seconds a wait may be set to (a day): anything longer is a typo, and a huge value would
# overflow the thread waits that use it.
MAX_SECONDS = 86_400.0
# Requests per second: from one a minute (a tiny rate is a wait of 1/rate seconds, which
# must stay a sane number) to far beyond any published limit.
MIN_RATE, MAX_RATE = 1 / 60, 100_000.0


_finite_rate = _number(float, maximum=MAX_RATE)


def _rate(text: str) -> float:
    value = float(_finite_rate(text))
    if value < MIN_RATE:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least {MIN_RATE:.4g} (one a minute)")
    return value


_rate.__name__ = "rate"


def _percent(text: str) -> float:
    value = _number(float, minimum=-1.0, maximum=100.0)(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 100")
    return float(value)


_percent.__name__ = "percent"


def _count(text: str) -> int:
    """A whole number from 0 to 1000 (``--verify-sample``: 0 switches the check off)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1000")
    return value


_count.__name__ = "count"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gitsync",
        description="Mirror a Databricks workspace folder into a git branch.",
    )
    p.add_argument("--version", action="version", version=f"gitsync {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser(
        "run",
        help="sync once: export what changed, commit in checkpoints, push, tag",
        description=(
            "Workspace auth: databricks-sdk unified auth (DATABRICKS_HOST + DATABRICKS_TOKEN, "
            "OAuth M2M, Azure identities, a config profile, or the cluster's own). "
            "Git auth for https remotes: GITSYNC_GIT_TOKEN (+ GITSYNC_GIT_USERNAME)."
        ),
    )
    r.add_argument("--source", required=True, help="workspace folder to mirror, e.g. /Clients")
    r.add_argument(
        "--allow-root",
        action="store_true",
        help="allow --source / (the whole workspace, every user's folder included)",
    )
    r.add_argument("--repo", required=True, help="git remote: URL or path of a (bare) repository")
    r.add_argument("--branch", default="main", help="branch to write (default: main)")
    r.add_argument("--report", type=Path, help="write a JSON report of the run to this file")
    r.add_argument(
        "--cache-dir",
        type=Path,
        help="local bare cache repository (default ~/.cache/gitsync/<hash>, env GITSYNC_CACHE_DIR)",
    )
    r.add_argument("--profile", help="databricks config profile (default: environment / DEFAULT)")
    r.add_argument(
        "--list-rate",
        type=_rate,
        default=50.0,
        help="workspace/list requests per second (default 50)",
    )
    r.add_argument(
        "--export-rate",
        type=_rate,
        default=60.0,
        help="workspace/export requests per second (default 60)",
    )
    r.add_argument(
        "--list-workers",
        type=_positive(int, 256),
        default=32,
        help="folders listed in parallel (default 32, at most 256)",
    )
    r.add_argument(
        "--export-workers",
        type=_positive(int, 512),
        default=64,
        help="exports in flight (default 64, at most 512)",
    )
    r.add_argument(
        "--chunk-size",
        type=_positive(int),
        default=1000,
        help="files per checkpoint commit (default 1000)",
    )
    r.add_argument(
        "--checkpoint-interval",
        type=_positive(float, MAX_SECONDS),
        default=60.0,
        help="commit pending files at least this often, seconds (default 60)",
    )
    r.add_argument(
        "--push-interval",
        type=_positive(float, MAX_SECONDS),
        default=30.0,
        help="push checkpoints at most this often, seconds (default 30)",
    )
    r.add_argument(
        "--http-timeout",
        type=_positive(float, MAX_SECONDS),
        default=60.0,
        help="per-request timeout, seconds (default 60)",
    )
    r.add_argument(
        "--max-attempts",
        type=_positive(int, 100),
        default=8,
        help="attempts per request for 5xx/resets/timeouts (default 8)",
    )
    r.add_argument(
        "--git-timeout",
        type=_positive(float, MAX_SECONDS),
        default=900.0,
        help="seconds a git fetch/push/ls-remote may take before it is killed (default 900)",
    )
    r.add_argument(
        "--max-delete-percent",
        type=_percent,
        default=50.0,
        help="refuse a run that would delete more than this share of the branch's files "
        "(default 50)",
    )
    r.add_argument(
        "--max-folder-delete",
        type=_number(int, minimum=-1, maximum=10**9),
        default=10,
        help="a folder listed empty (twice) that held more than this many files on the branch "
        "is kept and reported, not emptied (default 10)",
    )
    r.add_argument(
        "--allow-mass-delete",
        action="store_true",
        help="delete whatever the workspace no longer has, however much (see --max-delete-percent)",
    )
    r.add_argument(
        "--export-mode",
        choices=EXPORT_MODES,
        default="auto",
        help="per-notebook: one export per notebook; folder: one export per folder with "
        "anything to export; auto: per folder when --folder-threshold of its notebooks "
        "changed (default auto)",
    )
    r.add_argument(
        "--folder-threshold",
        type=_positive(int, 100_000),
        default=2,
        help="auto: export a folder whole from this many changed notebooks on (default 2)",
    )
    r.add_argument(
        "--verify-sample",
        type=_count,
        default=3,
        help="folder exports checked against per-notebook exports per run before any is "
        "trusted (default 3; 0: none)",
    )
    r.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress line on stderr (auto: when it is a terminal)",
    )
    r.add_argument(
        "--verbose", action="store_true", help="let the SDK's and urllib3's logging through"
    )
    return p


def _check_report(parser: argparse.ArgumentParser, path: Path) -> None:
    """Find an unwritable --report before the run, not after the sync and the push."""
    tmp = path.with_name(path.name + ".tmp")
    if path.is_dir():
        parser.error(f"argument --report: {path} is a folder")
    try:
        with tmp.open("a"):
            pass
    except OSError as err:
        parser.error(f"argument --report: cannot write {path}: {err.strerror}")
    with contextlib.suppress(OSError):
        tmp.unlink()


def _check_branch(parser: argparse.ArgumentParser, branch: str) -> None:
    ok = subprocess.run(
        ["git", "check-ref-format", f"refs/heads/{branch}"], capture_output=True, check=False
    ).returncode
    if ok != 0:
        parser.error(f"argument --branch: {branch!r} is not a valid git branch name")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.source = normalize_source(args.source, allow_root=args.allow_root)
    except ValueError as err:
        parser.error(f"argument --source: {err}")
    if args.report:
        _check_report(parser, args.report)
    report = Report(source=args.source, repo=redact(args.repo), branch=args.branch)
    code = EXIT_OK
    try:
        check_git()
        _check_branch(parser, args.branch)
        quiet_sdk_logging(args.verbose)
        if args.profile:
            os.environ["DATABRICKS_CONFIG_PROFILE"] = args.profile
        progress = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
        opts = Options(
            source=args.source,
            repo=args.repo,
            branch=args.branch,
            cache_dir=args.cache_dir,
            limits=Limits(list_rate=args.list_rate, export_rate=args.export_rate),
            policy=RetryPolicy(max_attempts=args.max_attempts),
            list_workers=args.list_workers,
            export_workers=args.export_workers,
            chunk_size=args.chunk_size,
            checkpoint_interval=args.checkpoint_interval,
            push_interval=args.push_interval,
            http_timeout=args.http_timeout,
            git_timeout=args.git_timeout,
            max_delete_percent=args.max_delete_percent,
            allow_mass_delete=args.allow_mass_delete,
            max_folder_delete=args.max_folder_delete,
            allow_root=args.allow_root,
            progress=progress,
            export_mode=args.export_mode,
            folder_threshold=args.folder_threshold,
            verify_sample=args.verify_sample,
        )
        run(opts, report)
    except GitsyncError as err:
        report.status = "error"
        report.error = str(err)
        code = err.exit_code
        print(f"gitsync: error: {err}", file=sys.stderr)
    except KeyboardInterrupt:
        report.status = "error"
        report.error = "interrupted"
        code = EXIT_FATAL
        print(
            "gitsync: error: interrupted; the next run resumes from the last checkpoint",
            file=sys.stderr,
        )
    else:
        print(report.summary())
        if report.counts.failed:
            code = EXIT_INCOMPLETE
    if args.report:
        try:
            report.write(args.report)
        except OSError as err:
            print(
                f"gitsync: error: cannot write report {args.report}: {err.strerror}",
                file=sys.stderr,
            )
            code = code or EXIT_FATAL
    return code
