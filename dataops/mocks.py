"""Pulumi mocks that record the whole desired state of a program run.

``pulumi.runtime.Mocks.new_resource`` only sees a resource's type, name and inputs; the
plan also needs its parent, dependencies, provider and ``protect``, so the monitor is
subclassed to keep the full ``RegisterResourceRequest``. Computed outputs that the real
providers return (a workspace URL, a managed identity's principal id) are faked here,
deterministically, so that a plan is the same on every run.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor

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
class Registration:
    """One resource as the engine would receive it."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]
    provider: str | None
    protect: bool
    custom: bool


@dataclass
class Recording:
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _provider_urn(reference: str) -> str | None:
    # A provider reference is "<urn>::<id>"; the URN alone names it.
    return reference.rsplit("::", 1)[0] if reference else None


class RecordingMonitor(MockMonitor):
    """A mock monitor that keeps everything a registration says."""

    def __init__(self, mocks: DataopsMocks, recording: Recording) -> None:
        super().__init__(mocks)
        self.recording = recording

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recording.resources.append(
                Registration(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=request.parent or None,
                    inputs=_struct_to_plain(request.object),
                    dependencies=tuple(sorted(set(request.dependencies))),
                    provider=_provider_urn(request.provider),
                    protect=bool(request.protect),
                    custom=bool(request.custom),
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.urn.endswith("pulumi:pulumi:Stack::" + request.urn.rsplit("::", 1)[-1]):
            self.recording.outputs = _struct_to_plain(request.outputs)
        return super().RegisterResourceOutputs(request)


# Computed outputs the real providers return, keyed by type token. Each function gets the
# resource's name and inputs and returns the extra state; keep them deterministic.
ComputedOutputs = Callable[[str, Mapping[str, Any]], dict[str, Any]]


def _stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _stable_number(*parts: str, digits: int = 16) -> int:
    return int(hashlib.sha256("/".join(parts).encode()).hexdigest(), 16) % (10**digits)


def _arm_id(inputs: Mapping[str, Any], provider_type: str, name_key: str, name: str) -> str:
    group = inputs.get("resourceGroupName", "rg")
    resource_name = inputs.get(name_key, name)
    return (
        f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/{group}"
        f"/providers/{provider_type}/{resource_name}"
    )


COMPUTED_OUTPUTS: dict[str, ComputedOutputs] = {
    "azure-native:resources:ResourceGroup": lambda name, inputs: {
        "id": f"/subscriptions/{MOCK_SUBSCRIPTION}/resourceGroups/"
        f"{inputs.get('resourceGroupName', name)}",
        "name": inputs.get("resourceGroupName", name),
    },
    "azure-native:storage:StorageAccount": lambda name, inputs: {
        "id": _arm_id(inputs, "Microsoft.Storage/storageAccounts", "accountName", name),
        "name": inputs.get("accountName", name),
        "primaryEndpoints": {
            "dfs": f"https://{inputs.get('accountName', name)}.dfs.core.windows.net/",
            "blob": f"https://{inputs.get('accountName', name)}.blob.core.windows.net/",
        },
    },
    "azure-native:storage:BlobContainer": lambda name, inputs: {
        "name": inputs.get("containerName", name),
    },
    "azure-native:databricks:AccessConnector": lambda name, inputs: {
        "id": _arm_id(inputs, "Microsoft.Databricks/accessConnectors", "connectorName", name),
        "name": inputs.get("connectorName", name),
        "identity": {
            "type": "SystemAssigned",
            "principalId": _stable_uuid("principal", name),
            "tenantId": _stable_uuid("tenant"),
        },
    },
    "azure-native:databricks:Workspace": lambda name, inputs: {
        "id": _arm_id(inputs, "Microsoft.Databricks/workspaces", "workspaceName", name),
        "name": inputs.get("workspaceName", name),
        "workspaceId": str(_stable_number("workspace", name)),
        "workspaceUrl": f"adb-{_stable_number('workspace', name)}.{_stable_number('n', name, digits=1)}"
        ".azuredatabricks.net",
    },
    "azure-native:keyvault:Vault": lambda name, inputs: {
        "id": _arm_id(inputs, "Microsoft.KeyVault/vaults", "vaultName", name),
        "name": inputs.get("vaultName", name),
        "properties": {
            **dict(inputs.get("properties") or {}),
            "vaultUri": f"https://{inputs.get('vaultName', name)}.vault.azure.net/",
        },
    },
    "azure-native:managedidentity:UserAssignedIdentity": lambda name, inputs: {
        "id": _arm_id(
            inputs,
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            "resourceName",
            name,
        ),
        "clientId": _stable_uuid("client", name),
        "principalId": _stable_uuid("principal", name),
        "tenantId": _stable_uuid("tenant"),
    },
}


def register_computed_outputs(type_token: str, outputs: ComputedOutputs) -> None:
    """Let a layer's tests describe what its provider computes (used by later layers)."""
    COMPUTED_OUTPUTS[type_token] = outputs


# Results of provider functions (data sources) the program calls, keyed by token.
InvokeResult = Callable[[Mapping[str, Any]], dict[str, Any]]
INVOKE_RESULTS: dict[str, InvokeResult] = {}


class DataopsMocks(pulumi.runtime.Mocks):
    """Deterministic mocks: state is inputs plus the provider's computed outputs."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        computed = COMPUTED_OUTPUTS.get(args.typ)
        extra = computed(args.name, args.inputs) if computed else {}
        state = {**args.inputs, **extra}
        resource_id = str(extra.get("id") or f"{args.name}-id")
        if args.typ.startswith("pulumi:providers:"):
            resource_id = _stable_uuid("provider", args.name)
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.recording.invokes.append((args.token, dict(args.args)))
        result = INVOKE_RESULTS.get(args.token)
        return (result(args.args) if result else {}), None
