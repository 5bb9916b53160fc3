"""The whole platform of one stack: providers, then each layer in dependency order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_databricks as databricks

from components.config import StackConfig
from components.foundation import Foundation, FoundationArgs


@dataclass(frozen=True)
class PlatformArgs:
    config: StackConfig
    stack: str


class Platform(pulumi.ComponentResource):
    """Everything ``pulumi up -s <stack>`` owns, with explicit providers.

    Layers are components, one file each, created here in dependency order. Each gets
    the providers it needs through ``ResourceOptions(providers=...)`` and passes them to
    its children through ``parent=self``; no resource ever falls back to a default
    provider configured from the environment.
    """

    foundation: Foundation

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:platform:Platform", name, None, opts)
        config, stack = args.config, args.stack
        self.config = config
        self.stack = stack

        # Credentials come from the environment (az login locally, ARM_USE_OIDC and the
        # GitHub OIDC token in CI), never from config: a developer's `az account set`
        # cannot redirect a deploy, because subscription and tenant are pinned here.
        self.azure_provider = azure_native.Provider(
            f"{name}-azure-native",
            location=config.azure.location,
            subscription_id=config.azure.subscription_id,
            tenant_id=config.azure.tenant_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        azure = pulumi.ResourceOptions(parent=self, providers=[self.azure_provider])

        self.foundation = Foundation(
            f"{name}-azure", FoundationArgs(config=config, stack=stack), azure
        )

        # Account-level Databricks API: Unity Catalog metastores, account groups, users
        # and service principals, workspace assignments.
        self.account_provider = databricks.Provider(
            f"{name}-databricks-account",
            host=config.databricks.account_host,
            account_id=config.databricks.account_id,
            azure_tenant_id=config.azure.tenant_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Workspace-level Databricks API, addressed by the workspace this stack creates:
        # the provider cannot be configured before the workspace exists, which also
        # orders every workspace resource after it.
        self.workspace_provider = databricks.Provider(
            f"{name}-databricks-workspace",
            host=self.foundation.workspace_url,
            azure_workspace_resource_id=self.foundation.workspace_resource_id,
            azure_tenant_id=config.azure.tenant_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, Any]:
        """The stack outputs contract (schema/outputs.schema.json): names are an API."""
        foundation = self.foundation
        return {
            "environment": self.config.environment.value,
            "location": self.config.azure.location,
            "resourceGroupName": foundation.resource_group_name,
            "workspaceUrl": foundation.workspace_url,
            "workspaceId": foundation.workspace_id,
            "workspaceResourceId": foundation.workspace_resource_id,
            "storageAccountName": foundation.storage_account_name,
            "storageDfsEndpoint": foundation.dfs_endpoint,
            "accessConnectorId": foundation.access_connector_id,
            "keyVaultUri": foundation.key_vault_uri,
        }
