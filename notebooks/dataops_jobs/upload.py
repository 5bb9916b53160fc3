"""What a deploy uploads into the environment's code folder, computed from the repository.

The jobs layer turns each ``Upload`` into a resource, so a deploy ships exactly the code of
the commit:

    for item in upload_manifest(repo_root):
        path = f"{code_folder}/{item.target}"
        if item.kind == "NOTEBOOK":
            databricks.Notebook(..., path=path, source=str(item.source), language="PYTHON")
        else:
            databricks.WorkspaceFile(..., path=path, source=str(item.source))

Standard library only (the Pulumi program imports it without pyspark).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

# The first line Databricks writes into a notebook exported as SOURCE, and reads back.
NOTEBOOK_HEADER = "# Databricks notebook source"

# What the jobs need at run time: code and the sample data. Everything else under the
# folders (caches, local Spark leftovers, editor files) stays home.
_SHIPPED_SUFFIXES = frozenset({".py", ".csv", ".jsonl", ".json"})
_SKIPPED_DIRS = frozenset(
    {"__pycache__", "tests", "spark-warehouse", "metastore_db", "checkpoints", "reports"}
)


@dataclass(frozen=True)
class Upload:
    source: Path  # absolute path in the checkout
    target: str  # posix path relative to the code folder (no .py on notebooks)
    kind: Literal["NOTEBOOK", "FILE"]

    @property
    def language(self) -> Literal["PYTHON"] | None:
        return "PYTHON" if self.kind == "NOTEBOOK" else None


def is_notebook(path: Path) -> bool:
    with path.open(encoding="utf-8") as handle:
        return handle.readline().rstrip("\r\n") == NOTEBOOK_HEADER


def _shipped_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        hidden_or_skipped = any(
            part.startswith(".") or part in _SKIPPED_DIRS or part.endswith(".egg-info")
            for part in relative.parts
        )
        if path.is_file() and not hidden_or_skipped and path.suffix in _SHIPPED_SUFFIXES:
            yield path


def upload_manifest(repo_root: Path) -> tuple[Upload, ...]:
    """notebooks/ (entry notebooks, dataops_jobs, sample_data) and the gitsync package.

    Both land in one folder: the notebooks import ``dataops_jobs`` and run ``python -m
    gitsync`` from their own directory.
    """
    uploads: list[Upload] = []
    notebooks = repo_root / "notebooks"
    for path in _shipped_files(notebooks):
        relative = PurePosixPath(path.relative_to(notebooks).as_posix())
        if path.suffix == ".py" and is_notebook(path):
            uploads.append(Upload(path, str(relative.with_suffix("")), "NOTEBOOK"))
        else:
            uploads.append(Upload(path, str(relative), "FILE"))
    gitsync = repo_root / "gitsync"
    for path in _shipped_files(gitsync):
        if path.suffix == ".py":
            relative = PurePosixPath("gitsync") / path.relative_to(gitsync).as_posix()
            uploads.append(Upload(path, str(relative), "FILE"))
    targets = [u.target for u in uploads]
    duplicates = sorted({t for t in targets if targets.count(t) > 1})
    if duplicates:
        raise ValueError(f"two files would be uploaded to the same workspace path: {duplicates}")
    return tuple(uploads)
