"""The Azure foundation of every shipped stack: what `pulumi up` would create first."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

import pytest
from plan_helpers import (
    CONNECTOR,
    CONTAINER,
    NAT,
    NSG,
    PUBLIC_IP,
    RG,
    ROLE,
    SHIPPED_STACKS,
    STORAGE,
    SUBNET,
    VAULT,
    VNET,
    WORKSPACE,
    StackDocument,
    lookup,
    provider_type,
    single,
)

from components.naming import STORAGE_BLOB_DATA_CONTRIBUTOR
from dataops.engine import Plan

PlanOf = Callable[[str], Plan]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_azure_resource_uses_the_stacks_explicit_provider(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    provider = single(rendered, "pulumi:providers:azure-native")
    subscription = rendered.config.azure.subscription_id
    assert provider.inputs["subscriptionId"] == subscription
    assert provider.inputs["tenantId"] == rendered.config.azure.tenant_id
    azure = [r for r in rendered.resources if r.type.startswith("azure-native:")]
    assert len(azure) >= 9
    for resource in azure:
        assert provider_type(rendered, resource) == "azure-native", resource.name
        assert resource.provider == provider.urn, resource.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_storage_is_adls_gen2_with_tls12_and_no_public_access(plan: PlanOf, stack: str) -> None:
    storage = single(plan(stack), STORAGE)
    assert storage.inputs["isHnsEnabled"] is True
    assert storage.inputs["minimumTlsVersion"] == "TLS1_2"
    assert storage.inputs["allowBlobPublicAccess"] is False
    assert storage.inputs["enableHttpsTrafficOnly"] is True
    assert storage.inputs["allowSharedKeyAccess"] is False
    assert storage.inputs["kind"] == "StorageV2"
    assert storage.inputs["accountName"] == f"stdatanova{stack}"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_one_private_container_per_data_zone(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    containers = rendered.of_type(CONTAINER)
    zones = {c.inputs["containerName"] for c in containers}
    assert {"landing", "bronze", "silver", "gold"} <= zones
    storage = single(rendered, STORAGE)
    for container in containers:
        assert container.inputs["publicAccess"] == "None"
        assert container.inputs["accountName"] == storage.inputs["accountName"]
        assert storage.urn in container.dependencies


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_access_connector_may_read_and_write_the_data_zones(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    connector = single(rendered, CONNECTOR)
    assert connector.inputs["identity"]["type"] == "SystemAssigned"
    role = single(rendered, ROLE, "-connector-blob-contributor")
    subscription = rendered.config.azure.subscription_id
    assert role.inputs["roleDefinitionId"] == (
        f"/subscriptions/{subscription}/providers/Microsoft.Authorization"
        f"/roleDefinitions/{STORAGE_BLOB_DATA_CONTRIBUTOR}"
    )
    assert role.inputs["principalType"] == "ServicePrincipal"
    # The principal is the connector's own identity, and the scope is the storage account.
    assert connector.urn in role.dependencies
    assert role.inputs["scope"].endswith(f"/storageAccounts/stdatanova{stack}")
    storage = single(rendered, STORAGE)
    assert storage.urn in role.dependencies


def test_role_assignment_names_are_stable_guids_distinct_per_stack(plan: PlanOf) -> None:
    names = {
        stack: single(plan(stack), ROLE, "-connector-blob-contributor").inputs["roleAssignmentName"]
        for stack in SHIPPED_STACKS
    }
    assert len(set(names.values())) == len(SHIPPED_STACKS)
    again = single(plan("prod"), ROLE, "-connector-blob-contributor").inputs["roleAssignmentName"]
    assert again == names["prod"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_workspace_is_premium_without_public_ip_with_explicit_managed_group(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    workspace = single(rendered, WORKSPACE)
    assert workspace.inputs["sku"] == {"name": "premium"}
    assert lookup(workspace.inputs, "parameters.enableNoPublicIp.value") is True
    subscription = rendered.config.azure.subscription_id
    assert workspace.inputs["managedResourceGroupId"] == (
        f"/subscriptions/{subscription}/resourceGroups/rg-datanova-{stack}-dbw-managed"
    )
    group = single(rendered, RG)
    assert group.urn in workspace.dependencies


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_everything_is_tagged_with_project_environment_and_stack(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    for token in (RG, STORAGE, CONNECTOR, WORKSPACE):
        tags = single(rendered, token).inputs["tags"]
        assert tags["project"] == "dataops"
        assert tags["environment"] == stack
        assert tags["stack"] == stack
        assert tags["costCenter"] == "data-platform"


def test_only_prod_protects_its_data(plan: PlanOf) -> None:
    prod = plan("prod")
    assert single(prod, STORAGE).protect
    assert all(c.protect for c in prod.of_type(CONTAINER))
    for stack in ("dev", "staging"):
        assert not any(r.protect for r in plan(stack).resources), stack


def test_stacks_differ_where_their_config_differs(plan: PlanOf) -> None:
    dev, prod = plan("dev"), plan("prod")
    assert single(dev, STORAGE).inputs["sku"] == {"name": "Standard_LRS"}
    assert single(prod, STORAGE).inputs["sku"] == {"name": "Standard_ZRS"}
    assert single(prod, RG).inputs["tags"]["dataClassification"] == "confidential"
    assert "dataClassification" not in single(dev, RG).inputs["tags"]
    dev_provider = single(dev, "pulumi:providers:azure-native").inputs["subscriptionId"]
    prod_provider = single(prod, "pulumi:providers:azure-native").inputs["subscriptionId"]
    assert dev_provider != prod_provider


def test_config_overrides_reach_the_resources(
    stack_document: Callable[[str], StackDocument],
    render: Callable[[str, StackDocument], Plan],
) -> None:
    document = stack_document("dev")
    azure = document["config"]["dataops:azure"]
    azure["resourceGroupName"] = "rg-custom"
    azure["storage"] = {"accountName": "stcustom01", "zones": ["raw", "curated"]}
    azure["workspace"] = {"name": "dbw-custom", "managedResourceGroupName": "rg-custom-managed"}
    rendered = render("dev", document)
    assert single(rendered, RG).inputs["resourceGroupName"] == "rg-custom"
    assert single(rendered, STORAGE).inputs["accountName"] == "stcustom01"
    containers = {c.inputs["containerName"] for c in rendered.of_type(CONTAINER)}
    assert containers == {"raw", "curated", "catalog-dev"}
    workspace = single(rendered, WORKSPACE)
    assert workspace.inputs["workspaceName"] == "dbw-custom"
    assert workspace.inputs["managedResourceGroupId"].endswith("/resourceGroups/rg-custom-managed")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_key_vault_uses_rbac_and_soft_delete(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    vault = single(rendered, VAULT)
    assert vault.inputs["vaultName"] == f"kv-datanova-{stack}"
    properties = vault.inputs["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["tenantId"] == rendered.config.azure.tenant_id
    assert "accessPolicies" not in properties


def test_prod_key_vault_has_purge_protection_and_is_protected(plan: PlanOf) -> None:
    prod = single(plan("prod"), VAULT)
    assert prod.inputs["properties"]["enablePurgeProtection"] is True
    assert prod.inputs["properties"]["softDeleteRetentionInDays"] == 90
    assert prod.protect
    dev = single(plan("dev"), VAULT)
    # Azure refuses `false`; off is unset, so a dev vault can be purged and recreated.
    assert "enablePurgeProtection" not in dev.inputs["properties"]
    assert dev.inputs["properties"]["softDeleteRetentionInDays"] == 7
    assert plan("prod").outputs["keyVaultUri"] == "https://kv-datanova-prod.vault.azure.net/"


NETWORK_TYPES = (VNET, SUBNET, NSG, NAT, PUBLIC_IP)


def _arm_id(plan: Plan, provider_path: str) -> str:
    subscription = plan.config.azure.subscription_id
    return (
        f"/subscriptions/{subscription}/resourceGroups/rg-datanova-{plan.stack}"
        f"/providers/{provider_path}"
    )


def test_injected_network_subnets_are_delegated_with_the_nsg_and_the_workspace_uses_them(
    plan: PlanOf,
) -> None:
    prod = plan("prod")
    network = prod.config.azure.network
    # Private mode builds on VNet injection: the same VNet, subnets and NSG.
    assert prod.config.network_mode == "private"
    vnet = single(prod, VNET, "-azure-vnet")
    assert vnet.inputs["virtualNetworkName"] == "vnet-datanova-prod"
    assert lookup(vnet.inputs, "addressSpace.addressPrefixes") == [network.address_space]
    # Subnets are standalone resources; listing none here keeps a VNet update from
    # deleting them.
    assert "subnets" not in vnet.inputs
    nsg = single(prod, NSG)
    nat = single(prod, NAT)
    workspace = single(prod, WORKSPACE)
    parameters = workspace.inputs["parameters"]
    vnet_id = _arm_id(prod, "Microsoft.Network/virtualNetworks/vnet-datanova-prod")
    assert parameters["customVirtualNetworkId"]["value"] == vnet_id
    assert vnet.urn in workspace.dependencies
    for role, prefix in (("public", network.public_subnet), ("private", network.private_subnet)):
        subnet = single(prod, SUBNET, f"-snet-{role}")
        assert subnet.inputs["addressPrefix"] == prefix
        assert subnet.inputs["virtualNetworkName"] == "vnet-datanova-prod"
        delegations = [d["serviceName"] for d in subnet.inputs["delegations"]]
        assert delegations == ["Microsoft.Databricks/workspaces"]
        nsg_id = _arm_id(prod, "Microsoft.Network/networkSecurityGroups/nsg-datanova-prod-dbw")
        assert subnet.inputs["networkSecurityGroup"] == {"id": nsg_id}
        assert nsg.urn in subnet.dependencies
        assert subnet.inputs["natGateway"] == {"id": _nat_id(prod)}
        assert nat.urn in subnet.dependencies
        assert subnet.inputs["defaultOutboundAccess"] is False
        name_key = f"custom{role.capitalize()}SubnetName"
        assert parameters[name_key]["value"] == subnet.inputs["subnetName"]
        assert subnet.urn in workspace.dependencies


def _nat_id(plan: Plan) -> str:
    return _arm_id(plan, "Microsoft.Network/natGateways/ng-datanova-prod")


def test_injected_clusters_reach_the_control_plane_through_a_nat_gateway(plan: PlanOf) -> None:
    prod = plan("prod")
    ip = single(prod, PUBLIC_IP)
    assert lookup(ip.inputs, "sku.name") == "Standard"
    assert ip.inputs["publicIPAllocationMethod"] == "Static"
    nat = single(prod, NAT)
    ip_id = _arm_id(prod, "Microsoft.Network/publicIPAddresses/pip-datanova-prod-nat")
    assert nat.inputs["publicIpAddresses"] == [{"id": ip_id}]
    assert lookup(nat.inputs, "sku.name") == "Standard"
    assert ip.urn in nat.dependencies


def test_the_private_subnet_waits_for_the_public_one(plan: PlanOf) -> None:
    # Azure refuses concurrent writes to two subnets of one VNet.
    prod = plan("prod")
    public = single(prod, SUBNET, "-snet-public")
    private = single(prod, SUBNET, "-snet-private")
    assert public.urn in private.dependencies
    assert private.urn not in public.dependencies


@pytest.mark.parametrize("stack", ["dev"])
def test_a_managed_network_stack_creates_no_network(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    assert rendered.config.network_mode == "managed"
    for token in NETWORK_TYPES:
        assert rendered.of_type(token) == [], token
    parameters = single(rendered, WORKSPACE).inputs["parameters"]
    assert set(parameters) == {"enableNoPublicIp"}


def test_an_injected_network_follows_the_configured_address_plan(
    stack_document: Callable[[str], StackDocument],
    render: Callable[[str, StackDocument], Plan],
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:azure"]["network"] = {
        "mode": "injected",
        "addressSpace": "10.60.0.0/20",
        "publicSubnet": "10.60.0.0/22",
        "privateSubnet": "10.60.4.0/22",
    }
    rendered = render("dev", document)
    assert lookup(single(rendered, VNET).inputs, "addressSpace.addressPrefixes") == ["10.60.0.0/20"]
    assert single(rendered, SUBNET, "-snet-public").inputs["addressPrefix"] == "10.60.0.0/22"
    assert single(rendered, SUBNET, "-snet-private").inputs["addressPrefix"] == "10.60.4.0/22"
    assert not any(r.protect for r in rendered.of_type(VNET) + rendered.of_type(SUBNET))


def _taggable(type_token: str) -> bool:
    """Whether the azure-native resource type takes tags (its SDK args say so)."""
    _, module_name, class_name = type_token.split(":")
    module = importlib.import_module(f"pulumi_azure_native.{module_name}")
    args = getattr(module, f"{class_name}Args")
    return "tags" in inspect.signature(args.__init__).parameters


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_taggable_foundation_resource_carries_the_config_tags(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    expected = rendered.config.tags(stack)
    taggable = [
        r
        for r in rendered.resources
        if r.type.startswith("azure-native:")
        and _taggable(r.type)
        and any(a.type == "dataops:azure:Foundation" for a in rendered.ancestors(r))
    ]
    assert len(taggable) >= 5
    for resource in taggable:
        assert resource.inputs.get("tags") == expected, resource.name
