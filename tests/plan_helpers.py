"""Assertions on plans, kept in one place so tests read as statements about a stack."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dataops.engine import Plan, PlannedResource
from dataops.mocks import SECRET_MASK
from dataops.stackfile import SECRET_PLACEHOLDER_PREFIX

# The stacks shipped as examples; conftest checks the project root has exactly these.
SHIPPED_STACKS = ("dev", "staging", "prod")

StackDocument = dict[str, Any]
# A stack file's `config:` mapping, edited by the config tests.
Config = dict[str, Any]


# ------------------------------------------------------------ editing a stack's config


def config_at(config: Config, path: str) -> tuple[Any, str | int]:
    """The container holding 'dataops:key.sub[0].leaf' and the leaf's key."""
    top, _, rest = path.partition(".")
    if not rest:
        return config, top
    target: Any = config[top]
    parts = [
        int(p) if p.isdigit() else p for p in rest.replace("[", ".").replace("]", "").split(".")
    ]
    for part in parts[:-1]:
        target = target[part]
    return target, parts[-1]


def set_config(path: str, value: Any) -> Callable[[Config], None]:
    """Set the value at 'dataops:key.sub[0].leaf'."""

    def mutate(config: Config) -> None:
        target, key = config_at(config, path)
        target[key] = value

    return mutate


def delete_config(path: str) -> Callable[[Config], None]:
    def mutate(config: Config) -> None:
        target, key = config_at(config, path)
        del target[key]

    return mutate


def append_config(path: str, value: Any) -> Callable[[Config], None]:
    def mutate(config: Config) -> None:
        target, key = config_at(config, path)
        target[key].append(value)

    return mutate


# ------------------------------------------------------------- resource type tokens
# Every type token the tests name, once: a test reads `plan.of_type(CATALOG)`.

# azure-native
ROLE = "azure-native:authorization:RoleAssignment"
CONNECTOR = "azure-native:databricks:AccessConnector"
WORKSPACE = "azure-native:databricks:Workspace"
VAULT_SECRET = "azure-native:keyvault:Secret"
VAULT = "azure-native:keyvault:Vault"
VAULT_KEY = "azure-native:keyvault:Key"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
MANAGED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
NAT = "azure-native:network:NatGateway"
NSG = "azure-native:network:NetworkSecurityGroup"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
ROUTE_TABLE = "azure-native:network:RouteTable"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
SUBNET = "azure-native:network:Subnet"
VNET = "azure-native:network:VirtualNetwork"
RG = "azure-native:resources:ResourceGroup"
CONTAINER = "azure-native:storage:BlobContainer"
STORAGE = "azure-native:storage:StorageAccount"

# databricks
RULE_SET = "databricks:index/accessControlRuleSet:AccessControlRuleSet"
CATALOG = "databricks:index/catalog:Catalog"
CLUSTER_POLICY = "databricks:index/clusterPolicy:ClusterPolicy"
DEFAULT_NAMESPACE = "databricks:index/defaultNamespaceSetting:DefaultNamespaceSetting"
DIRECTORY = "databricks:index/directory:Directory"
ENTITLEMENTS = "databricks:index/entitlements:Entitlements"
LOCATION = "databricks:index/externalLocation:ExternalLocation"
GIT_CREDENTIAL = "databricks:index/gitCredential:GitCredential"
GRANT = "databricks:index/grant:Grant"
GRANTS = "databricks:index/grants:Grants"
GROUP = "databricks:index/group:Group"
MEMBER = "databricks:index/groupMember:GroupMember"
JOB = "databricks:index/job:Job"
METASTORE = "databricks:index/metastore:Metastore"
METASTORE_ASSIGNMENT = "databricks:index/metastoreAssignment:MetastoreAssignment"
DATA_ACCESS = "databricks:index/metastoreDataAccess:MetastoreDataAccess"
WORKSPACE_ASSIGNMENT = "databricks:index/mwsPermissionAssignment:MwsPermissionAssignment"
NOTEBOOK = "databricks:index/notebook:Notebook"
DESTINATION = "databricks:index/notificationDestination:NotificationDestination"
PERMISSIONS = "databricks:index/permissions:Permissions"
REPO = "databricks:index/repo:Repo"
SCHEMA = "databricks:index/schema:Schema"
SECRET = "databricks:index/secret:Secret"
SECRET_ACL = "databricks:index/secretAcl:SecretAcl"
SCOPE = "databricks:index/secretScope:SecretScope"
PRINCIPAL = "databricks:index/servicePrincipal:ServicePrincipal"
FEDERATION_POLICY = (
    "databricks:index/servicePrincipalFederationPolicy:ServicePrincipalFederationPolicy"
)
PRINCIPAL_ROLE = "databricks:index/servicePrincipalRole:ServicePrincipalRole"
PRINCIPAL_SECRET = "databricks:index/servicePrincipalSecret:ServicePrincipalSecret"
STORAGE_CREDENTIAL = "databricks:index/storageCredential:StorageCredential"
USER = "databricks:index/user:User"
BINDING = "databricks:index/workspaceBinding:WorkspaceBinding"
WORKSPACE_FILE = "databricks:index/workspaceFile:WorkspaceFile"
WORKSPACE_CONF = "databricks:index/workspaceConf:WorkspaceConf"
IP_ACCESS_LIST = "databricks:index/ipAccessList:IpAccessList"
LEGACY_ACCESS = "databricks:index/disableLegacyAccessSetting:DisableLegacyAccessSetting"
LEGACY_DBFS = "databricks:index/disableLegacyDbfsSetting:DisableLegacyDbfsSetting"
SECURITY_MONITORING = (
    "databricks:index/enhancedSecurityMonitoringWorkspaceSetting:"
    "EnhancedSecurityMonitoringWorkspaceSetting"
)
COMPLIANCE_PROFILE = (
    "databricks:index/complianceSecurityProfileWorkspaceSetting:"
    "ComplianceSecurityProfileWorkspaceSetting"
)
CLUSTER_UPDATE = (
    "databricks:index/automaticClusterUpdateWorkspaceSetting:AutomaticClusterUpdateWorkspaceSetting"
)
NCC = "databricks:index/mwsNetworkConnectivityConfig:MwsNetworkConnectivityConfig"
NCC_BINDING = "databricks:index/mwsNccBinding:MwsNccBinding"
NCC_RULE = "databricks:index/mwsNccPrivateEndpointRule:MwsNccPrivateEndpointRule"
NETWORK_POLICY = "databricks:index/accountNetworkPolicy:AccountNetworkPolicy"
NETWORK_OPTION = "databricks:index/workspaceNetworkOption:WorkspaceNetworkOption"

# github
VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
BRANCH = "github:index/branch:Branch"
DEFAULT_BRANCH = "github:index/branchDefault:BranchDefault"
PROTECTION = "github:index/branchProtection:BranchProtection"
GET_REPOSITORY = "github:index/getRepository:getRepository"
GET_USER = "github:index/getUser:getUser"
REPOSITORY = "github:index/repository:Repository"
ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
REPOSITORY_FILE = "github:index/repositoryFile:RepositoryFile"
RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
WORKFLOW_PERMISSIONS = "github:index/workflowRepositoryPermissions:WorkflowRepositoryPermissions"

# azuredevops
ADO_BUILD = "azuredevops:index/branchPolicyBuildValidation:BranchPolicyBuildValidation"
ADO_REVIEWERS = "azuredevops:index/branchPolicyMinReviewers:BranchPolicyMinReviewers"
ADO_PIPELINE = "azuredevops:index/buildDefinition:BuildDefinition"
ADO_REPOSITORY = "azuredevops:index/git:Git"
ADO_BRANCH = "azuredevops:index/gitRepositoryBranch:GitRepositoryBranch"
ADO_PROJECT = "azuredevops:index/project:Project"
ADO_CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"


def lookup(inputs: dict[str, Any], path: str) -> Any:
    """``inputs`` at a dotted path ('sku.name', 'grants.0.principal'); KeyError if absent."""
    current: Any = inputs
    for part in path.split("."):
        current = current[int(part)] if isinstance(current, list) else current[part]
    return current


def single(plan: Plan, type_token: str, name_suffix: str = "") -> PlannedResource:
    """The one resource of a type whose name ends with ``name_suffix``."""
    matches = [r for r in plan.of_type(type_token) if r.name.endswith(name_suffix)]
    names = [r.name for r in plan.of_type(type_token)]
    assert len(matches) == 1, f"{len(matches)} {type_token} ending {name_suffix!r}; have {names}"
    return matches[0]


def provider_type(plan: Plan, resource: PlannedResource) -> str:
    """The provider package of a custom resource: 'azure-native', 'databricks', ..."""
    provider = plan.provider_of(resource)
    assert provider is not None, f"{resource.name} has no explicit provider"
    return provider.type.removeprefix("pulumi:providers:")


def depends_on(plan: Plan, resource: PlannedResource, other: PlannedResource) -> bool:
    """True if ``resource`` waits for ``other`` (directly or through its dependencies)."""
    seen: set[str] = set()
    frontier = list(resource.dependencies)
    while frontier:
        urn = frontier.pop()
        if urn == other.urn:
            return True
        if urn in seen:
            continue
        seen.add(urn)
        try:
            frontier.extend(plan.by_urn(urn).dependencies)
        except KeyError:
            continue
    return False


def assert_no_secret_in_clear(plan: Plan) -> None:
    text = plan.dumps()
    assert SECRET_PLACEHOLDER_PREFIX not in text, "a secret config value appears in clear"


def masked(value: Any) -> bool:
    return value == SECRET_MASK


def plan_text(plan: Plan) -> str:
    return json.dumps(plan.to_json(), sort_keys=True)
