"""What a run did: counts, requests per endpoint, commits, tag, durations; JSON and one line."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# Lists of problem objects are capped in the report so a broken workspace cannot
# produce a report as big as the workspace; the counts stay exact.
MAX_LISTED = 1000


@dataclass
class Counts:
    scanned: int = 0  # notebooks and files seen by the walk
    directories: int = 0  # folders listed
    added: int = 0
    modified: int = 0
    moved: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0  # kept failing (retries exhausted, permission denied, an unlistable folder)
    skipped: int = 0  # cannot be mirrored: too large, bad name, collision, unsupported type
    stale: int = 0  # of the skipped: changed, but the branch keeps an older version (too large)


@dataclass
class Problem:
    path: str
    reason: str
    # failed | list_failed (counted as failed); too_large | invalid_name | conflict |
    # unsupported | vanished (counted as skipped)
    kind: str


@dataclass
class Report:
    source: str
    repo: str
    branch: str
    status: str = "running"  # ok | incomplete | error
    error: str | None = None
    started_at: str = ""
    finished_at: str = ""
    base_commit: str | None = None
    head_commit: str | None = None
    commits: int = 0
    commit_shas: list[str] = field(default_factory=list)
    pushed: bool = False
    tag: str | None = None
    resumed: bool = False
    # The cache held checkpoints the remote never took (it moved on): dropped, re-exported.
    unpushed_discarded: bool = False
    # Pushes that failed and were tried again later (background and final).
    push_failures: int = 0
    push_error: str | None = None  # the last of them
    counts: Counts = field(default_factory=Counts)
    requests: dict[str, dict[str, float | int]] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)
    floor_seconds: float = 0.0
    durations: dict[str, float] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problems_truncated: int = 0
    # How objects were exported (--export-mode): folder exports, objects one by one,
    # fallbacks, the sample checks; see folder_export.FolderStats.
    export_modes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def problem(self, path: str, reason: str, kind: str) -> None:
        with self._lock:
            if kind in ("failed", "list_failed"):
                self.counts.failed += 1
            else:
                self.counts.skipped += 1
            if len(self.problems) < MAX_LISTED:
                self.problems.append(Problem(path, reason, kind))
            else:
                self.problems_truncated += 1

    def bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self.counts, name, getattr(self.counts, name) + n)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_lock", None)
        return d

    def write(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n")
        tmp.replace(path)

    def summary(self) -> str:
        c = self.counts
        total = self.durations.get("total", 0.0)
        parts = [
            f"gitsync {self.status}: {self.source} -> {self.repo} {self.branch}",
            f"{c.scanned} scanned",
            f"+{c.added} ~{c.modified} >{c.moved} -{c.deleted} ={c.unchanged}",
            f"{c.failed} failed",
            f"{c.skipped} skipped" + (f" ({c.stale} stale)" if c.stale else ""),
            f"{self.commits} commits",
        ]
        if self.tag:
            parts.append(f"tag {self.tag}")
        elif self.pushed:
            parts.append("not tagged (nothing mirrored, everything failed)")
        folder = _folder_summary(self.export_modes)
        if folder:
            parts.append(folder)
        parts.append(f"{total:.1f}s")
        return ", ".join(parts)


def _folder_summary(modes: dict[str, Any]) -> str | None:
    """The summary's part about folder export; None in per-notebook mode."""
    if not modes or modes.get("mode") == "per-notebook":
        return None
    text = (
        f"folder export: {modes['folders']} folders ({modes['folder_notebooks']} notebooks), "
        f"{modes['single_requests']} single, {modes['verified']} checked"
    )
    if modes.get("disabled"):
        text += f", OFF for the rest of the run: {modes['disabled']}"
    return text
