"""The typed stack config: what a platform team writes in ``Pulumi.<stack>.yaml``.

Plain data in, plain data out: this module knows nothing of Pulumi resources. It turns
the ``dataops:*`` keys of one stack into a frozen, validated :class:`StackConfig`, or
raises :class:`ConfigError` with one line that names the stack file and the key path
(``Pulumi.prod.yaml: dataops:identity.groups[2].members[0]: 'bob@' is not an email``).

YAML keys are camelCase (the Pulumi convention); Python fields are snake_case.
Secrets are never fields of the model: they are the top-level keys in
:data:`SECRET_KEYS`, which must be set with ``pulumi config set --secret`` and are read
as ``Output.secret`` by the program. The model only records whether each one is set.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

PROJECT = "dataops"

# Top-level keys that hold secrets. Each must be a `secure:` value in the stack file.
SECRET_KEYS: Mapping[str, str] = {
    "teamsWebhookUrl": "Microsoft Teams incoming-webhook URL for failure notifications",
    "gitSyncToken": "token the git backup job pushes with (when not using the service principal)",
}

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
_MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()
_DAYS = "SUN MON TUE WED THU FRI SAT".split()


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


Email = Annotated[str, AfterValidator(_email)]
UcIdentifier = Annotated[str, AfterValidator(_uc_identifier)]
Guid = Annotated[str, AfterValidator(_guid)]
AzureLocation = Annotated[str, AfterValidator(_azure_location)]
GroupName = Annotated[str, AfterValidator(_group_name)]
NamePrefix = Annotated[str, AfterValidator(_name_prefix)]
GithubName = Annotated[str, AfterValidator(_github_name)]
WorkspacePath = Annotated[str, AfterValidator(_workspace_path)]
QuartzCron = Annotated[str, AfterValidator(_quartz_cron)]


class Tier(str, Enum):
    """The environment tier; it sets defaults and which governance rules are mandatory."""

    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class _Model(BaseModel):
    """Frozen, camelCase in YAML, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )


class _AtPath(ValueError):
    """A cross-field error that knows its exact key path below the model it was raised in."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        self.path = path
        super().__init__(message)


def _require_unique(values: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise _AtPath((_camel(what), index), f"{value!r} is listed twice")
        seen.add(value)


def _check_grant_groups(
    grants: Sequence[GrantConfig], groups: set[str], path: tuple[str | int, ...]
) -> None:
    for index, grant in enumerate(grants):
        if grant.group not in groups:
            raise _AtPath(
                (*path, index, "group"),
                f"{grant.group!r} is not one of identity.groups {sorted(groups)}; "
                "grants go to groups, never to users",
            )


def _check_subnets(network: NetworkConfig) -> None:
    import ipaddress

    try:
        space = ipaddress.ip_network(network.address_space)
    except ValueError as exc:
        raise _AtPath(("azure", "network", "addressSpace"), str(exc)) from None
    subnets = []
    for key, value in (("publicSubnet", network.public_subnet), ("privateSubnet", network.private_subnet)):
        try:
            subnet = ipaddress.ip_network(value)
        except ValueError as exc:
            raise _AtPath(("azure", "network", key), str(exc)) from None
        if not subnet.subnet_of(space):  # type: ignore[arg-type]
            raise _AtPath(("azure", "network", key), f"{value} is not inside {space}")
        subnets.append(subnet)
    if subnets[0].overlaps(subnets[1]):
        raise _AtPath(("azure", "network", "privateSubnet"), "overlaps publicSubnet")


def _camel(name: str) -> str:
    return to_camel(name) if "_" in name else name


# --------------------------------------------------------------------------- sections


class NetworkConfig(_Model):
    """Where the workspace's clusters live: Databricks-managed VNet, or VNet injection."""

    mode: Literal["managed", "injected"] = "managed"
    address_space: str = "10.20.0.0/16"
    public_subnet: str = "10.20.1.0/24"
    private_subnet: str = "10.20.2.0/24"


class StorageConfig(_Model):
    account_name: str | None = Field(
        default=None,
        description="Storage account name; default st<prefix><stack>",
        pattern=r"^[a-z0-9]{3,24}$",
    )
    sku: Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS"] = (
        "Standard_LRS"
    )
    zones: tuple[UcIdentifier, ...] = ("landing", "bronze", "silver", "gold")

    @model_validator(mode="after")
    def _zones_unique(self) -> StorageConfig:
        _require_unique(self.zones, "zones")
        return self


class KeyVaultConfig(_Model):
    name: str | None = Field(default=None, pattern=r"^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
    purge_protection: bool | None = None
    soft_delete_retention_days: int = Field(default=90, ge=7, le=90)


class WorkspaceConfig(_Model):
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
    sku: Literal["premium", "standard", "trial"] = "premium"
    no_public_ip: bool = True
    managed_resource_group_name: str | None = None


class AzureConfig(_Model):
    location: AzureLocation
    subscription_id: Guid
    tenant_id: Guid
    name_prefix: NamePrefix
    resource_group_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    network: NetworkConfig = NetworkConfig()
    storage: StorageConfig = StorageConfig()
    key_vault: KeyVaultConfig = KeyVaultConfig()
    workspace: WorkspaceConfig = WorkspaceConfig()


class DatabricksConfig(_Model):
    """The Databricks account (one per Azure AD tenant) that owns Unity Catalog and identities."""

    account_id: Guid
    account_host: str = "https://accounts.azuredatabricks.net"


class MetastoreConfig(_Model):
    mode: Literal["reuse", "create"] = "reuse"
    id: Guid | None = None
    name: str | None = None
    region: AzureLocation | None = None
    storage_root: str | None = Field(default=None, pattern=r"^abfss://[^@/]+@[^/]+/.*$")
    owner: GroupName | None = None

    @model_validator(mode="after")
    def _mode_fields(self) -> MetastoreConfig:
        if self.mode == "reuse" and not self.id:
            raise ValueError("a reused metastore needs 'id' (the existing metastore's id)")
        if self.mode == "create" and self.id:
            raise ValueError("'id' is for mode reuse; a created metastore gets its id from Databricks")
        if self.mode == "create" and not self.name:
            raise ValueError("a created metastore needs 'name'")
        return self


Privilege = Literal[
    "ALL_PRIVILEGES",
    "USE_CATALOG",
    "USE_SCHEMA",
    "SELECT",
    "MODIFY",
    "CREATE_SCHEMA",
    "CREATE_TABLE",
    "CREATE_VOLUME",
    "CREATE_FUNCTION",
    "CREATE_MATERIALIZED_VIEW",
    "EXECUTE",
    "READ_VOLUME",
    "WRITE_VOLUME",
    "BROWSE",
    "APPLY_TAG",
    "MANAGE",
    "READ_FILES",
    "WRITE_FILES",
    "CREATE_EXTERNAL_TABLE",
    "CREATE_EXTERNAL_VOLUME",
    "CREATE_MANAGED_STORAGE",
]


class GrantConfig(_Model):
    group: GroupName
    privileges: tuple[Privilege, ...] = Field(min_length=1)


class SchemaConfig(_Model):
    name: UcIdentifier
    comment: str | None = None
    grants: tuple[GrantConfig, ...] = ()


class CatalogConfig(_Model):
    name: UcIdentifier
    comment: str | None = None
    schemas: tuple[SchemaConfig, ...] = (
        SchemaConfig(name="bronze"),
        SchemaConfig(name="silver"),
        SchemaConfig(name="gold"),
    )
    grants: tuple[GrantConfig, ...] = ()

    @model_validator(mode="after")
    def _schemas_unique(self) -> CatalogConfig:
        _require_unique([s.name for s in self.schemas], "schemas")
        return self


class UnityCatalogConfig(_Model):
    metastore: MetastoreConfig
    catalogs: tuple[CatalogConfig, ...] = Field(min_length=1)
    default_catalog: UcIdentifier | None = None
    external_location_grants: tuple[GrantConfig, ...] = ()

    @model_validator(mode="after")
    def _catalogs(self) -> UnityCatalogConfig:
        names = [c.name for c in self.catalogs]
        _require_unique(names, "catalogs")
        if self.default_catalog and self.default_catalog not in names:
            raise ValueError(
                f"defaultCatalog {self.default_catalog!r} is not one of the catalogs {names}"
            )
        return self


class Entitlements(_Model):
    workspace_access: bool = True
    databricks_sql_access: bool = False
    allow_cluster_create: bool = False


class GroupConfig(_Model):
    name: GroupName
    members: tuple[Email, ...] = ()
    workspace_role: Literal["ADMIN", "USER"] = "USER"
    entitlements: Entitlements = Entitlements()

    @model_validator(mode="after")
    def _members_unique(self) -> GroupConfig:
        _require_unique(self.members, "members")
        return self


class UserConfig(_Model):
    email: Email
    display_name: str


class ServicePrincipalConfig(_Model):
    display_name: str
    client_secret: bool = Field(
        default=False,
        description="Generate an OAuth secret (kept in Key Vault). Off: OIDC federation only.",
    )


class ServicePrincipalsConfig(_Model):
    deployer: ServicePrincipalConfig
    job_runner: ServicePrincipalConfig


class IdentityConfig(_Model):
    groups: tuple[GroupConfig, ...] = Field(min_length=1)
    users: tuple[UserConfig, ...] = ()
    service_principals: ServicePrincipalsConfig

    @model_validator(mode="after")
    def _consistent(self) -> IdentityConfig:
        _require_unique([g.name for g in self.groups], "groups")
        _require_unique([u.email for u in self.users], "users")
        known = {u.email for u in self.users}
        for gi, group in enumerate(self.groups):
            for mi, member in enumerate(group.members):
                if member not in known:
                    raise _AtPath(
                        ("groups", gi, "members", mi),
                        f"{member!r} is not one of identity.users; add it there with its displayName",
                    )
        return self

    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]


class BranchProtectionConfig(_Model):
    required_approvals: int = Field(default=1, ge=0, le=6)
    required_checks: tuple[str, ...] = ()
    dismiss_stale_reviews: bool = True
    require_code_owner_reviews: bool = True
    require_linear_history: bool = True
    enforce_admins: bool = True


class GithubConfig(_Model):
    owner: GithubName
    repository: GithubName
    manage_repository: bool = Field(
        default=False,
        description="This stack creates and owns the repository; exactly one stack sets it.",
    )
    visibility: Literal["private", "internal", "public"] = "private"
    description: str = "Governed Azure Databricks platform and its job code"
    main_protection: BranchProtectionConfig = BranchProtectionConfig(required_approvals=2)
    develop_protection: BranchProtectionConfig = BranchProtectionConfig(
        required_approvals=1, require_code_owner_reviews=False, require_linear_history=False
    )
    environment_reviewers: tuple[GithubName, ...] = ()
    code_owners: tuple[str, ...] = ()


class AzureDevopsConfig(_Model):
    organization_url: str = Field(pattern=r"^https://dev\.azure\.com/[A-Za-z0-9._-]+/?$")
    project: str
    repository: str
    manage_project: bool = False
    minimum_reviewers: int = Field(default=2, ge=0, le=10)


class SourceControlConfig(_Model):
    provider: Literal["github", "azuredevops"] = "github"
    github: GithubConfig | None = None
    azure_devops: AzureDevopsConfig | None = None
    develop_branch: str = "develop"
    main_branch: str = "main"

    @model_validator(mode="after")
    def _provider_section(self) -> SourceControlConfig:
        if self.provider == "github" and self.github is None:
            raise ValueError("provider github needs the 'github' section")
        if self.provider == "azuredevops" and self.azure_devops is None:
            raise ValueError("provider azuredevops needs the 'azureDevops' section")
        return self


class GitFoldersConfig(_Model):
    developers: tuple[Email, ...] = ()
    production_path: WorkspacePath = "/Repos/Production/dataops"


class ClusterConfig(_Model):
    node_type: str = "Standard_DS3_v2"
    spark_version: str = "15.4.x-scala2.12"
    num_workers: int = Field(default=0, ge=0, le=100)
    autotermination_minutes: int = Field(default=20, ge=10, le=240)


class ScheduleConfig(_Model):
    cron: QuartzCron
    timezone: str = "UTC"
    paused: bool | None = Field(
        default=None, description="Default: paused outside prod, running in prod."
    )


class GitSyncJobConfig(_Model):
    schedule: ScheduleConfig = ScheduleConfig(cron="0 0 2 * * ?")
    source_path: WorkspacePath = "/Clients"
    target_repository: str = Field(pattern=r"^(https://|ssh://|git@)\S+$")
    target_branch: str = "main"
    timeout_seconds: int = Field(default=8 * 3600, ge=60)
    max_retries: int = Field(default=1, ge=0, le=10)


class IntegrationTestJobConfig(_Model):
    schedule: ScheduleConfig | None = None
    timeout_seconds: int = Field(default=3600, ge=60)


class MedallionJobConfig(_Model):
    schedule: ScheduleConfig | None = None
    timeout_seconds: int = Field(default=3600, ge=60)


class JobsConfig(_Model):
    run_as: Literal["servicePrincipal", "deployer"] = "servicePrincipal"
    cluster: ClusterConfig = ClusterConfig()
    git_sync: GitSyncJobConfig
    integration_tests: IntegrationTestJobConfig = IntegrationTestJobConfig()
    medallion: MedallionJobConfig = MedallionJobConfig()
    code_folder: WorkspacePath | None = Field(
        default=None, description="Where job code is uploaded; default /Shared/dataops/<stack>"
    )


class NotificationsConfig(_Model):
    emails: tuple[Email, ...] = ()
    teams: bool = Field(default=False, description="Post failures to the Teams webhook secret")


class StackConfig(_Model):
    """Everything one stack deploys, validated as a whole."""

    environment: Tier
    azure: AzureConfig
    databricks: DatabricksConfig
    unity_catalog: UnityCatalogConfig
    identity: IdentityConfig
    source_control: SourceControlConfig
    git_folders: GitFoldersConfig = GitFoldersConfig()
    jobs: JobsConfig
    notifications: NotificationsConfig = NotificationsConfig()
    # Which of SECRET_KEYS this stack sets (as secure values). Filled by the loader.
    secrets_set: frozenset[str] = frozenset()

    @model_validator(mode="after")
    def _cross_field(self) -> StackConfig:
        groups = set(self.identity.group_names())
        for ci, catalog in enumerate(self.unity_catalog.catalogs):
            _check_grant_groups(catalog.grants, groups, ("unityCatalog", "catalogs", ci, "grants"))
            for si, schema in enumerate(catalog.schemas):
                _check_grant_groups(
                    schema.grants,
                    groups,
                    ("unityCatalog", "catalogs", ci, "schemas", si, "grants"),
                )
        _check_grant_groups(
            self.unity_catalog.external_location_grants,
            groups,
            ("unityCatalog", "externalLocationGrants"),
        )
        owner = self.unity_catalog.metastore.owner
        if owner and owner not in groups:
            raise _AtPath(
                ("unityCatalog", "metastore", "owner"),
                f"{owner!r} is not one of identity.groups {sorted(groups)}",
            )
        known_users = {u.email for u in self.identity.users}
        for di, developer in enumerate(self.git_folders.developers):
            if developer not in known_users:
                raise _AtPath(
                    ("gitFolders", "developers", di),
                    f"{developer!r} is not one of identity.users",
                )
        if self.environment is Tier.PROD and self.jobs.run_as != "servicePrincipal":
            raise _AtPath(
                ("jobs", "runAs"),
                "prod jobs must run as the job-runner service principal ('servicePrincipal')",
            )
        if self.environment is Tier.PROD and self.azure.key_vault.purge_protection is False:
            raise _AtPath(
                ("azure", "keyVault", "purgeProtection"),
                "prod Key Vault must keep purge protection on",
            )
        if self.environment is Tier.PROD and self.azure.workspace.sku != "premium":
            raise _AtPath(
                ("azure", "workspace", "sku"),
                "Unity Catalog governance needs a premium workspace in prod",
            )
        if self.notifications.teams and "teamsWebhookUrl" not in self.secrets_set:
            raise _AtPath(
                ("notifications", "teams"),
                "teams is on but the secret dataops:teamsWebhookUrl is not set "
                "(pulumi config set --secret teamsWebhookUrl <url>)",
            )
        if self.azure.network.mode == "injected":
            _check_subnets(self.azure.network)
        return self

    # ----------------------------------------------------------------- derived names

    @property
    def prefix(self) -> str:
        return self.azure.name_prefix

    def resource_group_name(self, stack: str) -> str:
        return self.azure.resource_group_name or f"rg-{self.prefix}-{stack}"

    def storage_account_name(self, stack: str) -> str:
        default = re.sub(r"[^a-z0-9]", "", f"st{self.prefix}{stack}")[:24]
        return self.azure.storage.account_name or default

    def workspace_name(self, stack: str) -> str:
        return self.azure.workspace.name or f"dbw-{self.prefix}-{stack}"

    def managed_resource_group_name(self, stack: str) -> str:
        return self.azure.workspace.managed_resource_group_name or f"rg-{self.prefix}-{stack}-dbw-managed"

    def key_vault_name(self, stack: str) -> str:
        return self.azure.key_vault.name or f"kv-{self.prefix}-{stack}"[:24]

    def jobs_paused(self, schedule: ScheduleConfig) -> bool:
        return schedule.paused if schedule.paused is not None else self.environment is not Tier.PROD

    def code_folder(self, stack: str) -> str:
        return self.jobs.code_folder or f"/Shared/dataops/{stack}"

    def tags(self, stack: str) -> dict[str, str]:
        return {"project": PROJECT, "environment": self.environment.value, "stack": stack} | dict(
            self.azure.tags
        )

    @property
    def protect_data(self) -> bool:
        """Prod data resources (storage, Key Vault, catalogs) are protected from deletion."""
        return self.environment is Tier.PROD


# --------------------------------------------------------------------------- helpers


def _format_path(parts: Sequence[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def _known_keys(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """The camelCase keys accepted at `path` (for did-you-mean), best effort."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields:
            return []
        match = next((f for n, f in fields.items() if _camel(n) == part or n == part), None)
        if match is None:
            return []
        current = _model_in(match.annotation)
    fields = getattr(current, "model_fields", {}) or {}
    return [_camel(name) for name in fields if name != "secrets_set"]


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _error_line(stack_file: str, error: Mapping[str, Any]) -> ConfigError:
    loc: list[str | int] = list(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    original = ctx.get("error")
    if isinstance(original, _AtPath):
        # Cross-field errors carry their own path; pydantic's loc stops at their model.
        loc = [*loc, *original.path]
        message = str(original)
    elif kind == "extra_forbidden":
        key = str(loc[-1])
        known = _known_keys(StackConfig, loc[:-1])
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
        message = f"unknown key {key!r}{hint}"
    elif kind == "missing":
        message = "is required"
    elif kind in ("value_error", "assertion_error"):
        message = str(original) if original is not None else error["msg"]
    elif kind == "literal_error":
        message = f"{error.get('input')!r} is not one of {ctx.get('expected')}"
    elif kind == "enum":
        message = f"{error.get('input')!r} is not one of {ctx.get('expected')}"
    else:
        message = f"{error['msg']} (got {error.get('input')!r})"
    top = str(loc[0]) if loc else ""
    key_path = f"{PROJECT}:{_format_path([_camel(top), *loc[1:]])}" if loc else PROJECT
    return ConfigError(stack_file, key_path, message)


def load_stack_config(
    values: Mapping[str, Any], stack_file: str, secure_keys: frozenset[str] = frozenset()
) -> StackConfig:
    """Validate the ``dataops:*`` values of one stack (keys without the namespace).

    ``values`` holds plain values (objects may also arrive as JSON strings, as
    ``pulumi.Config`` returns them); ``secure_keys`` names the keys given as ``secure:``.
    Raises :class:`ConfigError` on the first problem.
    """
    plain: dict[str, Any] = {}
    for key, value in values.items():
        if key in SECRET_KEYS:
            if key not in secure_keys:
                raise ConfigError(
                    stack_file,
                    f"{PROJECT}:{key}",
                    "is a secret and must be set with 'pulumi config set --secret', "
                    "never in plain text",
                )
            continue
        if key in secure_keys:
            raise ConfigError(
                stack_file,
                f"{PROJECT}:{key}",
                f"is not a secret setting; only {', '.join(SECRET_KEYS)} may be secure values",
            )
        plain[key] = _decode(value)
    if "secretsSet" in plain or "secrets_set" in plain:
        raise ConfigError(stack_file, f"{PROJECT}:secretsSet", "is not a config key")
    plain["secretsSet"] = frozenset(k for k in secure_keys if k in SECRET_KEYS)
    try:
        return StackConfig.model_validate(plain)
    except ValidationError as exc:
        raise _error_line(stack_file, exc.errors()[0]) from None


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
