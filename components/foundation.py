"""Azure foundation: resource group, ADLS Gen2 storage, access connector, Key Vault, workspace."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, databricks, keyvault, resources, storage

from components.config import StackConfig
from components.naming import STORAGE_BLOB_DATA_CONTRIBUTOR, role_definition_id, stable_guid


@dataclass(frozen=True)
class FoundationArgs:
    config: StackConfig
    stack: str


class Foundation(pulumi.ComponentResource):
    """The Azure side of one environment; the Databricks layers build on its outputs."""

    resource_group_name: pulumi.Output[str]
    storage_account_name: pulumi.Output[str]
    storage_account_id: pulumi.Output[str]
    dfs_endpoint: pulumi.Output[str]
    zone_containers: dict[str, storage.BlobContainer]
    access_connector_id: pulumi.Output[str]
    access_connector_principal_id: pulumi.Output[str]
    key_vault: keyvault.Vault
    key_vault_id: pulumi.Output[str]
    key_vault_uri: pulumi.Output[str]
    workspace: databricks.Workspace
    workspace_url: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    workspace_resource_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:azure:Foundation", name, None, opts)
        config, stack = args.config, args.stack
        azure = config.azure
        tags = config.tags(stack)
        child = pulumi.ResourceOptions(parent=self)
        # Prod data outlives any one deployment: deleting it needs an explicit unprotect.
        data = pulumi.ResourceOptions(parent=self, protect=config.protect_data)

        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=config.resource_group_name(stack),
            location=azure.location,
            tags=tags,
            opts=child,
        )
        self.resource_group_name = group.name

        account = storage.StorageAccount(
            f"{name}-storage",
            account_name=config.storage_account_name(stack),
            resource_group_name=group.name,
            location=azure.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=azure.storage.sku),
            is_hns_enabled=True,  # ADLS Gen2: Unity Catalog needs the hierarchical namespace
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            enable_https_traffic_only=True,
            # Access is by managed identity and RBAC only; account keys stay unused.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            tags=tags,
            opts=data,
        )
        self.storage_account_name = account.name
        self.storage_account_id = account.id
        self.dfs_endpoint = account.primary_endpoints.apply(lambda e: e.dfs)

        self.zone_containers = {
            zone: storage.BlobContainer(
                f"{name}-{zone}",
                container_name=zone,
                account_name=account.name,
                resource_group_name=group.name,
                public_access=storage.PublicAccess.NONE,
                opts=data,
            )
            for zone in azure.storage.zones
        }

        connector = databricks.AccessConnector(
            f"{name}-connector",
            connector_name=f"dbac-{config.prefix}-{stack}",
            resource_group_name=group.name,
            location=azure.location,
            identity=databricks.ManagedServiceIdentityArgs(
                type=databricks.ManagedServiceIdentityType.SYSTEM_ASSIGNED
            ),
            tags=tags,
            opts=child,
        )
        self.access_connector_id = connector.id
        self.access_connector_principal_id = connector.identity.apply(
            lambda identity: identity.principal_id if identity else ""
        )

        authorization.RoleAssignment(
            f"{name}-connector-blob-contributor",
            role_assignment_name=stable_guid(
                azure.subscription_id, stack, "access-connector", STORAGE_BLOB_DATA_CONTRIBUTOR
            ),
            principal_id=self.access_connector_principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(
                azure.subscription_id, STORAGE_BLOB_DATA_CONTRIBUTOR
            ),
            scope=account.id,
            description="Unity Catalog reads and writes the data zones via the access connector",
            opts=child,
        )

        self.key_vault = keyvault.Vault(
            f"{name}-keyvault",
            vault_name=config.key_vault_name(stack),
            resource_group_name=group.name,
            location=azure.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=azure.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                # RBAC only: who may read a secret is a role assignment, reviewable in a
                # plan, not an access policy hidden inside the vault.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=azure.key_vault.soft_delete_retention_days,
                # Azure refuses `false` here (purge protection is irreversible), so "off"
                # is expressed by leaving it unset.
                enable_purge_protection=True if config.key_vault_purge_protection else None,
            ),
            tags=tags,
            opts=data,
        )
        self.key_vault_id = self.key_vault.id
        self.key_vault_uri = self.key_vault.properties.apply(lambda p: p.vault_uri or "")

        managed_group_id = (
            f"/subscriptions/{azure.subscription_id}/resourceGroups/"
            f"{config.managed_resource_group_name(stack)}"
        )
        self.workspace = databricks.Workspace(
            f"{name}-workspace",
            workspace_name=config.workspace_name(stack),
            resource_group_name=group.name,
            location=azure.location,
            sku=databricks.SkuArgs(name=azure.workspace.sku),
            managed_resource_group_id=managed_group_id,
            parameters=databricks.WorkspaceCustomParametersArgs(
                enable_no_public_ip=databricks.WorkspaceNoPublicIPBooleanParameterArgs(
                    value=azure.workspace.no_public_ip
                ),
            ),
            public_network_access=databricks.PublicNetworkAccess.ENABLED,
            tags=tags,
            opts=child,
        )
        self.workspace_url = self.workspace.workspace_url.apply(lambda host: f"https://{host}")
        self.workspace_id = self.workspace.workspace_id
        self.workspace_resource_id = self.workspace.id

        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "storage_account_name": self.storage_account_name,
                "workspace_url": self.workspace_url,
                "workspace_id": self.workspace_id,
                "key_vault_uri": self.key_vault_uri,
            }
        )
