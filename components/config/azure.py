"""The Azure side of a stack, and the Databricks account it belongs to."""

from __future__ import annotations

from typing import Literal

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
    _Model,
    _PathError,
    _require_unique,
    _required,
)


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
    purge_protection: StrictBool | None = _doc(
        None, "Purge protection (irreversible once on); default on in prod, off elsewhere"
    )
    soft_delete_retention_days: ApiInt = _doc(
        90, "Days a deleted vault or secret can be recovered", ge=7, le=90
    )


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
