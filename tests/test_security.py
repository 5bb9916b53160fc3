"""Private and encrypted by default: Private Link, customer-managed keys, workspace
hardening and serverless egress, as the shipped stacks render them; the config rules that
guard them; and the policy pack's posture rules catching each control turned off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from plan_helpers import (
    CLUSTER_UPDATE,
    COMPLIANCE_PROFILE,
    DNS_ZONE_GROUP,
    IP_ACCESS_LIST,
    LEGACY_ACCESS,
    LEGACY_DBFS,
    NCC,
    NCC_BINDING,
    NCC_RULE,
    NETWORK_OPTION,
    NETWORK_POLICY,
    PRIVATE_ENDPOINT,
    PRIVATE_ZONE,
    ROLE,
    ROUTE_TABLE,
    SECURITY_MONITORING,
    STORAGE,
    SUBNET,
    VAULT,
    VAULT_KEY,
    VNET,
    WORKSPACE,
    WORKSPACE_CONF,
    ZONE_LINK,
    StackDocument,
    lookup,
    single,
)

from components.config import ConfigError, StackConfig, check_shared_singletons
from components.naming import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
from dataops.engine import Plan
from dataops.policy import check_plan
from policy.rules import Enforcement

PlanOf = Callable[[str], Plan]
DocumentOf = Callable[[str], StackDocument]
Render = Callable[[str, StackDocument], Plan]
Validate = Callable[[str, StackDocument], StackConfig]

ZONES = (
    "privatelink.azuredatabricks.net",
    "privatelink.dfs.core.windows.net",
    "privatelink.blob.core.windows.net",
    "privatelink.vaultcore.azure.net",
)


def _azure(document: StackDocument) -> dict[str, Any]:
    azure: dict[str, Any] = document["config"]["dataops:azure"]
    return azure


def _endpoint(plan: Plan, key: str) -> Any:
    return single(plan, PRIVATE_ENDPOINT, f"-pe-{key}")


def _connection(endpoint: Any) -> dict[str, Any]:
    (connection,) = endpoint.inputs["privateLinkServiceConnections"]
    assert isinstance(connection, dict)
    return connection


# ---------------------------------------------------------------------- Private Link


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_workspace_refuses_public_access_and_uses_back_end_private_link(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    assert rendered.config.network_mode == "private"
    workspace = single(rendered, WORKSPACE)
    assert workspace.inputs["publicNetworkAccess"] == "Disabled"
    assert workspace.inputs["requiredNsgRules"] == "NoAzureDatabricksRules"
    # Private mode builds on VNet injection.
    vnet = single(rendered, VNET, "-azure-vnet")
    assert lookup(workspace.inputs, "parameters.customVirtualNetworkId.value").endswith(
        f"/virtualNetworks/{vnet.inputs['virtualNetworkName']}"
    )


def test_prod_has_back_end_front_end_and_browser_authentication_endpoints(plan: PlanOf) -> None:
    prod = plan("prod")
    workspace_id = prod.outputs["workspaceResourceId"]
    backend, frontend = _endpoint(prod, "dbw-backend"), _endpoint(prod, "dbw-frontend")
    browser = _endpoint(prod, "dbw-browser-auth")
    for endpoint, group in (
        (backend, "databricks_ui_api"),
        (frontend, "databricks_ui_api"),
        (browser, "browser_authentication"),
    ):
        assert _connection(endpoint)["privateLinkServiceId"] == workspace_id
        assert _connection(endpoint)["groupIds"] == [group]
    # The back end sits in the data-plane VNet's endpoint subnet, the front end (and SSO)
    # in the transit VNet users and CI runners reach.
    endpoints = single(prod, SUBNET, "-snet-endpoints")
    assert endpoints.inputs["virtualNetworkName"] == "vnet-datanova-prod"
    assert endpoints.inputs["addressPrefix"] == "10.40.3.0/26"
    assert "delegations" not in endpoints.inputs
    assert backend.inputs["subnet"]["id"].endswith(
        "/vnet-datanova-prod/subnets/snet-datanova-prod-pe"
    )
    transit_subnet = "/vnet-datanova-prod-transit/subnets/snet-datanova-prod-transit-frontend"
    assert frontend.inputs["subnet"]["id"].endswith(transit_subnet)
    assert browser.inputs["subnet"]["id"].endswith(transit_subnet)
    ci = single(prod, SUBNET, "-transit-snet-ci")
    assert ci.inputs["addressPrefix"] == "10.41.0.64/26"


def test_only_the_owning_stack_creates_the_browser_authentication_endpoint(
    plan: PlanOf,
) -> None:
    staging = plan("staging")
    keys = sorted(e.name.rsplit("-pe-", 1)[1] for e in staging.of_type(PRIVATE_ENDPOINT))
    assert keys == ["dbw-backend", "dbw-frontend", "kv", "st-blob", "st-dfs"]


def test_storage_and_vault_are_reached_through_private_endpoints_only(plan: PlanOf) -> None:
    prod = plan("prod")
    storage, vault = single(prod, STORAGE), single(prod, VAULT)
    assert storage.inputs["publicNetworkAccess"] == "Disabled"
    rules = storage.inputs["networkRuleSet"]
    assert rules["defaultAction"] == "Deny"
    connector_id = prod.outputs["accessConnectorId"]
    assert rules["resourceAccessRules"] == [
        {"tenantId": prod.config.azure.tenant_id, "resourceId": connector_id}
    ]
    assert vault.inputs["properties"]["publicNetworkAccess"] == "disabled"
    assert vault.inputs["properties"]["networkAcls"]["defaultAction"] == "Deny"
    storage_id = (
        f"/subscriptions/{prod.config.azure.subscription_id}/resourceGroups/rg-datanova-prod"
        "/providers/Microsoft.Storage/storageAccounts/stdatanovaprod"
    )
    for key, group in (("st-dfs", "dfs"), ("st-blob", "blob")):
        assert _connection(_endpoint(prod, key)) | {"name": None} == {
            "name": None,
            "privateLinkServiceId": storage_id,
            "groupIds": [group],
        }
    assert _connection(_endpoint(prod, "kv"))["groupIds"] == ["vault"]
    assert _connection(_endpoint(prod, "kv"))["privateLinkServiceId"].endswith(
        "/vaults/kv-datanova-prod"
    )


def test_every_endpoint_registers_in_its_zone_and_every_zone_is_linked(plan: PlanOf) -> None:
    prod = plan("prod")
    zones = {z.inputs["privateZoneName"]: z for z in prod.of_type(PRIVATE_ZONE)}
    assert set(zones) == set(ZONES)
    expected_zone = {
        "dbw-backend": ZONES[0],
        "dbw-frontend": ZONES[0],
        "dbw-browser-auth": ZONES[0],
        "st-dfs": ZONES[1],
        "st-blob": ZONES[2],
        "kv": ZONES[3],
    }
    for key, zone in expected_zone.items():
        group = single(prod, DNS_ZONE_GROUP, f"-pe-{key}-dns")
        assert group.inputs["privateEndpointName"] == f"pe-datanova-prod-{key}"
        (config,) = group.inputs["privateDnsZoneConfigs"]
        assert config["privateDnsZoneId"].endswith(f"/privateDnsZones/{zone}")
    for zone in ZONES:
        links = [link for link in prod.of_type(ZONE_LINK) if link.inputs["privateZoneName"] == zone]
        networks = sorted(link.inputs["virtualNetwork"]["id"].rsplit("/", 1)[1] for link in links)
        assert networks == ["vnet-datanova-prod", "vnet-datanova-prod-transit"], zone
        assert all(link.inputs["registrationEnabled"] is False for link in links)


def test_a_hub_subnet_and_a_central_dns_zone_replace_the_transit_vnet_and_the_own_zone(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("staging")
    hub = "/subscriptions/6f1c2f4e-3b1a-4d7e-9a51-0c2b8d4e7a10/resourceGroups/rg-hub/providers"
    link = _azure(document)["network"]["privateLink"]
    link["hubSubnetId"] = f"{hub}/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-pe"
    central = f"{hub}/Microsoft.Network/privateDnsZones/privatelink.azuredatabricks.net"
    link["dnsZoneIds"] = {"privatelink.azuredatabricks.net": central}
    rendered = render("staging", document)
    assert [v.inputs["virtualNetworkName"] for v in rendered.of_type(VNET)] == [
        "vnet-datanova-staging"
    ]
    assert _endpoint(rendered, "dbw-frontend").inputs["subnet"]["id"] == link["hubSubnetId"]
    created = {z.inputs["privateZoneName"] for z in rendered.of_type(PRIVATE_ZONE)}
    assert created == set(ZONES[1:])
    group = single(rendered, DNS_ZONE_GROUP, "-pe-dbw-frontend-dns")
    assert group.inputs["privateDnsZoneConfigs"][0]["privateDnsZoneId"] == central
    # The zones this stack owns are linked to the hub VNet the users come through.
    hub_links = [
        z
        for z in rendered.of_type(ZONE_LINK)
        if z.inputs["virtualNetwork"]["id"].endswith("/vnet-hub")
    ]
    assert len(hub_links) == 3


def test_egress_goes_through_the_configured_firewall(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("staging")
    _azure(document)["network"]["egressFirewallIp"] = "10.0.0.4"
    rendered = render("staging", document)
    table = single(rendered, ROUTE_TABLE)
    assert table.inputs["routes"] == [
        {
            "name": "default-via-firewall",
            "addressPrefix": "0.0.0.0/0",
            "nextHopType": "VirtualAppliance",
            "nextHopIpAddress": "10.0.0.4",
        }
    ]
    for role in ("public", "private"):
        subnet = single(rendered, SUBNET, f"-snet-{role}")
        assert subnet.inputs["routeTable"]["id"].endswith("/routeTables/rt-datanova-staging-egress")
        assert table.urn in subnet.dependencies


def test_dev_keeps_the_managed_network_without_private_link_keys_or_ncc(plan: PlanOf) -> None:
    dev = plan("dev")
    assert dev.config.network_mode == "managed"
    for token in (PRIVATE_ENDPOINT, PRIVATE_ZONE, VAULT_KEY, NCC, NETWORK_POLICY, VNET):
        assert dev.of_type(token) == [], token
    workspace = single(dev, WORKSPACE)
    assert workspace.inputs["publicNetworkAccess"] == "Enabled"
    assert "encryption" not in workspace.inputs
    assert single(dev, STORAGE).inputs["publicNetworkAccess"] == "Enabled"


# ------------------------------------------------------------------ customer-managed keys


def test_prod_encrypts_managed_services_disks_and_dbfs_with_its_rotating_key(
    plan: PlanOf,
) -> None:
    prod = plan("prod")
    key = single(prod, VAULT_KEY)
    assert key.protect, "deleting the key makes the workspace's data unreadable"
    properties = key.inputs["properties"]
    assert properties["kty"] == "RSA"
    assert properties["keySize"] == 4096
    actions = properties["rotationPolicy"]["lifetimeActions"]
    assert {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P365D"}} in actions
    workspace = single(prod, WORKSPACE)
    entities = workspace.inputs["encryption"]["entities"]
    reference = {
        "keyName": "cmk-datanova-prod-dbw",
        "keyVaultUri": "https://kv-datanova-prod.vault.azure.net/",
    }
    for entity in ("managedServices", "managedDisk"):
        assert entities[entity]["keySource"] == "Microsoft.Keyvault"
        properties = entities[entity]["keyVaultProperties"]
        assert {k: properties[k] for k in reference} == reference
        assert len(properties["keyVersion"]) == 32
    assert entities["managedDisk"]["rotationToLatestKeyVersionEnabled"] is True
    parameters = workspace.inputs["parameters"]
    assert parameters["prepareEncryption"]["value"] is True
    assert parameters["encryption"]["value"]["keySource"] == "Microsoft.Keyvault"
    assert parameters["encryption"]["value"]["keyName"] == "cmk-datanova-prod-dbw"
    assert single(prod, VAULT).inputs["properties"]["enablePurgeProtection"] is True


def test_each_identity_gets_the_crypto_role_on_the_key_only(plan: PlanOf) -> None:
    prod = plan("prod")
    key, workspace = single(prod, VAULT_KEY), single(prod, WORKSPACE)
    role = KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER
    app = single(prod, ROLE, "-cmk-databricks")
    assert app.inputs["principalId"] == prod.config.azure.encryption.databricks_object_id
    # Managed services are wrapped when the workspace is created or updated with the key.
    assert app.urn in workspace.dependencies
    for grant in (app, single(prod, ROLE, "-cmk-dbfs"), single(prod, ROLE, "-cmk-disks")):
        assert grant.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{role}")
        assert grant.inputs["scope"].endswith("/vaults/kv-datanova-prod/keys/cmk-datanova-prod-dbw")
        assert key.urn in grant.dependencies
    for suffix in ("-cmk-dbfs", "-cmk-disks"):
        grant = single(prod, ROLE, suffix)
        assert workspace.urn in grant.dependencies
        assert grant.inputs["principalId"] not in ("", None)


def test_a_new_workspace_is_prepared_before_its_dbfs_root_is_encrypted(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("staging")
    _azure(document)["encryption"]["dbfsRoot"] = "prepared"
    parameters = single(render("staging", document), WORKSPACE).inputs["parameters"]
    assert parameters["prepareEncryption"]["value"] is True
    assert "encryption" not in parameters


def test_customer_managed_keys_without_purge_protection_are_refused(
    stack_document: DocumentOf, validate: Validate
) -> None:
    document = stack_document("staging")
    _azure(document)["keyVault"]["purgeProtection"] = False
    with pytest.raises(ConfigError) as caught:
        validate("staging", document)
    assert str(caught.value) == (
        "Pulumi.staging.yaml: dataops:azure.keyVault.purgeProtection: customer-managed keys "
        "(azure.encryption) need a vault with purge protection; set purgeProtection: true or "
        "customerManagedKeys: false"
    )


def test_customer_managed_keys_need_the_databricks_application(
    stack_document: DocumentOf, validate: Validate
) -> None:
    document = stack_document("staging")
    del _azure(document)["encryption"]["databricksObjectId"]
    with pytest.raises(ConfigError, match=r"azure\.encryption\.databricksObjectId: .*az ad sp"):
        validate("staging", document)


# ------------------------------------------------------------------------ config rules


def test_an_endpoint_subnet_outside_the_vnet_is_refused(
    stack_document: DocumentOf, validate: Validate
) -> None:
    document = stack_document("prod")
    _azure(document)["network"]["privateLink"]["endpointSubnet"] = "10.40.2.0/26"
    with pytest.raises(ConfigError) as caught:
        validate("prod", document)
    assert str(caught.value) == (
        "Pulumi.prod.yaml: dataops:azure.network.privateLink.endpointSubnet: "
        "10.40.2.0/26 overlaps privateSubnet"
    )


def test_a_public_prod_front_end_needs_an_ip_access_list(
    stack_document: DocumentOf, validate: Validate
) -> None:
    document = stack_document("prod")
    _azure(document)["network"]["mode"] = "injected"
    with pytest.raises(ConfigError, match=r"hardening\.ipAccessList: a prod workspace with a"):
        validate("prod", document)


def _configs(documents: dict[str, StackDocument], validate: Validate) -> dict[str, StackConfig]:
    return {f"Pulumi.{s}.yaml": validate(s, d) for s, d in documents.items()}


@pytest.mark.parametrize("owners", [(), ("prod", "staging")])
def test_a_regions_browser_authentication_endpoint_has_exactly_one_owner(
    stack_document: DocumentOf, validate: Validate, owners: tuple[str, ...]
) -> None:
    documents = {s: stack_document(s) for s in ("dev", "staging", "prod")}
    for stack in ("staging", "prod"):
        link = _azure(documents[stack])["network"]["privateLink"]
        link["browserAuthentication"] = stack in owners
    with pytest.raises(ConfigError) as caught:
        check_shared_singletons(_configs(documents, validate))
    found = ", ".join(f"Pulumi.{s}.yaml" for s in owners) or "none"
    assert str(caught.value) == (
        "Pulumi.prod.yaml, Pulumi.staging.yaml: "
        "dataops:azure.network.privateLink.browserAuthentication: the westeurope "
        "browser_authentication endpoint needs exactly one owning stack among the private "
        f"ones, found {found}"
    )


# ------------------------------------------------------------------------- hardening


def test_prod_hardens_the_workspace_and_dev_keeps_its_defaults(plan: PlanOf) -> None:
    prod, dev = plan("prod"), plan("dev")
    assert single(prod, WORKSPACE_CONF).inputs["customConfig"] == {
        "maxTokenLifetimeDays": "30",
        "enableTokensConfig": "false",
        "enableIpAccessLists": "false",
        "enableDbfsFileBrowser": "false",
    }
    conf = single(dev, WORKSPACE_CONF).inputs["customConfig"]
    assert (conf["maxTokenLifetimeDays"], conf["enableTokensConfig"]) == ("90", "true")
    for rendered in (prod, dev):
        assert lookup(single(rendered, LEGACY_ACCESS).inputs, "disableLegacyAccess.value") is True
        assert lookup(single(rendered, LEGACY_DBFS).inputs, "disableLegacyDbfs.value") is True
        assert rendered.of_type(COMPLIANCE_PROFILE) == []
        assert rendered.of_type(IP_ACCESS_LIST) == []
    esm = "enhancedSecurityMonitoringWorkspace.isEnabled"
    update = "automaticClusterUpdateWorkspace.enabled"
    assert lookup(single(prod, SECURITY_MONITORING).inputs, esm) is True
    assert lookup(single(prod, CLUSTER_UPDATE).inputs, update) is True
    assert lookup(single(dev, SECURITY_MONITORING).inputs, esm) is False
    assert lookup(single(dev, CLUSTER_UPDATE).inputs, update) is False
    # Settings go through the workspace API once the metastore is attached.
    for setting in prod.of_type(LEGACY_ACCESS) + prod.of_type(WORKSPACE_CONF):
        assert prod.provider_of(setting).name.endswith("-databricks-workspace")  # type: ignore[union-attr]
        assert any(d.endswith("-metastore-assignment") for d in setting.dependencies)


def test_the_compliance_profile_and_an_ip_access_list_come_from_config(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("dev")
    _azure(document)["workspace"] = {
        "hardening": {
            "ipAccessList": ["203.0.113.0/24"],
            "complianceSecurityProfile": True,
            "complianceStandards": ["HIPAA"],
        }
    }
    rendered = render("dev", document)
    profile = single(rendered, COMPLIANCE_PROFILE).inputs["complianceSecurityProfileWorkspace"]
    assert profile == {"isEnabled": True, "complianceStandards": ["HIPAA"]}
    # The profile keeps enhanced security monitoring on, whatever the tier's default.
    esm = single(rendered, SECURITY_MONITORING).inputs
    assert lookup(esm, "enhancedSecurityMonitoringWorkspace.isEnabled") is True
    allow = single(rendered, IP_ACCESS_LIST).inputs
    assert (allow["listType"], allow["ipAddresses"]) == ("ALLOW", ["203.0.113.0/24"])
    assert single(rendered, WORKSPACE_CONF).inputs["customConfig"]["enableIpAccessLists"] == "true"


# -------------------------------------------------------------------- serverless egress


def test_serverless_reaches_storage_privately_under_a_restricted_policy(plan: PlanOf) -> None:
    prod = plan("prod")
    ncc = single(prod, NCC)
    assert ncc.inputs == {"name": "ncc-datanova-prod", "region": "westeurope"}
    ncc_id = "networkConnectivityConfigId"
    binding = single(prod, NCC_BINDING)
    assert binding.inputs["workspaceId"] == prod.outputs["workspaceId"]
    assert ncc.urn in binding.dependencies
    storage_id = prod.outputs["storageDfsEndpoint"] and single(prod, STORAGE)
    rules = {r.inputs["groupId"]: r for r in prod.of_type(NCC_RULE)}
    assert set(rules) == {"dfs", "blob"}
    for rule in rules.values():
        assert rule.inputs["resourceId"].endswith("/storageAccounts/stdatanovaprod")
        assert rule.inputs[ncc_id] == binding.inputs[ncc_id]
        assert storage_id.urn in rule.dependencies
    policy = single(prod, NETWORK_POLICY)
    access = lookup(policy.inputs, "egress.networkAccess")
    assert access["restrictionMode"] == "RESTRICTED_ACCESS"
    assert [d["destination"] for d in access["allowedInternetDestinations"]] == [
        "pypi.org",
        "files.pythonhosted.org",
        "github.com",
    ]
    assert {d["azureStorageService"] for d in access["allowedStorageDestinations"]} == {
        "dfs",
        "blob",
    }
    option = single(prod, NETWORK_OPTION)
    assert option.inputs == {
        "workspaceId": prod.outputs["workspaceId"],
        "networkPolicyId": "np-datanova-prod",
    }
    for resource in (ncc, binding, policy, option):
        assert prod.provider_of(resource).name.endswith("-databricks-account")  # type: ignore[union-attr]


# --------------------------------------- each control off in prod: a mandatory violation


def _set(path: str, value: Any) -> Callable[[StackDocument], None]:
    def change(document: StackDocument) -> None:
        target = _azure(document)
        *parents, last = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value

    return change


def _public_network(document: StackDocument) -> None:
    _set("network.mode", "injected")(document)
    # Config requires an allow-list for a public prod front end: the pack still reports
    # the lost Private Link.
    _set("workspace.hardening.ipAccessList", ["203.0.113.0/24"])(document)


CONTROLS_OFF: dict[str, tuple[Callable[[StackDocument], None], set[str]]] = {
    "private network": (
        _public_network,
        {"workspace-private-link", "private-endpoints", "storage-private", "key-vault-private"},
    ),
    "customer-managed keys": (
        _set("encryption.customerManagedKeys", False),
        {"workspace-customer-managed-keys"},
    ),
    "DBFS root key": (_set("encryption.dbfsRoot", "prepared"), {"workspace-customer-managed-keys"}),
    "token lifetime": (_set("workspace.hardening.maxTokenLifetimeDays", 365), {"tokens-limited"}),
    "personal access tokens": (
        _set("workspace.hardening.personalAccessTokens", True),
        {"tokens-limited"},
    ),
    "legacy features": (
        _set("workspace.hardening.disableLegacyFeatures", False),
        {"legacy-features-off"},
    ),
    "enhanced security monitoring": (
        _set("workspace.hardening.enhancedSecurityMonitoring", False),
        {"enhanced-security-monitoring"},
    ),
    "automatic cluster update": (
        _set("workspace.hardening.automaticClusterUpdate", False),
        {"automatic-cluster-update"},
    ),
    "serverless egress": (
        _set("network.serverless.restricted", False),
        {"serverless-egress-restricted"},
    ),
}


@pytest.mark.parametrize("control", sorted(CONTROLS_OFF))
def test_turning_a_control_off_in_prod_is_a_mandatory_violation(
    stack_document: DocumentOf, render: Render, control: str
) -> None:
    change, rules = CONTROLS_OFF[control]
    document = stack_document("prod")
    change(document)
    report = check_plan(render("prod", document))
    assert {v.rule for v in report.violations} == rules
    assert all(v.enforcement is Enforcement.MANDATORY for v in report.violations)


def test_the_shipped_private_stacks_pass_every_posture_rule(plan: PlanOf) -> None:
    for stack in ("staging", "prod"):
        assert check_plan(plan(stack)).violations == (), stack
