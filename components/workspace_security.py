"""Workspace hardening and serverless egress: the settings SAT checks, set at deploy.

Hardening (workspace API, as a workspace admin): the longest lifetime of a new token and
whether personal access tokens exist at all, an IP access list where the front end is
public, legacy features off (Hive metastore and no-isolation clusters, the DBFS root and
mounts, the DBFS file browser), enhanced security monitoring, the compliance security
profile, automatic cluster update.

Serverless egress (account API): a network connectivity configuration (NCC) bound to the
workspace, with private endpoint rules to the stack's storage, so serverless compute
reaches the storage account whose public access is off; and a network policy that lets
serverless compute reach only the destinations config allows.
https://learn.microsoft.com/azure/databricks/security/network/serverless-network-security/
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_databricks as databricks

from components.config import HardeningConfig, ServerlessConfig
from components.naming import Names
from components.tiers import TierTraits

# Serverless compute reaches ADLS through these sub-resources of the storage account.
STORAGE_GROUP_IDS = ("dfs", "blob")


@dataclass(frozen=True)
class Hardening:
    """The workspace settings, with the tier's defaults filled in."""

    max_token_lifetime_days: int
    personal_access_tokens: bool
    ip_access_list: tuple[str, ...]
    disable_legacy_features: bool
    enhanced_security_monitoring: bool
    compliance_security_profile: bool
    compliance_standards: tuple[str, ...]
    automatic_cluster_update: bool

    @classmethod
    def resolve(cls, settings: HardeningConfig, tier: TierTraits) -> Hardening:
        def either(value: bool | None, default: bool) -> bool:
            return default if value is None else value

        return cls(
            max_token_lifetime_days=(
                settings.max_token_lifetime_days or tier.max_token_lifetime_days
            ),
            personal_access_tokens=either(
                settings.personal_access_tokens, tier.personal_access_tokens
            ),
            ip_access_list=settings.ip_access_list,
            disable_legacy_features=settings.disable_legacy_features,
            # The compliance security profile turns monitoring on for good.
            enhanced_security_monitoring=settings.compliance_security_profile
            or either(settings.enhanced_security_monitoring, tier.enhanced_security_monitoring),
            compliance_security_profile=settings.compliance_security_profile,
            compliance_standards=tuple(settings.compliance_standards),
            automatic_cluster_update=either(
                settings.automatic_cluster_update, tier.automatic_cluster_update
            ),
        )


@dataclass(frozen=True)
class Serverless:
    """Serverless egress: the NCC, its storage endpoints, and the network policy."""

    settings: ServerlessConfig
    restricted: bool
    storage_account_id: pulumi.Input[str]
    storage_account_name: pulumi.Input[str]


@dataclass(frozen=True)
class WorkspaceSecurityArgs:
    hardening: Hardening
    # None: no NCC or network policy (managed and injected networks keep serverless open).
    serverless: Serverless | None
    names: Names
    location: str
    workspace_id: pulumi.Input[str]
    # Legacy access can only be turned off in a workspace with a Unity Catalog metastore.
    ready: Sequence[pulumi.Resource]
    account_provider: databricks.Provider
    workspace_provider: databricks.Provider


class WorkspaceSecurity(pulumi.ComponentResource):
    """Workspace settings (workspace provider) and serverless egress (account provider)."""

    settings: list[pulumi.CustomResource]
    network_connectivity_config: databricks.MwsNetworkConnectivityConfig | None
    network_policy: databricks.AccountNetworkPolicy | None

    def __init__(
        self, name: str, args: WorkspaceSecurityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:databricks:WorkspaceSecurity", name, None, opts)
        self.settings = self._hardening(name, args)
        self.network_connectivity_config, self.network_policy = None, None
        if args.serverless is not None:
            self._serverless(name, args, args.serverless)
        self.register_outputs(
            {
                "network_connectivity_config_id": (
                    self.network_connectivity_config.network_connectivity_config_id
                    if self.network_connectivity_config is not None
                    else None
                )
            }
        )

    def _hardening(self, name: str, args: WorkspaceSecurityArgs) -> list[pulumi.CustomResource]:
        hardening = args.hardening
        on_workspace = pulumi.ResourceOptions(
            parent=self, providers=[args.workspace_provider], depends_on=list(args.ready)
        )
        # workspace-conf keys and their string values:
        # https://docs.databricks.com/api/azure/workspace/workspaceconf/setstatus and
        # terraform-provider-databricks docs/resources/workspace_conf.md
        conf = {
            "maxTokenLifetimeDays": str(hardening.max_token_lifetime_days),
            "enableTokensConfig": _flag(hardening.personal_access_tokens),
            "enableIpAccessLists": _flag(bool(hardening.ip_access_list)),
        }
        if hardening.disable_legacy_features:
            conf["enableDbfsFileBrowser"] = "false"
        settings: list[pulumi.CustomResource] = [
            databricks.WorkspaceConf(f"{name}-conf", custom_config=conf, opts=on_workspace)
        ]
        if hardening.ip_access_list:
            settings.append(
                databricks.IpAccessList(
                    f"{name}-ip-allow",
                    label="allowed",
                    list_type="ALLOW",
                    ip_addresses=list(hardening.ip_access_list),
                    opts=on_workspace,
                )
            )
        if hardening.disable_legacy_features:
            settings += [
                databricks.DisableLegacyAccessSetting(
                    f"{name}-no-legacy-access",
                    disable_legacy_access=databricks.DisableLegacyAccessSettingDisableLegacyAccessArgs(
                        value=True
                    ),
                    opts=on_workspace,
                ),
                databricks.DisableLegacyDbfsSetting(
                    f"{name}-no-legacy-dbfs",
                    disable_legacy_dbfs=databricks.DisableLegacyDbfsSettingDisableLegacyDbfsArgs(
                        value=True
                    ),
                    opts=on_workspace,
                ),
            ]
        settings.append(
            databricks.EnhancedSecurityMonitoringWorkspaceSetting(
                f"{name}-esm",
                enhanced_security_monitoring_workspace=databricks.EnhancedSecurityMonitoringWorkspaceSettingEnhancedSecurityMonitoringWorkspaceArgs(
                    is_enabled=hardening.enhanced_security_monitoring
                ),
                opts=on_workspace,
            )
        )
        if hardening.compliance_security_profile:
            # Irreversible once on: only declared when config asks for it.
            # https://learn.microsoft.com/azure/databricks/security/privacy/security-profile
            settings.append(
                databricks.ComplianceSecurityProfileWorkspaceSetting(
                    f"{name}-csp",
                    compliance_security_profile_workspace=databricks.ComplianceSecurityProfileWorkspaceSettingComplianceSecurityProfileWorkspaceArgs(
                        is_enabled=True,
                        compliance_standards=list(hardening.compliance_standards),
                    ),
                    opts=on_workspace,
                )
            )
        settings.append(
            databricks.AutomaticClusterUpdateWorkspaceSetting(
                f"{name}-cluster-update",
                automatic_cluster_update_workspace=databricks.AutomaticClusterUpdateWorkspaceSettingAutomaticClusterUpdateWorkspaceArgs(
                    enabled=hardening.automatic_cluster_update
                ),
                opts=on_workspace,
            )
        )
        return settings

    def _serverless(self, name: str, args: WorkspaceSecurityArgs, serverless: Serverless) -> None:
        names = args.names
        on_account = pulumi.ResourceOptions(parent=self, providers=[args.account_provider])
        # An NCC serves the workspaces of its region only.
        ncc = databricks.MwsNetworkConnectivityConfig(
            f"{name}-ncc",
            name=names.network_connectivity_config,
            region=args.location,
            opts=on_account,
        )
        self.network_connectivity_config = ncc
        ncc_id = ncc.network_connectivity_config_id.apply(lambda value: value or "")
        # Each rule asks the storage account for a private endpoint connection, which an
        # owner of the account approves (README, "Serverless egress").
        for group_id in STORAGE_GROUP_IDS:
            databricks.MwsNccPrivateEndpointRule(
                f"{name}-ncc-storage-{group_id}",
                network_connectivity_config_id=ncc_id,
                resource_id=serverless.storage_account_id,
                group_id=group_id,
                opts=on_account,
            )
        databricks.MwsNccBinding(
            f"{name}-ncc-binding",
            network_connectivity_config_id=ncc_id,
            workspace_id=args.workspace_id,
            opts=on_account,
        )
        mode = "RESTRICTED_ACCESS" if serverless.restricted else "FULL_ACCESS"
        policy = databricks.AccountNetworkPolicy(
            f"{name}-network-policy",
            network_policy_id=names.network_policy,
            egress=databricks.AccountNetworkPolicyEgressArgs(
                network_access=databricks.AccountNetworkPolicyEgressNetworkAccessArgs(
                    restriction_mode=mode,
                    allowed_internet_destinations=[
                        databricks.AccountNetworkPolicyEgressNetworkAccessAllowedInternetDestinationArgs(
                            destination=domain, internet_destination_type="DNS_NAME"
                        )
                        for domain in serverless.settings.allowed_domains
                    ],
                    allowed_storage_destinations=[
                        databricks.AccountNetworkPolicyEgressNetworkAccessAllowedStorageDestinationArgs(
                            azure_storage_account=serverless.storage_account_name,
                            azure_storage_service=group_id,
                            storage_destination_type="AZURE_STORAGE",
                        )
                        for group_id in STORAGE_GROUP_IDS
                    ],
                )
            ),
            opts=on_account,
        )
        self.network_policy = policy
        databricks.WorkspaceNetworkOption(
            f"{name}-network-option",
            workspace_id=args.workspace_id,
            network_policy_id=policy.network_policy_id.apply(lambda value: value or ""),
            opts=on_account,
        )


def _flag(value: bool) -> str:
    # workspace-conf values are strings.
    return "true" if value else "false"
