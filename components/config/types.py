"""Value types and the building blocks of the config model: plain data, no Pulumi.

The check of a value sits next to its type; a rule the cloud enforces carries its source.
"""

from __future__ import annotations

import calendar
import datetime
import difflib
import functools
import importlib.resources
import re
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict
from pydantic.alias_generators import to_camel

from components.naming import RESOURCE_GROUP_RULE, container_name

PROJECT = "dataops"

# Keys owned by providers rather than by dataops; accepted and ignored by the model.
FOREIGN_NAMESPACES = ("azure-native", "databricks", "github", "azuredevops", "pulumi")


class ConfigError(Exception):
    """A stack config that cannot be deployed; ``str(err)`` is the one-line message."""

    def __init__(self, stack_file: str, key_path: str, problem: str) -> None:
        self.stack_file = stack_file
        self.key_path = _one_line(key_path)
        self.problem = _bounded(_one_line(problem))
        super().__init__(f"{_one_line(stack_file)}: {self.key_path}: {self.problem}")


# What str.splitlines() splits on, and the other control characters: escaped, so a key or
# value holding one (a tag name with a newline) cannot break the error into two lines.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


# A value pasted a hundred thousand characters long is shown by its ends: the line stays
# readable and still says what is wrong (the explanation closes the message).
_MAX_PROBLEM = 1000
_SHOWN_END = 400


def _bounded(text: str) -> str:
    if len(text) <= _MAX_PROBLEM:
        return text
    cut = len(text) - 2 * _SHOWN_END
    return f"{text[:_SHOWN_END]}...({cut} characters)...{text[-_SHOWN_END:]}"


def _one_line(text: str) -> str:
    return _LINE_BREAKING.sub(lambda match: repr(match.group(0))[1:-1], text)


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


def valid_email(value: str) -> bool:
    return _EMAIL.match(value) is not None


def _email(value: str) -> str:
    if not valid_email(value):
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


# The physical regions of Azure's public cloud (the one accounts.azuredatabricks.net
# serves), as `az account list-locations --query "[?metadata.regionType=='Physical'].name"`
# prints them: https://learn.microsoft.com/azure/reliability/regions-list
# A region Azure opens is one more name here.
_AZURE_REGION_NAMES = """
    australiacentral australiacentral2 australiaeast australiasoutheast austriaeast
    belgiumcentral brazilsouth brazilsoutheast canadacentral canadaeast centralindia
    centralus chilecentral denmarkeast eastasia eastus eastus2 francecentral francesouth
    germanynorth germanywestcentral indonesiacentral israelcentral italynorth japaneast
    japanwest jioindiacentral jioindiawest koreacentral koreasouth malaysiawest
    mexicocentral newzealandnorth northcentralus northeurope norwayeast norwaywest
    polandcentral qatarcentral southafricanorth southafricawest southcentralus
    southeastasia southindia spaincentral swedencentral swedensouth switzerlandnorth
    switzerlandwest taiwannorth uaecentral uaenorth uksouth ukwest westcentralus westeurope
    westindia westus westus2 westus3
"""
AZURE_REGIONS = frozenset(_AZURE_REGION_NAMES.split())


def _azure_location(value: str) -> str:
    if not _AZURE_LOCATION.match(value):
        raise ValueError(f"{value!r} is not an Azure region name (for example 'westeurope')")
    if value not in AZURE_REGIONS:
        spelled = value.replace(" ", "").lower()
        close = difflib.get_close_matches(spelled, sorted(AZURE_REGIONS), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{value!r} is not an Azure region{hint}")
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


# Microsoft Graph caps an Entra ID user's or service principal's displayName at 256
# characters (https://learn.microsoft.com/graph/api/resources/user#properties); blank
# names show as nothing in every list an admin reads.
_MAX_DISPLAY_NAME = 256


def _display_name(value: str) -> str:
    if not value:
        raise ValueError("is blank; give the name people see in the account console")
    if len(value) > _MAX_DISPLAY_NAME:
        raise ValueError(f"has {len(value)} characters; Entra ID takes {_MAX_DISPLAY_NAME}")
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError(f"{value!r} contains a control character")
    return value


def _github_name(value: str) -> str:
    if not _GITHUB_NAME.match(value):
        raise ValueError(f"{value!r} is not a GitHub owner or repository name")
    return value


# git check-ref-format's rules for a branch name (https://git-scm.com/docs/git-check-ref-format):
# no component starting with '.' or ending with '.lock', no '..', no control character,
# space, ~ ^ : ? * [ or \\, no '@{', not '@', no leading, trailing or doubled '/', no
# trailing '.', and (as `--branch` adds) no leading '-'. HEAD is no branch either.
_GIT_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def git_branch_problem(value: str) -> str | None:
    """Why git would refuse ``value`` as a branch name, or None."""
    if not value or value == "@" or value == "HEAD":
        return "is not a branch name"
    bad = _GIT_REF_FORBIDDEN.search(value)
    if bad:
        return f"contains {bad.group(0)!r}"
    if value.startswith(("-", "/")) or value.endswith(("/", ".")):
        return "starts with '-' or '/', or ends with '/' or '.'"
    for component in value.split("/"):
        if component.startswith(".") or component.endswith(".lock"):
            return f"has a part {component!r} that starts with '.' or ends with '.lock'"
    return None


def _git_branch(value: str) -> str:
    problem = git_branch_problem(value)
    if problem:
        raise ValueError(f"{value!r} is not a git branch name: it {problem}")
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


# Quartz refuses an increment of 0 or beyond its field ("Increment > 60"), CronExpression:
# https://www.quartz-scheduler.org/api/2.3.0/org/quartz/CronExpression.html
_MAX_INCREMENT = {
    "seconds": 59,
    "minutes": 59,
    "hours": 23,
    "day-of-month": 31,
    "month": 12,
    "day-of-week": 7,
    "year": 229,
}


def _number(text: str) -> bool:
    # str.isdigit() takes '²' and other Unicode digits that int() refuses.
    return text.isascii() and text.isdigit()


def _quartz_atom(atom: str, field: str, low: int, high: int) -> bool:
    names = _MONTHS if field == "month" else _DAYS if field == "day-of-week" else []
    base, _, step = atom.partition("/")
    if step and (not _number(step) or not 1 <= int(step) <= _MAX_INCREMENT[field]):
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
        if not _number(bound) or not low <= int(bound) <= high:
            return False
    return True


# The most days each month has (February: in leap years).
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _expand(text: str, low: int, high: int, names: Sequence[str] = ()) -> set[int]:
    """The values a (syntactically valid) Quartz field selects. The L, W and # forms count
    as every value: they fire in every month."""
    values: set[int] = set()
    for atom in text.split(","):
        base, _, step = atom.partition("/")
        if base in ("*", "?"):
            start, end = low, high
        elif re.fullmatch(r"[0-9A-Za-z]+(-[0-9A-Za-z]+)?", base) and "L" not in base.upper():
            bounds = [
                names.index(b.upper()) + low if b.upper() in names else int(b)
                for b in base.split("-")
            ]
            start = bounds[0]
            end = bounds[-1] if len(bounds) == 2 else (high if step else start)
        else:
            values.update(range(low, high + 1))
            continue
        # A range may wrap around (NOV-FEB).
        span = (
            range(start, end + 1)
            if start <= end
            else [*range(start, high + 1), *range(low, end + 1)]
        )
        values.update(list(span)[:: int(step) if step else 1])
    return values


def _never_fires(fields: list[str]) -> str | None:
    """Why a valid Quartz expression would never fire, or None (Databricks accepts a
    schedule on 30 February and simply never runs it)."""
    months = _expand(fields[4], 1, 12, _MONTHS)
    day_of_month = fields[3]
    if day_of_month != "?" and "L" not in day_of_month:
        days = {int(d) for d in re.findall(r"\d+", day_of_month)} if "W" in day_of_month else None
        days = days if days is not None else _expand(day_of_month, 1, 31)
        if not any(day <= _MONTH_DAYS[month - 1] for day in days for month in months):
            chosen = ", ".join(_MONTHS[m - 1] for m in sorted(months))
            return f"day-of-month {day_of_month!r} never occurs in {chosen}"
    if len(fields) == 7:
        this_year = datetime.datetime.now(datetime.UTC).year
        years = _expand(fields[6], 1970, 2199)
        if max(years) < this_year:
            return f"year {fields[6]!r} is past"
        leap_day_only = fields[3] != "?" and months == {2} and _expand(fields[3], 1, 31) == {29}
        if leap_day_only and not any(calendar.isleap(y) for y in years if y >= this_year):
            return "29 February never occurs in those years"
    return None


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
            else:
                never = _never_fires(fields)
                if never:
                    raise ValueError(f"{value!r} never fires: {never}")
    if problem:
        raise ValueError(
            f"{value!r} is not a Quartz cron expression ({problem}); "
            "for example '0 0 2 * * ?' is daily at 02:00"
        )
    return value


@functools.cache
def java_time_zones() -> frozenset[str]:
    """The IANA time zone ids, which Java's ZoneId knows too (both ship the tz database).

    From the ``tzdata`` package (a requirement), so every machine judges the same list
    whatever its own /usr/share/zoneinfo holds. Java's TimeZone.getTimeZone turns an id it
    does not know into GMT without a word, so a misspelled zone would silently run the
    job at the wrong hour:
    https://docs.oracle.com/en/java/javase/17/docs/api/java.base/java/util/TimeZone.html
    """
    zones = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(zones.split())


def _java_time_zone(value: str) -> str:
    zones = java_time_zones()
    if value not in zones:
        close = difflib.get_close_matches(value, sorted(zones), n=1, cutoff=0.6)
        if not close:
            close = [z for z in sorted(zones) if z.lower() == value.lower()]
        hint = f"; did you mean {close[0]!r}?" if close else " (for example 'Europe/Amsterdam')"
        raise ValueError(f"{value!r} is not a Java time zone id{hint}")
    return value


JavaTimeZone = Annotated[str, AfterValidator(_java_time_zone)]


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

# Tags the program puts on every resource itself (StackConfig.tags).
PROGRAM_TAGS = ("project", "environment", "stack")
# Azure's tag limits,
# https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations
# 50 tag name-value pairs per resource; names up to 512 characters, 128 on storage accounts
# (every tag lands on the storage account too); values up to 256; names may not contain
# < > % & \ ? /. Tag names are case-insensitive: two differing only by case are one tag.
_MAX_TAGS = 50
_MAX_TAG_NAME = 128
_MAX_TAG_VALUE = 256
_TAG_NAME_FORBIDDEN = set("<>%&\\?/")


def _tags(value: dict[str, str]) -> dict[str, str]:
    budget = _MAX_TAGS - len(PROGRAM_TAGS)
    if len(value) > budget:
        raise ValueError(
            f"has {len(value)} tags; Azure takes {_MAX_TAGS} per resource and the program "
            f"adds {len(PROGRAM_TAGS)} ({', '.join(PROGRAM_TAGS)}), so at most {budget}"
        )
    seen = {tag.lower(): tag for tag in PROGRAM_TAGS}
    for name, tag_value in value.items():
        if not name.strip():
            raise ValueError(f"tag name {name!r} is blank")
        if len(name) > _MAX_TAG_NAME:
            raise ValueError(
                f"tag name {name[:20]!r}... has {len(name)} characters; Azure takes "
                f"{_MAX_TAG_NAME} on storage accounts"
            )
        bad = sorted(set(name) & _TAG_NAME_FORBIDDEN)
        if bad or any(ord(c) < 32 for c in name):
            shown = repr(bad[0]) if bad else "a control character"
            raise ValueError(
                f"tag name {name!r} contains {shown}; Azure refuses < > % & \\ ? / in tag names"
            )
        if len(tag_value) > _MAX_TAG_VALUE:
            raise ValueError(
                f"the value of tag {name!r} has {len(tag_value)} characters; Azure takes "
                f"{_MAX_TAG_VALUE}"
            )
        other = seen.get(name.lower())
        if other is not None and other != name:
            raise ValueError(
                f"tag {name!r} differs from {other!r} only by case; Azure tag names are "
                "case-insensitive, so they are one tag"
            )
        seen[name.lower()] = name
    return value


AzureTags = Annotated[dict[str, str], AfterValidator(_tags)]
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
DisplayName = Annotated[str, AfterValidator(_display_name)]
GitBranch = Annotated[str, AfterValidator(_git_branch)]
WorkspacePath = Annotated[str, AfterValidator(_workspace_path)]
QuartzCron = Annotated[str, AfterValidator(_quartz_cron)]


# YAML's `true`, never 1 or "yes": a boolean or an integer must be written as one
# (pydantic's lax mode would take "1", 1.0 or "true" and guess).
StrictBool = Annotated[bool, Strict()]
# Pulumi carries every number as a float64 (protobuf's Value), so an integer beyond 2**53
# would arrive changed; the fields' own bounds are tighter where an API sets one.
MAX_SAFE_INTEGER = 2**53 - 1


def _safe_integer(value: int) -> int:
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"{value!r} is beyond what Pulumi carries exactly (2**53 - 1)")
    return value


ApiInt = Annotated[int, Strict(), AfterValidator(_safe_integer)]


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


def _require_unique(values: Sequence[str], what: str, *, ignore_case: bool = False) -> None:
    seen: dict[str, str] = {}
    for index, value in enumerate(values):
        key = value.lower() if ignore_case else value
        if key in seen:
            first = seen[key]
            if first == value:
                raise _PathError((_camel(what), index), f"{value!r} is listed twice")
            raise _PathError(
                (_camel(what), index),
                f"{value!r} differs from {first!r} only by case; the service compares "
                "them without case, so they are one",
            )
        seen[key] = value


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
