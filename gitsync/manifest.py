"""The manifest: which workspace object each mirrored file came from, and as of when.

It lives in every commit under ``.gitsync/``, so each commit is a resume checkpoint:
a run reads the manifest of the branch tip and exports only what differs from it.

Layout: ``.gitsync/state.json`` (format, source folder) and
``.gitsync/manifest/<xx>/<y>``, 4096 shards keyed by a hash of the entry's folder, one
line per file ``<object_id>\\t<modified_at>\\t<json path>``, sorted. Sharding by folder
keeps a checkpoint commit cheap: the ~1,000 files of a chunk come from a few dozen
folders, so a commit rewrites a few dozen small shards, not a 5 MB manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from gitsync.paths import META_DIR

FORMAT = 1
STATE_PATH = f"{META_DIR}/state.json"
SHARD_DIR = f"{META_DIR}/manifest"


class Entry(NamedTuple):
    object_id: int
    modified_at: int


def shard_of(path: str) -> str:
    folder = path.rpartition("/")[0]
    digest = hashlib.blake2b(folder.encode("utf-8"), digest_size=2).hexdigest()
    return f"{digest[:2]}/{digest[2]}"


def shard_path(shard: str) -> str:
    return f"{SHARD_DIR}/{shard}"


def render_shard(entries: Iterable[tuple[str, Entry]]) -> bytes:
    # JSON escapes "\n" (and every control character) inside the path, so "\n" ends a line
    # and nothing else does. Other line breaks (U+2028, U+2029, U+0085, "\r") may stay raw
    # in the path: readers must split on b"\n" only, never with str.splitlines().
    lines = [
        f"{e.object_id}\t{e.modified_at}\t{json.dumps(p, ensure_ascii=False)}\n"
        for p, e in sorted(entries)
    ]
    return "".join(lines).encode("utf-8")


def parse_shard(data: bytes) -> Iterator[tuple[str, Entry]]:
    """The entries of one shard; ValueError if it is not one that ``render_shard`` wrote."""
    for raw in data.split(b"\n"):
        if not raw:
            continue
        oid, mtime, path = raw.decode("utf-8").split("\t", 2)
        name = json.loads(path)
        if not isinstance(name, str):
            raise ValueError(f"path is not a string: {path[:80]!r}")
        yield name, Entry(int(oid), int(mtime))


def render_state(source: str) -> bytes:
    return (
        json.dumps({"format": FORMAT, "source": source, "tool": "gitsync"}, indent=1) + "\n"
    ).encode()


def parse_state(data: bytes) -> dict[str, object]:
    state = json.loads(data)
    if not isinstance(state, dict):
        raise ValueError("state.json is not an object")
    return state


class Manifest:
    """path -> Entry, with the reverse index by object_id and per-shard membership."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.by_oid: dict[int, str] = {}
        self.shards: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, path: str) -> Entry | None:
        return self.entries.get(path)

    def path_of(self, object_id: int) -> str | None:
        return self.by_oid.get(object_id)

    def set(self, path: str, entry: Entry) -> str:
        """Record ``entry`` at ``path``; return the shard that changed."""
        old = self.entries.get(path)
        if old is not None and self.by_oid.get(old.object_id) == path:
            del self.by_oid[old.object_id]
        self.entries[path] = entry
        self.by_oid[entry.object_id] = path
        shard = shard_of(path)
        self.shards.setdefault(shard, set()).add(path)
        return shard

    def remove(self, path: str) -> str | None:
        old = self.entries.pop(path, None)
        if old is None:
            return None
        if self.by_oid.get(old.object_id) == path:
            del self.by_oid[old.object_id]
        shard = shard_of(path)
        members = self.shards.get(shard)
        if members is not None:
            members.discard(path)
        return shard

    def render(self, shard: str) -> bytes:
        members = self.shards.get(shard, set())
        return render_shard((p, self.entries[p]) for p in members)

    def copy(self) -> Manifest:
        m = Manifest()
        m.entries = dict(self.entries)
        m.by_oid = dict(self.by_oid)
        m.shards = {k: set(v) for k, v in self.shards.items()}
        return m
