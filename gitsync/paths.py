"""Where a workspace object lands in the git tree, and which names cannot land at all."""

from __future__ import annotations

from databricks.sdk.service.workspace import Language, ObjectInfo, ObjectType

# SOURCE exports carry no extension; these are the ones the Databricks CLI and Repos use.
EXTENSIONS: dict[Language, str] = {
    Language.PYTHON: ".py",
    Language.SQL: ".sql",
    Language.SCALA: ".scala",
    Language.R: ".r",
}

META_DIR = ".gitsync"
# Bytes a file name may have on the file systems a clone lands on (NAME_MAX on Linux).
MAX_NAME_BYTES = 255


def language_of(git_path: str) -> Language | None:
    """The notebook language a git path's extension stands for (``EXTENSIONS`` reversed)."""
    for language, ext in EXTENSIONS.items():
        if git_path.endswith(ext):
            return language
    return None


# Code points HFS+ ignores in file names, so ".g\u200cit" is ".git" on a Mac (git's
# utf8.c next_hfs_char).
_HFS_IGNORED = frozenset(
    [*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)


def is_hfs_dotgit(name: str) -> bool:
    """git's ``is_hfs_dotgit``: ``name`` is ".git" once HFS+ drops its ignored code points."""
    kept = [c for c in name if ord(c) not in _HFS_IGNORED]
    return (
        len(kept) == 4
        and kept[0] == "."
        and all(ord(c) < 128 for c in kept)
        and "".join(kept[1:]).lower() == "git"
    )


def is_ntfs_dotgit(name: str) -> bool:
    """git's ``is_ntfs_dotgit``: ".git" or its 8.3 short name "git~1", case-insensitively,
    followed only by spaces and dots (NTFS trims them) up to the end, a ':' (an alternate
    data stream such as ``.git::$INDEX_ALLOCATION``), a '/' or a backslash."""
    lowered = name[:5].lower()
    if lowered.startswith(".git"):
        rest = name[4:]
    elif lowered == "git~1":
        rest = name[5:]
    else:
        return False
    for c in rest:
        if c in "\\/:":
            return True
        if c not in ". ":
            return False
    return True


def is_dotgit(name: str) -> bool:
    """What ``git fsck`` (run by GitHub, GitLab, Azure DevOps on every push, as
    ``receive.fsckObjects``) reports as ``hasDotgit``: a push with such a tree entry is
    rejected, on every run, so such names must never reach a commit. fsck also reads
    every part after a backslash as a name of its own (a Windows directory separator)."""
    if is_hfs_dotgit(name) or is_ntfs_dotgit(name):
        return True
    parts = name.split("\\")
    return any(is_ntfs_dotgit(part) for part in parts[1:])


def invalid_name_reason(name: str, *, top_level: bool) -> str | None:
    """Why ``name`` cannot be one component of a git path, or None if it can."""
    if name in ("", ".", ".."):
        return f"{name!r} is not a valid git path component"
    if is_dotgit(name):
        return (
            "is read as '.git' by git (case, trailing dots or spaces, 'git~1', an NTFS "
            "stream or an invisible character); remotes refuse it (fsck hasDotgit)"
        )
    if top_level and name == META_DIR:
        return f"'{META_DIR}' at the top is reserved for gitsync's own metadata"
    if "\x00" in name or "/" in name:
        return "contains NUL or '/'"
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (unpaired surrogate)"
    if len(encoded) > MAX_NAME_BYTES:
        # git stores any length, but a checkout creates the file: ext4, XFS, btrfs and
        # ZFS refuse names over 255 bytes (NAME_MAX, linux include/uapi/linux/limits.h),
        # NTFS over 255 UTF-16 units (learn.microsoft.com/windows/win32/fileio/
        # maximum-file-path-limitation: "255 characters" a component) and APFS likewise;
        # UTF-16 units are never more than UTF-8 bytes, so 255 bytes is safe everywhere.
        return (
            f"is {len(encoded)} bytes long in UTF-8: file systems allow at most "
            f"{MAX_NAME_BYTES} per name, and a clone of the backup would fail"
        )
    return None


def normalize_source(text: str, *, allow_root: bool = False) -> str:
    """The workspace folder ``text`` names, as one spelling: absolute, single slashes, no
    trailing slash. ``ValueError`` (a one-line reason) if it cannot be a source folder.

    One spelling matters because the branch records the source it mirrors and refuses
    another: ``/Clients/`` and ``/Clients`` must be the same folder. The workspace root
    mirrors everything (every user's home folder): only with ``allow_root``.
    """
    if not text.strip():
        raise ValueError("is empty: name a workspace folder such as /Clients")
    if not text.startswith("/"):
        raise ValueError(f"{text!r} is not absolute: workspace paths start with '/'")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(f"{text!r} contains a control character")
    parts = [p for p in text.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise ValueError(f"{text!r} contains '.' or '..': name the folder itself")
    if not parts and not allow_root:
        raise ValueError(
            f"{text!r} is the workspace root, which holds every user's folder: name the "
            "folder to mirror, or pass --allow-root to mirror the whole workspace"
        )
    return "/" + "/".join(parts)


def leaf_name(info: ObjectInfo) -> tuple[str | None, str | None]:
    """(git file name, None) for a notebook or file; (None, reason) if it is skipped."""
    name = (info.path or "").rsplit("/", 1)[-1]
    if info.object_type == ObjectType.FILE:
        return name, None
    if info.object_type == ObjectType.NOTEBOOK:
        ext = EXTENSIONS.get(info.language) if info.language else None
        if ext is None:
            lang = info.language.value if info.language else "none"
            return None, f"notebook language {lang} has no source extension"
        return name + ext, None
    kind = info.object_type.value if info.object_type else "unknown"
    return None, f"object type {kind} is not exported"


def relative(source: str, path: str) -> str:
    """``path`` relative to ``source`` (both absolute workspace paths)."""
    prefix = source.rstrip("/") + "/"
    if not path.startswith(prefix):
        raise ValueError(f"{path} is not under {source}")
    return path[len(prefix) :]


def quote(path: str) -> bytes:
    """A path as git fast-import reads it: always C-quoted, UTF-8, so any name goes."""
    out = bytearray(b'"')
    # surrogateescape: a path read from a foreign commit that is not UTF-8 round-trips.
    for b in path.encode("utf-8", "surrogateescape"):
        if b == 0x22:
            out += b'\\"'
        elif b == 0x5C:
            out += b"\\\\"
        elif b == 0x0A:
            out += b"\\n"
        elif b < 0x20 or b == 0x7F:
            out += b"\\%03o" % b
        else:
            out.append(b)
    out += b'"'
    return bytes(out)
