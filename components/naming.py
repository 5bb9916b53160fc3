"""Every name the platform derives: Azure names, account groups, Unity Catalog names,
workspace paths, CI environments and role-assignment GUIDs (plain data, no resources).

One :class:`Names` per stack, built by ``StackConfig.names(stack)`` from the name prefix,
the stack and the names config sets explicitly. Layers take it instead of composing
f-strings, so a naming rule changes in one place and a test can check every name a stack
derives against the cloud's rule for it.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

# Built-in Azure role definition ids (the same in every tenant).
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
# Wrap and unwrap with a key, nothing else: what a service encrypting with a CMK needs.
# https://learn.microsoft.com/azure/key-vault/general/rbac-guide#azure-built-in-roles-for-key-vault-data-plane-operations
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"

_NAMESPACE = uuid.UUID("6b1f3c5e-2d8a-4b7f-9e41-0a5c7d3e9f12")

# Every workspace user may manage what is under /Shared (Databricks' default ACL).
SHARED_FOLDER = "/Shared"
# A catalog's managed storage lives in its own container, catalog-<name>.
CATALOG_CONTAINER_PREFIX = "catalog_"


def role_definition_id(subscription_id: str, role_guid: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization"
        f"/roleDefinitions/{role_guid}"
    )


def stable_guid(*parts: str) -> str:
    """A GUID that is the same on every run for the same parts.

    Role assignment names must be GUIDs; a random one would make every preview show a
    replacement, so it is derived from what the assignment means.
    """
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def container_name(identifier: str) -> str:
    """The storage container that holds a zone or a catalog (containers take no '_')."""
    return identifier.replace("_", "-")


def github_subject(owner: str, repository: str, environment: str) -> str:
    """The ``sub`` claim of a GitHub Actions job that runs in ``environment``."""
    return f"repo:{owner}/{repository}:environment:{environment}"


def developer_folder(email: str, repository: str) -> str:
    """A developer's Git folder: their own user folder under /Repos."""
    return f"/Repos/{email}/{repository}"


@dataclass(frozen=True)
class Names:
    """The names of one stack's objects. Explicit names from config win over defaults."""

    prefix: str
    stack: str
    subscription_id: str
    resource_group_override: str | None = None
    storage_account_override: str | None = None
    key_vault_override: str | None = None
    workspace_override: str | None = None
    managed_resource_group_override: str | None = None
    code_folder_override: str | None = None
    dashboards_folder_override: str | None = None

    # ------------------------------------------------------------------------ Azure

    @property
    def base(self) -> str:
        """``<prefix>-<stack>``: the stem of Azure and Databricks names."""
        return f"{self.prefix}-{self.stack}"

    @property
    def resource_group(self) -> str:
        return self.resource_group_override or f"rg-{self.base}"

    @property
    def storage_account(self) -> str:
        # Storage account names are lower-case letters and digits only, 3-24 characters.
        default = re.sub(r"[^a-z0-9]", "", f"st{self.prefix}{self.stack}")[:24]
        return self.storage_account_override or default

    @property
    def key_vault(self) -> str:
        # Vault names are 3-24 characters and may not end with '-'.
        return self.key_vault_override or f"kv-{self.base}"[:24].rstrip("-")

    @property
    def workspace(self) -> str:
        return self.workspace_override or f"dbw-{self.base}"

    @property
    def managed_resource_group(self) -> str:
        return self.managed_resource_group_override or f"rg-{self.base}-dbw-managed"

    @property
    def managed_resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.managed_resource_group}"

    def resource_group_scope(self, group: str) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{group}"

    @property
    def access_connector(self) -> str:
        return f"dbac-{self.base}"

    def zone_container(self, zone: str) -> str:
        return container_name(zone)

    def catalog_container(self, catalog: str) -> str:
        """The container of a catalog's managed storage (its tables' files)."""
        return container_name(f"{CATALOG_CONTAINER_PREFIX}{catalog}")

    @property
    def security_group(self) -> str:
        return f"nsg-{self.base}-dbw"

    @property
    def nat_public_ip(self) -> str:
        return f"pip-{self.base}-nat"

    @property
    def nat_gateway(self) -> str:
        return f"ng-{self.base}"

    @property
    def virtual_network(self) -> str:
        return f"vnet-{self.base}"

    def subnet(self, role: str) -> str:
        return f"snet-{self.base}-dbw-{role}"

    @property
    def endpoint_subnet(self) -> str:
        return f"snet-{self.base}-pe"

    @property
    def transit_network(self) -> str:
        return f"vnet-{self.base}-transit"

    def transit_subnet(self, role: str) -> str:
        """A transit VNet subnet: ``frontend`` endpoints or ``ci`` runners."""
        return f"snet-{self.base}-transit-{role}"

    @property
    def egress_route_table(self) -> str:
        return f"rt-{self.base}-egress"

    def private_endpoint(self, target: str) -> str:
        """A private endpoint: ``dbw-backend``, ``dbw-frontend``, ``st-dfs``, ``kv``..."""
        return f"pe-{self.base}-{target}"

    def dns_link(self, zone: str, network: str) -> str:
        """A private DNS zone's link to one of the stack's VNets."""
        return f"link-{self.base}-{network}-{zone.split('.')[1]}"

    @property
    def encryption_key(self) -> str:
        # Key names take letters, digits and '-': https://learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates#objects-identifiers-and-versioning
        return f"cmk-{self.base}-dbw"

    @property
    def network_connectivity_config(self) -> str:
        # NCC names match ^[0-9a-zA-Z-_]{3,30}$ (terraform-provider-databricks,
        # docs/resources/mws_network_connectivity_config.md, as pulumi_databricks quotes it).
        return f"ncc-{self.base}"[:30]

    @property
    def network_policy(self) -> str:
        return f"np-{self.base}"

    def managed_identity(self, role: str) -> str:
        """A user-assigned identity CI signs in as: ``deployer`` or ``preview``."""
        return f"id-{self.base}-{role}"

    def role_assignment(self, *meaning: str) -> str:
        """A role assignment's GUID name, from what it means within this stack."""
        return stable_guid(self.subscription_id, self.stack, *meaning)

    @staticmethod
    def client_secret(role: str) -> str:
        """The Key Vault secret holding a service principal's OAuth secret."""
        return f"databricks-{role}-client-secret"

    # ---------------------------------------------------------------- Databricks

    def group(self, group: str) -> str:
        """The account group a config group name stands for: one set of groups per stack.

        Account groups are shared by every workspace of the account, so each stack owns its
        own (`prod-analysts`): memberships, workspace roles and destroy stay per stack.
        """
        return f"{self.stack}-{group}"

    @staticmethod
    def preview_principal(deployer_display_name: str) -> str:
        return f"{deployer_display_name}-preview"

    @property
    def uc_prefix(self) -> str:
        """Prefix of this stack's metastore-wide names (credentials, external locations).

        The metastore is shared by every stack in the region, so these names carry the stack.
        """
        return re.sub(r"[^a-z0-9_]", "_", f"{self.prefix}_{self.stack}".lower())

    @property
    def storage_credential(self) -> str:
        return f"{self.uc_prefix}_access_connector"

    def zone_location(self, zone: str) -> str:
        return f"{self.uc_prefix}_{zone}"

    def catalog_location(self, catalog: str) -> str:
        return f"{self.uc_prefix}_catalog_{catalog}"

    @property
    def metastore_root_access(self) -> str:
        return f"{self.uc_prefix}_metastore_root"

    @property
    def comment(self) -> str:
        """The comment every Unity Catalog object of the stack carries."""
        return f"Managed by dataops (stack {self.stack})"

    @property
    def cluster_policy(self) -> str:
        return f"{self.base}-jobs"

    def job(self, suffix: str) -> str:
        return f"{self.base}-{suffix}"

    @property
    def teams_destination(self) -> str:
        return f"{self.base} job failures (Teams)"

    @property
    def slack_destination(self) -> str:
        return f"{self.base} job failures (Slack)"

    @property
    def warehouse(self) -> str:
        return f"{self.base}-sql"

    @property
    def dashboards_folder(self) -> str:
        """Where the AI/BI dashboards live (workspace path): beside the code, by default."""
        return self.dashboards_folder_override or f"{self.code_folder}/dashboards"

    def dashboard(self, title: str) -> str:
        return f"{title} ({self.stack})"

    @property
    def stale_backup_alert(self) -> str:
        return f"{self.base} backup is stale"

    @property
    def log_analytics_workspace(self) -> str:
        # 4-63 letters, digits and '-', starting and ending alphanumeric
        # (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules).
        return f"log-{self.base}"[:63].rstrip("-")

    @staticmethod
    def diagnostic_setting(target: str) -> str:
        """A diagnostic setting's name, unique per resource it is set on."""
        return f"dataops-{target}-to-log-analytics"

    @property
    def code_folder(self) -> str:
        """Where job code is uploaded (workspace path)."""
        return self.code_folder_override or f"{SHARED_FOLDER}/dataops/{self.stack}"

    # ------------------------------------------------------------------------- CI

    @property
    def deploy_environment(self) -> str:
        """The CI environment that deploys the stack (GitHub environment name)."""
        return self.stack

    @property
    def preview_environment(self) -> str:
        """The CI environment pull-request previews run in (read-only identities)."""
        return f"{self.stack}-preview"

    @property
    def service_connection(self) -> str:
        """The Azure DevOps service connection the stack's pipeline deploys through."""
        return f"dataops-{self.stack}"

    @property
    def preview_service_connection(self) -> str:
        return f"dataops-{self.preview_environment}"


# ------------------------------------------------------------------ Azure name rules
# Every Azure name a Names object derives, checked against the rule of its resource type,
# whatever the stack is called (a stack `my_stack`, `dev.eu` or `dév` must be refused
# before deploy, not by Azure halfway through one). The rules are Azure's, one per
# resource type, from
# https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules


@dataclass(frozen=True)
class AzureNameRule:
    """One resource type's naming rule: length, characters, how a name starts and ends."""

    resource: str
    # Where the name must be unique: "global", "subscription" or "resource group".
    scope: str
    min_length: int
    max_length: int
    # The characters allowed, as a regex character class body; None: the resource group
    # rule (Unicode letters and digits, '_', '-', '.', '(' and ')').
    characters: str | None
    description: str
    # Regexes the first and last character must match.
    first: str = "."
    last: str = "."
    no_double_hyphen: bool = False

    def problem(self, name: str) -> str | None:
        """Why Azure would refuse ``name``, or None."""
        if not self.min_length <= len(name) <= self.max_length:
            return f"needs {self.min_length}-{self.max_length} characters, has {len(name)}"
        if self.characters is None:
            bad = [c for c in name if not (_unicode_letter_or_digit(c) or c in "_-.()")]
        else:
            bad = [c for c in name if not re.fullmatch(f"[{self.characters}]", c)]
        if bad:
            return f"may not contain {bad[0]!r}"
        if not re.fullmatch(self.first, name[0]):
            return f"may not start with {name[0]!r}"
        if not re.fullmatch(self.last, name[-1]):
            return f"may not end with {name[-1]!r}"
        if self.no_double_hyphen and "--" in name:
            return "may not contain '--'"
        return None


def _unicode_letter_or_digit(char: str) -> bool:
    # .NET's Char.IsLetterOrDigit: the Unicode categories the resource group rule names.
    return unicodedata.category(char) in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd")


_ALNUM = "a-zA-Z0-9"
RESOURCE_GROUP_RULE = AzureNameRule(
    "resource group",
    "subscription",
    1,
    90,
    None,
    "1-90 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'",
    last=r"[^.]",
)
STORAGE_ACCOUNT_RULE = AzureNameRule(
    "storage account",
    "global",
    3,
    24,
    "a-z0-9",
    "3-24 lower-case letters and digits",
)
KEY_VAULT_RULE = AzureNameRule(
    "Key Vault",
    "global",
    3,
    24,
    f"{_ALNUM}-",
    "3-24 letters, digits and '-', starting with a letter, ending with a letter or digit, no '--'",
    first="[a-zA-Z]",
    last=f"[{_ALNUM}]",
    no_double_hyphen=True,
)
# Microsoft.Databricks/workspaces and accessConnectors.
DATABRICKS_RULE = AzureNameRule(
    "Databricks workspace",
    "resource group",
    3,
    64,
    f"{_ALNUM}_-",
    "3-64 letters, digits, '_' and '-'",
)
ACCESS_CONNECTOR_RULE = AzureNameRule(
    "access connector",
    "resource group",
    3,
    64,
    f"{_ALNUM}_-",
    "3-64 letters, digits, '_' and '-'",
)


def _network_rule(resource: str, min_length: int, max_length: int) -> AzureNameRule:
    # Microsoft.Network: virtualNetworks 2-64, subnets, networkSecurityGroups,
    # publicIPAddresses and natGateways 1-80; all the same characters and ends.
    return AzureNameRule(
        resource,
        "resource group",
        min_length,
        max_length,
        f"{_ALNUM}_.-",
        f"{min_length}-{max_length} letters, digits, '_', '.' and '-', starting with a letter "
        "or digit, ending with a letter, digit or '_'",
        first=f"[{_ALNUM}]",
        last=f"[{_ALNUM}_]",
    )


NETWORK_SECURITY_GROUP_RULE = _network_rule("network security group", 1, 80)
PUBLIC_IP_RULE = _network_rule("public IP address", 1, 80)
NAT_GATEWAY_RULE = _network_rule("NAT gateway", 1, 80)
VIRTUAL_NETWORK_RULE = _network_rule("virtual network", 2, 64)
SUBNET_RULE = _network_rule("subnet", 1, 80)
# Microsoft.ManagedIdentity/userAssignedIdentities.
MANAGED_IDENTITY_RULE = AzureNameRule(
    "managed identity",
    "resource group",
    3,
    128,
    f"{_ALNUM}_-",
    "3-128 letters, digits, '-' and '_', starting with a letter or digit",
    first=f"[{_ALNUM}]",
)

# The roles the foundation and identity layers pass to Names.subnet / managed_identity.
SUBNET_ROLES = ("public", "private")
MANAGED_IDENTITY_ROLES = ("deployer", "preview")


@dataclass(frozen=True)
class DerivedName:
    """One Azure name a stack derives, the rule it must follow, and the config key that
    sets it explicitly (None: only the name prefix and the stack name shape it)."""

    name: str
    rule: AzureNameRule
    override_key: str | None


def azure_names(names: Names) -> list[DerivedName]:
    """Every Azure resource name ``names`` derives (containers are checked with their zone
    or catalog, in the config model)."""
    return [
        DerivedName(names.resource_group, RESOURCE_GROUP_RULE, "azure.resourceGroupName"),
        DerivedName(
            names.managed_resource_group,
            RESOURCE_GROUP_RULE,
            "azure.workspace.managedResourceGroupName",
        ),
        DerivedName(names.storage_account, STORAGE_ACCOUNT_RULE, "azure.storage.accountName"),
        DerivedName(names.key_vault, KEY_VAULT_RULE, "azure.keyVault.name"),
        DerivedName(names.workspace, DATABRICKS_RULE, "azure.workspace.name"),
        DerivedName(names.access_connector, ACCESS_CONNECTOR_RULE, None),
        DerivedName(names.security_group, NETWORK_SECURITY_GROUP_RULE, None),
        DerivedName(names.nat_public_ip, PUBLIC_IP_RULE, None),
        DerivedName(names.nat_gateway, NAT_GATEWAY_RULE, None),
        DerivedName(names.virtual_network, VIRTUAL_NETWORK_RULE, None),
        *(DerivedName(names.subnet(role), SUBNET_RULE, None) for role in SUBNET_ROLES),
        *(
            DerivedName(names.managed_identity(role), MANAGED_IDENTITY_RULE, None)
            for role in MANAGED_IDENTITY_ROLES
        ),
    ]


@dataclass(frozen=True)
class NameProblem:
    derived: DerivedName
    problem: str

    def message(self, stack: str) -> str:
        rule = self.derived.rule
        return (
            f"the {rule.resource} name {self.derived.name!r} (from stack {stack!r}) is not "
            f"valid in Azure: it {self.problem} ({rule.description})"
        )


def azure_name_problem(names: Names) -> NameProblem | None:
    """The first derived Azure name Azure would refuse, or None."""
    for derived in azure_names(names):
        problem = derived.rule.problem(derived.name)
        if problem is not None:
            return NameProblem(derived, problem)
    return None
