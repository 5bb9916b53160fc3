"""The policy pack: each rule, its enforcement per tier, the pack the CLI runs, and plan.

Every rule test goes through both callers of the rule: the pure function the offline
engine runs, and the CrossGuard policy object the pack registers (fed the way the
CrossGuard servicer feeds it, properties behind the SDK's unknown-checking proxy). Both
must report the same violations.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from plan_helpers import SHIPPED_STACKS, StackDocument
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from components.config import SECRET_KEYS
from components.sandbox_names import SandboxNames
from dataops.cli import main
from dataops.engine import PROJECT_ROOT, Plan
from dataops.mocks import SECRET_MASK, UNKNOWN_MASK
from dataops.policy import check_plan, plan_resources
from dataops.stackfile import secret_placeholder
from policy.pack import build_policies, context_from_environment, plain
from policy.rules import (
    ADO_MIN_REVIEWERS,
    ADO_REPOSITORY,
    BLOB_CONTAINER,
    BRANCH_PROTECTION,
    CATALOG,
    CLUSTER_UPDATE,
    DASHBOARD,
    DNS_ZONE_GROUP,
    GITHUB_REPOSITORY,
    GRANT,
    GRANTS,
    IP_ACCESS_LIST,
    JOB,
    KEY_VAULT,
    LEGACY_ACCESS,
    LEGACY_DBFS,
    METASTORE_ASSIGNMENT,
    NCC_BINDING,
    NCC_RULE,
    NETWORK_OPTION,
    NETWORK_POLICY,
    PRIVATE_ENDPOINT,
    PRIVATE_ZONE,
    REPOSITORY_RULESET,
    RULES,
    SECRET_CONFIG_KEYS,
    SECURITY_MONITORING,
    SQL_WAREHOUSE,
    STACK,
    STORAGE_ACCOUNT,
    UNKNOWN,
    VAULT_KEY,
    WORKSPACE,
    WORKSPACE_BINDING,
    WORKSPACE_CONF,
    ZONE_LINK,
    Enforcement,
    Resource,
    ResourceRule,
    SandboxContext,
    StackContext,
    StackRule,
    enforcement,
    evaluate,
    rule_named,
    secret_word,
    stack_context_from_config,
)

PlanOf = Callable[[str], Plan]
DocumentOf = Callable[[str], StackDocument]

DEV, STAGING, PROD = StackContext("dev"), StackContext("staging"), StackContext("prod")
WORKSPACE_ID = "7608011474001522"


def resource(
    type_: str, props: Mapping[str, Any], name: str = "r", protect: bool = False
) -> Resource:
    return Resource(type_, name, f"urn:pulumi:prod::dataops::{type_}::{name}", props, protect)


def _options(protect: bool) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _pack_policy(name: str, context: StackContext) -> Any:
    (policy,) = [p for p in build_policies(context) if p.name == name]
    return policy


def _offline(value: Any) -> Any:
    """Properties as the offline engine records them: unknowns are the engine's mask."""
    if isinstance(value, Mapping):
        return {k: _offline(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_offline(v) for v in value]
    return UNKNOWN if value == UNKNOWN_STRING_VALUE else value


def _as_offline(subject: Resource) -> Resource:
    return Resource(
        subject.type, subject.name, subject.urn, _offline(subject.props), subject.protect
    )


def violations(name: str, subject: Resource, context: StackContext = PROD) -> list[str]:
    """A resource rule's messages, checked to be the same through the pack's policy."""
    rule = rule_named(name)
    assert isinstance(rule, ResourceRule)
    direct = rule.violations(_as_offline(subject), context)
    policy = _pack_policy(name, context)
    assert isinstance(policy, ResourceValidationPolicy)
    reported: list[str] = []
    args = ResourceValidationArgs(
        subject.type,
        unknown_checking_proxy(copy.deepcopy(dict(subject.props))),
        subject.urn,
        subject.name,
        _options(subject.protect),
        None,
    )
    policy.validate(args, lambda message, urn=None: reported.append(message))
    assert reported == direct, "the pack and the offline engine disagree"
    return direct


def findings(name: str, resources: list[Resource], context: StackContext = PROD) -> list[str]:
    """A stack rule's messages (with the urn they blame), the same through the pack."""
    rule = rule_named(name)
    assert isinstance(rule, StackRule)
    offline = [_as_offline(r) for r in resources]
    direct = [f"{f.urn}: {f.message}" for f in rule.violations(offline, context)]
    policy = _pack_policy(name, context)
    assert isinstance(policy, StackValidationPolicy)
    reported: list[str] = []
    stack = [
        PolicyResource(
            r.type,
            unknown_checking_proxy(copy.deepcopy(dict(r.props))),
            r.urn,
            r.name,
            _options(r.protect),
            None,
            None,
            [],
            {},
        )
        for r in resources
    ]
    policy.validate(
        StackValidationArgs(stack), lambda message, urn=None: reported.append(f"{urn}: {message}")
    )
    assert reported == direct, "the pack and the offline engine disagree"
    return direct


def one(messages: list[str], *fragments: str) -> None:
    assert len(messages) == 1, messages
    for fragment in fragments:
        assert fragment in messages[0], messages[0]


# ------------------------------------------------------------------------------ storage

SECURE_ACCOUNT = {
    "allowBlobPublicAccess": False,
    "minimumTlsVersion": "TLS1_2",
    "enableHttpsTrafficOnly": True,
}


def test_a_storage_account_without_public_blob_access_passes() -> None:
    assert violations("storage-no-public-access", resource(STORAGE_ACCOUNT, SECURE_ACCOUNT)) == []


def test_a_storage_account_allowing_public_blob_access_violates() -> None:
    account = resource(STORAGE_ACCOUNT, {**SECURE_ACCOUNT, "allowBlobPublicAccess": True})
    one(violations("storage-no-public-access", account), "allowBlobPublicAccess is true")


def test_a_storage_account_leaving_public_access_to_the_default_violates() -> None:
    account = resource(STORAGE_ACCOUNT, {"minimumTlsVersion": "TLS1_2"})
    one(violations("storage-no-public-access", account), "allowBlobPublicAccess is unset")


def test_a_public_container_violates_and_a_private_one_passes() -> None:
    public = resource(BLOB_CONTAINER, {"publicAccess": "Container"})
    one(violations("storage-no-public-access", public), "publicAccess is 'Container'")
    assert (
        violations("storage-no-public-access", resource(BLOB_CONTAINER, {"publicAccess": "None"}))
        == []
    )


def test_a_storage_account_requiring_tls_1_2_passes() -> None:
    assert violations("storage-tls-1-2", resource(STORAGE_ACCOUNT, SECURE_ACCOUNT)) == []


def test_a_storage_account_accepting_tls_1_0_or_http_violates() -> None:
    old = resource(STORAGE_ACCOUNT, {**SECURE_ACCOUNT, "minimumTlsVersion": "TLS1_0"})
    one(violations("storage-tls-1-2", old), "minimumTlsVersion is 'TLS1_0'")
    http = resource(STORAGE_ACCOUNT, {**SECURE_ACCOUNT, "enableHttpsTrafficOnly": False})
    one(violations("storage-tls-1-2", http), "enableHttpsTrafficOnly is false")


# ---------------------------------------------------------------------------- workspace

SECURE_WORKSPACE = {"sku": {"name": "premium"}, "parameters": {"enableNoPublicIp": {"value": True}}}


def test_a_premium_workspace_passes() -> None:
    assert violations("workspace-premium", resource(WORKSPACE, SECURE_WORKSPACE)) == []


def test_a_standard_workspace_violates() -> None:
    standard = resource(WORKSPACE, {**SECURE_WORKSPACE, "sku": {"name": "standard"}})
    one(violations("workspace-premium", standard), "sku is 'standard'")


def test_a_workspace_without_public_ips_passes() -> None:
    assert violations("workspace-no-public-ip", resource(WORKSPACE, SECURE_WORKSPACE)) == []


def test_a_workspace_with_public_ips_violates() -> None:
    public = resource(WORKSPACE, {**SECURE_WORKSPACE, "parameters": {}})
    one(violations("workspace-no-public-ip", public), "enableNoPublicIp is unset")
    off = {"parameters": {"enableNoPublicIp": {"value": False}}}
    one(violations("workspace-no-public-ip", resource(WORKSPACE, off)), "is false")


# ---------------------------------------------------------------------------- key vault


def test_a_prod_key_vault_with_purge_protection_passes() -> None:
    vault = resource(KEY_VAULT, {"properties": {"enablePurgeProtection": True}})
    assert violations("prod-key-vault-purge-protection", vault) == []


def test_a_prod_key_vault_without_purge_protection_violates() -> None:
    # Config refuses purgeProtection: false in prod; code that drops the flag is caught here.
    vault = resource(KEY_VAULT, {"properties": {"enableSoftDelete": True}})
    one(violations("prod-key-vault-purge-protection", vault), "enablePurgeProtection is unset")


def test_purge_protection_is_not_required_outside_prod() -> None:
    vault = resource(KEY_VAULT, {"properties": {}})
    for context in (DEV, STAGING):
        assert not [v for v in evaluate([vault], context) if v.rule.startswith("prod-")]


# ---------------------------------------------------------------------------- posture
# Each posture rule (SAT-derived) passes the shipped prod shape and is violated once.

WS_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Databricks/workspaces/dbw"
ST_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st"
KV_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
PRIVATE_WORKSPACE = {
    **SECURE_WORKSPACE,
    "workspaceName": "dbw",
    "publicNetworkAccess": "Disabled",
    "requiredNsgRules": "NoAzureDatabricksRules",
    "parameters": {
        "enableNoPublicIp": {"value": True},
        "customVirtualNetworkId": {"value": "/subscriptions/s/.../virtualNetworks/vnet"},
        "prepareEncryption": {"value": True},
        "encryption": {"value": {"keySource": "Microsoft.Keyvault", "KeyName": "cmk"}},
    },
    "encryption": {
        "entities": {
            "managedServices": {"keySource": "Microsoft.Keyvault"},
            "managedDisk": {
                "keySource": "Microsoft.Keyvault",
                "rotationToLatestKeyVersionEnabled": True,
            },
        }
    },
}


def _pe(key: str, target: str, group: str) -> Resource:
    return resource(
        PRIVATE_ENDPOINT,
        {
            "privateEndpointName": f"pe-{key}",
            "privateLinkServiceConnections": [
                {"privateLinkServiceId": target, "groupIds": [group]}
            ],
        },
        f"pe-{key}",
    )


def _private_stack() -> list[Resource]:
    return [
        resource(WORKSPACE, PRIVATE_WORKSPACE, "workspace"),
        resource(STORAGE_ACCOUNT, {"accountName": "st"}, "storage"),
        resource(KEY_VAULT, {"vaultName": "kv"}, "vault"),
        _pe("backend", WS_ID, "databricks_ui_api"),
        _pe("frontend", WS_ID, "databricks_ui_api"),
        _pe("dfs", ST_ID, "dfs"),
        _pe("blob", ST_ID, "blob"),
        _pe("kv", KV_ID, "vault"),
    ]


def test_a_private_workspace_passes_and_a_public_one_violates() -> None:
    assert violations("workspace-private-link", resource(WORKSPACE, PRIVATE_WORKSPACE)) == []
    public = {**PRIVATE_WORKSPACE, "publicNetworkAccess": "Enabled"}
    one(violations("workspace-private-link", resource(WORKSPACE, public)), "'Enabled'")
    all_rules = {**PRIVATE_WORKSPACE, "requiredNsgRules": "AllRules"}
    one(violations("workspace-private-link", resource(WORKSPACE, all_rules)), "AllRules")


def test_every_target_with_its_private_endpoints_passes_and_a_missing_one_violates() -> None:
    stack = _private_stack()
    assert findings("private-endpoints", stack) == []
    without_front_end = [r for r in stack if r.name != "pe-frontend"]
    one(findings("private-endpoints", without_front_end), "1 databricks_ui_api", "workspace")
    without_blob = [r for r in stack if r.name != "pe-blob"]
    one(findings("private-endpoints", without_blob), "no blob private endpoint")


def test_an_endpoint_without_a_zone_group_and_an_unlinked_zone_violate() -> None:
    endpoint = _pe("kv", KV_ID, "vault")
    zone = resource(PRIVATE_ZONE, {"privateZoneName": "privatelink.vaultcore.azure.net"}, "zone")
    group = resource(
        DNS_ZONE_GROUP,
        {"privateEndpointName": "pe-kv", "privateDnsZoneConfigs": [{"privateDnsZoneId": "z"}]},
        "group",
    )
    link = resource(ZONE_LINK, {"privateZoneName": "privatelink.vaultcore.azure.net"}, "link")
    assert findings("private-dns", [endpoint, zone, group, link]) == []
    one(findings("private-dns", [endpoint, zone, link]), "pe-kv", "no private DNS zone")
    one(findings("private-dns", [endpoint, zone, group]), "linked to no virtual network")


def test_public_storage_or_vault_violates_in_private_tiers() -> None:
    private = {"publicNetworkAccess": "Disabled", "networkRuleSet": {"defaultAction": "Deny"}}
    assert violations("storage-private", resource(STORAGE_ACCOUNT, private)) == []
    allow = {**private, "networkRuleSet": {"defaultAction": "Allow"}}
    one(violations("storage-private", resource(STORAGE_ACCOUNT, allow)), "'Allow'")
    vault = {
        "properties": {"publicNetworkAccess": "disabled", "networkAcls": {"defaultAction": "Deny"}}
    }
    assert violations("key-vault-private", resource(KEY_VAULT, vault)) == []
    public = {"properties": {"networkAcls": {"defaultAction": "Deny"}}}
    one(
        violations("key-vault-private", resource(KEY_VAULT, public)), "publicNetworkAccess is unset"
    )
    assert not [
        v for v in evaluate([resource(KEY_VAULT, public)], DEV) if v.rule == "key-vault-private"
    ]


def test_a_workspace_without_its_dbfs_key_violates_customer_managed_keys() -> None:
    assert (
        violations("workspace-customer-managed-keys", resource(WORKSPACE, PRIVATE_WORKSPACE)) == []
    )
    prepared = copy.deepcopy(PRIVATE_WORKSPACE)
    del prepared["parameters"]["encryption"]  # type: ignore[attr-defined]
    one(
        violations("workspace-customer-managed-keys", resource(WORKSPACE, prepared)),
        "parameters.encryption.value.keySource is unset",
        "DBFS root",
    )


def test_a_key_without_a_rotate_action_violates() -> None:
    rotating = {
        "properties": {
            "kty": "RSA",
            "rotationPolicy": {"lifetimeActions": [{"action": {"type": "rotate"}}]},
        }
    }
    assert violations("key-rotation", resource(VAULT_KEY, rotating)) == []
    notify = {
        "properties": {
            "kty": "RSA",
            "rotationPolicy": {"lifetimeActions": [{"action": {"type": "notify"}}]},
        }
    }
    one(violations("key-rotation", resource(VAULT_KEY, notify)), "no rotate action")


def _workspace_with(*settings: Resource) -> list[Resource]:
    return [resource(WORKSPACE, PRIVATE_WORKSPACE, "workspace"), *settings]


def _conf_resource(**conf: str) -> Resource:
    return resource(WORKSPACE_CONF, {"customConfig": conf}, "conf")


def test_tokens_past_90_days_or_pats_in_an_oidc_tier_violate() -> None:
    good = _conf_resource(maxTokenLifetimeDays="30", enableTokensConfig="false")
    assert findings("tokens-limited", _workspace_with(good)) == []
    long = _conf_resource(maxTokenLifetimeDays="365", enableTokensConfig="false")
    one(findings("tokens-limited", _workspace_with(long)), "maxTokenLifetimeDays is '365'")
    pats = _conf_resource(maxTokenLifetimeDays="30", enableTokensConfig="true")
    one(findings("tokens-limited", _workspace_with(pats)), "OIDC only")
    # dev's row keeps personal access tokens.
    assert findings("tokens-limited", _workspace_with(pats), DEV) == []
    one(findings("tokens-limited", _workspace_with()), "no WorkspaceConf")


def test_legacy_dbfs_left_on_violates() -> None:
    conf = _conf_resource(enableDbfsFileBrowser="false")
    access = resource(LEGACY_ACCESS, {"disableLegacyAccess": {"value": True}}, "access")
    dbfs_on = resource(LEGACY_DBFS, {"disableLegacyDbfs": {"value": False}}, "dbfs")
    dbfs_off = resource(LEGACY_DBFS, {"disableLegacyDbfs": {"value": True}}, "dbfs")
    assert findings("legacy-features-off", _workspace_with(conf, access, dbfs_off)) == []
    one(findings("legacy-features-off", _workspace_with(conf, access, dbfs_on)), "DBFS root")


def test_monitoring_and_cluster_update_off_violate() -> None:
    esm = resource(
        SECURITY_MONITORING, {"enhancedSecurityMonitoringWorkspace": {"isEnabled": False}}
    )
    one(findings("enhanced-security-monitoring", _workspace_with(esm)), "isEnabled is false")
    update = resource(CLUSTER_UPDATE, {"automaticClusterUpdateWorkspace": {"enabled": False}})
    one(findings("automatic-cluster-update", _workspace_with(update)), "enabled is false")
    on = resource(CLUSTER_UPDATE, {"automaticClusterUpdateWorkspace": {"enabled": True}})
    assert findings("automatic-cluster-update", _workspace_with(on)) == []


def _serverless(mode: str) -> list[Resource]:
    return _workspace_with(
        resource(NCC_BINDING, {"workspaceId": "1"}, "binding"),
        resource(NCC_RULE, {"groupId": "dfs"}, "dfs"),
        resource(NCC_RULE, {"groupId": "blob"}, "blob"),
        resource(
            NETWORK_POLICY,
            {"networkPolicyId": "np", "egress": {"networkAccess": {"restrictionMode": mode}}},
            "policy",
        ),
        resource(NETWORK_OPTION, {"workspaceId": "1", "networkPolicyId": "np"}, "option"),
    )


def test_full_serverless_egress_violates() -> None:
    assert findings("serverless-egress-restricted", _serverless("RESTRICTED_ACCESS")) == []
    one(findings("serverless-egress-restricted", _serverless("FULL_ACCESS")), "'FULL_ACCESS'")


def test_a_public_prod_front_end_without_an_allow_list_violates() -> None:
    public = resource(WORKSPACE, {**PRIVATE_WORKSPACE, "publicNetworkAccess": "Enabled"})
    rule = "prod-public-front-end-has-ip-access-list"
    one(findings(rule, [public]), "no enabled IP access list")
    allow = resource(IP_ACCESS_LIST, {"listType": "ALLOW", "ipAddresses": ["203.0.113.0/24"]})
    conf = _conf_resource(enableIpAccessLists="true")
    assert findings(rule, [public, allow, conf]) == []


def test_every_posture_rule_names_the_sat_checks_it_decides() -> None:
    checks = {check for rule in RULES for check in rule.sat}
    assert {"NS-3", "NS-4", "NS-5", "NS-6", "IA-5", "GOV-11", "GOV-36", "INFO-40"} <= checks
    readme = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    for check in checks:
        assert f"| {check} |" in readme, check
    for rule in RULES:
        if rule.sat:
            assert f"`{rule.name}`" in readme, rule.name


# ---------------------------------------------------------------------------------- main

PROTECTED_MAIN = {
    "pattern": "main",
    "allowsForcePushes": False,
    "allowsDeletions": False,
    "requiredPullRequestReviews": [{"requiredApprovingReviewCount": 2}],
}


def test_main_protected_with_approvals_and_no_force_push_passes() -> None:
    assert violations("main-requires-review", resource(BRANCH_PROTECTION, PROTECTED_MAIN)) == []


def test_main_without_approvals_violates() -> None:
    zero = {**PROTECTED_MAIN, "requiredPullRequestReviews": [{"requiredApprovingReviewCount": 0}]}
    one(
        violations("main-requires-review", resource(BRANCH_PROTECTION, zero)),
        "requiredApprovingReviewCount is 0",
    )
    no_reviews = {**PROTECTED_MAIN, "requiredPullRequestReviews": []}
    one(violations("main-requires-review", resource(BRANCH_PROTECTION, no_reviews)), "pull request")


def test_main_allowing_force_pushes_violates() -> None:
    forced = resource(BRANCH_PROTECTION, {**PROTECTED_MAIN, "allowsForcePushes": True})
    one(violations("main-requires-review", forced), "allowsForcePushes is true")


def test_the_review_rule_is_about_the_configured_main_branch_only() -> None:
    develop = {**PROTECTED_MAIN, "pattern": "develop", "allowsForcePushes": True}
    assert violations("main-requires-review", resource(BRANCH_PROTECTION, develop)) == []
    trunk = StackContext("prod", main_branch="trunk")
    open_trunk = {**develop, "pattern": "trunk"}
    one(violations("main-requires-review", resource(BRANCH_PROTECTION, open_trunk), trunk))


def test_an_azure_devops_main_policy_without_reviewers_violates() -> None:
    scope = [{"repositoryRef": "refs/heads/main", "matchType": "Exact"}]
    policy = {"enabled": True, "blocking": True, "settings": {"reviewerCount": 0, "scopes": scope}}
    one(
        violations("main-requires-review", resource(ADO_MIN_REVIEWERS, policy)),
        "reviewerCount is 0",
    )
    policy["settings"] = {"reviewerCount": 2, "scopes": scope}
    assert violations("main-requires-review", resource(ADO_MIN_REVIEWERS, policy)) == []


def test_a_created_repository_with_main_protected_passes() -> None:
    stack = [
        resource(GITHUB_REPOSITORY, {"name": "dataops"}),
        resource(BRANCH_PROTECTION, PROTECTED_MAIN, "protect-main"),
    ]
    assert findings("main-is-protected", stack) == []
    ruleset = {
        "enforcement": "active",
        "conditions": {"refName": {"includes": ["refs/heads/main"]}},
        "rules": {"nonFastForward": True, "pullRequest": {"requiredApprovingReviewCount": 1}},
    }
    with_ruleset = [stack[0], resource(REPOSITORY_RULESET, ruleset, "main-rules")]
    assert findings("main-is-protected", with_ruleset) == []


def test_a_created_repository_with_main_unprotected_violates() -> None:
    repository = resource(GITHUB_REPOSITORY, {"name": "dataops"})
    develop_only = resource(BRANCH_PROTECTION, {**PROTECTED_MAIN, "pattern": "develop"}, "dev")
    one(findings("main-is-protected", [repository, develop_only]), repository.urn, "main has no")
    ado = resource(ADO_REPOSITORY, {"name": "dataops"})
    one(findings("main-is-protected", [ado]), ado.urn, "minimum-reviewers")


# ------------------------------------------------------------------------ Unity Catalog


def _catalog_stack(
    mode: str = "ISOLATED", bound_to: Any = WORKSPACE_ID, assigned: Any = WORKSPACE_ID
) -> list[Resource]:
    stack = [
        resource(METASTORE_ASSIGNMENT, {"workspaceId": assigned}, "assignment"),
        resource(CATALOG, {"name": "prod", "isolationMode": mode}, "catalog-prod"),
    ]
    if bound_to is not None:
        binding = {"securableName": "prod", "securableType": "catalog", "workspaceId": bound_to}
        stack.append(resource(WORKSPACE_BINDING, binding, "catalog-prod-binding"))
    return stack


def test_an_isolated_catalog_bound_to_its_workspace_passes() -> None:
    assert findings("catalogs-bound-to-workspace", _catalog_stack()) == []
    # The real engine hands a numeric output as a float; it is the same workspace.
    assert (
        findings("catalogs-bound-to-workspace", _catalog_stack(bound_to=7608011474001522.0)) == []
    )


def test_an_open_catalog_violates() -> None:
    one(
        findings("catalogs-bound-to-workspace", _catalog_stack(mode="OPEN")), "isolationMode 'OPEN'"
    )


def test_a_catalog_without_a_binding_violates() -> None:
    one(
        findings("catalogs-bound-to-workspace", _catalog_stack(bound_to=None)),
        "no WorkspaceBinding",
    )


def test_a_catalog_bound_to_another_workspace_violates() -> None:
    found = findings("catalogs-bound-to-workspace", _catalog_stack(bound_to="1234"))
    assert any("binds catalog 'prod' to workspace 1234" in f for f in found), found
    assert any("no WorkspaceBinding" in f for f in found), found


def test_a_catalog_binding_not_known_until_deploy_is_not_judged() -> None:
    stack = _catalog_stack(bound_to=UNKNOWN_STRING_VALUE, assigned=UNKNOWN_STRING_VALUE)
    assert findings("catalogs-bound-to-workspace", stack) == []


def test_grants_to_groups_pass() -> None:
    grants = {"grants": [{"principal": "prod-analysts", "privileges": ["SELECT"]}]}
    assert violations("no-user-grants", resource(GRANTS, grants)) == []


def test_a_grant_naming_a_user_violates() -> None:
    grants = {
        "grants": [
            {"principal": "prod-analysts", "privileges": ["SELECT"]},
            {"principal": "eva.lind@datanova.eu", "privileges": ["SELECT"]},
        ]
    }
    one(violations("no-user-grants", resource(GRANTS, grants)), "grants[1].principal", "eva.lind")
    single = {"principal": "ben.okafor@datanova.eu", "privileges": ["MODIFY"]}
    one(violations("no-user-grants", resource(GRANT, single)), "ben.okafor")


# --------------------------------------------------------------------------------- jobs

RUNNER = "72f406f6-f0e6-53f3-a70d-17dfdfa7c0b7"


def test_a_prod_job_running_as_a_service_principal_passes() -> None:
    job = resource(JOB, {"name": "git-sync", "runAs": {"servicePrincipalName": RUNNER}})
    assert violations("prod-jobs-run-as-service-principal", job) == []


def test_a_prod_job_running_as_a_user_or_its_owner_violates() -> None:
    as_user = resource(JOB, {"name": "git-sync", "runAs": {"userName": "ana.costa@datanova.eu"}})
    one(violations("prod-jobs-run-as-service-principal", as_user), "ana.costa@datanova.eu")
    as_owner = resource(JOB, {"name": "git-sync"})
    one(violations("prod-jobs-run-as-service-principal", as_owner), "as its owner")


def test_jobs_outside_prod_may_run_as_the_deployer() -> None:
    job = resource(JOB, {"name": "git-sync"})
    assert evaluate([job], DEV) == [] and evaluate([job], STAGING) == []


# ------------------------------------------------------------------------------ outputs


def _stack(outputs: Mapping[str, Any]) -> Resource:
    return resource(STACK, outputs, "dataops-prod")


def test_outputs_without_secrets_pass() -> None:
    outputs = {"keyVaultUri": "https://kv.vault.azure.net/", "workspaceUrl": "https://adb-1.net"}
    assert findings("no-secret-outputs", [_stack(outputs)]) == []


def test_an_output_named_like_a_secret_in_clear_violates() -> None:
    one(
        findings("no-secret-outputs", [_stack({"gitSyncToken": "ghp_abc"})]),
        "gitSyncToken",
        "token",
    )
    nested = {"storage": {"primaryKey": "abc=="}}
    one(findings("no-secret-outputs", [_stack(nested)]), "storage.primaryKey")


def test_an_output_holding_a_secret_config_value_violates() -> None:
    secret = secret_placeholder("dataops:teamsWebhookUrl")
    context = StackContext("prod", secret_values=frozenset({secret}))
    leak = _stack({"notifications": {"webhook": f"{secret}"}})
    one(findings("no-secret-outputs", [leak], context), "notifications.webhook", "secure config")


def test_a_masked_secret_output_passes_offline() -> None:
    # The offline engine sees Output.secret as the mask; the real pack cannot (rules.py).
    assert findings("no-secret-outputs", [_stack({"gitSyncToken": SECRET_MASK})]) == []


def test_secret_names_are_told_from_ordinary_ones() -> None:
    assert [secret_word(n) for n in ("apiKey", "clientSecret", "adminPassword", "sasToken")] == [
        "key",
        "secret",
        "password",
        "sas",
    ]
    for ordinary in ("keyVaultUri", "deployerClientId", "storageAccountName", "accessConnectorId"):
        assert secret_word(ordinary) is None, ordinary


# ---------------------------------------------------------------------------- protection


def test_protected_prod_data_passes() -> None:
    for type_ in (STORAGE_ACCOUNT, BLOB_CONTAINER, KEY_VAULT, CATALOG):
        assert violations("prod-data-protected", resource(type_, {}, protect=True)) == []


def test_a_dashboard_published_with_viewer_credentials_passes() -> None:
    dashboard = resource(DASHBOARD, {"displayName": "Backup health", "embedCredentials": False})
    assert violations("dashboards-use-viewer-credentials", dashboard) == []


@pytest.mark.parametrize(("embed", "shown"), [(True, "true"), (None, "unset")])
def test_a_dashboard_embedding_the_publishers_credentials_violates(
    embed: bool | None, shown: str
) -> None:
    props = {"displayName": "Backup health"} | (
        {} if embed is None else {"embedCredentials": embed}
    )
    one(
        violations("dashboards-use-viewer-credentials", resource(DASHBOARD, props)),
        f"embedCredentials is {shown}",
    )


@pytest.mark.parametrize("minutes", [10, None])
def test_a_warehouse_that_stops_when_idle_passes(minutes: int | None) -> None:
    props = {"clusterSize": "Small"} | ({} if minutes is None else {"autoStopMins": minutes})
    assert violations("warehouses-stop-when-idle", resource(SQL_WAREHOUSE, props)) == []


def test_a_warehouse_that_never_stops_violates() -> None:
    warehouse = resource(SQL_WAREHOUSE, {"clusterSize": "Small", "autoStopMins": 0})
    one(violations("warehouses-stop-when-idle", warehouse), "autoStopMins is 0")


def test_unprotected_prod_data_violates() -> None:
    one(violations("prod-data-protected", resource(CATALOG, {"name": "prod"})), "protect is off")


# ---------------------------------------------------------------------------- enforcement


def test_rules_are_mandatory_in_staging_and_prod_and_advisory_in_dev() -> None:
    platform_rules = [rule for rule in RULES if not rule.name.startswith("sandbox-")]
    for rule in platform_rules:
        prod_only = rule.name.startswith("prod-")
        assert enforcement(rule, "prod") is Enforcement.MANDATORY, rule.name
        assert enforcement(rule, "staging") is (
            Enforcement.DISABLED if prod_only else Enforcement.MANDATORY
        ), rule.name
        # A posture rule binds where the tier's row turns its control on: dev's row leaves
        # Private Link, CMK, monitoring, cluster update and serverless egress off, so those
        # rules are off there; every other rule is advisory in dev.
        in_dev = "dev" in rule.tiers
        assert enforcement(rule, "dev") is (
            Enforcement.ADVISORY if in_dev else Enforcement.DISABLED
        ), rule.name
        assert in_dev or prod_only or rule.tiers == frozenset({"staging", "prod"}), rule.name
        # A pack run where the tier cannot be read enforces everything prod does.
        assert enforcement(rule, None) is Enforcement.MANDATORY, rule.name
        # The platform rules judge what only a platform stack creates; in a sandbox only
        # the generic ones bind (mandatory: a sandbox is deployed from a laptop).
        generic = rule.name == "no-secret-outputs"
        assert enforcement(rule, "sandbox") is (
            Enforcement.MANDATORY if generic else Enforcement.DISABLED
        ), rule.name


def test_sandbox_rules_are_mandatory_in_sandboxes_only() -> None:
    sandbox_rules = [rule for rule in RULES if rule.name.startswith("sandbox-")]
    assert len(sandbox_rules) == 6
    for rule in sandbox_rules:
        assert enforcement(rule, "sandbox") is Enforcement.MANDATORY, rule.name
        for tier in ("dev", "staging", "prod", None):
            assert enforcement(rule, tier) is Enforcement.DISABLED, (rule.name, tier)


def test_the_pack_registers_every_rule_at_the_enforcement_of_the_tier() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names)) >= 12
    for tier in ("dev", "staging", "prod", None):
        policies = build_policies(StackContext(tier))
        assert [p.name for p in policies] == names
        for policy, rule in zip(policies, RULES, strict=True):
            kind = (
                ResourceValidationPolicy
                if isinstance(rule, ResourceRule)
                else StackValidationPolicy
            )
            assert isinstance(policy, kind), rule.name
            assert policy.enforcement_level == EnforcementLevel(enforcement(rule, tier).value)
            assert policy.description == rule.description


def test_the_pack_reads_the_tier_and_main_branch_from_the_stack_config() -> None:
    config = {
        "dataops:environment": "staging",
        "dataops:sourceControl": json.dumps({"provider": "github", "mainBranch": "trunk"}),
        "dataops:gitCredentialToken": "github_pat_0123456789",
    }
    context = context_from_environment({"PULUMI_CONFIG": json.dumps(config)})
    assert context == StackContext(
        "staging", main_branch="trunk", secret_values=frozenset({"github_pat_0123456789"})
    )
    assert context_from_environment({}) == StackContext(None)


def test_the_rules_share_the_engine_s_masks_and_secret_keys() -> None:
    assert set(SECRET_CONFIG_KEYS) == set(SECRET_KEYS)
    assert (SECRET_MASK, UNKNOWN_MASK) == ("[secret]", UNKNOWN)


def test_unknown_values_reach_the_rules_as_unknown() -> None:
    proxied = unknown_checking_proxy({"a": [UNKNOWN_STRING_VALUE, {"b": UNKNOWN_STRING_VALUE}]})
    assert plain(proxied) == {"a": [UNKNOWN, {"b": UNKNOWN}]}


def test_the_cli_runs_the_pack_with_python_in_the_virtualenv_policy_setup_creates() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "policy" / "PulumiPolicy.yaml").read_text("utf-8"))
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": ".venv"}}
    tasks = yaml.safe_load((PROJECT_ROOT / "Taskfile.yml").read_text(encoding="utf-8"))["tasks"]
    assert tasks["policy:setup"]["generates"] == ["policy/.venv/bin/python"]
    requirements = (PROJECT_ROOT / "policy" / "requirements.txt").read_text(encoding="utf-8")
    assert "pulumi-policy" in requirements and "\npulumi>=" in requirements


@pytest.fixture
def running_pack() -> Any:
    """The pack as the Pulumi CLI starts it: `python -m pulumi.policy <engine> .` in policy/.

    The CLI passes the stack's config in PULUMI_CONFIG; the pack answers on the port it
    prints. The test is the engine: it calls the analyzer over gRPC. (The CLI's python is
    policy/.venv's; this one has the same two packages, from requirements-dev.txt.)
    """
    config = {"dataops:environment": "prod", "dataops:gitCredentialToken": "github_pat_0123456789"}
    env = dict(
        os.environ,
        PULUMI_CONFIG=json.dumps(config),
        PULUMI_PROJECT="dataops",
        PULUMI_STACK="prod",
        PULUMI_DRY_RUN="true",
    )
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=PROJECT_ROOT / "policy",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.communicate(timeout=30)


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def test_the_pack_the_cli_runs_registers_every_rule_and_stops_a_violation(
    running_pack: Any,
) -> None:
    info = running_pack.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "dataops"
    assert [p.name for p in info.policies] == [rule.name for rule in RULES]
    # The tier cannot be read here: everything prod enforces is mandatory; the sandbox
    # rules, which bind sandboxes only, are off.
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert {n for n, level in levels.items() if level == analyzer_pb2.DISABLED} == {
        rule.name for rule in RULES if rule.name.startswith("sandbox-")
    }
    assert set(levels.values()) == {analyzer_pb2.MANDATORY, analyzer_pb2.DISABLED}

    zero = {**PROTECTED_MAIN, "requiredPullRequestReviews": [{"requiredApprovingReviewCount": 0}]}
    urn = "urn:pulumi:prod::dataops::github:index/branchProtection:BranchProtection::protect-main"
    request = analyzer_pb2.AnalyzeRequest(
        type=BRANCH_PROTECTION, name="protect-main", urn=urn, properties=_struct(zero)
    )
    (diagnostic,) = running_pack.Analyze(request, timeout=30).diagnostics
    assert diagnostic.policyName == "main-requires-review"
    assert diagnostic.enforcementLevel == analyzer_pb2.MANDATORY
    assert "requiredApprovingReviewCount is 0" in diagnostic.message

    stack_urn = "urn:pulumi:prod::dataops::pulumi:pulumi:Stack::dataops-prod"
    root = analyzer_pb2.AnalyzerResource(
        type=STACK,
        name="dataops-prod",
        urn=stack_urn,
        properties=_struct({"cloneUrl": "https://x:github_pat_0123456789@github.com/d/d.git"}),
    )
    stack = running_pack.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[root]))
    (leak,) = stack.diagnostics
    assert leak.policyName == "no-secret-outputs" and leak.urn == stack_urn
    assert "output cloneUrl holds the value of a secure config key" in leak.message


# ------------------------------------------------------------------- the shipped stacks


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_shipped_stacks_break_no_rule(plan: PlanOf, stack: str) -> None:
    report = check_plan(plan(stack))
    assert report.violations == (), report.lines()
    assert report.tier == stack


def test_the_prod_plan_gives_every_rule_something_to_judge(plan: PlanOf) -> None:
    # Resource rules that see no resource of their types pass vacuously; the stack's
    # outputs, bindings and data must be there for the rules to mean anything.
    types = {r.type for r in plan_resources(plan("prod"))}
    for rule in RULES:
        if isinstance(rule, ResourceRule) and rule.types != {JOB}:
            # Jobs: judged on synthetic inputs above, and on the plan once the layer exists.
            assert rule.types & types, rule.name
    assert {STACK, CATALOG, WORKSPACE_BINDING, METASTORE_ASSIGNMENT, GITHUB_REPOSITORY} <= types


def test_prod_jobs_in_the_plan_run_as_a_service_principal(plan: PlanOf) -> None:
    prod = plan("prod")
    jobs = [r for r in plan_resources(prod) if r.type == JOB]
    rule = rule_named("prod-jobs-run-as-service-principal")
    assert isinstance(rule, ResourceRule)
    for job in jobs:
        assert rule.violations(job, StackContext("prod")) == [], job.name
    if not jobs:
        pytest.skip("the jobs layer registers no databricks Job yet")


# ------------------------------------------------------------ python -m dataops plan


def _write_root(tmp_path: Path, stack: str, document: StackDocument) -> Path:
    shutil.copy(PROJECT_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def _dataops(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in process: the same main() as `python -m dataops`, minus the interpreter start."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(["--root", str(root), *args])
    return subprocess.CompletedProcess(list(args), status, stdout.getvalue(), stderr.getvalue())


def _no_approvals(document: StackDocument) -> StackDocument:
    github = document["config"]["dataops:sourceControl"]["github"]
    github["manageRepository"] = True
    github.setdefault("mainProtection", {})["requiredApprovals"] = 0
    return document


def test_main_without_approvals_in_prod_fails_the_plan_naming_rule_and_resource(
    tmp_path: Path, stack_document: DocumentOf
) -> None:
    root = _write_root(tmp_path, "prod", _no_approvals(stack_document("prod")))
    result = subprocess.run(
        [sys.executable, "-m", "dataops", "--root", str(root), "plan", "prod"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        "policy: [mandatory] main-requires-review (github:index/branchProtection:BranchProtection "
        "datanova-prod-source-protect-main): requiredApprovingReviewCount is 0: main needs at "
        "least 1 approving review",
        "policy: 1 mandatory violation, 0 advisory (27 rules enabled in prod, stack prod): "
        "the plan is not deployable",
    ]
    assert "datanova-prod-source-protect-main" in result.stdout, "the plan is still printed"


def test_the_same_break_in_dev_is_a_warning(tmp_path: Path, stack_document: DocumentOf) -> None:
    root = _write_root(tmp_path, "dev", _no_approvals(stack_document("dev")))
    result = _dataops(root, "plan", "dev")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "policy: [advisory] main-requires-review (github:index/branchProtection:BranchProtection "
        "datanova-dev-source-protect-main): requiredApprovingReviewCount is 0: main needs at "
        "least 1 approving review",
        "policy: 0 mandatory violations, 1 advisory (14 rules enabled in dev, stack dev)",
    ]


def test_plan_json_stays_json_and_no_policy_skips_the_pack(
    tmp_path: Path, stack_document: DocumentOf
) -> None:
    root = _write_root(tmp_path, "prod", _no_approvals(stack_document("prod")))
    result = _dataops(root, "plan", "prod", "--json", "-")
    assert result.returncode == 1
    assert json.loads(result.stdout)["stack"] == "prod"
    assert "[mandatory] main-requires-review" in result.stderr
    skipped = _dataops(root, "plan", "prod", "--no-policy")
    assert (skipped.returncode, skipped.stderr) == (0, "")


def test_azure_devops_main_without_reviewers_in_prod_fails_the_plan(
    tmp_path: Path, stack_document: DocumentOf
) -> None:
    document = stack_document("prod")
    document["config"]["dataops:sourceControl"] = {
        "provider": "azuredevops",
        "azureDevops": {
            "organizationUrl": "https://dev.azure.com/datanova",
            "project": "Data Platform",
            "repository": "dataops",
            "manageProject": True,
            "minimumReviewers": 0,
        },
    }
    result = _dataops(_write_root(tmp_path, "prod", document), "plan", "prod")
    assert result.returncode == 1, result.stderr
    (violation, _) = result.stderr.splitlines()
    assert violation.startswith(f"policy: [mandatory] main-requires-review ({ADO_MIN_REVIEWERS} ")
    assert violation.endswith("settings.reviewerCount is 0: main needs at least 1 reviewer")


def test_a_secret_placeholder_in_the_outputs_fails_the_plan(plan: PlanOf) -> None:
    # The program exports no secret; a hand edit that did would show the placeholder.
    prod = plan("prod")
    secret = secret_placeholder("dataops:gitCredentialToken")
    leaked = Plan(prod.stack, prod.config, prod.resources, {**prod.outputs, "cloneUrl": secret})
    (violation,) = check_plan(leaked, frozenset({secret})).mandatory
    assert (violation.rule, violation.resource) == ("no-secret-outputs", f"{STACK} dataops-prod")


def test_a_diff_against_a_ref_that_breaks_a_rule_still_renders(tmp_path: Path) -> None:
    # The "before" side is planned with --no-policy: a pull request fixing a violation
    # must be able to show its diff.
    root = tmp_path / "repo"
    shutil.copytree(
        PROJECT_ROOT,
        root,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "tests", "bench", "node_modules", "__pycache__", ".*cache"
        ),
    )
    prod = root / "Pulumi.prod.yaml"
    fixed = prod.read_text(encoding="utf-8")
    prod.write_text(fixed.replace("requiredApprovals: 2", "requiredApprovals: 0"), "utf-8")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "broken")
    prod.write_text(fixed, encoding="utf-8")
    result = _dataops(root, "diff", "prod", "--against", "HEAD")
    assert result.returncode == 0, result.stderr
    assert "datanova-<stack>-source-protect-main" in result.stdout, result.stdout
    assert '"requiredApprovingReviewCount": 0}] -> [' in result.stdout, result.stdout


# ---------------------------------------------------------------------------- sandboxes

SANDBOX_NAMES = SandboxNames("ben.okafor@datanova.eu", "feature/orders-v2")
SANDBOX = StackContext("sandbox", sandbox=SandboxContext.of(SANDBOX_NAMES))
SANDBOX_JOB = {
    "name": SANDBOX_NAMES.job("medallion"),
    "runAs": {"userName": "ben.okafor@datanova.eu"},
    "emailNotifications": {"onFailures": ["ben.okafor@datanova.eu"]},
    "timeoutSeconds": 3600,
    "schedule": {"quartzCronExpression": "0 0 2 * * ?", "pauseStatus": "PAUSED"},
    "jobClusters": [
        {"jobClusterKey": "m", "newCluster": {"numWorkers": 0, "nodeTypeId": "Standard_DS3_v2"}}
    ],
    "tasks": [{"taskKey": "bronze", "jobClusterKey": "m"}],
}


def _sandbox_resource(type_: str, props: Mapping[str, Any], name: str = "r") -> Resource:
    return Resource(
        type_, name, f"urn:pulumi:{SANDBOX_NAMES.stack}::dataops::{type_}::{name}", props
    )


def test_a_compliant_sandbox_job_passes_every_sandbox_rule() -> None:
    job = _sandbox_resource(JOB, SANDBOX_JOB)
    for name in ("sandbox-schedules-paused", "sandbox-cluster-size", "sandbox-jobs-personal"):
        assert violations(name, job, SANDBOX) == [], name
    assert violations("sandbox-namespace", job, SANDBOX) == []


def test_a_sandbox_creates_no_azure_or_account_resource() -> None:
    allowed = [
        _sandbox_resource("databricks:index/schema:Schema", {"name": "x"}, "schema"),
        _sandbox_resource("pulumi:pulumi:StackReference", {"name": "o/dataops/dev"}, "base"),
        _sandbox_resource("dataops:sandbox:Sandbox", {}, "component"),
        _sandbox_resource(
            "pulumi:providers:databricks", {"host": "https://adb-1.2.azuredatabricks.net"}, "ws"
        ),
    ]
    assert findings("sandbox-workspace-objects-only", allowed, SANDBOX) == []
    for type_, props, fragment in (
        (STORAGE_ACCOUNT, {}, "is an Azure resource"),
        ("databricks:index/group:Group", {}, "is an account-level Databricks object"),
        (CATALOG, {"name": "mine"}, "is not a sandbox object"),
        ("pulumi:providers:databricks", {"accountId": "a"}, "is an account-level provider"),
        (
            "pulumi:providers:databricks",
            {"host": "https://accounts.azuredatabricks.net"},
            "is an account-level provider",
        ),
    ):
        found = findings(
            "sandbox-workspace-objects-only",
            [*allowed, _sandbox_resource(type_, props, "bad")],
            SANDBOX,
        )
        one(found, fragment)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("organization/dataops/prod", "never reads staging, prod or another sandbox"),
        ("organization/dataops/staging", "never reads staging, prod or another sandbox"),
        ("organization/dataops/sandbox-chloe-x-0123456789", "another sandbox"),
        ("organization/dataops/qa", "not its base stack 'dev'"),
    ],
)
def test_a_sandbox_reads_its_base_stack_only(name: str, fragment: str) -> None:
    reference = _sandbox_resource("pulumi:pulumi:StackReference", {"name": name}, "ref")
    one(findings("sandbox-reads-its-base-only", [reference], SANDBOX), fragment)
    base = _sandbox_resource("pulumi:pulumi:StackReference", {"name": "organization/dataops/dev"})
    assert findings("sandbox-reads-its-base-only", [base], SANDBOX) == []


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"schedule": {"quartzCronExpression": "0 0 2 * * ?", "pauseStatus": "UNPAUSED"}},
            "schedule.pauseStatus is 'UNPAUSED'",
        ),
        ({"continuous": {}}, "continuous.pauseStatus is unset"),
        (
            {"trigger": {"pauseStatus": "UNPAUSED", "fileArrival": {"url": "x"}}},
            "trigger.pauseStatus",
        ),
    ],
)
def test_a_sandbox_job_never_runs_on_its_own(change: dict[str, Any], fragment: str) -> None:
    job = _sandbox_resource(JOB, {**SANDBOX_JOB, **change})
    one(violations("sandbox-schedules-paused", job, SANDBOX), fragment)


@pytest.mark.parametrize(
    ("cluster", "job_change", "fragment"),
    [
        ({"numWorkers": 4, "nodeTypeId": "Standard_DS3_v2"}, {}, "has workers"),
        (
            {"autoscale": {"minWorkers": 1, "maxWorkers": 8}, "nodeTypeId": "Standard_DS3_v2"},
            {},
            "has workers",
        ),
        (
            {"numWorkers": 0, "nodeTypeId": "Standard_E64s_v5"},
            {},
            "'Standard_E64s_v5', bigger than",
        ),
        (
            {
                "numWorkers": 0,
                "nodeTypeId": "Standard_DS3_v2",
                "driverNodeTypeId": "Standard_E64s_v5",
            },
            {},
            "driverNodeTypeId",
        ),
        ({"numWorkers": 0}, {}, "nodeTypeId is unset"),
        (
            {"numWorkers": 0, "nodeTypeId": "Standard_DS3_v2"},
            {"timeoutSeconds": 0},
            "timeout is unset",
        ),
        (
            {"numWorkers": 0, "nodeTypeId": "Standard_DS3_v2"},
            {"timeoutSeconds": 86400},
            "86400 seconds",
        ),
    ],
)
def test_a_sandbox_job_cluster_stays_small(
    cluster: dict[str, Any], job_change: dict[str, Any], fragment: str
) -> None:
    job = _sandbox_resource(
        JOB,
        {
            **SANDBOX_JOB,
            **job_change,
            "jobClusters": [{"jobClusterKey": "m", "newCluster": cluster}],
        },
    )
    one(violations("sandbox-cluster-size", job, SANDBOX), fragment)


def test_every_task_bounded_bounds_the_run() -> None:
    # The git sync bounds its task, not the job: that counts when every task is bounded.
    tasks = [{"taskKey": "a", "timeoutSeconds": 600}, {"taskKey": "b", "timeoutSeconds": 900}]
    bounded = _sandbox_resource(JOB, {**SANDBOX_JOB, "timeoutSeconds": None, "tasks": tasks})
    assert violations("sandbox-cluster-size", bounded, SANDBOX) == []
    tasks[1] = {"taskKey": "b"}
    unbounded = _sandbox_resource(JOB, {**SANDBOX_JOB, "timeoutSeconds": None, "tasks": tasks})
    one(violations("sandbox-cluster-size", unbounded, SANDBOX), "timeout is unset")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (
            {"runAs": {"servicePrincipalName": "5ceae852-4e82-5c0c-8ebb-c6785e9803c5"}},
            "runAs.userName is unset",
        ),
        ({"runAs": {"userName": "chloe.martin@datanova.eu"}}, "'chloe.martin@datanova.eu'"),
        (
            {"emailNotifications": {"onFailures": ["ben.okafor@datanova.eu", "team@datanova.eu"]}},
            "['team@datanova.eu']",
        ),
        (
            {"webhookNotifications": {"onFailures": [{"id": "teams"}]}},
            "webhookNotifications is set",
        ),
    ],
)
def test_a_sandbox_job_is_personal(change: dict[str, Any], fragment: str) -> None:
    job = _sandbox_resource(JOB, {**SANDBOX_JOB, **change})
    one(violations("sandbox-jobs-personal", job, SANDBOX), fragment)


@pytest.mark.parametrize(
    ("type_", "props", "fragment"),
    [
        (
            "databricks:index/schema:Schema",
            {"name": "bronze", "catalogName": "dev"},
            "name 'bronze'",
        ),
        (GRANTS, {"schema": "dev.gold", "grants": []}, "schema 'dev.gold'"),
        (GRANTS, {"catalog": "dev", "grants": []}, "catalog 'dev'"),
        (
            JOB,
            {**SANDBOX_JOB, "name": "[sandbox ben.okafor x] medallion"},
            "name '[sandbox ben.okafor x] medallion'",
        ),
        (
            "databricks:index/notebook:Notebook",
            {"path": "/Shared/dataops/dev/x"},
            "path '/Shared/dataops/dev/x'",
        ),
        ("databricks:index/directory:Directory", {"path": "/Users/ben.okafor@datanova.eu"}, "path"),
        (
            "databricks:index/permissions:Permissions",
            {"directoryPath": "/Shared"},
            "directoryPath '/Shared'",
        ),
        (
            "databricks:index/permissions:Permissions",
            {"clusterPolicyId": "p"},
            "not a job or the sandbox's folder",
        ),
        ("databricks:index/secretScope:SecretScope", {"name": "dataops"}, "name 'dataops'"),
        ("databricks:index/secret:Secret", {"scope": "dataops", "key": "k"}, "scope 'dataops'"),
    ],
)
def test_nothing_outside_the_sandbox_namespace(
    type_: str, props: dict[str, Any], fragment: str
) -> None:
    one(violations("sandbox-namespace", _sandbox_resource(type_, props), SANDBOX), fragment)
    inside = {
        "databricks:index/schema:Schema": {"name": SANDBOX_NAMES.schema("bronze")},
        "databricks:index/notebook:Notebook": {"path": f"{SANDBOX_NAMES.code_folder}/x"},
        "databricks:index/secretScope:SecretScope": {"name": SANDBOX_NAMES.secret_scope},
    }
    if type_ in inside:
        assert (
            violations("sandbox-namespace", _sandbox_resource(type_, inside[type_]), SANDBOX) == []
        )


def test_the_pack_reads_the_sandbox_namespace_from_the_stack_config() -> None:
    settings = {"user": "Ben.Okafor@datanova.eu", "branch": "feature/orders-v2", "baseStack": "dev"}
    context = stack_context_from_config(
        {"dataops:environment": "sandbox", "dataops:sandbox": json.dumps(settings)}
    )
    assert context.tier == "sandbox" and context.sandbox == SandboxContext.of(SANDBOX_NAMES)
    # Unreadable: nothing is inside a namespace nobody can derive.
    broken = stack_context_from_config(
        {"dataops:environment": "sandbox", "dataops:sandbox": "not json"}
    )
    assert broken.sandbox is None
    schema = _sandbox_resource(
        "databricks:index/schema:Schema", {"name": SANDBOX_NAMES.schema("x")}
    )
    one(violations("sandbox-namespace", schema, broken), "cannot be read")
