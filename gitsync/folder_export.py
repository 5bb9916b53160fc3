"""Folder export: one ``workspace/export`` of a folder instead of one per notebook.

The Workspace API exports a whole directory in one request: "Exports an object or the
contents of an entire directory ... Exporting a directory is only supported for the
DBC, SOURCE, and AUTO format. SOURCE: ... Directory exports will not include
non-notebook entries" (https://docs.databricks.com/api/workspace/workspace/export;
databricks-sdk ``service/workspace.py`` ``WorkspaceAPI.export``), and the answer is a
zip: ``file_type`` is "zip for a directory exported as SOURCE or AUTO" (databricks-sdk
``ExportResponse.file_type``). The export limit applies to the whole archive: "If the
exported data would exceed size limit, this call returns MAX_NOTEBOOK_SIZE_EXCEEDED"
(same page), 10 MB ("If the content exceeds the size limit (10 MB)", databricks-sdk
``ExportResponse.content``).

A folder of about twenty notebooks is then one request instead of twenty, which is what
takes a full sync below the per-notebook floor of ``objects / export rate``.

What the documentation does NOT say, and this module therefore does not assume:

- the archive's internal layout: whether entry names are relative to the exported
  folder or start with the folder's own name, whether directory entries are present,
  whether notebooks carry their language's extension (``.py``, ``.sql``, ...) as the
  per-notebook export's ``file_type`` does, how non-ASCII names are encoded;
- whether an entry's bytes equal the per-notebook ``SOURCE`` export (the
  ``# Databricks notebook source`` header line included);
- whether a directory export recurses into subfolders.

So: only folders without subfolders are exported whole (recursion cannot matter); an
archive is used only if its entries map one to one onto the folder's listed notebooks
(either layout, directory entries ignored), otherwise the folder falls back to one
export per notebook; and the bytes are verified on every run: the first
``verify_sample`` folder exports of a run each have one notebook, chosen at random,
exported on its own as well and compared byte for byte, before anything from a folder
export is committed, and so does the first archive holding a language no check has
covered yet (one notebook of that language). One mismatch switches folder export off
for the rest of the run: every notebook not yet taken from a checked archive is
exported one by one.
Checking before committing (rather than spot checks spread over the run) is what keeps
the mirror exact: bytes committed before a mismatch was seen would be recorded in the
manifest as current and never exported again.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from databricks.sdk.service.workspace import ObjectInfo, ObjectType

from gitsync.paths import leaf_name
from gitsync.retry import Outcome
from gitsync.scan import Abort, ExportJob
from gitsync.workspace import (
    SPOOL_MAX_MEMORY,
    RequestFailedError,
    RunAbortedError,
    Workspace,
    describe_failure,
)

ExportMode = Literal["per-notebook", "folder", "auto"]
EXPORT_MODES: tuple[ExportMode, ...] = ("per-notebook", "folder", "auto")

# Bit 11 of a zip entry's general purpose flags: the name is UTF-8 (APPNOTE.TXT 4.4.4,
# https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT). Without it Python's
# zipfile reads the name as cp437.
_ZIP_UTF8_FLAG = 0x800
_COPY_CHUNK = 1 << 16

# A blob ready for the writer: (job, rewound spool, size). The callee owns the spool.
Deliver = Callable[[ExportJob, IO[bytes], int], None]


@dataclass(frozen=True)
class FolderJob:
    """The notebooks of one folder to export, taken from one archive if it can be."""

    ws_path: str  # the folder
    jobs: tuple[ExportJob, ...]  # its notebooks that need exporting
    # git file name -> workspace path, of every notebook the folder lists (changed or
    # not): exactly the entries its archive must hold.
    expected: dict[str, str]


@dataclass
class FolderStats:
    """The report's ``export_modes``: how the run's objects were exported."""

    mode: str = "per-notebook"
    threshold: int = 0
    verify_sample: int = 0
    objects: int = 0  # objects the run had to export (what per-notebook mode requests)
    folder_requests: int = 0  # folder exports asked for (logical requests)
    folders: int = 0  # folder exports whose archive was used
    folder_notebooks: int = 0  # notebooks taken from those archives
    single_requests: int = 0  # objects exported one by one (files, small folders, fallbacks)
    fallback_folders: dict[str, int] = field(default_factory=dict)  # reason -> folders
    fallback_notebooks: int = 0
    verify_requests: int = 0  # per-notebook exports made to check an archive
    verified: int = 0  # checks that matched
    verified_paths: list[str] = field(default_factory=list)
    mismatch: str | None = None  # the check that failed: path and what differed
    disabled: str | None = None  # why folder export was switched off mid-run

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "threshold": self.threshold,
            "verify_sample": self.verify_sample,
            "objects": self.objects,
            "folder_requests": self.folder_requests,
            "folders": self.folders,
            "folder_notebooks": self.folder_notebooks,
            "single_requests": self.single_requests,
            "fallback_folders": dict(sorted(self.fallback_folders.items())),
            "fallback_notebooks": self.fallback_notebooks,
            "verify_requests": self.verify_requests,
            "verified": self.verified,
            "verified_paths": list(self.verified_paths),
            "mismatch": self.mismatch,
            "disabled": self.disabled,
        }


def archive_names(infos: Sequence[zipfile.ZipInfo], folder_name: str) -> dict[str, zipfile.ZipInfo]:
    """Map the archive's file entries to notebook file names, or raise ``ValueError``.

    Directory entries are skipped. Both plausible layouts are accepted, since the docs
    give none: names relative to the folder (``nb.py``) or starting with the folder's
    own name (``NOTEBOOKS/nb.py``). A name in a subfolder or a duplicate is an error.
    """
    names: list[tuple[str, zipfile.ZipInfo]] = []
    for info in infos:
        if info.is_dir():
            continue
        name = info.filename
        if not info.flag_bits & _ZIP_UTF8_FLAG:
            # An archiver that writes UTF-8 names without the flag: zipfile decoded them
            # as cp437; undo that. Pure ASCII names read the same either way.
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                name = name.encode("cp437").decode("utf-8")
        names.append((name, info))
    prefix = folder_name + "/"
    if names and all(n.startswith(prefix) for n, _ in names):
        names = [(n[len(prefix) :], i) for n, i in names]
    out: dict[str, zipfile.ZipInfo] = {}
    for name, info in names:
        if not name or "/" in name:
            raise ValueError(f"entry {info.filename!r} is not a notebook of the folder itself")
        if name in out:
            raise ValueError(f"entry {name!r} appears twice")
        out[name] = info
    return out


def expected_entries(objects: Sequence[ObjectInfo]) -> dict[str, str] | None:
    """git file name -> path of every notebook listed; None if the folder cannot be
    exported whole (it has subfolders, Git folders, or notebooks without a source
    extension, whose archive entries could not be told apart)."""
    out: dict[str, str] = {}
    for obj in objects:
        if obj.object_type in (ObjectType.DIRECTORY, ObjectType.REPO):
            return None
        if obj.object_type != ObjectType.NOTEBOOK:
            continue  # files, libraries: not in a SOURCE archive (see the module doc)
        name, _ = leaf_name(obj)
        if name is None:
            return None
        out[name] = obj.path or ""
    return out


class _Gate:
    """Folder exports are trusted only after ``sample`` of them have been checked.

    ``admit`` answers ``sample`` (this export is one of the checks), ``trusted`` or
    ``off``. Exports that arrive while every check is taken but not yet done wait: that
    is at most a few requests' time, once per run, and nothing unchecked is committed.
    """

    def __init__(self, sample: int, abort: Abort) -> None:
        self.sample = sample
        self.abort = abort
        self._cond = threading.Condition()
        self.started = 0
        self.passed = 0
        self.off = False

    def admit(self) -> Literal["sample", "trusted", "off"]:
        with self._cond:
            while True:
                if self.abort.is_set():
                    raise RunAbortedError()
                if self.off:
                    return "off"
                if self.passed >= self.sample:
                    return "trusted"
                if self.started < self.sample:
                    self.started += 1
                    return "sample"
                self._cond.wait(0.2)

    def done(self, outcome: Literal["passed", "failed", "inconclusive"]) -> None:
        with self._cond:
            if outcome == "passed":
                self.passed += 1
            elif outcome == "failed":
                self.off = True
            else:
                self.started -= 1  # someone else takes the check
            self._cond.notify_all()

    def switch_off(self) -> None:
        with self._cond:
            self.off = True
            self._cond.notify_all()

    def is_off(self) -> bool:
        with self._cond:
            return self.off


def _leaf(job: ExportJob) -> str:
    return job.git_path.rsplit("/", 1)[-1]


def _ext(job: ExportJob) -> str:
    leaf = _leaf(job)
    return leaf[leaf.rfind(".") :] if "." in leaf else ""


def _spool_from(src: IO[bytes]) -> tuple[IO[bytes], int]:
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY)  # noqa: SIM115
    size = 0
    try:
        while True:
            chunk = src.read(_COPY_CHUNK)
            if not chunk:
                break
            spool.write(chunk)
            size += len(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size


def _same_bytes(a: IO[bytes], b: IO[bytes]) -> bool:
    a.seek(0)
    b.seek(0)
    while True:
        x = a.read(_COPY_CHUNK)
        y = b.read(_COPY_CHUNK)
        if x != y:
            return False
        if not x:
            return True


class FolderExporter:
    """Decides per folder, runs folder exports, checks them, counts for the report."""

    def __init__(
        self,
        ws: Workspace,
        mode: ExportMode,
        *,
        source: str,
        threshold: int,
        verify_sample: int,
        abort: Abort,
        rng: random.Random | None = None,
    ) -> None:
        self.ws = ws
        self.source = source
        self.abort = abort
        self.mode = mode
        # "folder" mode exports every folder whole that has anything to export.
        self.threshold = 1 if mode == "folder" else threshold
        self.stats = FolderStats(mode=mode, threshold=self.threshold, verify_sample=verify_sample)
        self.gate = _Gate(verify_sample, abort)
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._checked_exts: set[str] = set()  # languages a check has covered

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, n in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + n)

    def note_single(self, n: int = 1) -> None:
        self._count(single_requests=n, objects=n)

    def plan(
        self, folder: str, objects: Sequence[ObjectInfo], jobs: Sequence[ExportJob]
    ) -> tuple[FolderJob | None, list[ExportJob]]:
        """Split one listed folder's export jobs: (its notebooks as one folder export, or
        None; the jobs exported one by one)."""
        if self.mode == "per-notebook" or self.gate.is_off():
            return None, list(jobs)
        notebooks = [j for j in jobs if j.notebook]
        if len(notebooks) < self.threshold:
            return None, list(jobs)
        expected = expected_entries(objects)
        if expected is None:
            return None, list(jobs)
        if any(_leaf(j) not in expected for j in notebooks):
            return None, list(jobs)  # cannot happen with a consistent listing; stay exact
        singles = [j for j in jobs if not j.notebook]
        self._count(objects=len(notebooks))
        return FolderJob(folder, tuple(notebooks), expected), singles

    def export(self, fj: FolderJob, deliver: Deliver) -> list[ExportJob]:
        """Export ``fj`` whole and hand its notebooks to ``deliver``; return the jobs that
        must be exported one by one instead (all of them when the folder falls back)."""
        admitted = self.gate.admit()
        if admitted == "off":
            return self._fallback("disabled", fj.jobs)
        try:
            spool, _ = self.ws.export(fj.ws_path, notebook=True)
        except RequestFailedError as err:
            self._count(folder_requests=1)
            if admitted == "sample":
                self.gate.done("inconclusive")
            outcome = err.classified.outcome
            # As for one notebook (sync._export_one): a bad token ends the run, and so
            # does a refusal that turns out to cover the source folder itself.
            if outcome is Outcome.AUTH:
                self.abort.fail(describe_failure(err, self.ws.host, fj.ws_path))
                raise RunAbortedError() from None
            if outcome is Outcome.FORBIDDEN:
                fatal = self.ws.source_refused(self.source)
                if fatal is not None:
                    self.abort.fail(fatal)
                    raise RunAbortedError() from None
            # Too large ("MAX_NOTEBOOK_SIZE_EXCEEDED", the limit applies to the whole
            # archive), a notebook inside it refused, gone, failing: one by one, where
            # each notebook's error is classified and reported as it always was.
            kind = "too_large" if outcome is Outcome.TOO_LARGE else "error"
            return self._fallback(kind, fj.jobs)
        except BaseException:
            if admitted == "sample":
                self.gate.done("inconclusive")
            raise
        self._count(folder_requests=1)
        try:
            return self._use_archive(fj, spool, admitted == "sample", deliver)
        finally:
            spool.close()

    def _fallback(self, reason: str, jobs: Sequence[ExportJob]) -> list[ExportJob]:
        """Count a folder that goes one by one; return its ``jobs`` for that."""
        with self._lock:
            self.stats.fallback_folders[reason] = self.stats.fallback_folders.get(reason, 0) + 1
            self.stats.fallback_notebooks += len(jobs)
            self.stats.single_requests += len(jobs)
        return list(jobs)

    def _use_archive(
        self, fj: FolderJob, spool: IO[bytes], sample: bool, deliver: Deliver
    ) -> list[ExportJob]:
        n = len(fj.jobs)
        folder_name = fj.ws_path.rstrip("/").rsplit("/", 1)[-1]
        try:
            zf = zipfile.ZipFile(spool)
        except (zipfile.BadZipFile, OSError):
            if sample:
                self.gate.done("inconclusive")
            return self._fallback("not_a_zip", fj.jobs)
        with zf:
            try:
                entries = archive_names(zf.infolist(), folder_name)
            except ValueError:
                entries = None
            if entries is None or set(entries) != set(fj.expected):
                # A missing or extra entry, or a name that does not map: the mirror must
                # stay exact, so this folder goes one by one.
                if sample:
                    self.gate.done("inconclusive")
                return self._fallback("listing_mismatch", fj.jobs)
            rest = list(fj.jobs)
            picks = self._picks(rest, sample)
            outcome = self._check(zf, entries, picks, rest, deliver) if picks else "passed"
            if sample:
                self.gate.done(outcome)
            elif outcome == "failed":
                self.gate.switch_off()
            if outcome == "failed":
                # Folder export is off: the rest of this folder goes one by one too
                # (the checked notebooks were delivered from their own exports).
                return self._fallback("sample_mismatch", rest)
            if outcome == "inconclusive":
                return self._fallback("sample_failed", rest)
            for delivered, job in enumerate(rest):
                info = entries[_leaf(job)]
                try:
                    with zf.open(info) as src:
                        blob, size = _spool_from(src)
                except (zipfile.BadZipFile, OSError, EOFError):
                    # A corrupt entry (bad CRC, cut short): the rest of this folder,
                    # not yet delivered, goes one by one.
                    return self._fallback("corrupt_entry", rest[delivered:])
                deliver(job, blob, size)
        self._count(folders=1, folder_notebooks=n)
        return []

    def _picks(self, jobs: list[ExportJob], sample: bool) -> list[ExportJob]:
        """The notebooks of this archive to check: one at random if it is one of the
        run's sample, and one of each language (extension) no check has covered yet, so
        that a quirk of, say, Scala notebooks in archives cannot pass unseen."""
        picks = [self._rng.choice(jobs)] if sample else []
        with self._lock:
            unchecked = {_ext(j) for j in jobs} - self._checked_exts - {_ext(p) for p in picks}
        for ext in sorted(unchecked):
            picks.append(self._rng.choice([j for j in jobs if _ext(j) == ext]))
        return picks

    def _check(
        self,
        zf: zipfile.ZipFile,
        entries: dict[str, zipfile.ZipInfo],
        picks: list[ExportJob],
        rest: list[ExportJob],
        deliver: Deliver,
    ) -> Literal["passed", "failed", "inconclusive"]:
        """Export each of ``picks`` on its own and compare the bytes with the archive's.

        A checked notebook is delivered from its own export and removed from ``rest``.
        "inconclusive": one of them could not be exported on its own (vanished, refused,
        failing): no verdict on the archive; it stays in ``rest`` and goes one by one with
        the others, where its error is classified and reported as usual.
        """
        for job in picks:
            self._count(verify_requests=1)
            try:
                own, size = self.ws.export(job.ws_path, notebook=True)
            except RequestFailedError:
                return "inconclusive"
            try:
                with zf.open(entries[_leaf(job)]) as src:
                    archived, _ = _spool_from(src)
                try:
                    same = _same_bytes(own, archived)
                finally:
                    archived.close()
            except (zipfile.BadZipFile, OSError, EOFError):
                same = False
            except BaseException:
                own.close()
                raise
            own.seek(0)
            rest.remove(job)
            deliver(job, own, size)
            if not same:
                # Also what a notebook edited between the two exports looks like: a
                # false alarm costs this run's folder exports, never the mirror.
                with self._lock:
                    if self.stats.mismatch is None:
                        self.stats.mismatch = (
                            f"{job.ws_path}: the folder archive's bytes differ from its own export"
                        )
                        self.stats.disabled = f"sample mismatch at {job.ws_path}"
                return "failed"
            with self._lock:
                self.stats.verified += 1
                self._checked_exts.add(_ext(job))
                if len(self.stats.verified_paths) < 20:
                    self.stats.verified_paths.append(job.ws_path)
        return "passed"
