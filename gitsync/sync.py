"""One run: walk, export, write, push, tag. The pipeline and its threads.

    list workers --(export jobs)--> export workers --(bytes)--> writer --(sha)--> pusher
         \\---------------------(moves: no export)-------------/

The walk and the exports run at the same time, each under its own endpoint's bucket,
so a run takes about as long as its busiest endpoint needs at its rate limit. One
writer thread owns the fast-import stream and the manifest; the pusher pushes the
newest checkpoint in the background every ``push_interval`` seconds.

Every commit the writer makes is a checkpoint whose manifest lists exactly its files:
a file that replaces a folder of its name (or the reverse) removes what it replaces in
the same commit, and a hand-edited base is reconciled in the first one.

Export jobs reach the exporters one by one or, when ``folder_export.py`` takes a
folder whole, as one job per folder whose archive is checked and split into the same
blobs, so the writer cannot tell the two apart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.workspace import ObjectInfo, ObjectType

from gitsync.errors import GitsyncError, MassDeleteError, RepoError, WorkspaceError
from gitsync.folder_export import ExportMode, FolderExporter, FolderJob
from gitsync.gitwriter import (
    FastImport,
    GitRepo,
    PushRejectedError,
    check_git,
    op_delete,
    op_inline,
    op_modify,
)
from gitsync.manifest import STATE_PATH, Entry, Manifest, render_state, shard_path
from gitsync.paths import language_of, normalize_source
from gitsync.progress import Progress, bar
from gitsync.report import Report
from gitsync.retry import Outcome, RetryPolicy
from gitsync.scan import Abort, ExportJob, MoveJob, Scanner
from gitsync.workspace import (
    Limits,
    RequestFailedError,
    RunAbortedError,
    Workspace,
    describe_failure,
    make_client,
)

# Waits between the attempts of the final push when it fails for another reason than a
# refusal (network, the host's 5xx): seconds.
PUSH_RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0)


@dataclass(frozen=True)
class Options:
    source: str
    repo: str
    branch: str = "main"
    cache_dir: Path | None = None
    limits: Limits = field(default_factory=Limits)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    list_workers: int = 32
    export_workers: int = 64
    chunk_size: int = 1000
    checkpoint_interval: float = 60.0
    push_interval: float = 30.0
    http_timeout: float = 60.0
    git_timeout: float = 900.0
    max_delete_percent: float = 50.0
    allow_mass_delete: bool = False
    # An empty listing of a folder that held more files than this on the branch is asked
    # again, and if it is still empty the folder is kept (reported), not emptied.
    max_folder_delete: int = 10
    allow_root: bool = False
    tag_prefix: str = "backup/"
    progress: bool = False
    export_mode: ExportMode = "auto"
    # auto: a folder is exported whole when at least this many of its notebooks need
    # exporting (one request instead of that many; see folder_export.py).
    folder_threshold: int = 2
    # Folder exports checked against per-notebook exports before any is trusted.
    verify_sample: int = 3


# --------------------------------------------------------------------------- writer


@dataclass
class _Blob:
    job: ExportJob
    spool: IO[bytes]
    size: int


@dataclass
class _Finish:
    seen: set[str]
    keep_prefixes: list[str]
    keep_paths: set[str]  # old paths of moved objects whose export failed


_Msg = _Blob | MoveJob | _Finish


class Pusher:
    """Pushes the newest checkpoint at most every ``interval`` seconds, off the hot path.

    Only a refusal (the branch diverged) ends the run: any other failure (network, the
    host's 5xx, a hook) waits for the next interval, and the final push tries again.
    """

    def __init__(self, repo: GitRepo, interval: float, abort: Abort, report: Report) -> None:
        self.thread = threading.Thread(target=self._run, name="gitsync-push", daemon=True)
        self.repo = repo
        self.interval = interval
        self.abort = abort
        self.report = report
        self._cond = threading.Condition()
        self._latest: str | None = None
        self.pushed: str | None = None
        self._stopping = False
        self.seconds = 0.0
        self.count = 0

    def offer(self, sha: str) -> None:
        with self._cond:
            self._latest = sha
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self.thread.join()

    def start(self) -> None:
        self.thread.start()

    def _due(self, last: float) -> float | None:
        """Seconds until the next push may start; None: nothing to push (wait for news)."""
        if self.abort.is_set() or self._latest is None or self._latest == self.pushed:
            return None
        return self.interval - (time.monotonic() - last)

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            with self._cond:
                while not self._stopping:
                    due = self._due(last)
                    if due is not None and due <= 0:
                        break
                    self._cond.wait(due)  # None: asleep until a checkpoint or stop()
                if self._stopping:
                    return
                sha = self._latest
            assert sha is not None
            t0 = time.monotonic()
            try:
                self.repo.push(sha)
            except PushRejectedError as err:
                self.abort.fail(err)
                return
            except GitsyncError as err:
                self.report.push_failures += 1
                self.report.push_error = str(err)
            else:
                self.count += 1
                self.pushed = sha
            finally:
                self.seconds += time.monotonic() - t0
                last = time.monotonic()


class Writer:
    """Owns fast-import and the manifest; turns exports and moves into chunked commits."""

    def __init__(
        self,
        repo: GitRepo,
        base_sha: str | None,
        base_tree: dict[str, str],
        base_manifest: Manifest,
        need_state: bool,
        opts: Options,
        report: Report,
        pusher: Pusher,
        abort: Abort,
        run_id: str,
    ) -> None:
        self.thread = threading.Thread(target=self._run, name="gitsync-writer", daemon=True)
        self.repo = repo
        self.fi = FastImport(repo)
        self.parent = base_sha
        self.head = base_sha
        self.base_tree = base_tree
        self.current = base_manifest.copy()
        self.present: set[str] = set()
        self._dirs: dict[str, int] = {}  # folder -> files present under it
        for path in base_tree:
            self._add_present(path)
        self.need_state = need_state
        self.opts = opts
        self.report = report
        self.pusher = pusher
        self.abort = abort
        self.run_id = run_id
        self.inbox: queue.Queue[_Msg] = queue.Queue(maxsize=max(16, 2 * opts.export_workers))
        self.pending: dict[str, str | None] = {}  # path -> dataref (None: delete)
        self.dirty: set[str] = set()
        self.n_pending = 0
        self.checkpoints = 0
        self.last_commit = time.monotonic()
        self.finished = threading.Event()
        self.seconds = 0.0
        # Every commit's manifest lists exactly its files. A hand-edited base may not:
        # files without an entry go in the first commit (re-exported if the workspace
        # has them), entries without a file too.
        self.strays = {p for p in base_tree if self.current.get(p) is None}
        for path in sorted(self.strays):
            self._delete(path)
        for path in [p for p in self.current.entries if p not in base_tree]:
            shard = self.current.remove(path)
            if shard is not None:
                self.dirty.add(shard)

    def put(self, msg: _Msg) -> None:
        while not self.abort.is_set():
            try:
                self.inbox.put(msg, timeout=0.5)
                return
            except queue.Full:
                continue
        if isinstance(msg, _Blob):
            msg.spool.close()

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join()

    def _run(self) -> None:
        try:
            self._loop()
        except GitsyncError as err:
            self.abort.fail(err)
        except Exception as err:  # noqa: BLE001 - surface a bug as one line, stop the run
            self.abort.fail(GitsyncError(f"internal error writing commits: {err!r}"))
        finally:
            if not self.finished.is_set():
                self.fi.abort()
            # Release spools of anything still queued.
            while True:
                try:
                    msg = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(msg, _Blob):
                    msg.spool.close()

    def _loop(self) -> None:
        while True:
            try:
                msg = self.inbox.get(timeout=0.5)
            except queue.Empty:
                msg = None
            if self.abort.is_set():
                self._salvage(msg)
                return
            t0 = time.monotonic()
            if isinstance(msg, _Blob):
                self._blob(msg)
            elif isinstance(msg, MoveJob):
                self._move(msg)
            elif isinstance(msg, _Finish):
                self._finish(msg)
                self.fi.close()
                self.finished.set()
                self.seconds += time.monotonic() - t0
                return
            if self.n_pending >= self.opts.chunk_size or (
                self.n_pending
                and time.monotonic() - self.last_commit >= self.opts.checkpoint_interval
            ):
                self._commit(final=False)
            self.seconds += time.monotonic() - t0

    def _salvage(self, msg: _Msg | None) -> None:
        """The run is stopping on another thread's error: what was exported already is
        committed as a checkpoint (and pushed by ``run``) rather than exported again by
        the next run. Not when git itself failed, or on a bug."""
        err = self.abort.error
        if isinstance(err, RepoError) or type(err) is GitsyncError:
            if isinstance(msg, _Blob):
                msg.spool.close()
            return
        while msg is not None:
            if isinstance(msg, _Blob):
                self._blob(msg)
            elif isinstance(msg, MoveJob):
                self._move(msg)
            try:
                msg = self.inbox.get_nowait()
            except queue.Empty:
                msg = None
        if self.n_pending or self.dirty:
            self._commit(final=False)

    @staticmethod
    def _parents(path: str) -> list[str]:
        parts = path.split("/")
        return ["/".join(parts[:i]) for i in range(1, len(parts))]

    def _add_present(self, path: str) -> None:
        if path not in self.present:
            self.present.add(path)
            for folder in self._parents(path):
                self._dirs[folder] = self._dirs.get(folder, 0) + 1

    def _drop_present(self, path: str) -> None:
        if path in self.present:
            self.present.discard(path)
            for folder in self._parents(path):
                left = self._dirs[folder] - 1
                if left:
                    self._dirs[folder] = left
                else:
                    del self._dirs[folder]

    def _clear_way(self, path: str) -> None:
        """Make room for a file at ``path`` in the same commit: a file where one of its
        folders goes (a notebook ``x.sql`` replaced by a folder ``x.sql/``), or files
        under a folder that is now this file. fast-import would replace them silently;
        the manifest must drop them too, or a later delete removes the new entry."""
        for folder in self._parents(path):
            if folder in self.present:
                self._delete(folder)
                self.report.bump("deleted")
        if path in self._dirs:
            prefix = path + "/"
            for old in sorted(p for p in self.present if p.startswith(prefix)):
                self._delete(old)
                self.report.bump("deleted")

    def _set(self, path: str, dataref: str, entry: Entry) -> None:
        self._clear_way(path)
        self.pending[path] = dataref
        self.dirty.add(self.current.set(path, entry))
        self._add_present(path)
        self.n_pending += 1

    def _delete(self, path: str) -> None:
        self.pending[path] = None
        shard = self.current.remove(path)
        if shard is not None:
            self.dirty.add(shard)
        self._drop_present(path)
        self.n_pending += 1

    def _drop_old(self, old: str, object_id: int) -> None:
        cur = self.current.get(old)
        if cur is not None and cur.object_id == object_id:
            self._delete(old)

    def _blob(self, msg: _Blob) -> None:
        try:
            mark = self.fi.blob(msg.spool, msg.size)
        finally:
            msg.spool.close()
        job = msg.job
        self._set(job.git_path, f":{mark}", job.entry)
        if job.old_path and job.old_path != job.git_path:
            self._drop_old(job.old_path, job.entry.object_id)
        self.report.bump(job.kind)

    def _move(self, msg: MoveJob) -> None:
        self._set(msg.new_path, self.base_tree[msg.old_path], msg.entry)
        self._drop_old(msg.old_path, msg.entry.object_id)
        self.report.bump("moved")

    def _finish(self, msg: _Finish) -> None:
        keep = tuple(msg.keep_prefixes)
        doomed = [
            path
            for path in sorted(self.present)
            if path not in msg.seen
            and path not in msg.keep_paths
            and not (keep and path.startswith(keep))
        ]
        base_files = len(self.base_tree) - len(self.strays)
        limit = self.opts.max_delete_percent / 100.0 * base_files
        if doomed and not self.opts.allow_mass_delete and len(doomed) > limit:
            # A listing that came back empty by mistake (a 200 "{}" for a folder, a
            # permission change) must not wipe the backup: what was exported so far is
            # committed, nothing is deleted, and a human decides.
            if self.pending or self.dirty:
                self._commit(final=False)
            raise MassDeleteError(
                f"refusing to delete {len(doomed)} of the {base_files} files on branch "
                f"{self.opts.branch} ({100.0 * len(doomed) / base_files:.0f}%, more than "
                f"--max-delete-percent {self.opts.max_delete_percent:g}): check that "
                f"{self.opts.source} really lost them, then rerun with --allow-mass-delete"
            )
        for path in doomed:
            self._delete(path)
        # Strays went in the first commit; those the workspace does not have count too.
        self.report.bump("deleted", len(doomed) + sum(1 for p in self.strays if p not in msg.seen))
        # Manifest entries without a file: drop them too.
        for path in [p for p in self.current.entries if p not in self.present]:
            shard = self.current.remove(path)
            if shard is not None:
                self.dirty.add(shard)
        if self.pending or self.dirty or self.need_state or self.head is None:
            self._commit(final=True)

    def _commit(self, *, final: bool) -> None:
        ops: list[bytes] = []
        for path, ref in self.pending.items():
            if ref is None:
                ops.append(op_delete(path))
        for path, ref in self.pending.items():
            if ref is not None:
                ops.append(op_modify(path, ref))
        for shard in sorted(self.dirty):
            data = self.current.render(shard)
            ops.append(op_inline(shard_path(shard), data) if data else op_delete(shard_path(shard)))
        if self.need_state:
            ops.append(op_inline(STATE_PATH, render_state(self.opts.source)))
            self.need_state = False
        self.checkpoints += 1
        c = self.report.counts
        if final:
            message = (
                f"gitsync: sync {self.opts.source}\n\n"
                f"+{c.added} ~{c.modified} >{c.moved} -{c.deleted}, "
                f"{c.scanned} objects, run {self.run_id}\n"
            )
        else:
            message = (
                f"gitsync: checkpoint {self.checkpoints} of run {self.run_id}\n\n"
                f"{self.n_pending} changes; the run continues from here if interrupted.\n"
            )
        mark = self.fi.commit(message, self.parent, ops)
        self.parent = None  # later commits continue from fast-import's branch tip
        sha = self.fi.checkpoint(mark)
        self.head = sha
        self.report.commits += 1
        self.report.commit_shas.append(sha)
        self.report.head_commit = sha
        self.pending.clear()
        self.dirty.clear()
        self.n_pending = 0
        self.last_commit = time.monotonic()
        self.pusher.offer(sha)


# --------------------------------------------------------------------------- run


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queued = 0
        self.exported = 0


def _utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(opts: Options, report: Report, client: WorkspaceClient | None = None) -> Report:
    """Mirror ``opts.source`` into ``opts.branch`` of ``opts.repo``; fill and return ``report``."""
    t_start = time.monotonic()
    report.started_at = _utc()
    report.rates = {
        "list": opts.limits.list_rate,
        "export": opts.limits.export_rate,
        "get-status": opts.limits.status_rate,
    }
    try:
        source = normalize_source(opts.source, allow_root=opts.allow_root)
    except ValueError as err:
        raise WorkspaceError(f"--source {err}") from None
    # One spelling everywhere: the branch's state and commit messages record this one.
    opts = dataclasses.replace(opts, source=source)
    report.source = source
    check_git()
    abort = Abort()
    pool = opts.list_workers + opts.export_workers + 4
    ws = Workspace(
        client or make_client(http_timeout=opts.http_timeout, pool_size=pool),
        opts.limits,
        opts.policy,
        stop=abort.event,
    )

    # Preflight: one request tells unreachable host, bad token and missing folder apart
    # before anything is written.
    try:
        info = ws.get_status(source, max_attempts=3)
    except RequestFailedError as err:
        raise describe_failure(err, ws.host, source) from None
    if info.object_type != ObjectType.DIRECTORY:
        kind = info.object_type.value.lower() if info.object_type else "object"
        raise WorkspaceError(f"--source {source} is a {kind}, not a folder, in workspace {ws.host}")

    repo = GitRepo(opts.repo, opts.branch, opts.cache_dir, source=source, timeout=opts.git_timeout)
    try:
        return _run(opts, report, ws, repo, abort, source, t_start)
    finally:
        repo.close()


def _run(
    opts: Options,
    report: Report,
    ws: Workspace,
    repo: GitRepo,
    abort: Abort,
    source: str,
    t_start: float,
) -> Report:
    base = repo.prepare()
    report.base_commit = base
    report.unpushed_discarded = repo.unpushed_discarded
    base_tree: dict[str, str] = {}
    base_manifest = Manifest()
    need_state = True
    if base:
        base_tree, base_manifest, state = repo.read_base(base)
        if state is None and base_tree:
            raise RepoError(
                f"branch {opts.branch} of {repo.shown} holds files not written by gitsync "
                f"(no {STATE_PATH}); use a new branch"
            )
        if state is not None:
            recorded = state.get("source")
            try:
                same = normalize_source(str(recorded), allow_root=True) == source
            except ValueError:
                same = False
            if not same:
                raise RepoError(
                    f"branch {opts.branch} of {repo.shown} mirrors {recorded}, "
                    f"not {source}; use another branch"
                )
            # A state written as '/Clients/' (before sources were normalised) is rewritten.
            need_state = recorded != source
        subject = repo.git("log", "-1", "--format=%s", base).stdout.decode().strip()
        report.resumed = subject.startswith("gitsync: checkpoint")
    t_prepared = time.monotonic()

    run_id = uuid.uuid4().hex[:12]
    pusher = Pusher(repo, opts.push_interval, abort, report)
    writer = Writer(
        repo, base, base_tree, base_manifest, need_state, opts, report, pusher, abort, run_id
    )
    counters = _Counters()
    folders = FolderExporter(
        ws,
        opts.export_mode,
        source=source,
        threshold=opts.folder_threshold,
        verify_sample=opts.verify_sample,
        abort=abort,
    )
    jobs: queue.Queue[ExportJob | FolderJob | None] = queue.Queue()
    keep_paths: set[str] = set()
    keep_lock = threading.Lock()

    def on_export(job: ExportJob) -> None:
        folders.note_single()
        with counters.lock:
            counters.queued += 1
        jobs.put(job)

    def on_folder(folder: str, objects: list[ObjectInfo], found: list[ExportJob]) -> None:
        whole, singles = folders.plan(folder, objects, found)
        if whole is not None:
            with counters.lock:
                counters.queued += len(whole.jobs)
            jobs.put(whole)
        for job in singles:
            on_export(job)

    def deliver(job: ExportJob, spool: IO[bytes], size: int) -> None:
        writer.put(_Blob(job, spool, size))

    def keep_old(job: ExportJob) -> None:
        # A moved object whose new version could not be exported keeps its old path
        # and version (the README's promise); the next run moves it.
        if job.old_path:
            with keep_lock:
                keep_paths.add(job.old_path)

    def export_worker() -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            if abort.is_set():
                continue
            try:
                singles = folders.export(job, deliver) if isinstance(job, FolderJob) else [job]
                for one in singles:
                    if not _export_one(ws, one, writer, report, abort, source):
                        keep_old(one)
            except RunAbortedError:
                pass
            except Exception as err:  # noqa: BLE001 - a bug must stop the run, not hang it
                abort.fail(GitsyncError(f"internal error exporting {job.ws_path}: {err!r}"))
            with counters.lock:
                counters.exported += len(job.jobs) if isinstance(job, FolderJob) else 1

    def render(elapsed: float) -> str:
        c = report.counts
        with counters.lock:
            done, queued = counters.exported, counters.queued
        rate = ws.stats["export"].requests / elapsed if elapsed else 0.0
        return (
            f"gitsync {source}: {c.directories} folders, {c.scanned} objects | "
            f"export {bar(done, queued)} {done}/{queued} {rate:.0f}/s | "
            f"{report.commits} commits | {elapsed:.0f}s"
        )

    scanner = Scanner(
        ws,
        source,
        base_manifest,
        base_tree,
        workers=opts.list_workers,
        on_export=on_export,
        on_move=writer.put,
        report=report,
        abort=abort,
        on_folder=on_folder,
        max_folder_delete=None if opts.allow_mass_delete else opts.max_folder_delete,
    )
    exporters = [
        threading.Thread(target=export_worker, name=f"gitsync-export-{i}", daemon=True)
        for i in range(opts.export_workers)
    ]
    pusher.start()
    writer.start()
    for t in exporters:
        t.start()
    with Progress(render, opts.progress):
        result = scanner.run()
        t_scanned = time.monotonic()
        for _ in exporters:
            jobs.put(None)
        for t in exporters:
            t.join()
        t_exported = time.monotonic()
        if not abort.is_set():
            writer.put(_Finish(result.seen, result.keep_prefixes, keep_paths))
        writer.join()
    pusher.stop()
    t_written = time.monotonic()

    report.requests = ws.request_stats()
    report.export_modes = folders.stats.as_dict()
    report.floor_seconds = round(
        max(
            ws.stats["list"].requests / opts.limits.list_rate,
            ws.stats["export"].requests / opts.limits.export_rate,
        ),
        3,
    )
    if abort.error is not None:
        # Checkpoints already made are complete commits with their manifest: hand the
        # newest to the remote so a run on another machine resumes from it (unless the
        # remote is what failed).
        if (
            not isinstance(abort.error, RepoError)
            and writer.head
            and writer.head not in (pusher.pushed, repo.remote_sha)
        ):
            with contextlib.suppress(GitsyncError):
                repo.push(writer.head)
        raise abort.error

    head = writer.head
    assert head is not None  # a first run always commits (at least the manifest)
    c = report.counts
    # A tag says "the mirror was verified at this time". A run that changed nothing and
    # had failures (every export or listing failed: the workspace answered nothing
    # usable) verified nothing: its commits are pushed, but it is not tagged.
    verified = not c.failed or bool(c.added or c.modified or c.moved or c.deleted)
    tag = (
        repo.free_tag(f"{opts.tag_prefix}{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}")
        if verified
        else None
    )
    t_push = time.monotonic()
    _final_push(repo, head, tag, report)
    if tag is not None:
        repo.tag_local(tag, head)
    report.pushed = True
    report.tag = tag
    report.head_commit = head
    t_tidy = time.monotonic()
    repo.tidy()
    repo.finished()
    t_end = time.monotonic()
    report.durations = {
        "prepare": round(t_prepared - t_start, 3),
        "scan": round(t_scanned - t_prepared, 3),
        "export": round(t_exported - t_prepared, 3),
        "write": round(writer.seconds, 3),
        "push": round(pusher.seconds + (t_tidy - t_push), 3),
        "tidy": round(t_end - t_tidy, 3),
        "finish": round(t_written - t_exported, 3),
        "total": round(t_end - t_start, 3),
    }
    report.finished_at = _utc()
    report.status = "incomplete" if report.counts.failed else "ok"
    return report


def _final_push(repo: GitRepo, head: str, tag: str | None, report: Report) -> None:
    """Push the branch and the run's tag; retry what is not a refusal."""
    for delay in (*PUSH_RETRY_DELAYS, None):
        try:
            repo.push(head, tag)
            return
        except PushRejectedError:
            raise
        except RepoError as err:
            report.push_failures += 1
            report.push_error = str(err)
            if delay is None:
                raise
            time.sleep(delay)
            if repo.remote_has(head, tag):
                return  # the last attempt landed; only its answer was lost


def _export_one(
    ws: Workspace, job: ExportJob, writer: Writer, report: Report, abort: Abort, source: str
) -> bool:
    """Export ``job`` and hand it to the writer; False if it was not exported."""
    path = job.ws_path
    try:
        spool, size = ws.export(
            path,
            notebook=job.notebook,
            expected_size=job.size,
            language=language_of(job.git_path) if job.notebook else None,
        )
    except RequestFailedError as err:
        c = err.classified
        if c.outcome is Outcome.AUTH:
            abort.fail(describe_failure(err, ws.host, path))
        elif c.outcome is Outcome.FORBIDDEN:
            fatal = ws.source_refused(source)
            if fatal is not None:
                abort.fail(fatal)
            else:
                report.problem(path, f"permission denied: {c.reason}", "failed")
        elif c.outcome is Outcome.NOT_FOUND:
            # Deleted (or moved) between list and export: the next run sees where it went;
            # until then whatever the branch had for this path stays.
            report.problem(path, "vanished before it could be exported", "vanished")
        elif c.outcome is Outcome.TOO_LARGE:
            if job.kind == "added":
                report.problem(path, c.reason, "too_large")
            else:
                report.problem(
                    path,
                    f"{c.reason}; the branch keeps the last version that could be exported, "
                    "now stale",
                    "too_large",
                )
                report.bump("stale")
        else:
            report.problem(path, c.reason, "failed")
        return False
    writer.put(_Blob(job, spool, size))
    return True
