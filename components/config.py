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
from enum import StrEnum
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
    "gitCredentialToken": (
        "Git provider token (GitHub fine-grained token or Azure DevOps PAT, read access to the "
        "repository) of the deployer's Databricks git credential, which clones the Git folders"
    ),
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
KeyVaultName = Annotated[
    str,
    _format(
        r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]",
        "a Key Vault name (3-24 letters, digits and '-', starting with a letter)",
    ),
]
WorkspaceName = Annotated[
    str,
    _format(
        r"[A-Za-z0-9][A-Za-z0-9_-]{2,63}", "a workspace name (3-64 letters, digits, '_' and '-')"
    ),
]
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


class Tier(StrEnum):
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


def _check_grant_groups(
    grants: Sequence[GrantConfig], groups: set[str], path: tuple[str | int, ...]
) -> None:
    for index, grant in enumerate(grants):
        if grant.group not in groups:
            raise _PathError(
                (*path, index, "group"),
                f"{grant.group!r} is not one of identity.groups {sorted(groups)}; "
                "grants go to groups, never to users",
            )


# The medallion's schemas, in the jobs' catalog.
MEDALLION_SCHEMAS = ("bronze", "silver", "gold")
# Every workspace user may manage what is under /Shared (Databricks' default ACL).
SHARED_FOLDER = "/Shared"


def _is_under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(f"{folder}/")


# Databricks refuses VNet-injection subnets smaller than a /26 (its clusters need the room).
_DATABRICKS_SUBNET_MAX_PREFIX = 26


def container_name(identifier: str) -> str:
    """The storage container that holds a zone or a catalog (containers take no '_')."""
    return identifier.replace("_", "-")


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


def _check_subnets(network: NetworkConfig) -> None:
    import ipaddress

    try:
        space = ipaddress.ip_network(network.address_space)
    except ValueError as exc:
        raise _PathError(("azure", "network", "addressSpace"), str(exc)) from None
    subnets = []
    for key, value in (
        ("publicSubnet", network.public_subnet),
        ("privateSubnet", network.private_subnet),
    ):
        try:
            subnet = ipaddress.ip_network(value)
        except ValueError as exc:
            raise _PathError(("azure", "network", key), str(exc)) from None
        if not subnet.subnet_of(space):  # type: ignore[arg-type]
            raise _PathError(("azure", "network", key), f"{value} is not inside {space}")
        if subnet.prefixlen > _DATABRICKS_SUBNET_MAX_PREFIX:
            raise _PathError(
                ("azure", "network", key),
                f"{value} is a /{subnet.prefixlen}; Databricks needs subnets of "
                f"/{_DATABRICKS_SUBNET_MAX_PREFIX} or larger",
            )
        subnets.append(subnet)
    if subnets[0].overlaps(subnets[1]):
        raise _PathError(("azure", "network", "privateSubnet"), "overlaps publicSubnet")


def _camel(name: str) -> str:
    return to_camel(name) if "_" in name else name


# --------------------------------------------------------------------------- sections


def _doc(default: Any, description: str, **constraints: Any) -> Any:
    """A field with its default and the description the config reference prints."""
    return Field(default=default, description=description, **constraints)


def _required(description: str, **constraints: Any) -> Any:
    return Field(description=description, **constraints)


class NetworkConfig(_Model):
    """Where the workspace's clusters live: Databricks-managed VNet, or VNet injection."""

    mode: Literal["managed", "injected"] = _doc(
        "managed", "managed: Databricks' own VNet; injected: a VNet this stack creates"
    )
    address_space: str = _doc("10.20.0.0/16", "VNet address space (injected mode)")
    public_subnet: str = _doc("10.20.1.0/24", "Host (public) subnet, delegated to Databricks")
    private_subnet: str = _doc(
        "10.20.2.0/24", "Container (private) subnet, delegated to Databricks"
    )


class StorageConfig(_Model):
    """The ADLS Gen2 account that holds the data zones and the catalogs' managed storage."""

    account_name: StorageAccountName | None = _doc(
        None, "Storage account name (globally unique); default st<namePrefix><stack>"
    )
    sku: Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS"] = _doc(
        "Standard_LRS", "Replication: ZRS or GRS for prod data"
    )
    zones: tuple[UcIdentifier, ...] = _doc(
        ("landing", "bronze", "silver", "gold"),
        "Data zones: one private container and one external location each",
    )

    @model_validator(mode="after")
    def _zones_unique(self) -> StorageConfig:
        _require_unique(self.zones, "zones")
        for index, zone in enumerate(self.zones):
            problem = _container_problem(zone)
            if problem:
                raise _PathError(("zones", index), f"{zone!r}: {problem}")
        return self


class KeyVaultConfig(_Model):
    name: KeyVaultName | None = _doc(
        None, "Key Vault name (globally unique); default kv-<namePrefix>-<stack>"
    )
    purge_protection: bool | None = _doc(
        None, "Purge protection (irreversible once on); default on in prod, off elsewhere"
    )
    soft_delete_retention_days: int = _doc(
        90, "Days a deleted vault or secret can be recovered", ge=7, le=90
    )


class WorkspaceConfig(_Model):
    name: WorkspaceName | None = _doc(None, "Workspace name; default dbw-<namePrefix>-<stack>")
    sku: Literal["premium", "standard", "trial"] = _doc(
        "premium", "Pricing tier; Unity Catalog governance needs premium (enforced in prod)"
    )
    no_public_ip: bool = _doc(True, "Secure cluster connectivity: cluster nodes get no public IP")
    managed_resource_group_name: str | None = _doc(
        None, "Databricks-managed resource group; default rg-<namePrefix>-<stack>-dbw-managed"
    )


class AzureConfig(_Model):
    location: AzureLocation = _required("Azure region of every resource, e.g. westeurope")
    subscription_id: Guid = _required("Subscription the stack deploys into")
    tenant_id: Guid = _required("Entra ID tenant of the subscription and the Databricks account")
    name_prefix: NamePrefix = _required(
        "2-12 lower-case letters and digits that start every resource name"
    )
    resource_group_name: str | None = _doc(None, "Resource group; default rg-<namePrefix>-<stack>")
    tags: dict[str, str] = _doc({}, "Tags on every resource, on top of project/environment/stack")
    network: NetworkConfig = _doc(NetworkConfig(), "Workspace networking")
    storage: StorageConfig = _doc(StorageConfig(), "ADLS Gen2 storage")
    key_vault: KeyVaultConfig = _doc(
        KeyVaultConfig(), "Key Vault (RBAC) for the platform's secrets"
    )
    workspace: WorkspaceConfig = _doc(WorkspaceConfig(), "The Databricks workspace")


class DatabricksConfig(_Model):
    """The Databricks account (one per Entra ID tenant) that owns Unity Catalog and identities."""

    account_id: Guid = _required("Databricks account id (account console, top right)")
    account_host: str = _doc(
        "https://accounts.azuredatabricks.net", "Account API host (Azure commercial cloud)"
    )


class MetastoreConfig(_Model):
    mode: Literal["reuse", "create"] = _doc(
        "reuse", "reuse the region's metastore by id, or create it (exactly one stack may)"
    )
    id: Guid | None = _doc(None, "Id of the metastore to reuse (mode reuse)")
    name: str | None = _doc(None, "Name of the metastore to create (mode create)")
    region: AzureLocation | None = _doc(
        None, "Region of a created metastore; default azure.location"
    )
    storage_root: AbfssUrl | None = _doc(
        None, "Metastore-level managed storage; default none (catalogs bring their own)"
    )
    owner: GroupName | None = _doc(None, "Group that owns a created metastore")

    @model_validator(mode="after")
    def _mode_fields(self) -> MetastoreConfig:
        if self.mode == "reuse" and not self.id:
            raise _PathError(("id",), "a reused metastore needs the existing metastore's id")
        if self.mode == "create" and self.id:
            raise _PathError(
                ("id",), "is for mode reuse; a created metastore gets its id from Databricks"
            )
        if self.mode == "create" and not self.name:
            raise _PathError(("name",), "a created metastore needs a name")
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
    group: GroupName = _required("A group of identity.groups (never a user)")
    privileges: tuple[Privilege, ...] = _required("Unity Catalog privileges", min_length=1)


class SchemaConfig(_Model):
    name: UcIdentifier = _required("Schema name")
    comment: str | None = _doc(None, "Schema comment")
    grants: tuple[GrantConfig, ...] = _doc((), "Grants on the schema, by group")


# A catalog's managed storage lives in its own container, catalog-<name>.
CATALOG_CONTAINER_PREFIX = "catalog_"


class CatalogConfig(_Model):
    name: UcIdentifier = _required("Catalog name, e.g. the environment's: dev, staging, prod")
    comment: str | None = _doc(None, "Catalog comment")
    schemas: tuple[SchemaConfig, ...] = _doc(
        (SchemaConfig(name="bronze"), SchemaConfig(name="silver"), SchemaConfig(name="gold")),
        "Schemas in the catalog",
    )
    grants: tuple[GrantConfig, ...] = _doc((), "Grants on the catalog, by group")

    @model_validator(mode="after")
    def _schemas_unique(self) -> CatalogConfig:
        _require_unique([s.name for s in self.schemas], "schemas")
        problem = _container_problem(f"{CATALOG_CONTAINER_PREFIX}{self.name}")
        if problem:
            raise _PathError(("name",), f"{self.name!r}: {problem}")
        return self


class UnityCatalogConfig(_Model):
    metastore: MetastoreConfig = _required("The region's metastore: reuse or create")
    catalogs: tuple[CatalogConfig, ...] = _required(
        "The environment's catalogs, bound to this workspace only", min_length=1
    )
    default_catalog: UcIdentifier | None = _doc(None, "Workspace default catalog (one of catalogs)")
    owner: GroupName = _doc(
        "platform-admins",
        "Group that owns the credential, external locations, catalogs and schemas the stack"
        " creates and holds the metastore privileges to create more; the deployer joins it,"
        " so CI can change them after a person's first deploy",
    )
    external_location_grants: tuple[GrantConfig, ...] = _doc(
        (), "Grants on every zone's external location, by group"
    )

    @model_validator(mode="after")
    def _catalogs(self) -> UnityCatalogConfig:
        names = [c.name for c in self.catalogs]
        _require_unique(names, "catalogs")
        if self.default_catalog and self.default_catalog not in names:
            raise _PathError(
                ("defaultCatalog",), f"{self.default_catalog!r} is not one of the catalogs {names}"
            )
        return self


class Entitlements(_Model):
    workspace_access: bool = _doc(True, "May use the workspace")
    databricks_sql_access: bool = _doc(False, "May use Databricks SQL")
    allow_cluster_create: bool = _doc(False, "May create clusters (unrestricted)")


class GroupConfig(_Model):
    name: GroupName = _required("Account-level group name")
    members: tuple[Email, ...] = _doc((), "Emails of identity.users in the group")
    workspace_role: Literal["ADMIN", "USER"] = _doc("USER", "Permission on this workspace")
    entitlements: Entitlements = _doc(Entitlements(), "Workspace entitlements of the group")

    @model_validator(mode="after")
    def _members_unique(self) -> GroupConfig:
        _require_unique(self.members, "members")
        return self


class UserConfig(_Model):
    email: Email = _required("User name in Databricks (the Entra ID sign-in email)")
    display_name: str = _required("Display name")


class ServicePrincipalConfig(_Model):
    display_name: str = _required("Display name of the service principal")
    client_secret: bool = _doc(
        False, "Generate an OAuth secret (kept in Key Vault); off: OIDC federation only"
    )


class ServicePrincipalsConfig(_Model):
    deployer: ServicePrincipalConfig = _required("CI's identity: runs pulumi up for this stack")
    job_runner: ServicePrincipalConfig = _required("Jobs run as this principal (staging, prod)")


class IdentityConfig(_Model):
    groups: tuple[GroupConfig, ...] = _required("Account groups; grants name these", min_length=1)
    users: tuple[UserConfig, ...] = _doc((), "Account users (members of groups)")
    service_principals: ServicePrincipalsConfig = _required("This environment's machine identities")

    @model_validator(mode="after")
    def _consistent(self) -> IdentityConfig:
        _require_unique([g.name for g in self.groups], "groups")
        _require_unique([u.email for u in self.users], "users")
        known = {u.email for u in self.users}
        for gi, group in enumerate(self.groups):
            for mi, member in enumerate(group.members):
                if member not in known:
                    raise _PathError(
                        ("groups", gi, "members", mi),
                        f"{member!r} is not one of identity.users; "
                        "add it there with its displayName",
                    )
        return self

    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]


class BranchProtectionConfig(_Model):
    required_approvals: int = _doc(1, "Approving reviews a pull request needs", ge=0, le=6)
    required_checks: tuple[str, ...] = _doc((), "Status checks that must pass (job names)")
    dismiss_stale_reviews: bool = _doc(True, "A new push dismisses earlier approvals")
    require_code_owner_reviews: bool = _doc(True, "CODEOWNERS must approve their paths")
    require_linear_history: bool = _doc(True, "No merge commits")
    enforce_admins: bool = _doc(True, "Rules apply to administrators too")


class GithubConfig(_Model):
    owner: GithubName = _required("GitHub organization or user")
    repository: GithubName = _required("Repository name")
    manage_repository: bool = _doc(
        False, "This stack creates and protects the repository; exactly one stack sets it"
    )
    visibility: Literal["private", "internal", "public"] = _doc("private", "Repository visibility")
    description: str = _doc(
        "Governed Azure Databricks platform and its job code", "Repository description"
    )
    main_protection: BranchProtectionConfig = _doc(
        BranchProtectionConfig(required_approvals=2), "Rules on main (production)"
    )
    develop_protection: BranchProtectionConfig = _doc(
        # Lighter than main: repository admins may bypass, which is also how the owning
        # stack commits CODEOWNERS to develop.
        BranchProtectionConfig(
            required_approvals=1,
            require_code_owner_reviews=False,
            require_linear_history=False,
            enforce_admins=False,
        ),
        "Rules on develop (integration)",
    )
    environment_reviewers: tuple[GithubName, ...] = _doc(
        (), "GitHub users who approve deployments to this stack's environment"
    )
    code_owners: tuple[str, ...] = _doc((), "Owners written to CODEOWNERS, e.g. @org/team")
    ci_app_id: int | None = _doc(
        None,
        "ID of the GitHub App whose installation token CI's deploys use; develop's rule lets"
        " it through like a repository admin (an App is no repository role), so a deploy"
        " can update CODEOWNERS",
        gt=0,
    )

    @model_validator(mode="after")
    def _code_owners_writable(self) -> GithubConfig:
        if self.manage_repository and self.code_owners and self.develop_protection.enforce_admins:
            raise _PathError(
                ("developProtection", "enforceAdmins"),
                "must be false while codeOwners is set: this stack commits CODEOWNERS to "
                "develop as a repository admin, which the develop rule must let through",
            )
        return self


class AzureDevopsConfig(_Model):
    organization_url: AzureDevopsOrganizationUrl = _required("https://dev.azure.com/<organization>")
    project: str = _required("Azure DevOps project")
    repository: str = _required("Azure Repos repository")
    manage_project: bool = _doc(
        False, "This stack creates the project, repository and policies; exactly one stack sets it"
    )
    minimum_reviewers: int = _doc(2, "Reviewers a pull request to main needs", ge=0, le=10)
    pipeline_path: str = _doc(
        "azure-pipelines.yml", "YAML pipeline that validates pull requests into main"
    )


class SourceControlConfig(_Model):
    provider: Literal["github", "azuredevops"] = _doc("github", "Where the code lives")
    github: GithubConfig | None = _doc(None, "GitHub settings (provider github)")
    azure_devops: AzureDevopsConfig | None = _doc(
        None, "Azure DevOps settings (provider azuredevops)"
    )
    develop_branch: str = _doc("develop", "Integration branch; developers' Git folders follow it")
    main_branch: str = _doc("main", "Production branch; the production Git folder follows it")

    @model_validator(mode="after")
    def _provider_section(self) -> SourceControlConfig:
        if self.provider == "github" and self.github is None:
            raise _PathError(("github",), "is required when provider is github")
        if self.provider == "azuredevops" and self.azure_devops is None:
            raise _PathError(("azureDevops",), "is required when provider is azuredevops")
        if self.develop_branch == self.main_branch:
            raise _PathError(
                ("developBranch",),
                f"{self.develop_branch!r} is also mainBranch; changes reach main from develop "
                "through a pull request, so they must differ",
            )
        return self


class GitFoldersConfig(_Model):
    developers: tuple[Email, ...] = _doc(
        (), "identity.users who get a Git folder on develop in their user folder"
    )
    production_path: WorkspacePath = _doc(
        "/Repos/Production/dataops", "Workspace path of the production Git folder (on main)"
    )

    @model_validator(mode="after")
    def _repos_path(self) -> GitFoldersConfig:
        parts = self.production_path.split("/")
        if parts[1] == "Repos" and len(parts) != 4:
            raise _PathError(
                ("productionPath",),
                f"{self.production_path!r} is not a Git folder path: under /Repos it is "
                "/Repos/<folder>/<name>, for example /Repos/Production/dataops",
            )
        return self


class ClusterConfig(_Model):
    node_type: str = _doc("Standard_DS3_v2", "VM size of job-cluster nodes")
    spark_version: str = _doc("15.4.x-scala2.12", "Databricks Runtime, pinned")
    num_workers: int = _doc(0, "Workers per job cluster; 0 is single-node", ge=0, le=100)
    autotermination_minutes: int = _doc(
        20, "Idle minutes before an all-purpose cluster stops", ge=10, le=240
    )


class ScheduleConfig(_Model):
    cron: QuartzCron = _required("Quartz cron: sec min hour day-of-month month day-of-week")
    timezone: str = _doc("UTC", "Java time zone id, e.g. Europe/Amsterdam")
    paused: bool | None = _doc(None, "Default: paused outside prod, running in prod")


class GitSyncJobConfig(_Model):
    schedule: ScheduleConfig = _doc(ScheduleConfig(cron="0 0 2 * * ?"), "Daily at 02:00 UTC")
    source_path: WorkspacePath = _doc("/Clients", "Workspace folder mirrored into git")
    target_repository: GitRemoteUrl = _required("Git remote the backup is pushed to")
    target_branch: str = _doc("main", "Branch of the backup repository")
    timeout_seconds: int = _doc(8 * 3600, "Run timeout", ge=60)
    max_retries: int = _doc(1, "Retries of a failed run", ge=0, le=10)


class IntegrationTestJobConfig(_Model):
    schedule: ScheduleConfig | None = _doc(None, "Optional schedule (CI triggers it after deploy)")
    timeout_seconds: int = _doc(3600, "Run timeout", ge=60)
    run_medallion_first: bool = _doc(
        True, "Run the medallion job first, so the tables the checks read exist and are current"
    )


class MedallionJobConfig(_Model):
    schedule: ScheduleConfig | None = _doc(None, "Optional schedule of the ingestion")
    timeout_seconds: int = _doc(3600, "Run timeout", ge=60)
    seed_sample_data: bool | None = _doc(
        None, "Copy the shipped sample files into landing first; default on outside prod"
    )
    landing_zone: UcIdentifier | None = _doc(
        None, "Zone whose deliveries bronze reads; default the first of azure.storage.zones"
    )
    checkpoint_zone: UcIdentifier | None = _doc(
        None, "Zone holding bronze's Auto Loader checkpoints; default the second zone"
    )


class JobsConfig(_Model):
    run_as: Literal["servicePrincipal", "deployer"] = _doc(
        "servicePrincipal", "Jobs run as the job-runner principal, or the deploying identity"
    )
    cluster: ClusterConfig = _doc(ClusterConfig(), "Job cluster size, through the cluster policy")
    git_sync: GitSyncJobConfig = _required("The daily notebook backup")
    integration_tests: IntegrationTestJobConfig = _doc(
        IntegrationTestJobConfig(), "The integration-test job"
    )
    medallion: MedallionJobConfig = _doc(MedallionJobConfig(), "The bronze/silver/gold ingestion")
    code_folder: WorkspacePath | None = _doc(
        None,
        "Where job code is uploaded; default /Shared/dataops/<stack> (every user may edit "
        "/Shared: prod needs a folder outside it, e.g. /dataops/prod)",
    )
    catalog: UcIdentifier | None = _doc(
        None, "Catalog the jobs write; default unityCatalog.defaultCatalog, else the first catalog"
    )
    run_groups: tuple[GroupName, ...] = _doc(
        ("data-engineers",), "identity.groups that may view and run the jobs (CAN_MANAGE_RUN)"
    )
    manage_groups: tuple[GroupName, ...] = _doc(
        ("platform-admins",), "identity.groups that manage the jobs (CAN_MANAGE)"
    )


class NotificationsConfig(_Model):
    emails: tuple[Email, ...] = _doc((), "Addresses told of failed job runs")
    teams: bool = _doc(False, "Also post failures to Teams (needs the teamsWebhookUrl secret)")


class StackConfig(_Model):
    """Everything one stack deploys, validated as a whole."""

    environment: Tier = _required("Environment tier: dev, staging or prod")
    azure: AzureConfig = _required("The Azure side")
    databricks: DatabricksConfig = _required("The Databricks account")
    unity_catalog: UnityCatalogConfig = _required("Metastore, catalogs, schemas, grants")
    identity: IdentityConfig = _required("Groups, users, service principals")
    source_control: SourceControlConfig = _required("Repository, branches and their protection")
    git_folders: GitFoldersConfig = _doc(GitFoldersConfig(), "Databricks Git folders")
    jobs: JobsConfig = _required("Scheduled jobs and their compute")
    notifications: NotificationsConfig = _doc(NotificationsConfig(), "Where failures are reported")
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
        for owner, where in (
            (self.unity_catalog.metastore.owner, ("unityCatalog", "metastore", "owner")),
            (self.unity_catalog.owner, ("unityCatalog", "owner")),
        ):
            if owner and owner not in groups:
                raise _PathError(where, f"{owner!r} is not one of identity.groups {sorted(groups)}")
        known_users = {u.email for u in self.identity.users}
        for di, developer in enumerate(self.git_folders.developers):
            if developer not in known_users:
                raise _PathError(
                    ("gitFolders", "developers", di),
                    f"{developer!r} is not one of identity.users",
                )
        if self.environment is Tier.PROD and self.jobs.run_as != "servicePrincipal":
            raise _PathError(
                ("jobs", "runAs"),
                "prod jobs must run as the job-runner service principal ('servicePrincipal')",
            )
        if self.environment is Tier.PROD and self.azure.key_vault.purge_protection is False:
            raise _PathError(
                ("azure", "keyVault", "purgeProtection"),
                "prod Key Vault must keep purge protection on",
            )
        if self.environment is Tier.PROD and self.azure.workspace.sku != "premium":
            raise _PathError(
                ("azure", "workspace", "sku"),
                "Unity Catalog governance needs a premium workspace in prod",
            )
        if self.notifications.teams and "teamsWebhookUrl" not in self.secrets_set:
            raise _PathError(
                ("notifications", "teams"),
                "teams is on but the secret dataops:teamsWebhookUrl is not set "
                "(pulumi config set --secret teamsWebhookUrl <url>)",
            )
        if self.azure.network.mode == "injected":
            _check_subnets(self.azure.network)
        region = self.unity_catalog.metastore.region
        if region and region != self.azure.location:
            raise _PathError(
                ("unityCatalog", "metastore", "region"),
                f"{region!r} is not azure.location {self.azure.location!r}; a workspace can "
                "only be assigned a metastore in its own region",
            )
        zone_containers = {self.zone_container_name(zone) for zone in self.azure.storage.zones}
        for ci, catalog in enumerate(self.unity_catalog.catalogs):
            container = self.catalog_container_name(catalog.name)
            if container in zone_containers:
                raise _PathError(
                    ("unityCatalog", "catalogs", ci, "name"),
                    f"its managed-storage container {container!r} is also a zone container "
                    "(azure.storage.zones); rename the catalog or the zone",
                )
        return self

    @model_validator(mode="after")
    def _identity_and_source_control(self) -> StackConfig:
        github = self.source_control.github
        if (
            self.environment is Tier.PROD
            and self.source_control.provider == "github"
            and github is not None
            and not github.environment_reviewers
        ):
            raise _PathError(
                ("sourceControl", "github", "environmentReviewers"),
                "prod deployments need at least one reviewer (GitHub usernames)",
            )
        if "gitCredentialToken" not in self.secrets_set:
            raise _PathError(
                ("gitFolders",),
                "Git folders clone with the deployer's git credential, whose token is the "
                "secret dataops:gitCredentialToken, which is not set "
                "(pulumi config set --secret gitCredentialToken <token>)",
            )
        return self

    @model_validator(mode="after")
    def _jobs(self) -> StackConfig:
        jobs = self.jobs
        catalogs = {c.name: c for c in self.unity_catalog.catalogs}
        if jobs.catalog is not None and jobs.catalog not in catalogs:
            raise _PathError(
                ("jobs", "catalog"),
                f"{jobs.catalog!r} is not one of the catalogs {sorted(catalogs)}",
            )
        catalog = catalogs[self.jobs_catalog]
        schemas = {s.name for s in catalog.schemas}
        missing = [s for s in MEDALLION_SCHEMAS if s not in schemas]
        if missing:
            index = self.unity_catalog.catalogs.index(catalog)
            raise _PathError(
                ("unityCatalog", "catalogs", index, "schemas"),
                f"the jobs write bronze, silver and gold in catalog {catalog.name!r}, "
                f"which lacks {missing}",
            )
        zones = self.azure.storage.zones
        if not zones:
            raise _PathError(
                ("azure", "storage", "zones"),
                "is empty; the medallion job reads its deliveries from a zone",
            )
        for key, zone in (
            ("landingZone", jobs.medallion.landing_zone),
            ("checkpointZone", jobs.medallion.checkpoint_zone),
        ):
            if zone is not None and zone not in zones:
                raise _PathError(
                    ("jobs", "medallion", key),
                    f"{zone!r} is not one of azure.storage.zones {list(zones)}",
                )
        groups = set(self.identity.group_names())
        for key, names in (("runGroups", jobs.run_groups), ("manageGroups", jobs.manage_groups)):
            for index, group in enumerate(names):
                if group not in groups:
                    raise _PathError(
                        ("jobs", key, index),
                        f"{group!r} is not one of identity.groups {sorted(groups)}",
                    )
        for index, group in enumerate(jobs.run_groups):
            if group in jobs.manage_groups:
                raise _PathError(
                    ("jobs", "runGroups", index),
                    f"{group!r} is also in manageGroups; a group has one permission on a job",
                )
        if self.git_sync_uses_token and "gitSyncToken" not in self.secrets_set:
            raise _PathError(
                ("jobs", "gitSync", "targetRepository"),
                "an https remote needs the secret dataops:gitSyncToken, which is not set "
                "(pulumi config set --secret gitSyncToken <token>); ssh remotes need none",
            )
        if self.environment is Tier.PROD and jobs.medallion.seed_sample_data:
            raise _PathError(
                ("jobs", "medallion", "seedSampleData"),
                "prod ingests only what is delivered to landing, never the sample dataset",
            )
        folder = self.code_folder("<stack>")
        if self.environment is Tier.PROD and _is_under(folder, SHARED_FOLDER):
            raise _PathError(
                ("jobs", "codeFolder"),
                f"{folder!r} is under {SHARED_FOLDER}, which every workspace user may edit, "
                "and prod jobs run this code as the job runner; set a folder outside it, "
                "for example /dataops/prod",
            )
        return self

    def group_display_name(self, stack: str, group: str) -> str:
        """The account group a config group name stands for: one set of groups per stack.

        Account groups are shared by every workspace of the account, so each stack owns its
        own (`prod-analysts`): memberships, workspace roles and destroy stay per stack.
        """
        return f"{stack}-{group}"

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
        return (
            self.azure.workspace.managed_resource_group_name
            or f"rg-{self.prefix}-{stack}-dbw-managed"
        )

    def zone_container_name(self, zone: str) -> str:
        return container_name(zone)

    def catalog_container_name(self, catalog: str) -> str:
        """The container of a catalog's managed storage (its tables' files)."""
        return container_name(f"{CATALOG_CONTAINER_PREFIX}{catalog}")

    def key_vault_name(self, stack: str) -> str:
        # Vault names are 3-24 characters and may not end with '-'.
        return self.azure.key_vault.name or f"kv-{self.prefix}-{stack}"[:24].rstrip("-")

    @property
    def key_vault_purge_protection(self) -> bool:
        """Configured, or on in prod and off elsewhere (a dev vault must be purgeable)."""
        configured = self.azure.key_vault.purge_protection
        return configured if configured is not None else self.environment is Tier.PROD

    def jobs_paused(self, schedule: ScheduleConfig) -> bool:
        return schedule.paused if schedule.paused is not None else self.environment is not Tier.PROD

    def code_folder(self, stack: str) -> str:
        return self.jobs.code_folder or f"{SHARED_FOLDER}/dataops/{stack}"

    @property
    def jobs_catalog(self) -> str:
        """The catalog the jobs write: configured, else the default catalog, else the first."""
        return (
            self.jobs.catalog
            or self.unity_catalog.default_catalog
            or self.unity_catalog.catalogs[0].name
        )

    @property
    def landing_zone(self) -> str:
        """Where deliveries land: configured, else the first zone (data flows in list order)."""
        return self.jobs.medallion.landing_zone or self.azure.storage.zones[0]

    @property
    def checkpoint_zone(self) -> str:
        """Where bronze keeps its checkpoints: configured, else the zone after landing's."""
        zones = self.azure.storage.zones
        return self.jobs.medallion.checkpoint_zone or zones[min(1, len(zones) - 1)]

    @property
    def seed_sample_data(self) -> bool:
        """Dev and staging have no real deliveries: the sample dataset stands in for them."""
        configured = self.jobs.medallion.seed_sample_data
        return configured if configured is not None else self.environment is not Tier.PROD

    @property
    def git_sync_uses_token(self) -> bool:
        """An https remote takes a token; ssh remotes authenticate with keys."""
        return self.jobs.git_sync.target_repository.startswith("https://")

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


# pydantic's error types for a value of the wrong type, as a YAML author would say it.
_TYPE_NAMES: Mapping[str, str] = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "a whole number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "tuple_type": "a list",
    "list_type": "a list",
    "frozen_set_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


_BOUNDS: Mapping[str, str] = {
    "less_than_equal": "is more than {le}",
    "less_than": "is not less than {lt}",
    "greater_than_equal": "is less than {ge}",
    "greater_than": "is not more than {gt}",
    "too_short": "needs at least {min_length} item(s)",
    "too_long": "has more than {max_length} item(s)",
}


def _error_line(stack_file: str, error: Mapping[str, Any]) -> ConfigError:
    loc: list[str | int] = list(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    original = ctx.get("error")
    if isinstance(original, _PathError):
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
    elif kind == "literal_error" or kind == "enum":
        message = f"{error.get('input')!r} is not one of {ctx.get('expected')}"
    elif kind in _BOUNDS:
        message = f"{error.get('input')!r} {_BOUNDS[kind].format(**ctx)}"
    elif kind in _TYPE_NAMES:
        message = f"{error.get('input')!r} is not {_TYPE_NAMES[kind]}"
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


def check_shared_singletons(configs: Mapping[str, StackConfig]) -> None:
    """Cross-stack rules: each shared singleton has exactly one owning stack.

    ``configs`` maps stack file names to their configs (every stack of the project).
    The GitHub repository (or Azure DevOps project) is created and protected by one
    stack and looked up by the others; a region's metastore is created by at most one
    stack (Azure allows one per region per account) and reused by id everywhere else, and
    the stacks sharing it never declare the same catalog.
    """
    repositories: dict[str, list[str]] = {}
    owners: dict[str, list[str]] = {}
    for file_name, config in configs.items():
        source = config.source_control
        if source.provider == "github" and source.github:
            key = f"github.com/{source.github.owner}/{source.github.repository}"
            owned = source.github.manage_repository
        elif source.azure_devops:
            devops = source.azure_devops
            key = f"{devops.organization_url.rstrip('/')}/{devops.project}"
            owned = devops.manage_project
        else:  # pragma: no cover - the model requires the provider's section
            continue
        repositories.setdefault(key, []).append(file_name)
        if owned:
            owners.setdefault(key, []).append(file_name)
    for key, files in sorted(repositories.items()):
        owning = owners.get(key, [])
        if len(owning) != 1:
            flag = "manageRepository" if key.startswith("github.com/") else "manageProject"
            found = ", ".join(owning) if owning else "none"
            raise ConfigError(
                ", ".join(sorted(files)),
                f"{PROJECT}:sourceControl",
                f"{key} needs exactly one owning stack ({flag}: true), found {found}",
            )

    creators: dict[tuple[str, str], list[str]] = {}
    for file_name, config in configs.items():
        metastore = config.unity_catalog.metastore
        if metastore.mode == "create":
            region = metastore.region or config.azure.location
            creators.setdefault((config.databricks.account_id, region), []).append(file_name)
    for (_account, region), files in sorted(creators.items()):
        if len(files) > 1:
            raise ConfigError(
                ", ".join(sorted(files)),
                f"{PROJECT}:unityCatalog.metastore.mode",
                f"more than one stack creates the {region} metastore; one creates it, "
                "the others reuse it by id",
            )

    # Catalog names are unique in a metastore, and every stack of an account in a region
    # shares that region's metastore: two stacks declaring one catalog would fight over it.
    catalog_owners: dict[tuple[str, str, str], list[str]] = {}
    for file_name, config in configs.items():
        for catalog in config.unity_catalog.catalogs:
            owner_key = (config.databricks.account_id, config.azure.location, catalog.name)
            catalog_owners.setdefault(owner_key, []).append(file_name)
    for (_account, region, catalog_name), files in sorted(catalog_owners.items()):
        if len(files) > 1:
            raise ConfigError(
                ", ".join(sorted(files)),
                f"{PROJECT}:unityCatalog.catalogs",
                f"catalog {catalog_name!r} is declared by more than one stack sharing the "
                f"{region} metastore; each stack owns its own catalogs",
            )
