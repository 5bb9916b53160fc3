"""The Azure side of a stack, and the Databricks account it belongs to."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_network
from typing import Annotated, Literal

from pydantic import model_validator

from components.config.types import (
    ApiInt,
    AzureLocation,
    AzureTags,
    Guid,
    KeyVaultName,
    NamePrefix,
    ResourceGroupName,
    StorageAccountName,
    StrictBool,
    UcIdentifier,
    WorkspaceName,
    _container_problem,
    _doc,
    _format,
    _Model,
    _PathError,
    _require_unique,
    _required,
)

# The private DNS zones Private Link needs: the workspace (front and back end and browser
# authentication share one), the storage account's dfs and blob endpoints, the vault.
# https://learn.microsoft.com/azure/private-link/private-endpoint-dns#databricks
DNS_ZONES = (
    "privatelink.azuredatabricks.net",
    "privatelink.dfs.core.windows.net",
    "privatelink.blob.core.windows.net",
    "privatelink.vaultcore.azure.net",
)

# An existing Azure resource by id, as the portal's "JSON view" shows it.
_ARM_ID = r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/.+"
SubnetId = Annotated[
    str,
    _format(
        _ARM_ID.replace(".+", r"Microsoft\.Network/virtualNetworks/[^/]+/subnets/[^/]+"),
        "a subnet resource id (/subscriptions/<id>/resourceGroups/<group>/providers/"
        "Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>)",
    ),
]
PrivateDnsZoneId = Annotated[
    str,
    _format(
        _ARM_ID.replace(".+", r"Microsoft\.Network/privateDnsZones/[^/]+"),
        "a private DNS zone resource id (/subscriptions/<id>/resourceGroups/<group>/"
        "providers/Microsoft.Network/privateDnsZones/<zone>)",
    ),
]
DnsName = Annotated[
    str,
    _format(
        r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
        "a DNS name (lower case, e.g. pypi.org or *.github.com)",
    ),
]


class PrivateLinkConfig(_Model):
    """Front- and back-end Private Link (azure.network.mode private)."""

    endpoint_subnet: str = _doc(
        "10.20.3.0/26",
        "Subnet of the data-plane VNet for the back-end, storage and Key Vault private endpoints",
    )
    transit_address_space: str = _doc(
        "10.21.0.0/24", "Transit VNet for users' front-end endpoint (unless hubSubnetId)"
    )
    front_end_subnet: str = _doc("10.21.0.0/26", "Transit subnet of the front-end endpoints")
    ci_runner_subnet: str | None = _doc(
        "10.21.0.64/26",
        "Transit subnet for CI's self-hosted runners (the path CI reaches a private "
        "workspace by); null: none",
    )
    hub_subnet_id: SubnetId | None = _doc(
        None,
        "Existing hub VNet subnet for the front-end endpoints instead of a transit VNet",
    )
    browser_authentication: bool = _doc(
        False,
        "This stack owns the region's browser_authentication endpoint (exactly one "
        "private stack per region does)",
    )
    dns_zone_ids: dict[str, PrivateDnsZoneId] = _doc(
        {},
        "Existing central private DNS zones by zone name (privatelink.azuredatabricks.net, "
        "...); a zone not listed is created here and linked to the VNets",
    )

    @model_validator(mode="after")
    def _zones_known(self) -> PrivateLinkConfig:
        for zone in self.dns_zone_ids:
            if zone not in DNS_ZONES:
                raise _PathError(("dnsZoneIds", zone), f"is not one of {list(DNS_ZONES)}")
        return self


class ServerlessConfig(_Model):
    """Serverless compute's egress: its network connectivity config and network policy."""

    restricted: bool | None = _doc(
        None,
        "Serverless egress only to allowedDomains and the stack's storage; default: as "
        "the tier (on in staging and prod)",
    )
    allowed_domains: tuple[DnsName, ...] = _doc(
        (), "Internet destinations serverless compute may reach when restricted"
    )


class NetworkConfig(_Model):
    """Where the workspace's clusters live and how users and storage are reached."""

    mode: Literal["managed", "injected", "private"] | None = _doc(
        None,
        "managed: Databricks' own VNet; injected: a VNet this stack creates; private: "
        "injected plus Private Link, no public access (default: as the tier, private in "
        "staging and prod)",
    )
    address_space: str = _doc("10.20.0.0/16", "VNet address space (injected and private mode)")
    public_subnet: str = _doc("10.20.1.0/24", "Host (public) subnet, delegated to Databricks")
    private_subnet: str = _doc(
        "10.20.2.0/24", "Container (private) subnet, delegated to Databricks"
    )
    private_link: PrivateLinkConfig = _doc(
        PrivateLinkConfig(), "Private endpoints and DNS (private mode)"
    )
    egress_firewall_ip: IPv4Address | None = _doc(
        None,
        "Private IP of an existing firewall: the workspace subnets route 0.0.0.0/0 to it "
        "instead of the NAT gateway",
    )
    serverless: ServerlessConfig = _doc(ServerlessConfig(), "Serverless compute egress")


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
    purge_protection: StrictBool | None = _doc(
        None, "Purge protection (irreversible once on); default on in prod, off elsewhere"
    )
    soft_delete_retention_days: ApiInt = _doc(
        90, "Days a deleted vault or secret can be recovered", ge=7, le=90
    )


class EncryptionConfig(_Model):
    """Customer-managed keys for the workspace (a Key Vault key this stack creates)."""

    customer_managed_keys: bool | None = _doc(
        None,
        "CMK for managed services, managed disks and the DBFS root; default: as the tier "
        "(on in staging and prod)",
    )
    databricks_object_id: Guid | None = _doc(
        None,
        "Object id of the AzureDatabricks enterprise application (app id "
        "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d) in the tenant; it wraps managed-services keys",
    )
    dbfs_root: Literal["prepared", "encrypted"] = _doc(
        "encrypted",
        "prepared: the workspace gets its DBFS storage identity (a new workspace's first "
        "deploy); encrypted: the DBFS root uses the key (from the second deploy on)",
    )
    key_size: Literal[2048, 3072, 4096] = _doc(4096, "RSA key size (Databricks takes RSA keys)")
    rotation_days: int = _doc(
        365, "A new key version every this many days (the key's rotation policy)", ge=28, le=730
    )


class HardeningConfig(_Model):
    """Workspace settings that narrow what users and clusters can do."""

    max_token_lifetime_days: int | None = _doc(
        None,
        "Longest lifetime of a new personal access token; default: as the tier (30 in "
        "staging and prod, 90 in dev)",
        ge=1,
        le=730,
    )
    personal_access_tokens: bool | None = _doc(
        None, "Personal access tokens at all; default: as the tier (off where CI uses OIDC)"
    )
    ip_access_list: tuple[str, ...] = _doc(
        (), "CIDRs allowed to reach a workspace whose front end is public"
    )
    disable_legacy_features: bool = _doc(
        True,
        "Legacy access (Hive metastore, no-isolation clusters), DBFS root and mounts, and "
        "the DBFS file browser off",
    )
    enhanced_security_monitoring: bool | None = _doc(
        None, "Enhanced security monitoring; default: as the tier (on in staging and prod)"
    )
    compliance_security_profile: bool = _doc(
        False, "Compliance security profile (irreversible; turns on enhanced monitoring)"
    )
    compliance_standards: tuple[
        Literal["HIPAA", "PCI_DSS", "HITRUST", "IRAP_PROTECTED", "CYBER_ESSENTIAL_PLUS"], ...
    ] = _doc((), "Standards the compliance security profile attests")
    automatic_cluster_update: bool | None = _doc(
        None, "Automatic cluster update; default: as the tier (on in staging and prod)"
    )

    @model_validator(mode="after")
    def _networks(self) -> HardeningConfig:
        for index, cidr in enumerate(self.ip_access_list):
            try:
                ip_network(cidr)
            except ValueError as exc:
                raise _PathError(("ipAccessList", index), str(exc)) from None
        return self


class WorkspaceConfig(_Model):
    name: WorkspaceName | None = _doc(None, "Workspace name; default dbw-<namePrefix>-<stack>")
    sku: Literal["premium", "standard", "trial"] = _doc(
        "premium", "Pricing tier; Unity Catalog governance needs premium (enforced in prod)"
    )
    no_public_ip: StrictBool = _doc(
        True, "Secure cluster connectivity: cluster nodes get no public IP"
    )
    managed_resource_group_name: ResourceGroupName | None = _doc(
        None, "Databricks-managed resource group; default rg-<namePrefix>-<stack>-dbw-managed"
    )
    hardening: HardeningConfig = _doc(HardeningConfig(), "Workspace security settings")


class AzureConfig(_Model):
    location: AzureLocation = _required("Azure region of every resource, e.g. westeurope")
    subscription_id: Guid = _required("Subscription the stack deploys into")
    tenant_id: Guid = _required("Entra ID tenant of the subscription and the Databricks account")
    name_prefix: NamePrefix = _required(
        "2-12 lower-case letters and digits that start every resource name"
    )
    resource_group_name: ResourceGroupName | None = _doc(
        None, "Resource group; default rg-<namePrefix>-<stack>"
    )
    tags: AzureTags = _doc({}, "Tags on every resource, on top of project/environment/stack")
    network: NetworkConfig = _doc(NetworkConfig(), "Workspace networking")
    storage: StorageConfig = _doc(StorageConfig(), "ADLS Gen2 storage")
    key_vault: KeyVaultConfig = _doc(
        KeyVaultConfig(), "Key Vault (RBAC) for the platform's secrets"
    )
    workspace: WorkspaceConfig = _doc(WorkspaceConfig(), "The Databricks workspace")
    encryption: EncryptionConfig = _doc(EncryptionConfig(), "Customer-managed keys")


class DatabricksConfig(_Model):
    """The Databricks account (one per Entra ID tenant) that owns Unity Catalog and identities."""

    account_id: Guid = _required("Databricks account id (account console, top right)")
    account_host: str = _doc(
        "https://accounts.azuredatabricks.net", "Account API host (Azure commercial cloud)"
    )
    account_owner: bool = _doc(
        False,
        "This stack's deployer is a Databricks account admin and so may create account"
        " objects (groups, users, service principals, workspace assignments) in CI; at most"
        " one stack of an account sets it. Elsewhere they are created by the bootstrap"
        " deploy, and CI gets only group manager on the stack's own groups",
    )
