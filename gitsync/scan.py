"""The parallel directory walk and the change detection against the last manifest.

``workspace/list`` answers one folder per call, so the walk keeps up to
``workers`` folders in flight under the list bucket. Each listed object is compared
with the manifest of the commit the run builds on:

- same path, same ``object_id`` and ``modified_at``, file present: unchanged;
- same ``object_id`` elsewhere with the same ``modified_at``: moved (a rename in git,
  the blob is reused, nothing is exported);
- otherwise new or changed: handed to the exporters at once, so exports overlap the walk.

Deletions are only known once the walk is complete; they are the writer's last step.
A folder that cannot be listed protects everything mirrored under it from deletion: only
a listing the service answered, or a ``RESOURCE_DOES_NOT_EXIST`` that a get-status
confirms, ever empties a folder. An answered listing that is empty (``200 {}``) for a
folder the branch holds files under is asked again, and if the folder held more than
``max_folder_delete`` files it is kept and reported, not emptied: a proxy's or the
service's ``{}`` for one folder is otherwise indistinguishable from a folder emptied by
hand, and the run-wide mass-delete guard cannot see one folder among thousands.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from databricks.sdk.service.workspace import ObjectInfo, ObjectType

from gitsync.errors import GitsyncError
from gitsync.manifest import Entry, Manifest
from gitsync.paths import invalid_name_reason, leaf_name, relative
from gitsync.report import Report
from gitsync.retry import Outcome
from gitsync.workspace import RequestFailedError, RunAbortedError, Workspace, describe_failure

# What ``Scanner._list_once`` answers for a folder confirmed deleted during the walk.
_GONE: list[ObjectInfo] = []


class Abort:
    """The first fatal error of any thread; every loop checks it and winds down."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.error: GitsyncError | None = None
        self._lock = threading.Lock()

    def fail(self, err: GitsyncError) -> None:
        with self._lock:
            if self.error is None:
                self.error = err
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()


class ExportJob(NamedTuple):
    """One object to export. A plain tuple: a full run queues tens of thousands."""

    ws_path: str
    git_path: str
    notebook: bool
    entry: Entry
    kind: str  # added | modified | moved
    old_path: str | None  # where the object was before, for a moved-and-changed object
    size: int | None = None  # a file's listed size: checks a body sent without Content-Length


@dataclass(frozen=True)
class MoveJob:
    new_path: str
    old_path: str
    entry: Entry


@dataclass
class ScanResult:
    seen: set[str] = field(default_factory=set)  # every git path the workspace now maps to
    keep_prefixes: list[str] = field(default_factory=list)  # unlisted folders: never delete


class Scanner:
    def __init__(
        self,
        ws: Workspace,
        source: str,
        base: Manifest,
        base_tree: dict[str, str],
        *,
        workers: int,
        on_export: Callable[[ExportJob], None],
        on_move: Callable[[MoveJob], None],
        report: Report,
        abort: Abort,
        on_folder: Callable[[str, list[ObjectInfo], list[ExportJob]], None] | None = None,
        max_folder_delete: int | None = None,
    ) -> None:
        self.ws = ws
        self.max_folder_delete = max_folder_delete  # None: no per-folder guard
        self.source = source.rstrip("/") or "/"
        self.base = base
        self.base_tree = base_tree
        self.workers = workers
        self.on_export = on_export
        self.on_move = on_move
        # Given, a folder's export jobs go to it together with its listing (folder
        # export decides per folder); otherwise one by one to ``on_export``.
        self.on_folder = on_folder
        self.report = report
        self.abort = abort
        self.result = ScanResult()
        # Last in, first out: the walk goes deep before it goes wide, so the folders that
        # hold notebooks are reached in the first second and the exports start at once.
        # Breadth-first would list every engagement folder (half the walk) before the
        # first NOTEBOOKS folder, leaving the export bucket idle meanwhile.
        self._queue: queue.LifoQueue[str | None] = queue.LifoQueue()
        self._held: dict[str, int] | None = None  # folder -> files under it on the branch
        self._pending = 0
        self._lock = threading.Lock()
        self._done = threading.Event()

    def run(self) -> ScanResult:
        self._pending = 1
        self._queue.put(self.source)
        threads = [
            threading.Thread(target=self._worker, name=f"gitsync-list-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for t in threads:
            t.start()
        while not self._done.wait(0.2):
            if self.abort.is_set():
                break
        for _ in threads:
            self._queue.put(None)
        for t in threads:
            t.join()
        return self.result

    def _worker(self) -> None:
        while True:
            path = self._queue.get()
            if path is None:
                return
            try:
                if not self.abort.is_set():
                    self._list(path)
            except RunAbortedError:
                pass
            except GitsyncError as err:
                self.abort.fail(err)
            except Exception as err:  # noqa: BLE001 - a bug must stop the run, not hang it
                self.abort.fail(GitsyncError(f"internal error listing {path}: {err!r}"))
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending == 0:
                        self._done.set()

    def _rel_dir(self, path: str) -> str:
        return "" if path.rstrip("/") == self.source.rstrip("/") else relative(self.source, path)

    def _keep(self, path: str, reason: str) -> None:
        """Report a folder that could not be listed; nothing under it is deleted."""
        self.report.problem(path, reason, "list_failed")
        rel = self._rel_dir(path)
        with self._lock:
            self.result.keep_prefixes.append(rel + "/" if rel else "")

    def _held_under(self, rel_dir: str) -> int:
        """Files the branch holds under the folder ``rel_dir`` ("" is the source)."""
        with self._lock:
            if self._held is None:
                held: dict[str, int] = {}
                for p in self.base_tree:
                    if p.startswith(".gitsync/"):
                        continue
                    parts = p.split("/")
                    for i in range(len(parts)):
                        folder = "/".join(parts[:i])
                        held[folder] = held.get(folder, 0) + 1
                self._held = held
            return self._held.get(rel_dir, 0)

    def _list(self, path: str) -> None:
        objects = self._list_once(path)
        if objects is None or objects is _GONE:
            return
        if not objects and self._held_under(self._rel_dir(path)):
            # One empty answer is not proof that a folder the branch holds files under was
            # emptied: ask again before its files become deletions.
            objects = self._list_once(path)
            if objects is None or objects is _GONE:
                return
            held = self._held_under(self._rel_dir(path))
            if not objects and self.max_folder_delete is not None and held > self.max_folder_delete:
                self._keep(
                    path,
                    f"listed empty twice, but the branch holds {held} files under it (more "
                    f"than --max-folder-delete {self.max_folder_delete}): kept; if the folder "
                    "really was emptied, rerun with --allow-mass-delete",
                )
                return
        self._walk_listing(path, objects)

    def _list_once(self, path: str) -> list[ObjectInfo] | None:
        """The folder's listing, or None when it cannot be listed (reported, kept)."""
        try:
            return self.ws.list_dir(path)
        except RequestFailedError as err:
            c = err.classified
            if c.outcome is Outcome.AUTH or path == self.source:
                raise describe_failure(err, self.ws.host, path) from None
            if c.outcome is Outcome.FORBIDDEN:
                fatal = self.ws.source_refused(self.source)
                if fatal is not None:
                    raise fatal from None
                self._keep(path, f"permission denied: {c.reason}")
                return None
            if c.outcome is Outcome.NOT_FOUND and self._confirmed_gone(path):
                return _GONE  # deleted while we walked: its files are deletions
            self._keep(path, c.reason)
            return None

    def _walk_listing(self, path: str, objects: list[ObjectInfo]) -> None:
        if any((o.path or "").rstrip("/") == path.rstrip("/") for o in objects):
            # workspace/list of a path that is no longer a folder answers the object
            # itself: the folder was replaced during the walk. The next run settles it.
            self._keep(path, "was replaced by a notebook or file during the walk")
            return
        self.report.bump("directories")
        rel_dir = self._rel_dir(path)
        top = rel_dir == ""
        prefix = rel_dir + "/" if rel_dir else ""

        # name in git -> claimants; directories first so they win a collision.
        claims: dict[str, list[tuple[ObjectInfo, bool]]] = {}
        for obj in objects:
            name = (obj.path or "").rsplit("/", 1)[-1]
            if obj.object_type == ObjectType.DIRECTORY:
                why = invalid_name_reason(name, top_level=top)
                if why:
                    self.report.problem(obj.path or name, f"folder name {why}", "invalid_name")
                    continue
                claims.setdefault(name, []).append((obj, True))
                continue
            if obj.object_type in (ObjectType.NOTEBOOK, ObjectType.FILE):
                self.report.bump("scanned")
            git_name, skip = leaf_name(obj)
            if git_name is None:
                self.report.problem(obj.path or name, skip or "not exported", "unsupported")
                continue
            why = invalid_name_reason(git_name, top_level=top)
            if why:
                self.report.problem(obj.path or name, f"name {why}", "invalid_name")
                continue
            claims.setdefault(git_name, []).append((obj, False))

        batch: list[ExportJob] = []
        for git_name, group in claims.items():
            if len(group) > 1:
                # Deterministic winner: a folder, else the oldest object (lowest id).
                group.sort(key=lambda c: (not c[1], c[0].object_id or 0))
                winner = group[0][0]
                for loser, _ in group[1:]:
                    self.report.problem(
                        loser.path or git_name,
                        f"maps to the same git path {prefix + git_name!r} as {winner.path}",
                        "conflict",
                    )
            obj, is_dir = group[0]
            if is_dir:
                with self._lock:
                    self._pending += 1
                self._queue.put(obj.path or "")
            else:
                self._classify(obj, prefix + git_name, batch.append)
        if batch and self.on_folder is not None:
            self.on_folder(path, objects, batch)
        else:
            for job in batch:
                self.on_export(job)

    def _confirmed_gone(self, path: str) -> bool:
        """A listing said RESOURCE_DOES_NOT_EXIST: only a get-status saying the same
        makes its subtree deletions (a folder is never emptied on one answer)."""
        try:
            self.ws.get_status(path, max_attempts=3)
        except RequestFailedError as err:
            return err.classified.outcome is Outcome.NOT_FOUND
        return False

    def _classify(self, info: ObjectInfo, path: str, export: Callable[[ExportJob], None]) -> None:
        # A missing modified_at can never prove "unchanged": -1 forces an export.
        entry = Entry(info.object_id or 0, info.modified_at if info.modified_at is not None else -1)
        with self._lock:
            self.result.seen.add(path)
        if entry.modified_at >= 0 and self.base.get(path) == entry and path in self.base_tree:
            self.report.bump("unchanged")
            return
        old = self.base.path_of(entry.object_id)
        ws_path = info.path or ""
        notebook = info.object_type == ObjectType.NOTEBOOK
        size = None if notebook else info.size
        if old is None:
            export(ExportJob(ws_path, path, notebook, entry, "added", None, size))
        elif old == path:
            export(ExportJob(ws_path, path, notebook, entry, "modified", None, size))
        else:
            old_entry = self.base.get(old)
            # A notebook's extension is its language: a different one means the source
            # changed even if modified_at did not, so the old blob is no longer right.
            same_kind = not notebook or old.endswith(path[path.rfind(".") :])
            if (
                old_entry == entry
                and entry.modified_at >= 0
                and self.base_tree.get(old)
                and same_kind
            ):
                self.on_move(MoveJob(path, old, entry))
            else:
                export(ExportJob(ws_path, path, notebook, entry, "moved", old, size))
