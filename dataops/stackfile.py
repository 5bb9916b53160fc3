"""Read ``Pulumi.<stack>.yaml`` files the way the Pulumi CLI hands them to the program.

The CLI merges the project's declared config (``Pulumi.yaml``: defaults and types) with
the stack file's values, JSON-encodes objects, and tells the program which keys are
secret. The offline engine must see exactly that, or a plan would differ from a deploy.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.config import FOREIGN_NAMESPACES, PROJECT, ConfigError
from dataops.safe_yaml import YamlRefusedError, load_mapping

SECRET_PLACEHOLDER_PREFIX = "offline-secret-placeholder"
PROJECT_FILE = "Pulumi.yaml"

# Types a Pulumi.yaml config declaration may name, and the Python types they accept.
_DECLARED_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "array": (list,),
}


class StackFileError(Exception):
    """The stack or project file itself is missing or unreadable; ``str(err)`` is one line."""


@dataclass(frozen=True)
class StackFile:
    stack: str
    path: Path
    values: dict[str, Any]  # full keys ("dataops:azure") to plain values
    secure_keys: frozenset[str]  # full keys given as `secure:`
    # Full keys to what follows `secure:` (the config check reads their shape only).
    ciphertexts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return self.path.name

    def dataops_values(self) -> dict[str, Any]:
        prefix = f"{PROJECT}:"
        return {k[len(prefix) :]: v for k, v in self.values.items() if k.startswith(prefix)}

    def foreign_values(self) -> dict[str, Any]:
        """The providers' keys (full keys), which the config check reads for credentials."""
        prefix = f"{PROJECT}:"
        return {k: v for k, v in self.values.items() if not k.startswith(prefix)}

    def dataops_secure_keys(self) -> frozenset[str]:
        prefix = f"{PROJECT}:"
        return frozenset(k[len(prefix) :] for k in self.secure_keys if k.startswith(prefix))

    def pulumi_config(self) -> tuple[dict[str, str], list[str]]:
        """Config as the language host passes it: objects JSON-encoded, secrets marked.

        Secure values cannot be decrypted offline; each becomes a placeholder that names
        its key, so a test can search a plan for it and prove it never leaks.
        """
        config: dict[str, str] = {}
        for key, value in self.values.items():
            if key in self.secure_keys:
                config[key] = secret_placeholder(key)
            elif isinstance(value, str):
                config[key] = value
            else:
                config[key] = json.dumps(value)
        return config, sorted(self.secure_keys)


def secret_placeholder(key: str) -> str:
    return f"{SECRET_PLACEHOLDER_PREFIX}:{key}"


def stack_names(root: Path) -> list[str]:
    """Every stack with a ``Pulumi.<stack>.yaml`` in the project root."""
    return [
        path.name[len("Pulumi.") : -len(".yaml")] for path in sorted(root.glob("Pulumi.*.yaml"))
    ]


def read_stack_file(root: Path, stack: str) -> StackFile:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise StackFileError(f"{path.name}: no such stack file in {root} (stacks: {known})")
    stack_file = parse_stack_file(stack, path, _read_bytes(path))
    return apply_project_config(stack_file, read_project_config(root))


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, or one line saying why they cannot be read (no traceback)."""
    try:
        return path.read_bytes()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise StackFileError(
            f"{path.name}: cannot read {path}: {reason}; check that it is a readable file"
        ) from None


def read_project_config(root: Path) -> dict[str, Any]:
    """The ``config`` block of ``Pulumi.yaml`` (empty when there is none)."""
    path = root / PROJECT_FILE
    if not path.is_file():
        raise StackFileError(f"{PROJECT_FILE}: not found in {root}; is this the project root?")
    document = _load_yaml(path.name, _read_bytes(path))
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{PROJECT_FILE}: config: must be a mapping")
    return config


def apply_project_config(stack_file: StackFile, declarations: Mapping[str, Any]) -> StackFile:
    """Merge project-level config as the CLI does: declared defaults, then type checks.

    A declaration is ``{type, description, default, secret}`` for a project key, or
    ``{value: ...}`` for any key (a provider's, say); a bare scalar is a value too.
    """
    values = dict(stack_file.values)
    secure = set(stack_file.secure_keys)
    for raw_key, declaration in declarations.items():
        key = _full_key(str(raw_key))
        if isinstance(declaration, dict) and "type" in declaration:
            declared_type = str(declaration["type"])
            accepted = _DECLARED_TYPES.get(declared_type)
            if accepted is None:
                raise StackFileError(
                    f"{PROJECT_FILE}: config: {key}: unknown type {declared_type!r}"
                )
            if key not in values:
                if "default" in declaration:
                    values[key] = declaration["default"]
                continue
            if key in secure:
                continue
            value = values[key]
            # YAML booleans are ints in Python; a declared integer must not accept them.
            if not isinstance(value, accepted) or (
                declared_type == "integer" and isinstance(value, bool)
            ):
                raise ConfigError(
                    stack_file.file_name,
                    key,
                    f"{value!r} is not a {declared_type} (declared in {PROJECT_FILE})",
                )
        elif key not in values:
            value = declaration.get("value") if isinstance(declaration, dict) else declaration
            values[key] = value
    return StackFile(
        stack=stack_file.stack,
        path=stack_file.path,
        values=values,
        secure_keys=frozenset(secure),
        ciphertexts=stack_file.ciphertexts,
    )


def parse_stack_file(stack: str, path: Path, text: str | bytes) -> StackFile:
    """Parse a stack file's text; keys are refused unless their namespace is known."""
    document = _load_yaml(path.name, text)
    return stack_file_from_document(stack, path, document)


def stack_file_from_document(stack: str, path: Path, document: Mapping[str, Any]) -> StackFile:
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise StackFileError(f"{path.name}: config: must be a mapping of 'namespace:key' to values")
    values: dict[str, Any] = {}
    secure: set[str] = set()
    ciphertexts: dict[str, Any] = {}
    for raw_key, value in raw.items():
        key = _full_key(str(raw_key))
        namespace, _, name = key.partition(":")
        if namespace != PROJECT and namespace not in FOREIGN_NAMESPACES:
            close = difflib.get_close_matches(namespace, [PROJECT, *FOREIGN_NAMESPACES], n=1)
            hint = f"; did you mean '{close[0]}:{name}'?" if close else ""
            raise ConfigError(path.name, key, f"unknown config namespace {namespace!r}{hint}")
        if isinstance(value, dict) and set(value) == {"secure"}:
            secure.add(key)
            values[key] = None
            ciphertexts[key] = value["secure"]
        else:
            values[key] = value
    return StackFile(
        stack=stack,
        path=path,
        values=values,
        secure_keys=frozenset(secure),
        ciphertexts=ciphertexts,
    )


def _full_key(key: str) -> str:
    # The CLI stores project keys with the project's namespace.
    return key if ":" in key else f"{PROJECT}:{key}"


def _load_yaml(file_name: str, data: str | bytes) -> dict[str, Any]:
    # Duplicate keys, non-UTF-8, depth and alias expansion are refused (dataops/safe_yaml.py).
    try:
        return load_mapping(file_name, data)
    except YamlRefusedError as err:
        raise StackFileError(str(err)) from None
