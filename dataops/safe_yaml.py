"""A YAML loader for stack files that refuses what would hurt, in bounded time and memory.

``yaml.safe_load`` accepts, silently or at great cost, things a stack file must never be:

- a duplicate key: the last one wins, so a plaintext ``token:`` above a ``secure:`` block
  is accepted and stays in the committed file. YAML requires a mapping's keys to be
  unique (https://yaml.org/spec/1.2.2/#mapping); PyYAML does not check it
  (yaml/pyyaml#41);
- bytes that are not UTF-8: ``read_text`` raises ``UnicodeDecodeError``, a traceback;
- very deep nesting: PyYAML's composer and constructor recurse, so ten thousand ``[`` end
  in ``RecursionError``;
- alias expansion ("billion laughs"): PyYAML builds shared objects, cheap, but the config
  is then JSON-encoded for the program (``StackFile.pulumi_config``), which expands every
  alias: a one-kilobyte file becomes minutes of CPU and gigabytes of memory.

``load_mapping`` checks all of these on the node graph, before any Python object is built,
and raises :class:`YamlRefusedError` whose ``str`` is one line naming the file, the key path
and the line. Anchors and aliases that expand to a sane size stay allowed.

Limits (a shipped stack file is about 5 KB, 6 levels deep, 400 nodes): ``MAX_BYTES``
256 KiB (pure-Python PyYAML reads that in about 3 s), ``MAX_DEPTH`` 64 levels,
``MAX_NODES`` 100,000 values, after alias expansion. Timestamps stay strings
(``2024-01-01``), as the Pulumi CLI passes them to the program, and only JSON types come
out (a ``!!binary`` or ``!!set`` is refused), because the values are JSON-encoded for the
program.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_BYTES = 256 << 10
MAX_DEPTH = 64
MAX_NODES = 100_000

_JSON_SCALARS = (str, int, float, bool, type(None))


class YamlRefusedError(Exception):
    """The file is not a stack file we accept; ``str(err)`` is one line (file, where, what)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver, and with a depth guard in the composer.

    The guard is in ``compose_node`` because the composer is where PyYAML recurses: it
    stops at ``MAX_DEPTH`` long before Python's recursion limit.
    """

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's own class attribute
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlRefusedError(
                    f"line {self._line_here()}: nested more than {MAX_DEPTH} levels deep"
                )
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise YamlRefusedError(f"line {self._line_here()}: more than {MAX_NODES} values")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _line_here(self) -> int:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        return int(event.start_mark.line) + 1


def decode(file_name: str, data: bytes) -> str:
    """``data`` as text: UTF-8 (a BOM is allowed), at most ``MAX_BYTES``."""
    if len(data) > MAX_BYTES:
        raise YamlRefusedError(
            f"{file_name}: {len(data)} bytes, more than the {MAX_BYTES} a stack file may have"
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise YamlRefusedError(
            f"{file_name}: line {line}: byte {err.start} (0x{data[err.start]:02x}) is not "
            "UTF-8; save the file as UTF-8"
        ) from None


def load_mapping(file_name: str, data: bytes | str) -> dict[str, Any]:
    """The YAML document in ``data`` (bytes or text) as a plain mapping of JSON values.

    An empty document is ``{}``. Raises :class:`YamlRefusedError` for anything refused,
    including a document that is not a mapping.
    """
    text = decode(file_name, data) if isinstance(data, bytes) else data
    if len(text) > MAX_BYTES:
        raise YamlRefusedError(
            f"{file_name}: more than the {MAX_BYTES} bytes a stack file may have"
        )
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return {}
            _check_graph(node)
            document = loader.construct_document(node)
        finally:
            loader.dispose()
    except YamlRefusedError as err:
        raise YamlRefusedError(f"{file_name}: {err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" line {mark.line + 1}:" if mark is not None else ""
        problem = err.problem or err.context or "is not valid YAML"
        raise YamlRefusedError(f"{file_name}:{where} {problem}") from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, max(0, err.position)) + 1
        raise YamlRefusedError(
            f"{file_name}: line {line}: character {err.character:#06x} is not allowed in YAML"
        ) from None
    except yaml.YAMLError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "is not valid YAML"
        raise YamlRefusedError(f"{file_name}: {first}") from None
    except RecursionError:  # belt and braces: the depth guard should have stopped it
        raise YamlRefusedError(f"{file_name}: nested too deeply") from None
    if not isinstance(document, dict):
        raise YamlRefusedError(f"{file_name}: must be a mapping with a 'config' key")
    try:
        _check_values(document, "")
    except YamlRefusedError as err:
        raise YamlRefusedError(f"{file_name}: {err}") from None
    return document


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _check_graph(root: Node) -> None:
    """Duplicate keys, cycles and the expanded size, on the node graph, in linear time.

    An alias is the same ``Node`` object as its anchor, so the expanded size of a node is
    computed once per object (memoised) and a cycle is a node met again on its own path.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def children(node: Node) -> Iterator[tuple[str, Node]]:
        if isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                yield f"[{i}]", item
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                yield "", key
                label = key.value if isinstance(key, ScalarNode) else "?"
                yield f".{label}", value

    def size(node: Node, path: str) -> int:
        ident = id(node)
        known = sizes.get(ident)
        if known is not None:
            return known
        if ident in on_path:
            raise YamlRefusedError(
                f"line {_line(node)}: {path or 'the document'}: an alias refers to itself"
            )
        on_path.add(ident)
        if isinstance(node, MappingNode):
            _check_duplicates(node, path)
        total = 1
        for step, child in children(node):
            total += size(child, (path + step).lstrip(".") if step else path)
            if total > MAX_NODES:
                raise YamlRefusedError(
                    f"line {_line(node)}: {path or 'the document'}: expands to more than "
                    f"{MAX_NODES} values through aliases"
                )
        on_path.discard(ident)
        sizes[ident] = total
        return total

    size(root, "")


def _check_duplicates(node: MappingNode, path: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for key, _ in node.value:
        # A merge key (<<) may repeat and override on purpose; complex keys are refused by
        # the constructor (unhashable) with their own line.
        if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        ident = (key.tag, key.value)
        first = seen.get(ident)
        if first is not None:
            raise YamlRefusedError(
                f"line {_line(key)}: {_join(path, key.value)}: duplicate key (first on line "
                f"{first}); keep one"
            )
        seen[ident] = _line(key)


def _check_values(value: object, path: str) -> None:
    """Only JSON types: the values are JSON-encoded for the program."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, _JSON_SCALARS):
                raise YamlRefusedError(f"{_join(path, '?')}: a key must be a plain value")
            _check_values(item, _join(path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_values(item, f"{path}[{i}]")
    elif not isinstance(value, _JSON_SCALARS):
        raise YamlRefusedError(
            f"{path or 'the document'}: a {type(value).__name__} value (a YAML tag such as "
            "!!binary or !!set) is not a config value; write a string, number, list or mapping"
        )


def check_file(path: Path) -> None:
    """Refuse ``path`` (a stack file) as ``load_mapping`` would; a missing file is fine.

    For ``pulumi up``: the Pulumi CLI parses the stack file itself and hands the program
    only the values, so a duplicate key would be decided before the program runs. The
    entry point calls this first, so such a file stops the deploy with one line before
    any resource is registered. A stack whose config lives elsewhere has no file here.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    except OSError as err:
        raise YamlRefusedError(
            f"{path.name}: cannot read {path}: {err.strerror or type(err).__name__}"
        ) from None
    load_mapping(path.name, data)
