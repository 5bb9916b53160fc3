"""Value types and the building blocks of the config model: plain data, no Pulumi.

The check of a value sits next to its type; a rule the cloud enforces carries its source.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from components.naming import RESOURCE_GROUP_RULE, container_name

PROJECT = "dataops"

# Keys owned by providers rather than by dataops; accepted and ignored by the model.
FOREIGN_NAMESPACES = ("azure-native", "databricks", "github", "azuredevops", "pulumi")


class ConfigError(Exception):
    """A stack config that cannot be deployed; ``str(err)`` is the one-line message."""

    def __init__(self, stack_file: str, key_path: str, problem: str) -> None:
        self.stack_file = stack_file
        self.key_path = key_path
        self.problem = problem
        super().__init__(f"{stack_file}: {key_path}: {problem}")


# --------------------------------------------------------------------------- value types

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
# Unity Catalog identifiers as dataops writes them unquoted: lower-case, digits, underscore.
_UC_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_AZURE_LOCATION = re.compile(r"^[a-z]+[a-z0-9]*$")
_GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$")
_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,11}$")
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_WORKSPACE_PATH = re.compile(r"^/[^\x00\n]*[^/]$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email")
    return value.lower()


def _uc_identifier(value: str) -> str:
    if not _UC_IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a Unity Catalog identifier "
            "(lower-case letters, digits and '_', not starting with a digit)"
        )
    return value


def _guid(value: str) -> str:
    if not _GUID.match(value):
        raise ValueError(f"{value!r} is not a GUID")
    return value.lower()


def _azure_location(value: str) -> str:
    if not _AZURE_LOCATION.match(value):
        raise ValueError(f"{value!r} is not an Azure region name (for example 'westeurope')")
    return value


def _group_name(value: str) -> str:
    if "@" in value:
        raise ValueError(f"{value!r} is a user; grants and owners name groups, never users")
    if not _GROUP_NAME.match(value):
        raise ValueError(f"{value!r} is not a group name (letters, digits, space, '.', '_', '-')")
    return value


def _name_prefix(value: str) -> str:
    if not _NAME_PREFIX.match(value):
        raise ValueError(
            f"{value!r} is not a name prefix (2-12 lower-case letters and digits, "
            "starting with a letter; it becomes part of the storage account name)"
        )
    return value


def _github_name(value: str) -> str:
    if not _GITHUB_NAME.match(value):
        raise ValueError(f"{value!r} is not a GitHub owner or repository name")
    return value


def _workspace_path(value: str) -> str:
    if not _WORKSPACE_PATH.match(value) or "//" in value:
        raise ValueError(f"{value!r} is not an absolute workspace path (for example '/Clients')")
    return value


# Quartz cron as Databricks takes it: sec min hour day-of-month month day-of-week [year].
_QUARTZ_FIELDS: tuple[tuple[str, int, int], ...] = (
    ("seconds", 0, 59),
    ("minutes", 0, 59),
    ("hours", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 1, 7),
    ("year", 1970, 2199),
)
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def _quartz_atom(atom: str, field: str, low: int, high: int) -> bool:
    names = _MONTHS if field == "month" else _DAYS if field == "day-of-week" else []
    base, _, step = atom.partition("/")
    if step and not step.isdigit():
        return False
    if base in ("*", "?"):
        return base == "*" or field in ("day-of-month", "day-of-week")
    if field == "day-of-month" and re.fullmatch(r"L(-\d{1,2})?|\d{1,2}W|LW", base):
        return True
    if field == "day-of-week" and re.fullmatch(r"[1-7](L|#[1-5])", base):
        return True
    bounds = base.split("-")
    if len(bounds) > 2:
        return False
    for bound in bounds:
        if bound.upper() in names:
            continue
        if not bound.isdigit() or not low <= int(bound) <= high:
            return False
    return True


def _quartz_cron(value: str) -> str:
    fields = value.split()
    problem = None
    if len(fields) not in (6, 7):
        problem = f"has {len(fields)} fields, Quartz cron needs 6 or 7"
    else:
        for text, (field, low, high) in zip(fields, _QUARTZ_FIELDS, strict=False):
            if not all(_quartz_atom(atom, field, low, high) for atom in text.split(",")):
                problem = f"field {field} {text!r} is not valid"
                break
        else:
            if (fields[3] == "?") == (fields[5] == "?"):
                problem = "exactly one of day-of-month and day-of-week must be '?'"
    if problem:
        raise ValueError(
            f"{value!r} is not a Quartz cron expression ({problem}); "
            "for example '0 0 2 * * ?' is daily at 02:00"
        )
    return value


def _format(pattern: str, description: str) -> AfterValidator:
    """A validator for a string format, whose error says what the format is."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {description}")
        return value

    return AfterValidator(check)


StorageAccountName = Annotated[
    str, _format(r"[a-z0-9]{3,24}", "a storage account name (3-24 lower-case letters and digits)")
]
# Azure's rule (no '--' either): components/naming.py, KEY_VAULT_RULE.
KeyVaultName = Annotated[
    str,
    _format(
        r"(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]",
        "a Key Vault name (3-24 letters, digits and '-', starting with a letter, no '--')",
    ),
]
WorkspaceName = Annotated[
    str,
    _format(
        r"[A-Za-z0-9][A-Za-z0-9_-]{2,63}", "a workspace name (3-64 letters, digits, '_' and '-')"
    ),
]


def _resource_group_name(value: str) -> str:
    problem = RESOURCE_GROUP_RULE.problem(value)
    if problem:
        raise ValueError(
            f"{value!r} is not a resource group name: it {problem} "
            f"({RESOURCE_GROUP_RULE.description})"
        )
    return value


ResourceGroupName = Annotated[str, AfterValidator(_resource_group_name)]
AbfssUrl = Annotated[
    str,
    _format(
        r"abfss://[^@/]+@[^/]+/.*",
        "an ADLS URL (abfss://<container>@<account>.dfs.core.windows.net/<path>)",
    ),
]
AzureDevopsOrganizationUrl = Annotated[
    str,
    _format(
        r"https://dev\.azure\.com/[A-Za-z0-9._-]+/?",
        "an Azure DevOps organization URL (https://dev.azure.com/<organization>)",
    ),
]
GitRemoteUrl = Annotated[
    str,
    _format(r"(https://|ssh://|git@)\S+", "a git remote URL (https://, ssh:// or git@)"),
]

Email = Annotated[str, AfterValidator(_email)]
UcIdentifier = Annotated[str, AfterValidator(_uc_identifier)]
Guid = Annotated[str, AfterValidator(_guid)]
AzureLocation = Annotated[str, AfterValidator(_azure_location)]
GroupName = Annotated[str, AfterValidator(_group_name)]
NamePrefix = Annotated[str, AfterValidator(_name_prefix)]
GithubName = Annotated[str, AfterValidator(_github_name)]
WorkspacePath = Annotated[str, AfterValidator(_workspace_path)]
QuartzCron = Annotated[str, AfterValidator(_quartz_cron)]


class _Model(BaseModel):
    """Frozen, camelCase in YAML, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )


class _PathError(ValueError):
    """A cross-field error that knows its exact key path below the model it was raised in."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        self.path = path
        super().__init__(message)


def _require_unique(values: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise _PathError((_camel(what), index), f"{value!r} is listed twice")
        seen.add(value)


# The medallion's schemas, in the jobs' catalog.
MEDALLION_SCHEMAS = ("bronze", "silver", "gold")


def _is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(f"{folder}/")


def _container_problem(identifier: str) -> str | None:
    container = container_name(identifier)
    if not 3 <= len(container) <= 63:
        return f"its storage container {container!r} needs 3-63 characters"
    if container.startswith("-") or container.endswith("-") or "--" in container:
        return (
            f"its storage container {container!r} would start or end with '-' or hold '--' "
            "(no leading, trailing or doubled '_')"
        )
    return None


def _camel(name: str) -> str:
    return to_camel(name) if "_" in name else name


# --------------------------------------------------------------------------- sections


def _doc(default: Any, description: str, **constraints: Any) -> Any:
    """A field with its default and the description the config reference prints."""
    return Field(default=default, description=description, **constraints)


def _required(description: str, **constraints: Any) -> Any:
    return Field(description=description, **constraints)
