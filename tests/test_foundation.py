"""The Azure foundation of every shipped stack: what `pulumi up` would create first."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from plan_helpers import SHIPPED_STACKS, StackDocument, lookup, provider_type, single

from components.naming import STORAGE_BLOB_DATA_CONTRIBUTOR
from dataops.engine import Plan

RG = "azure-native:resources:ResourceGroup"
STORAGE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
CONNECTOR = "azure-native:databricks:AccessConnector"
ROLE = "azure-native:authorization:RoleAssignment"
WORKSPACE = "azure-native:databricks:Workspace"

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
    assert {c.inputs["containerName"] for c in rendered.of_type(CONTAINER)} == {"raw", "curated"}
    workspace = single(rendered, WORKSPACE)
    assert workspace.inputs["workspaceName"] == "dbw-custom"
    assert workspace.inputs["managedResourceGroupId"].endswith("/resourceGroups/rg-custom-managed")


VAULT = "azure-native:keyvault:Vault"


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
