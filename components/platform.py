"""The whole platform of one stack: providers, then each layer in dependency order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_azuredevops as azuredevops
import pulumi_databricks as databricks
import pulumi_github as github

from components.config import StackConfig
from components.foundation import Foundation, FoundationArgs
from components.git_folders import GitFolders, GitFoldersArgs
from components.identity import Identity, IdentityArgs, WorkspaceAccess, WorkspaceAccessArgs
from components.jobs import GIT_SYNC, INTEGRATION_TESTS, MEDALLION, Jobs, JobsArgs, run_as_grants
from components.source_control import SourceControl, SourceControlArgs
from components.unity_catalog import (
    MetastoreAttachment,
    MetastoreAttachmentArgs,
    UnityCatalog,
    UnityCatalogArgs,
)
from components.workspace_code import WorkspaceCode, WorkspaceCodeArgs


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
    identity: Identity
    metastore: MetastoreAttachment
    workspace_access: WorkspaceAccess
    source_control: SourceControl
    git_folders: GitFolders
    unity_catalog: UnityCatalog
    workspace_code: WorkspaceCode
    jobs: Jobs

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

        # Identity, source control and Git folders (issue 4). The git providers take their
        # credential from the environment (GITHUB_TOKEN or a GitHub App token; an Azure
        # DevOps PAT or OIDC), never from config; owner and organization are pinned here.
        source = config.source_control
        self.github_provider = (
            github.Provider(
                f"{name}-github",
                owner=source.github.owner,
                opts=pulumi.ResourceOptions(parent=self),
            )
            if source.provider == "github" and source.github is not None
            else None
        )
        self.azuredevops_provider = (
            azuredevops.Provider(
                f"{name}-azuredevops",
                org_service_url=source.azure_devops.organization_url,
                opts=pulumi.ResourceOptions(parent=self),
            )
            if source.provider == "azuredevops" and source.azure_devops is not None
            else None
        )
        # Order matters across the identity and Unity Catalog layers: account principals
        # first; then the metastore (a created one is owned by one of this stack's
        # groups) and its assignment; then the workspace access of those principals (a
        # workspace accepts account principals only once a metastore is attached); then
        # everything that names them: Git folder ACLs and Unity Catalog grants.
        self.identity = Identity(
            f"{name}-identity",
            IdentityArgs(
                config=config,
                stack=stack,
                resource_group_name=self.foundation.resource_group_name,
                key_vault=self.foundation.key_vault,
                account_provider=self.account_provider,
            ),
            azure,
        )
        self.metastore = MetastoreAttachment(
            f"{name}-metastore",
            MetastoreAttachmentArgs(
                config=config,
                stack=stack,
                foundation=self.foundation,
                account_provider=self.account_provider,
                owner_dependencies=list(self.identity.groups.values()),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.workspace_access = WorkspaceAccess(
            f"{name}-workspace-access",
            WorkspaceAccessArgs(
                config=config,
                stack=stack,
                identity=self.identity,
                workspace_id=self.foundation.workspace_id,
                attachment=self.metastore.assignment,
                account_provider=self.account_provider,
                workspace_provider=self.workspace_provider,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        git_providers: list[pulumi.ProviderResource] = [
            p for p in (self.github_provider, self.azuredevops_provider) if p
        ]
        self.source_control = SourceControl(
            f"{name}-source",
            SourceControlArgs(
                config=config,
                stack=stack,
                identity=self.identity,
                workspace_url=self.foundation.workspace_url,
                workspace_resource_id=self.foundation.workspace_resource_id,
                github_provider=self.github_provider,
                azuredevops_provider=self.azuredevops_provider,
            ),
            pulumi.ResourceOptions(parent=self, providers=git_providers),
        )
        self.git_folders = GitFolders(
            f"{name}-git-folders",
            GitFoldersArgs(
                config=config,
                stack=stack,
                repository_url=self.source_control.clone_url,
                repository_name=self.source_control.repository_name,
                git_provider=self.source_control.git_provider,
                deployer=self.identity.deployer,
                principals_ready=self.workspace_access.workspace_access(),
            ),
            pulumi.ResourceOptions(parent=self, providers=[self.workspace_provider]),
        )
        # Jobs (issue 6) run as the job runner (or, where configured, the deployer). The
        # privileges they need on the catalog and zones go into the Unity Catalog layer's
        # grants, which are authoritative per securable.
        run_as = (
            self.identity.deployer if config.jobs.run_as == "deployer" else self.identity.job_runner
        )
        self.unity_catalog = UnityCatalog(
            f"{name}-uc",
            UnityCatalogArgs(
                config=config,
                stack=stack,
                foundation=self.foundation,
                attachment=self.metastore,
                workspace_provider=self.workspace_provider,
                grant_dependencies=self.workspace_access.grant_dependencies(),
                extra_grants=run_as_grants(config, stack, run_as.application_id),
                extra_grant_dependencies=self.workspace_access.workspace_access(),
            ),
            pulumi.ResourceOptions(parent=self),
        )
        workspace = pulumi.ResourceOptions(parent=self, providers=[self.workspace_provider])
        self.workspace_code = WorkspaceCode(
            f"{name}-code",
            WorkspaceCodeArgs(
                config=config,
                stack=stack,
                deployer=self.identity.deployer,
                reader_application_id=(
                    None if run_as is self.identity.deployer else run_as.application_id
                ),
                principals_ready=self.workspace_access.workspace_access(),
            ),
            workspace,
        )
        self.jobs = Jobs(
            f"{name}-jobs",
            JobsArgs(
                config=config,
                stack=stack,
                code=self.workspace_code,
                run_as=run_as,
                deployer=self.identity.deployer,
                external_locations=self.unity_catalog.external_locations,
                workspace_url=self.foundation.workspace_url,
                principals_ready=self.workspace_access.workspace_access(),
                # The deployer names run_as once it holds the Service Principal User role
                # on the job runner (an identity-layer rule set).
                run_as_ready=[self.identity],
                data_ready=[self.unity_catalog],
            ),
            workspace,
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
            "groupNames": self.identity.group_names,
            "deployerApplicationId": self.identity.deployer.application_id,
            "jobRunnerApplicationId": self.identity.job_runner.application_id,
            "deployerClientId": self.identity.deployer_client_id,
            "repositoryCloneUrl": self.source_control.clone_url,
            "productionGitFolderPath": self.git_folders.production_path,
            "metastoreId": self.metastore.metastore_id,
            "catalogNames": self.unity_catalog.catalog_names,
            "schemaNames": self.unity_catalog.schema_names,
            "externalLocationUrls": self.unity_catalog.external_location_urls,
            "gitSyncJobId": self.jobs.job_ids[GIT_SYNC],
            "integrationTestJobId": self.jobs.job_ids[INTEGRATION_TESTS],
            "medallionJobId": self.jobs.job_ids[MEDALLION],
            "jobUrls": self.jobs.job_urls,
            "codeFolder": self.workspace_code.folder,
        }
