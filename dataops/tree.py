"""The readable form of a plan: a tree of resources with their key inputs, then outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from dataops.engine import Plan
from dataops.mocks import PlannedResource

# What a reviewer wants to see of each resource type; everything is in --json anyway.
# Paths are dotted into the camelCase inputs. Types not listed show their first few
# scalar inputs.
KEY_INPUTS: Mapping[str, tuple[str, ...]] = {
    "pulumi:providers:azure-native": ("subscriptionId", "location"),
    "pulumi:providers:databricks": ("host", "accountId", "azureWorkspaceResourceId"),
    "pulumi:providers:github": ("owner",),
    "pulumi:providers:azuredevops": ("orgServiceUrl",),
    # Identity
    "databricks:index/user:User": ("userName", "force"),
    "databricks:index/group:Group": ("displayName",),
    "databricks:index/groupMember:GroupMember": ("groupId", "memberId"),
    "databricks:index/mwsPermissionAssignment:MwsPermissionAssignment": (
        "principalId",
        "permissions",
    ),
    "databricks:index/entitlements:Entitlements": (
        "workspaceAccess",
        "databricksSqlAccess",
        "allowClusterCreate",
    ),
    "databricks:index/servicePrincipal:ServicePrincipal": ("displayName",),
    "databricks:index/servicePrincipalRole:ServicePrincipalRole": ("role",),
    "databricks:index/servicePrincipalSecret:ServicePrincipalSecret": ("servicePrincipalId",),
    "databricks:index/servicePrincipalFederationPolicy:ServicePrincipalFederationPolicy": (
        "oidcPolicy.issuer",
        "oidcPolicy.subject",
        "oidcPolicy.audiences",
    ),
    "databricks:index/accessControlRuleSet:AccessControlRuleSet": ("grantRules",),
    "azure-native:managedidentity:UserAssignedIdentity": ("resourceName",),
    "azure-native:managedidentity:FederatedIdentityCredential": ("issuer", "subject"),
    "azure-native:keyvault:Secret": ("secretName", "properties.value"),
    # Source control
    "github:index/repository:Repository": ("name", "visibility", "allowMergeCommit"),
    "github:index/branchDefault:BranchDefault": ("branch", "rename"),
    "github:index/branch:Branch": ("branch", "sourceBranch"),
    "github:index/repositoryFile:RepositoryFile": ("file", "branch"),
    "github:index/branchProtection:BranchProtection": (
        "pattern",
        "enforceAdmins",
        "requiredPullRequestReviews",
        "requiredStatusChecks",
        "requiredLinearHistory",
    ),
    "github:index/repositoryRuleset:RepositoryRuleset": (
        "conditions.refName.includes",
        "rules.pullRequest.requiredApprovingReviewCount",
        "bypassActors",
    ),
    "github:index/repositoryEnvironment:RepositoryEnvironment": (
        "environment",
        "reviewers",
        "deploymentBranchPolicy.customBranchPolicies",
    ),
    "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy": (
        "environment",
        "branchPattern",
    ),
    "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable": (
        "variableName",
        "value",
    ),
    "azuredevops:index/git:Git": ("name", "defaultBranch"),
    "azuredevops:index/branchPolicyMinReviewers:BranchPolicyMinReviewers": (
        "settings.reviewerCount",
        "settings.onPushResetApprovedVotes",
    ),
    "azuredevops:index/branchPolicyBuildValidation:BranchPolicyBuildValidation": (
        "settings.displayName",
        "settings.validDuration",
    ),
    "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM": (
        "serviceEndpointName",
        "serviceEndpointAuthenticationScheme",
    ),
    # Git folders
    "databricks:index/gitCredential:GitCredential": ("gitProvider", "force", "principalId"),
    "databricks:index/repo:Repo": ("path", "branch", "url"),
    "databricks:index/permissions:Permissions": ("accessControls",),
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "location"),
    "azure-native:storage:StorageAccount": (
        "accountName",
        "sku.name",
        "isHnsEnabled",
        "minimumTlsVersion",
        "allowBlobPublicAccess",
        "allowSharedKeyAccess",
    ),
    "azure-native:storage:BlobContainer": ("containerName", "publicAccess"),
    "azure-native:databricks:AccessConnector": ("connectorName", "identity.type"),
    "azure-native:authorization:RoleAssignment": ("roleDefinitionId", "principalType"),
    "azure-native:keyvault:Vault": (
        "vaultName",
        "properties.enableRbacAuthorization",
        "properties.enablePurgeProtection",
        "properties.softDeleteRetentionInDays",
    ),
    "azure-native:databricks:Workspace": (
        "workspaceName",
        "sku.name",
        "parameters.enableNoPublicIp.value",
        "managedResourceGroupId",
        "parameters.customPublicSubnetName.value",
        "parameters.customPrivateSubnetName.value",
    ),
    "azure-native:network:VirtualNetwork": ("virtualNetworkName", "addressSpace.addressPrefixes"),
    "azure-native:network:Subnet": (
        "subnetName",
        "addressPrefix",
        "delegations.0.serviceName",
        "defaultOutboundAccess",
    ),
    "azure-native:network:NetworkSecurityGroup": ("networkSecurityGroupName",),
    "azure-native:network:NatGateway": ("natGatewayName", "sku.name"),
    "azure-native:network:PublicIPAddress": ("publicIpAddressName", "sku.name"),
    "databricks:index/metastore:Metastore": ("name", "region", "owner", "forceDestroy"),
    "databricks:index/metastoreDataAccess:MetastoreDataAccess": ("name", "isDefault"),
    "databricks:index/metastoreAssignment:MetastoreAssignment": ("metastoreId", "workspaceId"),
    "databricks:index/storageCredential:StorageCredential": ("name", "isolationMode"),
    "databricks:index/externalLocation:ExternalLocation": ("name", "url", "isolationMode"),
    "databricks:index/catalog:Catalog": ("name", "isolationMode", "storageRoot"),
    "databricks:index/schema:Schema": ("catalogName", "name"),
    "databricks:index/workspaceBinding:WorkspaceBinding": (
        "securableType",
        "securableName",
        "workspaceId",
    ),
    "databricks:index/grants:Grants": (
        "catalog",
        "schema",
        "externalLocation",
        "storageCredential",
        "grants",
    ),
    "databricks:index/defaultNamespaceSetting:DefaultNamespaceSetting": ("namespace.value",),
    # Workspace code and jobs
    "databricks:index/directory:Directory": ("path",),
    "databricks:index/notebook:Notebook": ("path", "language", "md5"),
    "databricks:index/workspaceFile:WorkspaceFile": ("path", "md5"),
    "databricks:index/clusterPolicy:ClusterPolicy": ("name", "definition"),
    "databricks:index/notificationDestination:NotificationDestination": (
        "displayName",
        "config.microsoftTeams.url",
    ),
    "databricks:index/secretScope:SecretScope": ("name",),
    "databricks:index/secret:Secret": ("scope", "key", "stringValue"),
    "databricks:index/secretAcl:SecretAcl": ("scope", "principal", "permission"),
    "databricks:index/job:Job": (
        "name",
        "schedule.quartzCronExpression",
        "schedule.timezoneId",
        "schedule.pauseStatus",
        "maxConcurrentRuns",
        "runAs.servicePrincipalName",
    ),
}
_FALLBACK_INPUTS = 4
_VALUE_WIDTH = 60


def render_tree(plan: Plan) -> str:
    return "\n".join(tree_lines(plan)) + "\n"


def tree_lines(plan: Plan) -> Iterator[str]:
    urns = {r.urn for r in plan.resources}
    roots = [r for r in plan.resources if r.parent not in urns]
    tier = plan.config.environment.value
    yield f"stack {plan.stack} ({tier}): desired state, not a cloud preview"
    yield from _subtree(plan, roots, prefix="")
    yield ""
    yield "Outputs:"
    width = max((len(name) for name in plan.outputs), default=0)
    for name, value in plan.outputs.items():
        yield f"  {name.ljust(width)}  {_short(value)}"
    yield ""
    yield summary_line(plan)


def summary_line(plan: Plan) -> str:
    providers = sum(1 for r in plan.resources if r.is_provider)
    components = sum(1 for r in plan.resources if r.is_component)
    protected = sum(1 for r in plan.resources if r.protect)
    managed = len(plan.resources) - providers - components
    return (
        f"{plan.stack}: {managed} resources, {components} components, {providers} providers, "
        f"{protected} protected, {len(plan.outputs)} outputs"
    )


def _subtree(plan: Plan, nodes: list[PlannedResource], prefix: str) -> Iterator[str]:
    for index, node in enumerate(nodes):
        last = index == len(nodes) - 1
        branch, follow = ("└─ ", "   ") if last else ("├─ ", "│  ")
        yield prefix + branch + _headline(plan, node)
        children = list(plan.children(node.urn))
        detail = _key_inputs(node)
        if detail:
            yield prefix + follow + ("│    " if children else "     ") + detail
        yield from _subtree(plan, children, prefix + follow)


def _headline(plan: Plan, resource: PlannedResource) -> str:
    parts = [resource.type, resource.name]
    if resource.protect:
        parts.append("[protected]")
    if resource.custom and not resource.is_provider and resource.provider:
        parts.append(f"via {resource.provider.rsplit('::', 1)[-1]}")
    return "  ".join(parts)


def _key_inputs(resource: PlannedResource) -> str:
    if resource.is_component:
        return ""
    paths = KEY_INPUTS.get(resource.type)
    pairs: list[tuple[str, Any]] = []
    if paths is None:
        scalars = [
            (k, v) for k, v in sorted(resource.inputs.items()) if not isinstance(v, (dict, list))
        ]
        pairs = scalars[:_FALLBACK_INPUTS]
    else:
        for path in paths:
            value = _lookup(resource.inputs, path)
            if value is not None:
                pairs.append((path, value))
    return " ".join(f"{path}={_short(value)}" for path, value in pairs)


def _lookup(inputs: Mapping[str, Any], path: str) -> Any:
    current: Any = inputs
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"
