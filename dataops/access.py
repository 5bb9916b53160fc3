"""The offline access check: can this caller create this stack, resource by resource?

Mocks model no permission, so this module states them. :data:`ACCESS_TABLE` has one row
per resource type: the privileges that creating it takes on the real API (any one of the
alternatives), each row with its source. :func:`check_access` walks a rendered plan in
dependency order and, for every resource, checks that the caller holds one alternative
*at that point*: privileges given to the caller from outside the stack, plus those the
plan grants it (an account role, a rule set, a workspace assignment, a group membership,
a Unity Catalog grant or ownership, an Azure role) through a resource the checked one
waits for. A grant that exists but that the resource does not wait for does not count:
Pulumi would create both at once, and the real API would refuse.

Two callers:

- ``bootstrap``: the person of the README's first deploy, from nothing: a Databricks
  account admin and metastore admin, Owner of the Azure subscription, a member of the
  stack's admin group (identity.adminGroup), with a git token that administers the
  repository. Every resource must pass.
- ``ci``: the stack's deployer (its Databricks service principal and Azure managed
  identity) deploying onto the stack the bootstrap created. Resources only the bootstrap
  can create (account objects where the deployer is no account admin; the resource
  group; whatever grants the deployer its own rights) are reported as such, and what
  they grant counts from the start; every other resource must pass.
- ``developer``: a sandbox's developer (``components/sandbox.py``), with their own
  credentials. They hold what the *base* stack's plan gives the groups config puts them
  in (workspace access, the entitlements, the Unity Catalog grants on the dev catalog and
  zones), their home folder (every user manages their own), and what they create (the
  creator owns a schema and manages a job). Every resource must pass: a sandbox has no
  bootstrap.

:func:`granted` lists everything the plan grants each principal: the least-privilege
report a security reviewer asks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from components.config import SandboxStackConfig, StackConfig
from dataops.engine import Plan
from dataops.mocks import PlannedResource

Caller = Literal["bootstrap", "ci", "developer"]
# A privilege at a scope: ("workspace admin", "workspace"), ("SELECT", "uc:SCHEMA:prod.gold"),
# ("service principal user", <urn of the principal>), ("azure role <guid>", <scope>).
Privilege = tuple[str, str]

BOOTSTRAP = "bootstrap"  # the principal key of the person of the first deploy
DEVELOPER = "developer"  # the principal key of a sandbox's developer

OWNER_ROLE = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR_ROLE = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR_ROLE = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
KEY_VAULT_SECRETS_OFFICER_ROLE = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_CRYPTO_OFFICER_ROLE = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
RBAC_ADMINISTRATOR_ROLE = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"

ACCOUNT_ADMIN: Privilege = ("account admin", "account")
METASTORE_ADMIN: Privilege = ("metastore admin", "metastore")
WORKSPACE_ADMIN: Privilege = ("workspace admin", "workspace")
WORKSPACE_USER: Privilege = ("workspace user", "workspace")
SUBSCRIPTION = "subscription"
CLUSTER_CREATE: Privilege = ("allow cluster create", "workspace")
GITHUB_ADMIN: Privilege = ("repository admin", "github")
AZURE_DEVOPS_ADMIN: Privilege = ("project administrator", "azure devops")


class AccessError(Exception):
    """The caller cannot create a resource; ``str()`` is the one line to print."""


# ------------------------------------------------------------------------------ the plan


@dataclass
class _Index:
    """Who is who in a plan: principals by every value a grant may name them by."""

    plan: Plan
    by_value: dict[str, str] = field(default_factory=dict)
    closure_cache: dict[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for resource in self.plan.resources:
            out = resource.outputs
            if resource.type in (GROUP, USER, SERVICE_PRINCIPAL):
                for key in ("id", "applicationId", "aclPrincipalId", "displayName", "userName"):
                    value = out.get(key) or resource.inputs.get(key)
                    if isinstance(value, str) and value:
                        self.by_value[value] = resource.urn
            elif resource.type == MANAGED_IDENTITY:
                for key in ("principalId", "clientId"):
                    if isinstance(out.get(key), str):
                        self.by_value[out[key]] = resource.urn
            elif resource.type == ACCESS_CONNECTOR:
                principal = (out.get("identity") or {}).get("principalId")
                if isinstance(principal, str):
                    self.by_value[principal] = resource.urn

    def principal(self, value: Any) -> str | None:
        return self.by_value.get(value) if isinstance(value, str) else None

    def closure(self, urn: str) -> frozenset[str]:
        """Every resource ``urn`` waits for, directly or not."""
        if urn not in self.closure_cache:
            seen: set[str] = set()
            frontier = list(self.plan.by_urn(urn).dependencies)
            while frontier:
                current = frontier.pop()
                if current in seen:
                    continue
                seen.add(current)
                try:
                    frontier.extend(self.plan.by_urn(current).dependencies)
                except KeyError:
                    continue
            self.closure_cache[urn] = frozenset(seen)
        return self.closure_cache[urn]

    def label(self, urn: str) -> str:
        if urn == BOOTSTRAP:
            return "the bootstrap caller"
        if urn == DEVELOPER:
            return "the developer"
        resource = self.plan.by_urn(urn)
        return f"{resource.type.rsplit(':', 1)[-1]} {resource.name}"


# ------------------------------------------------------------------- what the plan grants


@dataclass(frozen=True)
class Grant:
    """``principal`` holds ``privilege`` once ``by`` exists (None: given from outside)."""

    principal: str
    privilege: Privilege
    by: str | None
    why: str


def _uc_scope(kind: str, name: Any) -> str:
    return f"uc:{kind}:{name}"


# The argument of databricks.Grants/Grant naming the securable, to its securable type.
_GRANTS_ARGUMENT = {
    "metastore": "METASTORE",
    "catalog": "CATALOG",
    "schema": "SCHEMA",
    "externalLocation": "EXTERNAL_LOCATION",
    "storageCredential": "STORAGE_CREDENTIAL",
}
_RULE_SET_TARGET = re.compile(
    r"^accounts/[^/]+/(servicePrincipals|groups)/([^/]+)/ruleSets/default$"
)
_ROLE_NAMES = {
    "roles/servicePrincipal.user": "service principal user",
    "roles/servicePrincipal.manager": "service principal manager",
    "roles/group.manager": "group manager",
}


def plan_grants(plan: Plan, index: _Index) -> Iterator[Grant]:
    """Every privilege a resource of the plan grants to a principal of the plan."""
    for r in plan.resources:
        i = r.inputs
        if r.type == SERVICE_PRINCIPAL_ROLE and i.get("role") == "account_admin":
            if who := index.principal(i.get("servicePrincipalId")):
                yield Grant(who, ACCOUNT_ADMIN, r.urn, "account role")
        elif r.type == RULE_SET:
            target = _RULE_SET_TARGET.match(str(i.get("name", "")))
            on = index.principal(target.group(2)) if target else None
            for rule in i.get("grantRules", []):
                role = _ROLE_NAMES.get(rule.get("role", ""))
                for value in rule.get("principals", []):
                    who = index.principal(value)
                    if who and on and role:
                        yield Grant(who, (role, on), r.urn, "rule set")
        elif r.type == WORKSPACE_ASSIGNMENT:
            if who := index.principal(i.get("principalId")):
                admin = "ADMIN" in i.get("permissions", [])
                yield Grant(who, WORKSPACE_ADMIN if admin else WORKSPACE_USER, r.urn, "assignment")
                if admin:
                    yield Grant(who, WORKSPACE_USER, r.urn, "assignment")
        elif r.type in (GRANT, GRANTS):
            kind, name = next(
                ((k, i[a]) for a, k in _GRANTS_ARGUMENT.items() if a in i), ("?", "?")
            )
            entries = i.get("grants") or [
                {"principal": i.get("principal"), "privileges": i.get("privileges", [])}
            ]
            # One metastore per stack: its scope needs no id.
            scope = _uc_scope(kind, "" if kind == "METASTORE" else name)
            for entry in entries:
                if who := index.principal(entry.get("principal")):
                    for privilege in entry.get("privileges", []):
                        yield Grant(who, (privilege, scope), r.urn, "grant")
        elif r.type in _OWNED_SECURABLES and i.get("owner"):
            if who := index.principal(i.get("owner")):
                yield Grant(who, ("OWNER", _securable_scope(r)), r.urn, "owner")
        elif r.type == PERMISSIONS:
            acl_target = f"object {r.name.removesuffix('-permissions')}"
            for entry in i.get("accessControls", []):
                value = (
                    entry.get("servicePrincipalName")
                    or entry.get("groupName")
                    or entry.get("userName")
                )
                if who := index.principal(value):
                    level = str(entry.get("permissionLevel", "?"))
                    yield Grant(who, (level, acl_target), r.urn, "acl")
        elif r.type == SECRET_ACL and (who := index.principal(i.get("principal"))):
            scope = f"secret scope {i.get('scope')}"
            yield Grant(who, (str(i.get("permission")), scope), r.urn, "secret acl")
        elif r.type == ROLE_ASSIGNMENT and (who := index.principal(i.get("principalId"))):
            role = str(i.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
            scope = str(i.get("scope", ""))
            yield Grant(who, (f"azure role {role}", scope), r.urn, "role assignment")
            if i.get("condition"):
                allowed = re.findall(r"[0-9a-f-]{36}", str(i["condition"]))
                for guid in sorted(set(allowed)):
                    yield Grant(who, (f"azure assign {guid}", scope), r.urn, "condition")


def memberships(plan: Plan, index: _Index) -> Iterator[tuple[str, str, str]]:
    """(member, group, GroupMember urn) of every membership the plan makes."""
    for r in plan.of_type(GROUP_MEMBER):
        member = index.principal(r.inputs.get("memberId"))
        group = index.principal(r.inputs.get("groupId"))
        if member and group:
            yield member, group, r.urn


def _securable_scope(r: PlannedResource) -> str:
    kind = _OWNED_SECURABLES[r.type]
    name = r.inputs.get("name", "")
    if kind == "SCHEMA":
        name = f"{r.inputs.get('catalogName')}.{name}"
    return _uc_scope(kind, name)


# --------------------------------------------------------------------------- the table


Needs = Callable[[PlannedResource, "_Index"], list[list[Privilege]]]


@dataclass(frozen=True)
class Row:
    """What creating a resource type takes: any one list of privileges, all of it."""

    needs: Needs
    source: str
    # Account-level: only an account admin creates it (a stack whose deployer is none
    # leaves it to the bootstrap deploy).
    account_level: bool = False


def _always(*alternatives: list[Privilege]) -> Needs:
    return lambda _r, _i: [list(a) for a in alternatives]


def _group_scope(r: PlannedResource, i: _Index) -> str:
    config = i.plan.config
    if not isinstance(config, StackConfig):  # a sandbox creates no Azure resource
        raise AccessError(f"access: {i.plan.stack}: {r.type} in a sandbox")
    subscription = config.azure.subscription_id
    return f"/subscriptions/{subscription}/resourceGroups/{r.inputs.get('resourceGroupName', '')}"


def _azure_in_group(r: PlannedResource, i: _Index) -> list[list[Privilege]]:
    return [[(f"azure role {role}", _group_scope(r, i))] for role in (OWNER_ROLE, CONTRIBUTOR_ROLE)]


def _vault_scope(r: PlannedResource, i: _Index) -> str:
    vault = r.inputs.get("vaultName", "")
    return f"{_group_scope(r, i)}/providers/Microsoft.KeyVault/vaults/{vault}"


def _vault_keys(r: PlannedResource, i: _Index) -> list[list[Privilege]]:
    return [[(f"azure role {KEY_VAULT_CRYPTO_OFFICER_ROLE}", _vault_scope(r, i))]]


def _on_resource(argument: str) -> Needs:
    """Owner or Contributor at the resource an extension resource is attached to."""

    def needs(r: PlannedResource, _i: _Index) -> list[list[Privilege]]:
        scope = str(r.inputs.get(argument, ""))
        return [[(f"azure role {role}", scope)] for role in (OWNER_ROLE, CONTRIBUTOR_ROLE)]

    return needs


def _vault_data(r: PlannedResource, i: _Index) -> list[list[Privilege]]:
    # An RBAC vault's secrets are data plane: Owner and Contributor do not reach them
    # (https://learn.microsoft.com/azure/key-vault/general/rbac-guide#azure-built-in-roles-for-key-vault-data-plane-operations).
    return [[(f"azure role {KEY_VAULT_SECRETS_OFFICER_ROLE}", _vault_scope(r, i))]]


def _role_assignment(r: PlannedResource, _i: _Index) -> list[list[Privilege]]:
    role = str(r.inputs.get("roleDefinitionId", "")).rsplit("/", 1)[-1]
    scope = str(r.inputs.get("scope", ""))
    return [
        [(f"azure role {OWNER_ROLE}", scope)],
        [(f"azure role {USER_ACCESS_ADMINISTRATOR_ROLE}", scope)],
        # RBAC Administrator assigns only the roles its ABAC condition allows.
        [(f"azure role {RBAC_ADMINISTRATOR_ROLE}", scope), (f"azure assign {role}", scope)],
    ]


def _on_group(argument: str) -> Needs:
    def needs(r: PlannedResource, i: _Index) -> list[list[Privilege]]:
        group = i.principal(r.inputs.get(argument))
        return [[ACCOUNT_ADMIN], *([[("group manager", group)]] if group else [])]

    return needs


def _rule_set(r: PlannedResource, i: _Index) -> list[list[Privilege]]:
    target = _RULE_SET_TARGET.match(str(r.inputs.get("name", "")))
    on = i.principal(target.group(2)) if target else None
    if not on or not target:
        return [[ACCOUNT_ADMIN]]
    role = (
        "service principal manager" if target.group(1) == "servicePrincipals" else "group manager"
    )
    return [[ACCOUNT_ADMIN], [(role, on)]]


def _git_credential(r: PlannedResource, i: _Index) -> list[list[Privilege]]:
    principal = i.principal(r.inputs.get("principalId"))
    if principal is None:
        return [[WORKSPACE_USER]]
    return [[WORKSPACE_USER, ("service principal manager", principal)]]


def _job(r: PlannedResource, i: _Index) -> list[list[Privilege]]:
    run_as_args = r.inputs.get("runAs") or {}
    run_as = i.principal(run_as_args.get("servicePrincipalName"))
    needs = [WORKSPACE_USER, *([("service principal user", run_as)] if run_as else [])]
    # A user as run_as: only yourself (the check sees the caller's own name).
    if run_as_args.get("userName"):
        needs.append(("run as user", str(run_as_args["userName"])))
    # A job cluster outside a cluster policy takes unrestricted cluster creation.
    clusters = [c.get("newCluster") or {} for c in r.inputs.get("jobClusters") or []]
    if any(not cluster.get("policyId") for cluster in clusters):
        needs.append(CLUSTER_CREATE)
    return [needs]


def _home(path: Any) -> str | None:
    """The user folder a workspace path is in (/Users/<name>), or None."""
    parts = str(path or "").split("/")
    return f"/Users/{parts[2]}" if len(parts) > 3 and parts[1] == "Users" else None


def _in_folder(r: PlannedResource, _i: _Index) -> list[list[Privilege]]:
    home = _home(r.inputs.get("path"))
    return [[WORKSPACE_ADMIN], *([[("CAN_MANAGE", f"folder {home}")]] if home else [])]


def _acl(r: PlannedResource, _i: _Index) -> list[list[Privilege]]:
    alternatives: list[list[Privilege]] = [[WORKSPACE_ADMIN]]
    if home := _home(r.inputs.get("directoryPath")):
        alternatives.append([("CAN_MANAGE", f"folder {home}")])
    if job := r.inputs.get("jobId"):
        alternatives.append([("CAN_MANAGE", f"job {job}")])
    return alternatives


def _uc_create(*on_parent: tuple[str, Callable[[PlannedResource], str]]) -> Needs:
    """Metastore admin, or every (privilege, securable) given, or owning the parent."""

    def needs(r: PlannedResource, _i: _Index) -> list[list[Privilege]]:
        privileges = [(privilege, scope(r)) for privilege, scope in on_parent]
        return [[METASTORE_ADMIN], privileges]

    return needs


def _metastore(_r: PlannedResource) -> str:
    return _uc_scope("METASTORE", "")


def _grants(r: PlannedResource, _i: _Index) -> list[list[Privilege]]:
    kind, name = next(
        ((k, r.inputs[a]) for a, k in _GRANTS_ARGUMENT.items() if a in r.inputs), ("?", "?")
    )
    scope = _uc_scope(kind, "" if kind == "METASTORE" else name)
    alternatives = [[METASTORE_ADMIN], [("OWNER", scope)], [("MANAGE", scope)]]
    if kind == "SCHEMA":  # the owner of the containing catalog may grant on its schemas
        alternatives.append([("OWNER", _uc_scope("CATALOG", str(name).split(".")[0]))])
    if kind == "METASTORE":  # account admins may grant on the metastore itself
        alternatives.append([ACCOUNT_ADMIN])
    return alternatives


def _binding(r: PlannedResource, _i: _Index) -> list[list[Privilege]]:
    kind = {
        "catalog": "CATALOG",
        "external_location": "EXTERNAL_LOCATION",
        "storage_credential": "STORAGE_CREDENTIAL",
    }.get(str(r.inputs.get("securableType")), "?")
    return [[METASTORE_ADMIN], [("OWNER", _uc_scope(kind, r.inputs.get("securableName")))]]


def _owned_then_bound(privileges: Needs) -> Needs:
    """The provider creates an ISOLATED securable, sets its owner, then binds it to the
    workspace, which takes ownership (or metastore admin): the caller must be in the new
    owner group by then (tf catalog/bindings/bindings.go AddCurrentWorkspaceBindings)."""

    def needs(r: PlannedResource, i: _Index) -> list[list[Privilege]]:
        owner = i.principal(r.inputs.get("owner"))
        alternatives = privileges(r, i)
        if owner is None or r.inputs.get("isolationMode") not in (
            "ISOLATED",
            "ISOLATION_MODE_ISOLATED",
        ):
            return alternatives
        return [a if a == [METASTORE_ADMIN] else [*a, ("member", owner)] for a in alternatives]

    return needs


_DOC = "https://learn.microsoft.com/azure/databricks"
_TF = "terraform-provider-databricks docs/resources"
_UC_PRIVILEGES = f"{_DOC}/data-governance/unity-catalog/manage-privileges/privileges"

# Type tokens (the tests' vocabulary lives in tests/plan_helpers.py; these are the engine's).
GROUP = "databricks:index/group:Group"
USER = "databricks:index/user:User"
SERVICE_PRINCIPAL = "databricks:index/servicePrincipal:ServicePrincipal"
GROUP_MEMBER = "databricks:index/groupMember:GroupMember"
SERVICE_PRINCIPAL_ROLE = "databricks:index/servicePrincipalRole:ServicePrincipalRole"
RULE_SET = "databricks:index/accessControlRuleSet:AccessControlRuleSet"
WORKSPACE_ASSIGNMENT = "databricks:index/mwsPermissionAssignment:MwsPermissionAssignment"
GRANT = "databricks:index/grant:Grant"
GRANTS = "databricks:index/grants:Grants"
MANAGED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ACCESS_CONNECTOR = "azure-native:databricks:AccessConnector"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
PERMISSIONS = "databricks:index/permissions:Permissions"
SECRET_ACL = "databricks:index/secretAcl:SecretAcl"
_OWNED_SECURABLES = {
    "databricks:index/storageCredential:StorageCredential": "STORAGE_CREDENTIAL",
    "databricks:index/externalLocation:ExternalLocation": "EXTERNAL_LOCATION",
    "databricks:index/catalog:Catalog": "CATALOG",
    "databricks:index/schema:Schema": "SCHEMA",
}

# Resources whose purpose is to grant a right (not to create something that carries one).
_GRANTING = frozenset(
    {GRANT, GRANTS, RULE_SET, GROUP_MEMBER, ROLE_ASSIGNMENT, WORKSPACE_ASSIGNMENT}
    | {SERVICE_PRINCIPAL_ROLE}
)

ACCESS_TABLE: Mapping[str, Row] = {
    # ---------------------------------------------------------------------- Azure
    "azure-native:resources:ResourceGroup": Row(
        _always(
            [(f"azure role {OWNER_ROLE}", SUBSCRIPTION)],
            [(f"azure role {CONTRIBUTOR_ROLE}", SUBSCRIPTION)],
        ),
        "https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged"
        " (Contributor: manage all resources; a resource group is created at subscription scope)",
    ),
    ROLE_ASSIGNMENT: Row(
        _role_assignment,
        "https://learn.microsoft.com/azure/role-based-access-control/role-assignments-portal"
        "#prerequisites (roleAssignments/write: Owner, User Access Administrator, or RBAC"
        " Administrator within its condition; Contributor's NotActions exclude it)",
    ),
    **{
        token: Row(
            _azure_in_group,
            "https://learn.microsoft.com/azure/role-based-access-control/built-in-roles"
            "/privileged#contributor (Contributor or Owner on the resource group)",
        )
        for token in (
            "azure-native:storage:StorageAccount",
            "azure-native:storage:BlobContainer",
            ACCESS_CONNECTOR,
            "azure-native:keyvault:Vault",
            "azure-native:databricks:Workspace",
            MANAGED_IDENTITY,
            "azure-native:managedidentity:FederatedIdentityCredential",
            "azure-native:network:NatGateway",
            "azure-native:network:NetworkSecurityGroup",
            "azure-native:network:PublicIPAddress",
            "azure-native:network:Subnet",
            "azure-native:network:VirtualNetwork",
        )
    },
    **{
        token: Row(
            _azure_in_group,
            "https://learn.microsoft.com/azure/private-link/rbac-permissions (Network"
            " Contributor or Contributor creates private endpoints, DNS zones and links;"
            " approving a connection to a resource of the same group is part of Contributor)",
        )
        for token in (
            "azure-native:network:PrivateEndpoint",
            "azure-native:network:PrivateDnsZoneGroup",
            "azure-native:network:RouteTable",
            "azure-native:privatedns:PrivateZone",
            "azure-native:privatedns:VirtualNetworkLink",
            "azure-native:compute:DiskEncryptionSet",
        )
    },
    "azure-native:keyvault:Key": Row(
        _vault_keys,
        "https://learn.microsoft.com/azure/key-vault/general/rbac-guide (Key Vault Crypto"
        " Officer manages keys: data plane, which Owner and Contributor do not reach)",
    ),
    "azure-native:operationalinsights:Workspace": Row(
        _azure_in_group,
        "https://learn.microsoft.com/azure/azure-monitor/logs/manage-access#azure-rbac"
        " (Log Analytics Contributor or Contributor creates workspaces)",
    ),
    "azure-native:monitor:DiagnosticSetting": Row(
        _on_resource("resourceUri"),
        "https://learn.microsoft.com/azure/azure-monitor/essentials/diagnostic-settings"
        " (Monitoring Contributor or Contributor on the monitored resource, which also lets"
        " it write to the Log Analytics workspace of the same resource group)",
    ),
    "azure-native:keyvault:Secret": Row(
        _vault_data,
        "https://learn.microsoft.com/azure/key-vault/general/rbac-guide (Key Vault Secrets"
        " Officer: data plane; management roles do not write secrets)",
    ),
    # ------------------------------------------------------------ Databricks account
    GROUP: Row(
        _always([ACCOUNT_ADMIN]),
        f"{_DOC}/admin/users-groups/groups (account admins create account groups)",
        account_level=True,
    ),
    USER: Row(
        _always([ACCOUNT_ADMIN]),
        f"{_DOC}/admin/users-groups/users (account admins add users to the account)",
        account_level=True,
    ),
    SERVICE_PRINCIPAL: Row(
        _always([ACCOUNT_ADMIN]),
        f"{_DOC}/admin/users-groups/service-principals (account admins add them)",
        account_level=True,
    ),
    GROUP_MEMBER: Row(
        _on_group("groupId"),
        f"{_DOC}/admin/users-groups/groups#manage-roles-on-an-account-group"
        " (account admin, or Group Manager: manage group membership)",
    ),
    SERVICE_PRINCIPAL_ROLE: Row(
        _always([ACCOUNT_ADMIN]),
        f"{_DOC}/admin/ (account admins delegate the account admin role); {_TF}"
        "/service_principal_role.md",
        account_level=True,
    ),
    RULE_SET: Row(
        _rule_set,
        f"{_DOC}/security/auth/access-control/service-principal-acl (Service Principal"
        " Manager manages roles on a principal; account admins hold it on all) and"
        " groups#manage-roles-on-an-account-group (Group Manager)",
    ),
    "databricks:index/servicePrincipalFederationPolicy:ServicePrincipalFederationPolicy": Row(
        _always([ACCOUNT_ADMIN]),
        f"{_DOC}/dev-tools/auth/oauth-federation-policy (account admins configure workload"
        " identity federation with a service principal federation policy)",
        account_level=True,
    ),
    "databricks:index/servicePrincipalSecret:ServicePrincipalSecret": Row(
        _always([ACCOUNT_ADMIN], [WORKSPACE_ADMIN]),
        f"{_DOC}/security/auth/access-control/service-principal-acl (an OAuth secret needs"
        " the account admin or workspace admin role)",
    ),
    WORKSPACE_ASSIGNMENT: Row(
        _always([ACCOUNT_ADMIN]),
        f"{_DOC}/admin/ (account admins assign users, service principals and groups to"
        " workspaces); Account API workspace assignment",
        account_level=True,
    ),
    "databricks:index/metastore:Metastore": Row(
        _always([ACCOUNT_ADMIN]),
        f"{_TF}/metastore.md (account admins create metastores)",
        account_level=True,
    ),
    "databricks:index/metastoreAssignment:MetastoreAssignment": Row(
        _always([ACCOUNT_ADMIN]),
        "https://docs.databricks.com/api/azure/account/metastoreassignments/create"
        " (the caller must be an account admin)",
        account_level=True,
    ),
    "databricks:index/metastoreDataAccess:MetastoreDataAccess": Row(
        _always([ACCOUNT_ADMIN, METASTORE_ADMIN]),
        f"{_DOC}/data-governance/unity-catalog/manage-metastore (adding storage to the"
        " metastore definition takes an account admin; the credential a metastore admin)",
        account_level=True,
    ),
    # ---------------------------------------------------------- Databricks workspace
    "databricks:index/entitlements:Entitlements": Row(
        _always([WORKSPACE_ADMIN]),
        f"{_DOC}/security/auth/entitlements (managed in the workspace admin settings)",
    ),
    "databricks:index/clusterPolicy:ClusterPolicy": Row(
        _always([WORKSPACE_ADMIN]),
        f"{_TF}/cluster_policy.md (only admin users can create, edit, and delete policies)",
    ),
    PERMISSIONS: Row(
        _acl,
        f"{_DOC}/security/auth/access-control/ (CAN_MANAGE on the object; workspace admins"
        " hold it on every object; a job's creator manages it, a user their home folder)",
    ),
    "databricks:index/job:Job": Row(
        _job,
        f"{_DOC}/jobs/privileges#run-as (any workspace user creates jobs; naming a service"
        " principal as run_as takes the Service Principal User role on it, a user as run_as"
        " is only yourself); compute/use-compute (a new job cluster without a policy takes"
        " the unrestricted cluster creation entitlement)",
    ),
    "pulumi:pulumi:StackReference": Row(
        _always([]),
        "https://www.pulumi.com/docs/iac/concepts/stacks/#stackreferences (read access to"
        " the referenced stack in the Pulumi backend; no cloud privilege)",
    ),
    "databricks:index/secretScope:SecretScope": Row(
        _always([WORKSPACE_USER]),
        f"{_DOC}/security/secrets/ (any user creates a scope and holds MANAGE on it)",
    ),
    "databricks:index/secret:Secret": Row(
        _always([WORKSPACE_USER]),
        f"{_TF}/secret.md (WRITE or MANAGE on the scope, which its creator holds)",
    ),
    SECRET_ACL: Row(
        _always([WORKSPACE_USER]),
        "https://docs.databricks.com/api/azure/workspace/secrets/putacl (MANAGE on the"
        " scope, which its creator holds)",
    ),
    "databricks:index/notificationDestination:NotificationDestination": Row(
        _always([WORKSPACE_ADMIN]),
        f"{_TF}/notification_destination.md (only workspace admins create them)",
    ),
    "databricks:index/sqlEndpoint:SqlEndpoint": Row(
        _always([WORKSPACE_ADMIN]),
        f"{_DOC}/compute/sql-warehouse/create (workspace admins, or users with unrestricted"
        " cluster creation, create SQL warehouses)",
    ),
    **{
        token: Row(
            _always([WORKSPACE_ADMIN]),
            f"{_DOC}/dashboards/ and {_DOC}/sql/user/alerts/ (created in a workspace folder:"
            " CAN_MANAGE on it, which admins hold on every folder; the warehouse is the"
            " stack's own)",
        )
        for token in ("databricks:index/dashboard:Dashboard", "databricks:index/alertV2:AlertV2")
    },
    **{
        token: Row(
            _always([WORKSPACE_ADMIN]),
            f"{_DOC}/admin/workspace-settings/ (workspace settings and workspace conf are"
            " workspace admin settings; IP access lists:"
            " security/network/front-end/ip-access-list-workspace)",
        )
        for token in (
            "databricks:index/workspaceConf:WorkspaceConf",
            "databricks:index/ipAccessList:IpAccessList",
            "databricks:index/disableLegacyAccessSetting:DisableLegacyAccessSetting",
            "databricks:index/disableLegacyDbfsSetting:DisableLegacyDbfsSetting",
            "databricks:index/enhancedSecurityMonitoringWorkspaceSetting:EnhancedSecurityMonitoringWorkspaceSetting",
            "databricks:index/automaticClusterUpdateWorkspaceSetting:AutomaticClusterUpdateWorkspaceSetting",
            "databricks:index/complianceSecurityProfileWorkspaceSetting:ComplianceSecurityProfileWorkspaceSetting",
        )
    },
    **{
        token: Row(
            _always([ACCOUNT_ADMIN]),
            f"{_DOC}/security/network/serverless-network-security/ (account admins create"
            " network connectivity configurations, their private endpoint rules and"
            " bindings, and serverless network policies)",
            account_level=True,
        )
        for token in (
            "databricks:index/mwsNetworkConnectivityConfig:MwsNetworkConnectivityConfig",
            "databricks:index/mwsNccBinding:MwsNccBinding",
            "databricks:index/mwsNccPrivateEndpointRule:MwsNccPrivateEndpointRule",
            "databricks:index/accountNetworkPolicy:AccountNetworkPolicy",
            "databricks:index/workspaceNetworkOption:WorkspaceNetworkOption",
        )
    },
    "databricks:index/defaultNamespaceSetting:DefaultNamespaceSetting": Row(
        _always([WORKSPACE_ADMIN]),
        f"{_DOC}/catalogs/default (workspace admins change the default catalog)",
    ),
    "databricks:index/gitCredential:GitCredential": Row(
        _git_credential,
        "https://docs.databricks.com/api/azure/workspace/gitcredentials/update (with a"
        " principal id: only service principal managers can perform this action)",
    ),
    "databricks:index/repo:Repo": Row(
        _always([WORKSPACE_ADMIN]),
        f"{_DOC}/repos/ (a Git folder outside your own /Repos folder: CAN_MANAGE on its"
        " parent, which workspace admins hold on every folder)",
    ),
    **{
        token: Row(
            _in_folder,
            f"{_DOC}/security/auth/access-control/#folder-acls (creating items needs CAN_MANAGE"
            " on the parent folder; admins hold it on every folder and alone create at the"
            " root; every user manages their own home folder)",
        )
        for token in (
            "databricks:index/directory:Directory",
            "databricks:index/notebook:Notebook",
            "databricks:index/workspaceFile:WorkspaceFile",
        )
    },
    # ----------------------------------------------------------------- Unity Catalog
    "databricks:index/storageCredential:StorageCredential": Row(
        _owned_then_bound(_uc_create(("CREATE_STORAGE_CREDENTIAL", _metastore))),
        "https://docs.databricks.com/api/azure/workspace/storagecredentials/create (metastore"
        " admin or CREATE_STORAGE_CREDENTIAL on the metastore; Contributor on the access"
        " connector for a non-account admin)",
    ),
    "databricks:index/externalLocation:ExternalLocation": Row(
        _owned_then_bound(
            _uc_create(
                ("CREATE_EXTERNAL_LOCATION", _metastore),
                (
                    "CREATE_EXTERNAL_LOCATION",
                    lambda r: _uc_scope("STORAGE_CREDENTIAL", r.inputs.get("credentialName")),
                ),
            )
        ),
        f"{_DOC}/sql/language-manual/sql-ref-syntax-ddl-create-location (CREATE EXTERNAL"
        " LOCATION on the metastore and on the storage credential)",
    ),
    "databricks:index/catalog:Catalog": Row(
        _owned_then_bound(_uc_create(("CREATE_CATALOG", _metastore))),
        f"{_UC_PRIVILEGES} (CREATE CATALOG on the metastore)",
    ),
    "databricks:index/schema:Schema": Row(
        _uc_create(
            ("USE_CATALOG", lambda r: _uc_scope("CATALOG", r.inputs.get("catalogName"))),
            ("CREATE_SCHEMA", lambda r: _uc_scope("CATALOG", r.inputs.get("catalogName"))),
        ),
        f"{_DOC}/schemas/create-schema (USE CATALOG and CREATE SCHEMA on the catalog)",
    ),
    GRANTS: Row(
        _grants,
        f"{_DOC}/data-governance/unity-catalog/manage-privileges/ (the owner, the owner of"
        " the containing catalog, a MANAGE holder, or a metastore admin; account admins on"
        " the metastore)",
    ),
    GRANT: Row(_grants, f"{_DOC}/data-governance/unity-catalog/manage-privileges/"),
    "databricks:index/workspaceBinding:WorkspaceBinding": Row(
        _binding,
        "https://docs.databricks.com/api/azure/workspace/workspacebindings/updatebindings"
        " (a metastore admin or an owner of the securable)",
    ),
    # ------------------------------------------------------------- source control
    **{
        token: Row(
            _always([GITHUB_ADMIN]),
            "https://docs.github.com/rest/repos/repos (repository settings, branches,"
            " protection, environments: admin access; the README's token or GitHub App)",
        )
        for token in (
            "github:index/repository:Repository",
            "github:index/branch:Branch",
            "github:index/branchDefault:BranchDefault",
            "github:index/branchProtection:BranchProtection",
            "github:index/repositoryRuleset:RepositoryRuleset",
            "github:index/repositoryFile:RepositoryFile",
            "github:index/repositoryEnvironment:RepositoryEnvironment",
            "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
            "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable",
            "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions",
        )
    },
    **{
        token: Row(
            _always([AZURE_DEVOPS_ADMIN]),
            "https://learn.microsoft.com/azure/devops/organizations/security/permissions"
            " (project administrators manage repositories, policies, service connections)",
        )
        for token in (
            "azuredevops:index/project:Project",
            "azuredevops:index/git:Git",
            "azuredevops:index/gitRepositoryBranch:GitRepositoryBranch",
            "azuredevops:index/buildDefinition:BuildDefinition",
            "azuredevops:index/branchPolicyMinReviewers:BranchPolicyMinReviewers",
            "azuredevops:index/branchPolicyBuildValidation:BranchPolicyBuildValidation",
            "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM",
        )
    },
}


# -------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class Decision:
    """How the caller comes to create one resource (or that the bootstrap does)."""

    resource: PlannedResource
    outcome: Literal["ok", "bootstrap", "denied"]
    privileges: tuple[Privilege, ...]
    came_from: tuple[str, ...]


@dataclass
class AccessReport:
    stack: str
    caller: Caller
    decisions: list[Decision]
    labels: dict[str, str]

    @property
    def denied(self) -> Decision | None:
        return next((d for d in self.decisions if d.outcome == "denied"), None)


def _callers(plan: Plan, index: _Index, caller: Caller) -> tuple[set[str], list[Grant]]:
    """The principals the caller acts as, and what it holds from outside the stack."""
    config = plan.config
    if isinstance(config, SandboxStackConfig) != (caller == "developer"):
        raise AccessError(
            f"access: {plan.stack}: the {caller} caller does not deploy this stack; a "
            "sandbox's caller is its developer, a platform stack's bootstrap or ci"
        )
    if isinstance(config, SandboxStackConfig):
        return {DEVELOPER}, _developer_holds(plan, config)
    if caller == "bootstrap":
        admins = config.names(plan.stack).group(config.identity.admin_group)
        given = [
            Grant(BOOTSTRAP, ACCOUNT_ADMIN, None, "given: the README's bootstrap caller"),
            Grant(BOOTSTRAP, METASTORE_ADMIN, None, "given: the README's bootstrap caller"),
            Grant(BOOTSTRAP, (f"azure role {OWNER_ROLE}", SUBSCRIPTION), None, "given: Owner"),
            Grant(BOOTSTRAP, GITHUB_ADMIN, None, "given: the deploy's git token"),
            Grant(BOOTSTRAP, AZURE_DEVOPS_ADMIN, None, "given: the deploy's git token"),
        ]
        if plan.of_type("azure-native:keyvault:Key"):
            # Keys are data plane, out of Owner's reach: the checklist's step for stacks
            # with customer-managed keys.
            given.append(
                Grant(
                    BOOTSTRAP,
                    (f"azure role {KEY_VAULT_CRYPTO_OFFICER_ROLE}", SUBSCRIPTION),
                    None,
                    "given: Key Vault Crypto Officer (README, keys)",
                )
            )
        group = index.principal(admins)
        if group:
            given.append(Grant(BOOTSTRAP, ("member", group), None, "given: adminGroup member"))
        return {BOOTSTRAP}, given
    deployer = index.principal(plan.outputs.get("deployerApplicationId"))
    identity = index.principal(plan.outputs.get("deployerClientId"))
    given = [
        Grant(p, GITHUB_ADMIN, None, "given: CI's GitHub App token") for p in (deployer,) if p
    ] + [
        Grant(p, AZURE_DEVOPS_ADMIN, None, "given: the pipeline's token") for p in (deployer,) if p
    ]
    return {p for p in (deployer, identity) if p}, given


def _holds(
    need: Privilege,
    acting: set[str],
    held: dict[Privilege, str],
    member_of: set[str],
    seen: frozenset[Privilege] = frozenset(),
) -> str | None:
    """Where the caller's ``need`` comes from, or None. ``held`` is what its principals
    and groups hold now; a privilege may follow from others (``seen`` stops cycles)."""
    if need in seen:
        return None
    seen = seen | {need}
    if need in held:
        return held[need]
    name, scope = need
    if name == "member":
        return "member of the group" if scope in member_of else None
    if name == "service principal user" and scope in acting:
        return "itself"  # naming yourself as run_as takes no role
    if name.startswith("azure "):
        # An Azure role applies at its scope and to everything below it.
        for (held_name, held_scope), where in held.items():
            if held_name == name and (held_scope == SUBSCRIPTION or scope.startswith(held_scope)):
                return where
    derived: list[Privilege] = []
    if name in ("group manager", "service principal manager"):
        derived.append(ACCOUNT_ADMIN)  # account admins hold both on every group and principal
    if need == CLUSTER_CREATE:
        derived.append(WORKSPACE_ADMIN)  # admins create clusters without the entitlement
    if name in ("workspace admin", "workspace user"):
        # Azure Owners and Contributors of the workspace become its admins when they sign
        # in (kb.databricks.com: users with Reader role appearing in the admin group).
        derived += [(f"azure role {r}", SUBSCRIPTION) for r in (OWNER_ROLE, CONTRIBUTOR_ROLE)]
        if name == "workspace user":
            derived.append(WORKSPACE_ADMIN)

    if scope.startswith("uc:"):
        derived.append(METASTORE_ADMIN)
        if name != "OWNER":
            derived.append(("OWNER", scope))
            if name != "MANAGE":
                derived.append(("ALL_PRIVILEGES", scope))
        kind, _, securable = scope[3:].partition(":")
        if kind == "SCHEMA" and name != "OWNER":  # catalog privileges reach its schemas
            catalog = _uc_scope("CATALOG", securable.split(".")[0])
            derived += [(name, catalog), ("OWNER", catalog), ("ALL_PRIVILEGES", catalog)]
    for other in derived:
        if found := _holds(other, acting, held, member_of, seen):
            return found
    return None


def _developer_holds(plan: Plan, config: SandboxStackConfig) -> list[Grant]:
    """What a sandbox's developer holds: from the base stack's plan, through the groups
    its config puts them in; their home folder; and what they create in the sandbox."""
    base = plan.base
    if base is None or not isinstance(base.config, StackConfig):
        raise AccessError(f"access: {plan.stack}: the developer check needs its base stack's plan")
    user, names = config.sandbox.user, config.names
    base_index = _Index(base)
    groups = [g for g in base.config.identity.groups if user in g.members]
    given: list[Grant] = [
        Grant(DEVELOPER, ("CAN_MANAGE", f"folder /Users/{user}"), None, "given: own home folder"),
        Grant(DEVELOPER, ("run as user", user), None, "given: naming yourself as run_as"),
    ]
    for group in groups:
        display = names.group(group.name)
        why = f"given: member of {display} in {names.base_stack}"
        if group.entitlements.allow_cluster_create:
            given.append(Grant(DEVELOPER, CLUSTER_CREATE, None, f"{why} (entitlement)"))
        urn = base_index.principal(display)
        given += [
            Grant(DEVELOPER, g.privilege, None, why)
            for g in plan_grants(base, base_index)
            if g.principal == urn
        ]
    # The creator owns a schema it creates without an owner, and manages a job it creates.
    for r in plan.resources:
        if r.type == "databricks:index/schema:Schema" and not r.inputs.get("owner"):
            given.append(Grant(DEVELOPER, ("OWNER", _securable_scope(r)), r.urn, "creator"))
        elif r.type == "databricks:index/job:Job":
            job = f"job {r.outputs.get('id')}"
            given.append(Grant(DEVELOPER, ("CAN_MANAGE", job), r.urn, "creator"))
    return given


def check_access(plan: Plan, caller: Caller) -> AccessReport:
    """Walk the plan in dependency order; see the module docstring for the rules (a
    sandbox's developer holds what its base stack's plan, ``plan.base``, gives them)."""
    index = _Index(plan)
    acting, holds = _callers(plan, index, caller)
    # What the caller holds from outside counts from the start; what a resource of the
    # plan gives it (a creator's ownership), once that resource exists.
    given = [g for g in holds if g.by is None]
    grants = [*plan_grants(plan, index), *(g for g in holds if g.by is not None)]
    members = list(memberships(plan, index))
    account_owner = isinstance(plan.config, StackConfig) and plan.config.databricks.account_owner
    custom = [r for r in plan.resources if r.custom and not r.is_provider]

    caller_groups = {group for member, group, _by in members if member in acting}

    def grants_caller(r: PlannedResource, through_groups: bool) -> bool:
        """Whether ``r`` gives the caller a right (directly, or through its groups)."""
        receivers = acting | caller_groups if through_groups else acting
        return any(g.by == r.urn and g.principal in receivers for g in grants) or any(
            by == r.urn and member in acting for member, _g, by in members
        )

    # What the bootstrap made before CI's first deploy: CI cannot, and needs not, create
    # it. The resource group; account objects where the deployer is no account admin;
    # what gives the deployer its own rights; then (until nothing changes) what gives its
    # groups rights and CI could not create itself, such as the metastore grant a
    # non-owning stack's deployer is no admin to make.
    bootstrap_made: set[str] = set()
    if caller == "ci":
        for r in custom:
            row = ACCESS_TABLE.get(r.type)
            account_level = row is not None and row.account_level and not account_owner
            group = r.type == "azure-native:resources:ResourceGroup"
            own_rights = r.type in _GRANTING and grants_caller(r, through_groups=False)
            if group or account_level or own_rights:
                bootstrap_made.add(r.urn)
    while True:
        decisions = [
            _decide(r, index, acting, given, grants, members, bootstrap_made) for r in custom
        ]
        more = {
            d.resource.urn
            for d in decisions
            if caller == "ci"
            and d.outcome == "denied"
            and d.resource.type in _GRANTING
            and grants_caller(d.resource, through_groups=True)
        }
        if not more:
            break
        bootstrap_made |= more
    labels = {r.urn: index.label(r.urn) for r in plan.resources}
    labels[BOOTSTRAP] = index.label(BOOTSTRAP)
    return AccessReport(plan.stack, caller, _dependency_order(decisions, index), labels)


def _decide(
    r: PlannedResource,
    index: _Index,
    acting: set[str],
    given: list[Grant],
    grants: list[Grant],
    members: list[tuple[str, str, str]],
    bootstrap_made: set[str],
) -> Decision:
    """Can the caller create ``r``, with what it holds by then?"""
    row = ACCESS_TABLE.get(r.type)
    if row is None:
        raise AccessError(
            f"access: {index.plan.stack}: no access-table row for {r.type} ({r.name}); add"
            " one with its source to dataops/access.py"
        )
    if r.urn in bootstrap_made:
        return Decision(r, "bootstrap", (), ("created by the bootstrap deploy",))
    before = index.closure(r.urn) | bootstrap_made
    member_of = {group for member, group, by in members if member in acting and by in before}
    member_of |= {g.privilege[1] for g in given if g.privilege[0] == "member"}
    held: dict[Privilege, str] = {}
    for g in [*given, *(g for g in grants if g.by in before)]:
        if g.principal in acting or g.principal in member_of:
            held.setdefault(g.privilege, g.why if g.by is None else _from(index, g))
    alternatives = row.needs(r, index)
    for alternative in alternatives:
        found = [_holds(need, acting, held, member_of) for need in alternative]
        if all(found):
            return Decision(r, "ok", tuple(alternative), tuple(str(f) for f in found))
    return Decision(r, "denied", tuple(alternatives[-1]), ())


def _from(index: _Index, grant: Grant) -> str:
    return f"{grant.why}: {index.label(grant.by)}" if grant.by else grant.why


def _dependency_order(decisions: list[Decision], index: _Index) -> list[Decision]:
    """Resources after everything they wait for (the order Pulumi may create them in),
    ties in the plan's own order."""
    position = {d.resource.urn: n for n, d in enumerate(decisions)}
    depth: dict[str, int] = {}

    def level(urn: str) -> int:
        if urn not in depth:
            depth[urn] = 0  # cycles cannot occur in a plan; this guards recursion anyway
            waits = [u for u in index.closure(urn) if u in position]
            depth[urn] = 1 + max((level(u) for u in waits), default=-1)
        return depth[urn]

    return sorted(decisions, key=lambda d: (level(d.resource.urn), position[d.resource.urn]))


def granted(plan: Plan) -> dict[str, list[str]]:
    """Everything the plan grants each principal, by principal label: the least-privilege
    report. Group grants are listed under the group; members under ``member of``."""
    index = _Index(plan)
    report: dict[str, list[str]] = {}
    labels = {r.urn: index.label(r.urn) for r in plan.resources}
    for g in plan_grants(plan, index):
        report.setdefault(index.label(g.principal), []).append(privilege_text(g.privilege, labels))
    for member, group, _by in memberships(plan, index):
        report.setdefault(index.label(member), []).append(f"member of {index.label(group)}")
    return {who: sorted(set(items)) for who, items in sorted(report.items())}


# -------------------------------------------------------------------------- rendering


# Built-in Azure roles by id, for the reports.
_AZURE_ROLES = {
    OWNER_ROLE: "Owner",
    CONTRIBUTOR_ROLE: "Contributor",
    USER_ACCESS_ADMINISTRATOR_ROLE: "User Access Administrator",
    RBAC_ADMINISTRATOR_ROLE: "Role Based Access Control Administrator",
    KEY_VAULT_SECRETS_OFFICER_ROLE: "Key Vault Secrets Officer",
    KEY_VAULT_CRYPTO_OFFICER_ROLE: "Key Vault Crypto Officer",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": "Key Vault Crypto Service Encryption User",
}


def privilege_text(privilege: Privilege, labels: Mapping[str, str]) -> str:
    name, scope = privilege
    for prefix in ("azure role ", "azure assign "):
        if name.startswith(prefix):
            role = name.removeprefix(prefix)
            verb = "Azure role" if prefix == "azure role " else "may assign Azure role"
            name = f"{verb} {_AZURE_ROLES.get(role, role)}"
    return f"{name} on {labels.get(scope, scope)}"


def denied_line(report: AccessReport) -> str | None:
    """The one line that names the first resource the caller could not create."""
    decision = report.denied
    if decision is None:
        return None
    needs = ", ".join(privilege_text(p, report.labels) for p in decision.privileges)
    return (
        f"access: {report.stack}: the {report.caller} caller cannot create"
        f" {report.labels[decision.resource.urn]}: it needs {needs}"
    )


def render_report(report: AccessReport) -> str:
    """One line per resource in dependency order: outcome, resource, privilege, origin."""
    lines = []
    for d in report.decisions:
        what = "; ".join(
            f"{privilege_text(p, report.labels)} ({origin})"
            for p, origin in zip(d.privileges, d.came_from, strict=False)
        )
        if d.outcome == "bootstrap":
            what = "created by the bootstrap deploy"
        elif d.outcome == "denied":
            what = "DENIED: needs " + ", ".join(
                privilege_text(p, report.labels) for p in d.privileges
            )
        lines.append(f"{d.outcome:<9} {report.labels[d.resource.urn]}: {what}")
    counts = {
        o: sum(d.outcome == o for d in report.decisions) for o in ("ok", "bootstrap", "denied")
    }
    lines.append(
        f"access {report.stack} --caller {report.caller}: {counts['ok']} created by the caller,"
        f" {counts['bootstrap']} by the bootstrap deploy, {counts['denied']} refused"
    )
    return "\n".join(lines) + "\n"


def render_grants(plan: Plan) -> str:
    lines = [f"what the plan of {plan.stack} grants, by principal:"]
    for who, items in granted(plan).items():
        lines.append(f"  {who}")
        lines.extend(f"    - {item}" for item in items)
    return "\n".join(lines) + "\n"
