"""Pulumi mocks that record the whole desired state of a program run.

``pulumi.runtime.Mocks.new_resource`` only sees a resource's type, name and inputs; the
plan also needs its parent, dependencies, provider and ``protect``, so the monitor is
subclassed to keep the full ``RegisterResourceRequest``. Computed outputs that the real
providers return (a workspace URL, a managed identity's principal id) are faked here,
deterministically, so that a plan is the same on every run.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2

SECRET_MASK = "[secret]"
UNKNOWN_MASK = "[unknown]"

_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def wire_to_plain(value: Any) -> Any:
    """Turn a serialized property value into plain JSON, with secrets masked.

    Secret values become ``"[secret]"``, unknowns ``"[unknown]"``, resource references
    their URN, and assets a short description: what a reviewer reads in a plan.
    """
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return SECRET_MASK
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        if sig == _ASSET_SIG:
            return {"asset": value.get("path") or value.get("uri") or _digest(value.get("text"))}
        if sig == _ARCHIVE_SIG:
            return {"archive": value.get("path") or value.get("uri") or "assets"}
        if sig == _OUTPUT_SIG:
            if value.get("secret"):
                return SECRET_MASK
            return wire_to_plain(value["value"]) if "value" in value else UNKNOWN_MASK
        return {k: wire_to_plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [wire_to_plain(v) for v in value]
    if value == _UNKNOWN:
        return UNKNOWN_MASK
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _digest(text: Any) -> str:
    return "sha256:" + hashlib.sha256(str(text).encode()).hexdigest()[:16]


def _struct_to_plain(struct: Any) -> dict[str, Any]:
    raw = json_format.MessageToDict(struct, preserving_proto_field_name=True)
    plain = wire_to_plain(raw)
    assert isinstance(plain, dict)
    return plain


@dataclass(frozen=True)
class PlannedResource:
    """One resource as the engine would receive it: what a plan records and tests read."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]
    provider: str | None
    protect: bool
    custom: bool
    # The URNs this resource answered to before (ResourceOptions.aliases): a resource that
    # moved keeps its state under its old URN only through one of these.
    aliases: tuple[str, ...] = ()
    # Replacement and update options the engine acts on (ResourceOptions).
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    # Read, not managed: a resource the program only looks up by id (a StackReference).
    read: bool = False
    # Its id and outputs as the mocks computed them (not part of the plan's JSON): what the
    # access check uses to tell which principal a grant names.
    outputs: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")

    @property
    def is_component(self) -> bool:
        return not self.custom


@dataclass
class Recording:
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _provider_urn(reference: str) -> str | None:
    # A provider reference is "<urn>::<id>"; the URN alone names it.
    return reference.rsplit("::", 1)[0] if reference else None


def _is_secret(value: struct_pb2.Value) -> bool:
    if value.WhichOneof("kind") != "struct_value":
        return False
    fields = value.struct_value.fields
    # `in` first: indexing a protobuf map inserts the key.
    return _SIG_KEY in fields and fields[_SIG_KEY].string_value == _SECRET_SIG


def _mark_secret_outputs(request: Any, response: Any) -> None:
    """Make outputs secret as the real engine does; Pulumi's MockMonitor does not.

    The engine marks an output secret when the SDK lists it in additionalSecretOutputs
    (a generated password, a token) or when the input of the same name was secret.
    Without this, a plan would show such outputs in clear where a deploy would not, and
    a leak check on the plan could not see what the program exports.
    """
    secret = set(request.additionalSecretOutputs)
    secret.update(key for key, value in request.object.fields.items() if _is_secret(value))
    fields = response.object.fields
    for key in secret & set(fields):
        if _is_secret(fields[key]):
            continue
        plain = struct_pb2.Value()
        plain.CopyFrom(fields[key])
        wrapped = fields[key].struct_value
        wrapped.Clear()
        wrapped.fields[_SIG_KEY].string_value = _SECRET_SIG
        wrapped.fields["value"].CopyFrom(plain)


# azure-native aliases each resource to its type under every older API version
# ("azure-native:storage/v20230101:BlobContainer"): the provider's, not the program's.
_API_VERSION_MODULE = re.compile(r"/v\d{8}[a-z]*:")


def _program_aliases(urn: str, alias_urns: Sequence[str]) -> tuple[str, ...]:
    """The aliases the program declares, in the mocks' URN form.

    The SDK sends each alias as a full URN (no alias specs: see ``GetDeploymentInfo``),
    whose type names every ancestor; Pulumi's mock monitor names only the parent's type in
    the URNs it makes, so an alias is shortened the same way to be comparable.
    """
    declared = set()
    for alias in alias_urns:
        prefix, qualified_type, name = alias.rsplit("::", 2)
        short = f"{prefix}::{'$'.join(qualified_type.split('$')[-2:])}::{name}"
        if _API_VERSION_MODULE.sub(":", short) != urn and not _renamed_type(short, urn):
            declared.add(short)
    return tuple(sorted(declared))


def _renamed_type(alias: str, urn: str) -> bool:
    """An azure-native type's former name, which the SDK declares on the class
    (``network:InterfaceEndpoint`` for ``network:PrivateEndpoint``, ``network:PrivateZone``
    for ``privatedns:PrivateZone``): same parent and name, another azure-native type."""
    alias_prefix, alias_type, alias_name = alias.rsplit("::", 2)
    prefix, type_, name = urn.rsplit("::", 2)
    alias_parent, _, own_alias_type = alias_type.rpartition("$")
    parent, _, own_type = type_.rpartition("$")
    return (
        (alias_prefix, alias_parent, alias_name) == (prefix, parent, name)
        and own_alias_type.startswith("azure-native:")
        and own_type.startswith("azure-native:")
    )


class RecordingMonitor(MockMonitor):
    """A mock monitor that keeps everything a registration says."""

    def __init__(self, mocks: DataopsMocks, recording: Recording) -> None:
        super().__init__(mocks)
        self.recording = recording

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        _mark_secret_outputs(request, response)
        if request.type != "pulumi:pulumi:Stack":
            self.recording.resources.append(
                PlannedResource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    inputs=_struct_to_plain(request.object),
                    dependencies=tuple(sorted(set(request.dependencies))),
                    provider=_provider_urn(request.provider),
                    protect=bool(request.protect),
                    custom=bool(request.custom),
                    aliases=_program_aliases(response.urn, request.aliasURNs),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    ignore_changes=tuple(request.ignoreChanges),
                    outputs={"id": response.id, **_struct_to_plain(response.object)},
                )
            )
        return response

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        # A read resource (StackReference) is in the engine's snapshot too, where stack
        # policies see it; the plan records it, marked as read.
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        self.recording.resources.append(
            PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                inputs={"name": request.id},
                dependencies=tuple(sorted(set(request.dependencies))),
                provider=_provider_urn(request.provider),
                protect=False,
                custom=True,
                read=True,
                outputs={"id": request.id},
            )
        )
        return response

    def GetDeploymentInfo(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        # Without alias specs the SDK computes every alias as a full URN, as the engine
        # would from the specs, so the plan can record which old URNs a resource keeps.
        info = super().GetDeploymentInfo(request)  # type: ignore[no-untyped-call]
        features = [
            feature
            for feature in info.supportedFeatures
            if feature != resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS
        ]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if "::pulumi:pulumi:Stack::" in request.urn:
            self.recording.outputs = _struct_to_plain(request.outputs)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class MockResource:
    """What a computed-outputs function sees of a resource being created."""

    name: str
    inputs: Mapping[str, Any]
    subscription_id: str  # of the resource's azure-native provider, or a fixed fake

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)

    def arm_id(self, provider_type: str, name_key: str) -> str:
        group = self.get("resourceGroupName", "rg")
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{group}"
            f"/providers/{provider_type}/{self.get(name_key, self.name)}"
        )


# Computed outputs the real providers return, keyed by type token. Each function gets the
# resource being created and returns the extra state; keep them deterministic.
ComputedOutputs = Callable[[MockResource], dict[str, Any]]


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def stable_number(*parts: str, digits: int = 16) -> int:
    return int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16) % int(10**digits)


def _workspace(r: MockResource) -> dict[str, Any]:
    number = stable_number("workspace", r.name)
    parameters = r.get("parameters") or {}
    encrypted = bool((parameters.get("prepareEncryption") or {}).get("value"))
    identities = {
        # Azure gives the DBFS root storage an identity once the workspace is prepared for
        # encryption, and the disk encryption set one when managed disks use a CMK.
        "storageAccountIdentity": {"principalId": stable_uuid("dbfs-identity", r.name)}
        if encrypted
        else None,
        "managedDiskIdentity": {"principalId": stable_uuid("disk-identity", r.name)}
        if r.get("encryption")
        else None,
    }
    return {
        "id": r.arm_id("Microsoft.Databricks/workspaces", "workspaceName"),
        "name": r.get("workspaceName", r.name),
        "workspaceId": str(number),
        "workspaceUrl": f"adb-{number}.{stable_number('n', r.name, digits=1)}.azuredatabricks.net",
        **{key: value for key, value in identities.items() if value is not None},
    }


def _key(r: MockResource) -> dict[str, Any]:
    vault = r.get("vaultName", "vault")
    name = r.get("keyName", r.name)
    version = stable_uuid("key-version", r.name).replace("-", "")
    return {
        "id": f"{r.arm_id('Microsoft.KeyVault/vaults', 'vaultName')}/keys/{name}",
        "name": name,
        "keyUri": f"https://{vault}.vault.azure.net/keys/{name}",
        "keyUriWithVersion": f"https://{vault}.vault.azure.net/keys/{name}/{version}",
    }


def _policy_id(name: str) -> str:
    """Cluster policy ids are 16 upper-case hex digits."""
    return hashlib.sha256(f"cluster-policy/{name}".encode()).hexdigest()[:16].upper()


# The marked value a mock gives a provider-generated secret: a plan must never show it.
GENERATED_SECRET_PREFIX = "mock-generated-secret"


def _service_principal(r: MockResource) -> dict[str, Any]:
    application_id = str(r.get("applicationId") or stable_uuid("application", r.name))
    return {
        "id": str(stable_number("service-principal", r.name)),
        "applicationId": application_id,
        "aclPrincipalId": f"servicePrincipals/{application_id}",
    }


def _hex_id(kind: str, name: str, length: int = 16) -> str:
    """A hex id like a warehouse's (16 digits) or a Lakeview dashboard's (32)."""
    return stable_uuid(kind, name).replace("-", "")[:length]


COMPUTED_OUTPUTS: dict[str, ComputedOutputs] = {
    "azure-native:resources:ResourceGroup": lambda r: {
        "id": f"/subscriptions/{r.subscription_id}/resourceGroups/{r.get('resourceGroupName')}",
        "name": r.get("resourceGroupName", r.name),
    },
    "azure-native:storage:StorageAccount": lambda r: {
        "id": r.arm_id("Microsoft.Storage/storageAccounts", "accountName"),
        "name": r.get("accountName", r.name),
        "primaryEndpoints": {
            "dfs": f"https://{r.get('accountName', r.name)}.dfs.core.windows.net/",
            "blob": f"https://{r.get('accountName', r.name)}.blob.core.windows.net/",
        },
    },
    "azure-native:storage:BlobContainer": lambda r: {"name": r.get("containerName", r.name)},
    "azure-native:databricks:AccessConnector": lambda r: {
        "id": r.arm_id("Microsoft.Databricks/accessConnectors", "connectorName"),
        "name": r.get("connectorName", r.name),
        "identity": {
            "type": "SystemAssigned",
            "principalId": stable_uuid("principal", r.name),
            "tenantId": stable_uuid("tenant"),
        },
    },
    "azure-native:databricks:Workspace": _workspace,
    "azure-native:keyvault:Vault": lambda r: {
        "id": r.arm_id("Microsoft.KeyVault/vaults", "vaultName"),
        "name": r.get("vaultName", r.name),
        "properties": {
            **dict(r.get("properties") or {}),
            "vaultUri": f"https://{r.get('vaultName', r.name)}.vault.azure.net/",
        },
    },
    "azure-native:managedidentity:UserAssignedIdentity": lambda r: {
        "id": r.arm_id("Microsoft.ManagedIdentity/userAssignedIdentities", "resourceName"),
        "name": r.get("resourceName", r.name),
        "clientId": stable_uuid("client", r.name),
        "principalId": stable_uuid("principal", r.name),
        "tenantId": stable_uuid("tenant"),
    },
    # Identity: SCIM ids are numbers; application ids are UUIDs Databricks generates.
    "databricks:index/user:User": lambda r: {
        "id": str(stable_number("user", str(r.get("userName")))),
        "aclPrincipalId": f"users/{r.get('userName')}",
    },
    "databricks:index/group:Group": lambda r: {
        "id": str(stable_number("group", str(r.get("displayName")))),
        "aclPrincipalId": f"groups/{r.get('displayName')}",
    },
    "databricks:index/servicePrincipal:ServicePrincipal": _service_principal,
    "databricks:index/servicePrincipalSecret:ServicePrincipalSecret": lambda r: {
        "secret": f"{GENERATED_SECRET_PREFIX}-{stable_uuid('sp-secret', r.name)}",
        "secretHash": stable_uuid("sp-secret-hash", r.name),
    },
    "azure-native:keyvault:Secret": lambda r: {
        "id": f"{r.arm_id('Microsoft.KeyVault/vaults', 'vaultName')}/secrets/"
        f"{r.get('secretName', r.name)}",
    },
    # Source control
    "github:index/repository:Repository": lambda r: {
        "nodeId": f"R_{stable_uuid('github-repository', r.name)[:12]}",
        "repoId": stable_number("github-repository", r.name, digits=9),
    },
    "azuredevops:index/project:Project": lambda r: {"id": stable_uuid("ado-project", r.name)},
    "azuredevops:index/git:Git": lambda r: {"id": stable_uuid("ado-repository", r.name)},
    "azuredevops:index/buildDefinition:BuildDefinition": lambda r: {
        "id": str(stable_number("ado-build", r.name, digits=4)),
    },
    "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM": lambda r: {
        "id": stable_uuid("ado-service-connection", r.name),
        "workloadIdentityFederationIssuer": (
            f"https://vstoken.dev.azure.com/{stable_uuid('ado-organization')}"
        ),
        "workloadIdentityFederationSubject": (
            f"sc://organization/{r.get('projectId')}/{r.get('serviceEndpointName')}"
        ),
    },
    # Git folders
    "databricks:index/gitCredential:GitCredential": lambda r: {
        "id": str(stable_number("git-credential", r.name)),
    },
    "databricks:index/repo:Repo": lambda r: {
        "id": str(stable_number("repo", str(r.get("path")))),
        "commitHash": stable_uuid("commit", r.name).replace("-", "")[:40],
    },
    # Azure network (VNet injection)
    "azure-native:network:VirtualNetwork": lambda r: {
        "id": r.arm_id("Microsoft.Network/virtualNetworks", "virtualNetworkName"),
        "name": r.get("virtualNetworkName", r.name),
    },
    "azure-native:network:Subnet": lambda r: {
        "id": (
            f"{r.arm_id('Microsoft.Network/virtualNetworks', 'virtualNetworkName')}"
            f"/subnets/{r.get('subnetName', r.name)}"
        ),
        "name": r.get("subnetName", r.name),
    },
    "azure-native:network:NetworkSecurityGroup": lambda r: {
        "id": r.arm_id("Microsoft.Network/networkSecurityGroups", "networkSecurityGroupName"),
        "name": r.get("networkSecurityGroupName", r.name),
    },
    "azure-native:network:PublicIPAddress": lambda r: {
        "id": r.arm_id("Microsoft.Network/publicIPAddresses", "publicIpAddressName"),
        "name": r.get("publicIpAddressName", r.name),
    },
    "azure-native:network:NatGateway": lambda r: {
        "id": r.arm_id("Microsoft.Network/natGateways", "natGatewayName"),
        "name": r.get("natGatewayName", r.name),
    },
    "azure-native:network:RouteTable": lambda r: {
        "id": r.arm_id("Microsoft.Network/routeTables", "routeTableName"),
        "name": r.get("routeTableName", r.name),
    },
    "azure-native:network:PrivateEndpoint": lambda r: {
        "id": r.arm_id("Microsoft.Network/privateEndpoints", "privateEndpointName"),
        "name": r.get("privateEndpointName", r.name),
    },
    "azure-native:privatedns:PrivateZone": lambda r: {
        "id": r.arm_id("Microsoft.Network/privateDnsZones", "privateZoneName"),
        "name": r.get("privateZoneName", r.name),
    },
    "azure-native:keyvault:Key": _key,
    # Serverless egress (account API)
    "databricks:index/mwsNetworkConnectivityConfig:MwsNetworkConnectivityConfig": lambda r: {
        "networkConnectivityConfigId": stable_uuid("ncc", r.name),
    },
    "databricks:index/accountNetworkPolicy:AccountNetworkPolicy": lambda r: {
        "networkPolicyId": r.get("networkPolicyId") or stable_uuid("network-policy", r.name),
    },
    # Unity Catalog: ids as the Databricks provider forms them (names, or a UUID).
    "databricks:index/metastore:Metastore": lambda r: {
        "id": stable_uuid("metastore", str(r.get("name", r.name))),
        "metastoreId": stable_uuid("metastore", str(r.get("name", r.name))),
    },
    "databricks:index/metastoreAssignment:MetastoreAssignment": lambda r: {
        "id": f"{r.get('workspaceId')}|{r.get('metastoreId')}",
    },
    "databricks:index/storageCredential:StorageCredential": lambda r: {
        "id": r.get("name", r.name),
        "storageCredentialId": stable_uuid("storage-credential", str(r.get("name", r.name))),
    },
    "databricks:index/externalLocation:ExternalLocation": lambda r: {
        "id": r.get("name", r.name),
    },
    "databricks:index/catalog:Catalog": lambda r: {"id": r.get("name", r.name)},
    "databricks:index/schema:Schema": lambda r: {
        "id": f"{r.get('catalogName')}.{r.get('name', r.name)}",
    },
    # Workspace code and jobs: workspace objects are known by path; jobs by a number.
    "databricks:index/directory:Directory": lambda r: {
        "id": r.get("path"),
        "objectId": stable_number("workspace-object", str(r.get("path")), digits=15),
    },
    "databricks:index/notebook:Notebook": lambda r: {
        "id": r.get("path"),
        "objectId": stable_number("workspace-object", str(r.get("path")), digits=15),
        "workspacePath": f"/Workspace{r.get('path')}",
    },
    "databricks:index/workspaceFile:WorkspaceFile": lambda r: {
        "id": r.get("path"),
        "objectId": stable_number("workspace-object", str(r.get("path")), digits=15),
        "workspacePath": f"/Workspace{r.get('path')}",
    },
    "databricks:index/clusterPolicy:ClusterPolicy": lambda r: {
        "id": _policy_id(str(r.get("name", r.name))),
        "policyId": _policy_id(str(r.get("name", r.name))),
    },
    "databricks:index/job:Job": lambda r: {
        "id": str(stable_number("job", str(r.get("name", r.name)), digits=15)),
    },
    "databricks:index/notificationDestination:NotificationDestination": lambda r: {
        "id": stable_uuid("notification-destination", r.name),
        "destinationType": (
            "MICROSOFT_TEAMS"
            if "microsoftTeams" in (r.get("config") or {})
            else "SLACK"
            if "slack" in (r.get("config") or {})
            else "EMAIL"
        ),
    },
    "databricks:index/sqlEndpoint:SqlEndpoint": lambda r: {
        "id": _hex_id("warehouse", r.name),
        "jdbcUrl": (
            "jdbc:databricks://adb-mock.azuredatabricks.net:443/default;transportMode=http;"
            f"ssl=1;AuthMech=3;httpPath=/sql/1.0/warehouses/{_hex_id('warehouse', r.name)};"
        ),
        "dataSourceId": stable_uuid("data-source", r.name),
    },
    "databricks:index/dashboard:Dashboard": lambda r: {
        "id": _hex_id("dashboard", r.name, length=32),
        "path": f"{r.get('parentPath')}/{r.get('displayName')}.lvdash.json",
        "lifecycleState": "ACTIVE",
    },
    "azure-native:operationalinsights:Workspace": lambda r: {
        "id": r.arm_id("Microsoft.OperationalInsights/workspaces", "workspaceName"),
        "name": r.get("workspaceName", r.name),
        "customerId": stable_uuid("log-analytics", r.name),
    },
    "databricks:index/secretScope:SecretScope": lambda r: {
        "id": r.get("name", r.name),
        "backendType": "DATABRICKS",
    },
    "databricks:index/secret:Secret": lambda r: {
        "id": f"{r.get('scope')}|||{r.get('key')}",
        "configReference": f"{{{{secrets/{r.get('scope')}/{r.get('key')}}}}}",
    },
    "databricks:index/secretAcl:SecretAcl": lambda r: {
        "id": f"{r.get('scope')}|||{r.get('principal')}",
    },
}


def register_computed_outputs(type_token: str, outputs: ComputedOutputs) -> None:
    """Let a layer's tests describe what its provider computes (used by later layers)."""
    COMPUTED_OUTPUTS[type_token] = outputs


# Results of provider functions (data sources) the program calls, keyed by token.
InvokeResult = Callable[[Mapping[str, Any]], dict[str, Any]]
INVOKE_RESULTS: dict[str, InvokeResult] = {
    # A repository another stack owns, as GitHub returns it.
    "github:index/getRepository:getRepository": lambda args: {
        "fullName": args["fullName"],
        "name": str(args["fullName"]).split("/", 1)[1],
        "nodeId": f"R_{stable_uuid('github-repository', str(args['fullName']))[:12]}",
        "httpCloneUrl": f"https://github.com/{args['fullName']}.git",
        "defaultBranch": "develop",
    },
    "github:index/getUser:getUser": lambda args: {
        "id": str(stable_number("github-user", str(args["username"]), digits=8)),
        "login": args["username"],
    },
    "azuredevops:index/getProject:getProject": lambda args: {
        "id": stable_uuid("ado-project", str(args.get("name"))),
        "name": args.get("name"),
    },
    "azuredevops:index/getGitRepository:getGitRepository": lambda args: {
        "id": stable_uuid("ado-repository", str(args.get("name"))),
        "name": args.get("name"),
        "projectId": args.get("projectId"),
        "defaultBranch": "refs/heads/develop",
    },
}


STACK_REFERENCE = "pulumi:pulumi:StackReference"


class MissingStackReferenceError(KeyError):
    """The program references a stack the engine was given no outputs of."""


class DataopsMocks(pulumi.runtime.Mocks):
    """Deterministic mocks: state is inputs plus the provider's computed outputs.

    ``stack_outputs``: the outputs of the stacks the program may reference, by fully
    qualified name (``organization/dataops/dev``), from their own offline renders.
    """

    def __init__(
        self, recording: Recording, stack_outputs: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.recording = recording
        self._provider_inputs: dict[str, Mapping[str, Any]] = {}  # by provider id
        self._stack_outputs = dict(stack_outputs or {})

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            # What the engine reads from the backend: the referenced stack's outputs.
            target = str(args.resource_id or args.inputs.get("name"))
            if target not in self._stack_outputs:
                raise MissingStackReferenceError(
                    f"no offline render of the referenced stack {target}"
                )
            outputs = dict(self._stack_outputs[target])
            return target, {"name": target, "outputs": outputs, "secretOutputNames": []}
        if args.typ.startswith("pulumi:providers:"):
            provider_id = stable_uuid("provider", args.name)
            self._provider_inputs[provider_id] = args.inputs
            return provider_id, dict(args.inputs)
        provider_inputs = self._provider_inputs.get((args.provider or "").rsplit("::", 1)[-1], {})
        resource = MockResource(
            name=args.name,
            inputs=args.inputs,
            subscription_id=str(provider_inputs.get("subscriptionId", MOCK_SUBSCRIPTION)),
        )
        computed = COMPUTED_OUTPUTS.get(args.typ)
        extra = computed(resource) if computed else {}
        state = {**args.inputs, **extra}
        return str(extra.get("id") or f"{args.name}-id"), state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.recording.invokes.append((args.token, dict(args.args)))
        result = INVOKE_RESULTS.get(args.token)
        # An empty failure list, not None: MockMonitor.Invoke iterates it.
        return (result(args.args) if result else {}), []
