"""Is an export's body what was asked for? Checked before a byte reaches git.

A ``200`` proves little: a proxy or an SSO gateway in front of the workspace answers its
login or error page with ``200 text/html``, and a cut or swapped body can carry any
status. Committed once, such a body stays: the manifest records the object's
``modified_at``, so later runs see it unchanged and never export it again. So an export
is accepted only when

- its ``Content-Type`` is not an HTML page (``text/html``, ``application/xhtml+xml``),
  unless the object is a workspace file whose own name says HTML;
- a notebook's ``SOURCE`` export begins with its language's header line;
- a file's byte count is the ``size`` the listing reported for it (``ObjectInfo.size``,
  "only applicable to files", https://docs.databricks.com/api/workspace/workspace/list).

Anything else raises :class:`~gitsync.retry.UnexpectedExportError`, which the retry
policy treats as transient (retried with backoff); an object whose export stays wrong is
reported ``failed`` and the branch keeps its previous version.
"""

from __future__ import annotations

from databricks.sdk.service.workspace import Language

from gitsync.retry import UnexpectedExportError

# The first line of a notebook's SOURCE export, per language: the databricks CLI decides
# that a file is a notebook by exactly this line (databricks/cli libs/notebook/detect.go,
# DetectWithFS: ".py"/".r" "# Databricks notebook source", ".scala" "// Databricks
# notebook source", ".sql" "-- Databricks notebook source"), and the workspace writes it
# on every SOURCE export so that the file can be imported back as a notebook.
NOTEBOOK_HEADERS: dict[Language, bytes] = {
    Language.PYTHON: b"# Databricks notebook source",
    Language.R: b"# Databricks notebook source",
    Language.SCALA: b"// Databricks notebook source",
    Language.SQL: b"-- Databricks notebook source",
}

# Bytes of the body kept for the check: the longest header and its line end.
HEAD_BYTES = 64

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_NAMES = (".html", ".htm", ".xhtml")


def check_export(
    path: str,
    *,
    notebook: bool,
    language: Language | None,
    head: bytes,
    size: int,
    content_type: str | None,
    listed_size: int | None,
) -> None:
    """Raise ``UnexpectedExportError`` unless the body (``head`` = its first bytes, ``size``
    in all) is the export of ``path`` that was asked for."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _HTML_TYPES and (notebook or not path.lower().endswith(_HTML_NAMES)):
        start = head[:40].decode("utf-8", "replace").split("\n", 1)[0]
        raise UnexpectedExportError(
            f"answered 200 with an HTML page ({media}, starting {start!r}), not the "
            "export: a proxy or login page in front of the workspace?"
        )
    if notebook:
        header = NOTEBOOK_HEADERS.get(language) if language is not None else None
        if header is None:
            return  # no known header (a language added later): the other checks stand
        first = head.split(b"\n", 1)[0].removesuffix(b"\r")
        if first != header:
            lang = language.value if language is not None else "?"
            raise UnexpectedExportError(
                f"the export does not start with the {lang} notebook header {header.decode()!r} "
                f"(it starts {head[:40]!r}): not a SOURCE export"
            )
    elif listed_size is not None and size != listed_size:
        raise UnexpectedExportError(
            f"the export has {size} bytes, the listing said {listed_size}: a different body "
            "(or the file changed meanwhile)"
        )
