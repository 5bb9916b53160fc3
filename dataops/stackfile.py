"""Read ``Pulumi.<stack>.yaml`` files the way the Pulumi CLI hands them to the program."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config import FOREIGN_NAMESPACES, PROJECT, ConfigError

SECRET_PLACEHOLDER_PREFIX = "offline-secret-placeholder"


class StackFileError(Exception):
    """The stack file itself is missing or unreadable; ``str(err)`` is one line."""


@dataclass(frozen=True)
class StackFile:
    stack: str
    path: Path
    values: dict[str, Any]  # full keys ("dataops:azure") to plain values
    secure_keys: frozenset[str]  # full keys given as `secure:`

    @property
    def file_name(self) -> str:
        return self.path.name

    def dataops_values(self) -> dict[str, Any]:
        prefix = f"{PROJECT}:"
        return {k[len(prefix) :]: v for k, v in self.values.items() if k.startswith(prefix)}

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
    names = []
    for path in sorted(root.glob("Pulumi.*.yaml")):
        names.append(path.name[len("Pulumi.") : -len(".yaml")])
    return names


def read_stack_file(root: Path, stack: str) -> StackFile:
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise StackFileError(f"{path.name}: no such stack file in {root} (stacks: {known})")
    return parse_stack_file(stack, path, path.read_text(encoding="utf-8"))


def parse_stack_file(stack: str, path: Path, text: str) -> StackFile:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "is not valid YAML"
        raise StackFileError(f"{path.name}:{where}: {problem}") from None
    if not isinstance(document, dict):
        raise StackFileError(f"{path.name}: must be a mapping with a 'config' key")
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise StackFileError(f"{path.name}: config: must be a mapping of 'namespace:key' to values")
    values: dict[str, Any] = {}
    secure: set[str] = set()
    for key, value in raw.items():
        key = str(key)
        namespace, sep, name = key.partition(":")
        if not sep:
            # The CLI stores project keys with the project's namespace.
            namespace, name, key = PROJECT, key, f"{PROJECT}:{key}"
        if namespace != PROJECT and namespace not in FOREIGN_NAMESPACES:
            close = difflib.get_close_matches(namespace, [PROJECT, *FOREIGN_NAMESPACES], n=1)
            hint = f"; did you mean '{close[0]}:{name}'?" if close else ""
            raise ConfigError(path.name, key, f"unknown config namespace {namespace!r}{hint}")
        if isinstance(value, dict) and set(value) == {"secure"}:
            secure.add(key)
            values[key] = None
        else:
            values[key] = value
    return StackFile(stack=stack, path=path, values=values, secure_keys=frozenset(secure))
