"""The whole platform of one stack: providers, then each layer in dependency order.

Layers take values (their config section, names, ids, URLs, readiness lists), never
another layer's component or the whole stack config; this module unpacks the config and
wires one layer's outputs into the next layer's args.
"""

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
from components.grants import PrincipalRole, grant_plan, integration_grant_checks
from components.identity import (
    GithubRepository,
    Identity,
    IdentityArgs,
    WorkspaceAccess,
    WorkspaceAccessArgs,
)
from components.jobs import GIT_SYNC, INTEGRATION_TESTS, MEDALLION, Jobs, JobsArgs
from components.naming import Names
from components.observability import Observability, ObservabilityArgs
from components.principals import Principal
from components.private_link import PrivateLink, PrivateLinkArgs
from components.pulumi_config import Secrets
from components.secret_keys import SecretKey
from components.source_control import SourceControl, SourceControlArgs
from components.unity_catalog import (
    MetastoreAttachment,
    MetastoreAttachmentArgs,
    UnityCatalog,
    UnityCatalogArgs,
)
from components.workspace_code import WorkspaceCode, WorkspaceCodeArgs
from components.workspace_security import (
    Hardening,
    Serverless,
    WorkspaceSecurity,
    WorkspaceSecurityArgs,
)


@dataclass(frozen=True)
class PlatformArgs:
    config: StackConfig
    stack: str
    secrets: Secrets


class Platform(pulumi.ComponentResource):
    """Everything ``pulumi up -s <stack>`` owns, with explicit providers.

    Layers are components, one file each, created here in dependency order: the Azure
    foundation and, in private mode, the Private Link that reaches it; account
    principals; then the metastore (a created one is owned by one of this stack's
    groups) and its assignment; the workspace's security settings (some need the
    metastore); then the workspace access of those principals (a
    workspace accepts account principals only once a metastore is attached); then
    everything that names them: ACLs and Unity Catalog grants. Each gets
    the providers it needs through ``ResourceOptions(providers=...)`` and passes them to
    its children through ``parent=self``; no resource ever falls back to a default
    provider configured from the environment.
    """

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:platform:Platform", name, None, opts)
        config, stack, secrets = args.config, args.stack, args.secrets
        names = config.names(stack)
        self.config = config
        child = pulumi.ResourceOptions(parent=self)
        azure_provider, account_provider = self._cloud_providers(name, config)
        on_azure = pulumi.ResourceOptions(parent=self, providers=[azure_provider])

        self.foundation = foundation = Foundation(
            f"{name}-azure", _foundation_args(config, names), on_azure
        )
        self.private_link = self._private_link(name, config, names, foundation, on_azure)
        workspace_provider = self._workspace_provider(name, config, foundation)
        on_workspace = pulumi.ResourceOptions(parent=self, providers=[workspace_provider])
        self.identity = identity = Identity(
            f"{name}-identity",
            _identity_args(config, names, foundation, account_provider),
            on_azure,
        )
        self.metastore = metastore = MetastoreAttachment(
            f"{name}-metastore",
            _metastore_args(config, names, foundation, identity, account_provider),
            child,
        )
        self.workspace_security = WorkspaceSecurity(
            f"{name}-security",
            _workspace_security_args(
                config, names, foundation, metastore, account_provider, workspace_provider
            ),
            child,
        )
        self.workspace_access = access = WorkspaceAccess(
            f"{name}-workspace-access",
            _workspace_access_args(
                config, foundation, identity, metastore, account_provider, workspace_provider
            ),
            child,
        )
        github_provider, azuredevops_provider = self._git_providers(name, config)
        self.source_control = source_control = SourceControl(
            f"{name}-source",
            _source_control_args(
                config, names, foundation, identity, github_provider, azuredevops_provider
            ),
            pulumi.ResourceOptions(
                parent=self,
                providers=[p for p in (github_provider, azuredevops_provider) if p is not None],
            ),
        )
        # Azure Pipelines' issuers exist once its service connections do; the federation
        # still belongs to the identity layer, beside the identities it trusts.
        identity.trust_ci(source_control.ci_trusts)
        self.git_folders = GitFolders(
            f"{name}-git-folders",
            _git_folders_args(config, names, source_control, identity, access, secrets),
            on_workspace,
        )
        self.unity_catalog = catalog = UnityCatalog(
            f"{name}-uc",
            _unity_catalog_args(
                config, names, foundation, identity, metastore, access, workspace_provider
            ),
            child,
        )
        self.workspace_code = code = WorkspaceCode(
            f"{name}-code",
            WorkspaceCodeArgs(
                folder=names.code_folder,
                manager=Principal.service_principal(identity.deployer.application_id),
                reader_groups=[names.group(group) for group in config.identity.group_names()],
                reader=_principal(identity.run_as.reader_application_id),
                principals_ready=access.principals_ready,
            ),
            on_workspace,
        )
        self.jobs = jobs = Jobs(
            f"{name}-jobs",
            _jobs_args(config, names, foundation, identity, catalog, code, access, secrets),
            on_workspace,
        )
        self.observability = Observability(
            f"{name}-observability",
            _observability_args(config, names, foundation, identity, catalog, code, jobs, access),
            pulumi.ResourceOptions(parent=self, providers=[azure_provider, workspace_provider]),
        )
        self.register_outputs(self.outputs())

    def _cloud_providers(
        self, name: str, config: StackConfig
    ) -> tuple[azure_native.Provider, databricks.Provider]:
        # Credentials come from the environment (az login locally, ARM_USE_OIDC and the
        # GitHub OIDC token in CI), never from config: a developer's `az account set`
        # cannot redirect a deploy, because subscription and tenant are pinned here.
        child = pulumi.ResourceOptions(parent=self)
        azure = azure_native.Provider(
            f"{name}-azure-native",
            location=config.azure.location,
            subscription_id=config.azure.subscription_id,
            tenant_id=config.azure.tenant_id,
            opts=child,
        )
        # Account-level Databricks API: Unity Catalog metastores, account groups, users
        # and service principals, workspace assignments.
        account = databricks.Provider(
            f"{name}-databricks-account",
            host=config.databricks.account_host,
            account_id=config.databricks.account_id,
            azure_tenant_id=config.azure.tenant_id,
            opts=child,
        )
        return azure, account

    def _private_link(
        self,
        name: str,
        config: StackConfig,
        names: Names,
        foundation: Foundation,
        opts: pulumi.ResourceOptions,
    ) -> PrivateLink | None:
        # Private mode only; it reaches what the foundation created through endpoints.
        if config.network_mode != "private":
            return None
        return PrivateLink(
            f"{name}-private-link", _private_link_args(config, names, foundation), opts
        )

    def _workspace_provider(
        self, name: str, config: StackConfig, foundation: Foundation
    ) -> databricks.Provider:
        # Workspace-level Databricks API, addressed by the workspace this stack creates:
        # the provider cannot be configured before the workspace exists, which also
        # orders every workspace resource after it.
        return databricks.Provider(
            f"{name}-databricks-workspace",
            host=foundation.workspace_url,
            azure_workspace_resource_id=foundation.workspace_resource_id,
            azure_tenant_id=config.azure.tenant_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _git_providers(
        self, name: str, config: StackConfig
    ) -> tuple[github.Provider | None, azuredevops.Provider | None]:
        # The git providers take their credential from the environment (GITHUB_TOKEN or a
        # GitHub App token; an Azure DevOps PAT or OIDC), never from config; owner and
        # organization are pinned here.
        source, child = config.source_control, pulumi.ResourceOptions(parent=self)
        github_provider = (
            github.Provider(f"{name}-github", owner=source.github.owner, opts=child)
            if source.provider == "github" and source.github is not None
            else None
        )
        azuredevops_provider = (
            azuredevops.Provider(
                f"{name}-azuredevops",
                org_service_url=source.azure_devops.organization_url,
                opts=child,
            )
            if source.provider == "azuredevops" and source.azure_devops is not None
            else None
        )
        return github_provider, azuredevops_provider

    def _cluster_policy_id(self) -> pulumi.Output[str]:
        policy = self.jobs.cluster_policy
        if policy is None:  # a platform stack's jobs always have their policy
            raise ValueError("the platform's jobs have no cluster policy")
        return policy.id

    def outputs(self) -> dict[str, Any]:
        """The stack outputs contract (schema/outputs.schema.json): names are an API."""
        foundation, identity = self.foundation, self.identity
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
            "groupNames": identity.group_names,
            "deployerApplicationId": identity.deployer.application_id,
            "jobRunnerApplicationId": identity.job_runner.application_id,
            "deployerClientId": identity.deployer_client_id,
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
            "jobsCatalog": self.config.jobs_catalog,
            "clusterPolicyId": self._cluster_policy_id(),
            "codeFolder": self.workspace_code.folder,
            "warehouseId": self.observability.warehouse_id,
            "warehouseHttpPath": self.observability.warehouse_http_path,
            "warehouseJdbcUrl": self.observability.warehouse_jdbc_url,
            "dashboardIds": self.observability.dashboard_ids,
            "runHistoryTables": self.observability.history_tables,
            "logAnalyticsWorkspaceId": self.observability.log_analytics_workspace_id,
        }


# ----------------------------------------------------------- each layer's args, from config


def _foundation_args(config: StackConfig, names: Names) -> FoundationArgs:
    return FoundationArgs(
        azure=config.azure,
        names=names,
        tags=config.tags(names.stack),
        catalogs=[catalog.name for catalog in config.unity_catalog.catalogs],
        protect_data=config.tier.protect_data,
        purge_protection=config.key_vault_purge_protection,
        network_mode=config.network_mode,
        customer_managed_keys=config.customer_managed_keys,
    )


def _private_link_args(
    config: StackConfig, names: Names, foundation: Foundation
) -> PrivateLinkArgs:
    injected = foundation.injected_network
    if injected is None or injected.endpoint_subnet is None:  # private mode injects
        raise ValueError("private mode needs the injected network's endpoint subnet")
    return PrivateLinkArgs(
        private_link=config.azure.network.private_link,
        names=names,
        location=config.azure.location,
        tags=config.tags(names.stack),
        resource_group_name=foundation.resource_group_name,
        workspace_resource_id=foundation.workspace_resource_id,
        storage_account_id=foundation.storage_account_id,
        key_vault_id=foundation.key_vault_id,
        virtual_network_id=injected.virtual_network.id,
        endpoint_subnet_id=injected.endpoint_subnet.id,
    )


def _workspace_security_args(
    config: StackConfig,
    names: Names,
    foundation: Foundation,
    metastore: MetastoreAttachment,
    account: databricks.Provider,
    workspace: databricks.Provider,
) -> WorkspaceSecurityArgs:
    network = config.azure.network
    # Serverless egress is governed where the storage is private (it needs the NCC's
    # endpoints) or where config or the tier restricts it.
    governed = config.network_mode == "private" or config.serverless_restricted
    return WorkspaceSecurityArgs(
        hardening=Hardening.resolve(config.azure.workspace.hardening, config.tier),
        serverless=(
            Serverless(
                settings=network.serverless,
                restricted=config.serverless_restricted,
                storage_account_id=foundation.storage_account_id,
                storage_account_name=foundation.storage_account_name,
            )
            if governed
            else None
        ),
        names=names,
        location=config.azure.location,
        workspace_id=foundation.workspace_id,
        ready=[metastore.assignment],
        account_provider=account,
        workspace_provider=workspace,
    )


def _identity_args(
    config: StackConfig, names: Names, foundation: Foundation, account: databricks.Provider
) -> IdentityArgs:
    source = config.source_control
    github = source.github if source.provider == "github" else None
    return IdentityArgs(
        identity=config.identity,
        names=names,
        location=config.azure.location,
        tags=config.tags(names.stack),
        account_id=config.databricks.account_id,
        owner_group=config.unity_catalog.owner,
        jobs_run_as=config.jobs.run_as,
        admin_group=config.identity.admin_group,
        account_owner=config.databricks.account_owner,
        resource_group_name=foundation.resource_group_name,
        key_vault_name=foundation.key_vault.name,
        key_vault_id=foundation.key_vault_id if config.customer_managed_keys else None,
        github=GithubRepository(github.owner, github.repository) if github else None,
        account_provider=account,
    )


def _metastore_args(
    config: StackConfig,
    names: Names,
    foundation: Foundation,
    identity: Identity,
    account: databricks.Provider,
) -> MetastoreAttachmentArgs:
    return MetastoreAttachmentArgs(
        metastore=config.unity_catalog.metastore,
        names=names,
        location=config.azure.location,
        workspace_id=foundation.workspace_id,
        access_connector_id=foundation.access_connector_id,
        storage_access=foundation.storage_access,
        groups_ready=identity.groups_ready,
        account_provider=account,
    )


def _workspace_access_args(
    config: StackConfig,
    foundation: Foundation,
    identity: Identity,
    metastore: MetastoreAttachment,
    account: databricks.Provider,
    workspace: databricks.Provider,
) -> WorkspaceAccessArgs:
    return WorkspaceAccessArgs(
        groups=config.identity.groups,
        group_ids={group: account_group.id for group, account_group in identity.groups.items()},
        deployer_id=identity.deployer.id,
        job_runner_id=identity.job_runner.id,
        preview_id=identity.preview.databricks.id,
        workspace_id=foundation.workspace_id,
        attachment=metastore.assignment,
        groups_ready=identity.groups_ready,
        principals_ready=identity.principals_ready,
        account_provider=account,
        workspace_provider=workspace,
    )


def _source_control_args(
    config: StackConfig,
    names: Names,
    foundation: Foundation,
    identity: Identity,
    github_provider: github.Provider | None,
    azuredevops_provider: azuredevops.Provider | None,
) -> SourceControlArgs:
    return SourceControlArgs(
        source_control=config.source_control,
        names=names,
        deploy_branch=config.deploy_branch,
        production=config.tier.production,
        tenant_id=config.azure.tenant_id,
        subscription_id=config.azure.subscription_id,
        account_id=config.databricks.account_id,
        workspace_url=foundation.workspace_url,
        workspace_resource_id=foundation.workspace_resource_id,
        ci=identity.ci_identities,
        github_provider=github_provider,
        azuredevops_provider=azuredevops_provider,
    )


def _git_folders_args(
    config: StackConfig,
    names: Names,
    source_control: SourceControl,
    identity: Identity,
    access: WorkspaceAccess,
    secrets: Secrets,
) -> GitFoldersArgs:
    source = config.source_control
    return GitFoldersArgs(
        git_folders=config.git_folders,
        develop_branch=source.develop_branch,
        main_branch=source.main_branch,
        repository_url=source_control.clone_url,
        repository_name=source_control.repository_name,
        git_provider=source_control.git_provider,
        deployer_id=identity.deployer.id,
        deployer_application_id=identity.deployer.application_id,
        deployer_display_name=config.identity.service_principals.deployer.display_name,
        token=_required(secrets.git_credential_token, SecretKey.GIT_CREDENTIAL_TOKEN),
        reader_groups=[names.group(group) for group in config.identity.group_names()],
        principals_ready=access.principals_ready,
    )


def _unity_catalog_args(
    config: StackConfig,
    names: Names,
    foundation: Foundation,
    identity: Identity,
    metastore: MetastoreAttachment,
    access: WorkspaceAccess,
    workspace: databricks.Provider,
) -> UnityCatalogArgs:
    return UnityCatalogArgs(
        unity_catalog=config.unity_catalog,
        names=names,
        grants=grant_plan(config),
        principals={PrincipalRole.JOBS_RUN_AS: identity.run_as.application_id},
        protect_data=config.tier.protect_data,
        workspace_id=foundation.workspace_id,
        storage_account_name=foundation.storage_account_name,
        zone_containers={zone: c.name for zone, c in foundation.zone_containers.items()},
        catalog_containers={name: c.name for name, c in foundation.catalog_containers.items()},
        access_connector_id=foundation.access_connector_id,
        storage_access=foundation.storage_access,
        metastore_id=metastore.metastore_id,
        attachment=metastore.assignment,
        groups_ready=access.groups_ready,
        principals_ready=access.principals_ready,
        workspace_provider=workspace,
    )


def _jobs_args(
    config: StackConfig,
    names: Names,
    foundation: Foundation,
    identity: Identity,
    catalog: UnityCatalog,
    code: WorkspaceCode,
    access: WorkspaceAccess,
    secrets: Secrets,
) -> JobsArgs:
    return JobsArgs(
        jobs=config.jobs,
        notifications=config.notifications,
        names=names,
        tags=config.tags(names.stack),
        schedules_paused=config.tier.schedules_paused,
        catalog=config.jobs_catalog,
        landing_zone=config.landing_zone,
        checkpoint_zone=config.checkpoint_zone,
        company=config.prefix,
        seed_sample_data=config.seed_sample_data,
        grant_checks=integration_grant_checks(config, names),
        notebook_paths=code.notebook_paths,
        run_as=Principal.service_principal(identity.run_as.application_id),
        owner=Principal.service_principal(identity.deployer.application_id),
        run_as_is_owner=identity.run_as.is_deployer,
        zone_urls={zone: location.url for zone, location in catalog.external_locations.items()},
        workspace_url=foundation.workspace_url,
        teams_webhook_url=secrets.teams_webhook_url,
        git_sync_token=secrets.git_sync_token,
        history_schema=config.observability.run_history.schema_name,
        history_retention_days=config.observability.run_history.retention_days,
        slack_webhook_url=secrets.slack_webhook_url,
        # The deployer names run_as once it holds the Service Principal User role (an
        # identity-layer rule set); the jobs run their code and read the catalog's data.
        ready=[code, identity, catalog],
        principals_ready=access.principals_ready,
    )


def _observability_args(
    config: StackConfig,
    names: Names,
    foundation: Foundation,
    identity: Identity,
    catalog: UnityCatalog,
    code: WorkspaceCode,
    jobs: Jobs,
    access: WorkspaceAccess,
) -> ObservabilityArgs:
    return ObservabilityArgs(
        observability=config.observability,
        names=names,
        tags=config.tags(names.stack),
        warehouse_size=config.warehouse_size,
        warehouse_max_clusters=config.warehouse_max_clusters,
        catalog=config.jobs_catalog,
        owner_group=names.group(config.unity_catalog.owner),
        run_as_application_id=identity.run_as.application_id,
        protect_data=config.tier.protect_data,
        emails=config.notifications.emails,
        destination_ids=jobs.destination_ids,
        location=config.azure.location,
        resource_group_name=foundation.resource_group_name,
        workspace_resource_id=foundation.workspace_resource_id,
        key_vault_id=foundation.key_vault_id,
        storage_account_id=foundation.storage_account_id,
        ready=[catalog, code.directories[""]],
        principals_ready=access.principals_ready,
    )


def _principal(application_id: pulumi.Output[str] | None) -> Principal | None:
    return None if application_id is None else Principal.service_principal(application_id)


def _required(secret: pulumi.Output[str] | None, key: str) -> pulumi.Output[str]:
    if secret is None:  # the config model refuses a stack without it
        raise ValueError(f"the secret dataops:{key} is not set")
    return secret
