"""The whole platform of one stack: providers, then each layer in dependency order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native

from components.config import StackConfig
from components.foundation import Foundation, FoundationArgs


@dataclass(frozen=True)
class PlatformArgs:
    config: StackConfig
    stack: str


class Platform(pulumi.ComponentResource):
    """Everything ``pulumi up -s <stack>`` owns, with explicit providers."""

    foundation: Foundation

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        config, stack = args.config, args.stack
        azure = config.azure
        # Explicit providers: nothing depends on ambient CLI defaults, and every child
        # inherits them through parent=self. Credentials come from the environment
        # (az login locally, ARM_USE_OIDC in CI), never from config.
        self.azure_provider = azure_native.Provider(
            f"{name}-azure",
            location=azure.location,
            subscription_id=azure.subscription_id,
            tenant_id=azure.tenant_id,
        )
        super().__init__(
            "dataops:platform:Platform",
            name,
            None,
            pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(providers=[self.azure_provider])
            ),
        )
        self.config = config
        self.stack = stack

        self.foundation = Foundation(
            f"{name}-azure", FoundationArgs(config=config, stack=stack), pulumi.ResourceOptions(parent=self)
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
        }
