"""The cross-field rules of a stack config: each a named function, all in one list.

A rule raises ``_PathError`` with the key path below the stack config and a one-line
problem; the loader turns that into ``Pulumi.<stack>.yaml: dataops:<path>: <problem>``.
They run in list order, after every section validated on its own, and the first problem
found is the one reported. A rule the cloud enforces carries its source.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic.alias_generators import to_snake

from components.config.azure import NetworkConfig
from components.config.types import MEDALLION_SCHEMAS, _is_under, _PathError
from components.config.unity_catalog import GrantConfig
from components.naming import SHARED_FOLDER, azure_name_problem
from components.secret_keys import SecretKey

if TYPE_CHECKING:
    from components.config.stack import StackConfig


@dataclass(frozen=True)
class CrossFieldRule:
    name: str
    check: Callable[[StackConfig], None]


# Databricks refuses VNet-injection subnets smaller than a /26 (its clusters need the room):
# https://learn.microsoft.com/azure/databricks/security/network/classic/vnet-inject
_DATABRICKS_SUBNET_MAX_PREFIX = 26


def _check_grant_groups(
    grants: Sequence[GrantConfig], groups: set[str], path: tuple[str | int, ...]
) -> None:
    for index, grant in enumerate(grants):
        if grant.group not in groups:
            raise _PathError(
                (*path, index, "group"),
                f"{grant.group!r} is not one of identity.groups {sorted(groups)}; "
                "grants go to groups, never to users",
            )


def grants_name_groups(config: StackConfig) -> None:
    groups = set(config.identity.group_names())
    for ci, catalog in enumerate(config.unity_catalog.catalogs):
        _check_grant_groups(catalog.grants, groups, ("unityCatalog", "catalogs", ci, "grants"))
        for si, schema in enumerate(catalog.schemas):
            _check_grant_groups(
                schema.grants, groups, ("unityCatalog", "catalogs", ci, "schemas", si, "grants")
            )
    _check_grant_groups(
        config.unity_catalog.external_location_grants,
        groups,
        ("unityCatalog", "externalLocationGrants"),
    )


def owners_are_groups(config: StackConfig) -> None:
    groups = set(config.identity.group_names())
    for owner, where in (
        (config.unity_catalog.metastore.owner, ("unityCatalog", "metastore", "owner")),
        (config.unity_catalog.owner, ("unityCatalog", "owner")),
        (config.identity.admin_group, ("identity", "adminGroup")),
    ):
        if owner and owner not in groups:
            raise _PathError(where, f"{owner!r} is not one of identity.groups {sorted(groups)}")


def developers_are_users(config: StackConfig) -> None:
    known_users = {u.email for u in config.identity.users}
    for di, developer in enumerate(config.git_folders.developers):
        if developer not in known_users:
            raise _PathError(
                ("gitFolders", "developers", di), f"{developer!r} is not one of identity.users"
            )


def production_jobs_run_as_job_runner(config: StackConfig) -> None:
    if config.tier.production and config.jobs.run_as != "servicePrincipal":
        raise _PathError(
            ("jobs", "runAs"),
            f"{config.environment.value} jobs must run as the job-runner service principal "
            "('servicePrincipal')",
        )


def deployer_runs_no_code_others_can_edit(config: StackConfig) -> None:
    # Every workspace user may manage what is under /Shared (Databricks' default ACL on
    # the Shared folder: https://learn.microsoft.com/azure/databricks/workspace/workspace-assets#shared),
    # so a job running the deployer's identity from there runs anyone's code as the
    # deployer, a workspace admin.
    folder = config.names("<stack>").code_folder
    if config.jobs.run_as == "deployer" and _is_under(folder, SHARED_FOLDER):
        raise _PathError(
            ("jobs", "runAs"),
            f"'deployer' runs the jobs' code from {folder!r}, under {SHARED_FOLDER}, which "
            "every workspace user may edit, with the deployer's rights; run them as the job "
            "runner ('servicePrincipal'), or set jobs.codeFolder outside /Shared",
        )


def production_keeps_purge_protection(config: StackConfig) -> None:
    if config.tier.protect_data and config.azure.key_vault.purge_protection is False:
        raise _PathError(
            ("azure", "keyVault", "purgeProtection"),
            f"{config.environment.value} Key Vault must keep purge protection on",
        )


def production_workspace_is_premium(config: StackConfig) -> None:
    if config.tier.production and config.azure.workspace.sku != "premium":
        raise _PathError(
            ("azure", "workspace", "sku"),
            f"Unity Catalog governance needs a premium workspace in {config.environment.value}",
        )


def destinations_have_their_webhooks(config: StackConfig) -> None:
    notifications = config.notifications
    for name, on, key in (
        ("teams", notifications.teams, SecretKey.TEAMS_WEBHOOK_URL),
        ("slack", notifications.slack, SecretKey.SLACK_WEBHOOK_URL),
    ):
        if on and key not in config.secrets_set:
            raise _PathError(
                ("notifications", name),
                f"{name} is on but the secret dataops:{key} is not set "
                f"(pulumi config set --secret {key} <url>)",
            )


def observability_names_groups(config: StackConfig) -> None:
    warehouse = config.observability.warehouse
    groups = set(config.identity.group_names())
    for key, names in (
        ("useGroups", warehouse.use_groups),
        ("manageGroups", warehouse.manage_groups),
    ):
        for index, group in enumerate(names):
            if group not in groups:
                raise _PathError(
                    ("observability", "warehouse", key, index),
                    f"{group!r} is not one of identity.groups {sorted(groups)}",
                )
    for index, group in enumerate(warehouse.use_groups):
        if group in warehouse.manage_groups:
            raise _PathError(
                ("observability", "warehouse", "useGroups", index),
                f"{group!r} is also in manageGroups; a group has one permission on a warehouse",
            )


def _check_subnets(network: NetworkConfig) -> None:
    try:
        space = ipaddress.ip_network(network.address_space)
    except ValueError as exc:
        raise _PathError(("azure", "network", "addressSpace"), str(exc)) from None
    subnets = []
    for key, value in (
        ("publicSubnet", network.public_subnet),
        ("privateSubnet", network.private_subnet),
    ):
        try:
            subnet = ipaddress.ip_network(value)
        except ValueError as exc:
            raise _PathError(("azure", "network", key), str(exc)) from None
        if not subnet.subnet_of(space):  # type: ignore[arg-type]
            raise _PathError(("azure", "network", key), f"{value} is not inside {space}")
        if subnet.prefixlen > _DATABRICKS_SUBNET_MAX_PREFIX:
            raise _PathError(
                ("azure", "network", key),
                f"{value} is a /{subnet.prefixlen}; Databricks needs subnets of "
                f"/{_DATABRICKS_SUBNET_MAX_PREFIX} or larger",
            )
        subnets.append(subnet)
    if subnets[0].overlaps(subnets[1]):
        raise _PathError(("azure", "network", "privateSubnet"), "overlaps publicSubnet")


def injected_subnets_fit(config: StackConfig) -> None:
    # Private mode builds on VNet injection: the same subnets, plus the endpoints' one.
    if config.network_mode in ("injected", "private"):
        _check_subnets(config.azure.network)


def _network(value: str, path: tuple[str | int, ...]) -> ipaddress.IPv4Network:
    try:
        network = ipaddress.ip_network(value)
    except ValueError as exc:
        raise _PathError(path, str(exc)) from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise _PathError(path, f"{value} is not an IPv4 network")
    return network


def private_link_subnets_fit(config: StackConfig) -> None:
    if config.network_mode != "private":
        return
    network, link = config.azure.network, config.azure.network.private_link
    where = ("azure", "network", "privateLink")
    space = _network(network.address_space, ("azure", "network", "addressSpace"))
    endpoints = _network(link.endpoint_subnet, (*where, "endpointSubnet"))
    if not endpoints.subnet_of(space):
        raise _PathError((*where, "endpointSubnet"), f"{endpoints} is not inside {space}")
    for key, other in (
        ("publicSubnet", network.public_subnet),
        ("privateSubnet", network.private_subnet),
    ):
        if endpoints.overlaps(_network(other, ("azure", "network", key))):
            raise _PathError((*where, "endpointSubnet"), f"{endpoints} overlaps {key}")
    if link.hub_subnet_id is not None:
        return
    transit = _network(link.transit_address_space, (*where, "transitAddressSpace"))
    if transit.overlaps(space):
        raise _PathError(
            (*where, "transitAddressSpace"), f"{transit} overlaps azure.network.addressSpace"
        )
    front = _network(link.front_end_subnet, (*where, "frontEndSubnet"))
    if not front.subnet_of(transit):
        raise _PathError((*where, "frontEndSubnet"), f"{front} is not inside {transit}")
    if link.ci_runner_subnet is not None:
        runners = _network(link.ci_runner_subnet, (*where, "ciRunnerSubnet"))
        if not runners.subnet_of(transit) or runners.overlaps(front):
            raise _PathError(
                (*where, "ciRunnerSubnet"),
                f"{runners} must be inside {transit} and apart from frontEndSubnet",
            )


# Databricks wraps managed-services and DBFS keys only from a vault with soft delete and
# purge protection: https://learn.microsoft.com/azure/databricks/security/keys/cmk-managed-services-azure/customer-managed-key-managed-services-azure
# ("The key vault must have Soft Delete and Purge Protection enabled").
def customer_managed_keys_need_purge_protection(config: StackConfig) -> None:
    if config.customer_managed_keys and not config.key_vault_purge_protection:
        raise _PathError(
            ("azure", "keyVault", "purgeProtection"),
            "customer-managed keys (azure.encryption) need a vault with purge protection; "
            "set purgeProtection: true or customerManagedKeys: false",
        )


def customer_managed_keys_name_the_databricks_application(config: StackConfig) -> None:
    # The AzureDatabricks first-party application wraps and unwraps the managed-services
    # key; its object id differs per tenant and no resource of this stack reveals it.
    encryption = config.azure.encryption
    if config.customer_managed_keys and encryption.databricks_object_id is None:
        raise _PathError(
            ("azure", "encryption", "databricksObjectId"),
            "customer-managed keys need the object id of the AzureDatabricks application "
            "(az ad sp show --id 2ff814a6-3304-4ab8-85cb-cd0e6f879c1d --query id -o tsv)",
        )


def private_link_needs_premium(config: StackConfig) -> None:
    # https://learn.microsoft.com/azure/databricks/security/network/classic/private-link
    # ("Your workspace must be on the Premium plan"); the same holds for CMK.
    if (
        config.network_mode == "private" or config.customer_managed_keys
    ) and config.azure.workspace.sku != "premium":
        raise _PathError(
            ("azure", "workspace", "sku"),
            "Private Link and customer-managed keys need a premium workspace",
        )


def production_public_front_end_has_ip_access_list(config: StackConfig) -> None:
    hardening = config.azure.workspace.hardening
    if config.tier.production and config.network_mode != "private" and not hardening.ip_access_list:
        raise _PathError(
            ("azure", "workspace", "hardening", "ipAccessList"),
            f"a {config.environment.value} workspace with a public front end needs an IP "
            "access list (or azure.network.mode: private)",
        )


def compliance_standards_need_the_profile(config: StackConfig) -> None:
    hardening = config.azure.workspace.hardening
    if hardening.compliance_standards and not hardening.compliance_security_profile:
        raise _PathError(
            ("azure", "workspace", "hardening", "complianceStandards"),
            "standards are attested by the compliance security profile, which is off",
        )
    # The profile turns enhanced security monitoring on and keeps it on:
    # https://learn.microsoft.com/azure/databricks/security/privacy/security-profile
    if hardening.compliance_security_profile and hardening.enhanced_security_monitoring is False:
        raise _PathError(
            ("azure", "workspace", "hardening", "enhancedSecurityMonitoring"),
            "the compliance security profile keeps enhanced security monitoring on",
        )


def metastore_in_workspace_region(config: StackConfig) -> None:
    region = config.unity_catalog.metastore.region
    if region and region != config.azure.location:
        raise _PathError(
            ("unityCatalog", "metastore", "region"),
            f"{region!r} is not azure.location {config.azure.location!r}; a workspace can "
            "only be assigned a metastore in its own region",
        )


def catalog_containers_distinct_from_zones(config: StackConfig) -> None:
    names = config.names("<stack>")
    zone_containers = {names.zone_container(zone) for zone in config.azure.storage.zones}
    for ci, catalog in enumerate(config.unity_catalog.catalogs):
        container = names.catalog_container(catalog.name)
        if container in zone_containers:
            raise _PathError(
                ("unityCatalog", "catalogs", ci, "name"),
                f"its managed-storage container {container!r} is also a zone container "
                "(azure.storage.zones); rename the catalog or the zone",
            )


def production_deployments_reviewed(config: StackConfig) -> None:
    github = config.source_control.github
    if (
        config.tier.production
        and config.source_control.provider == "github"
        and github is not None
        and not github.environment_reviewers
    ):
        raise _PathError(
            ("sourceControl", "github", "environmentReviewers"),
            f"{config.environment.value} deployments need at least one reviewer (GitHub usernames)",
        )


def git_folders_have_a_credential(config: StackConfig) -> None:
    key = SecretKey.GIT_CREDENTIAL_TOKEN
    if key not in config.secrets_set:
        raise _PathError(
            ("gitFolders",),
            "Git folders clone with the deployer's git credential, whose token is the "
            f"secret dataops:{key}, which is not set "
            f"(pulumi config set --secret {key} <token>)",
        )


def jobs_catalog_exists(config: StackConfig) -> None:
    catalogs = {c.name for c in config.unity_catalog.catalogs}
    if config.jobs.catalog is not None and config.jobs.catalog not in catalogs:
        raise _PathError(
            ("jobs", "catalog"),
            f"{config.jobs.catalog!r} is not one of the catalogs {sorted(catalogs)}",
        )


def jobs_catalog_has_medallion_schemas(config: StackConfig) -> None:
    catalogs = {c.name: c for c in config.unity_catalog.catalogs}
    catalog = catalogs[config.jobs_catalog]
    schemas = {s.name for s in catalog.schemas}
    missing = [s for s in MEDALLION_SCHEMAS if s not in schemas]
    if missing:
        index = config.unity_catalog.catalogs.index(catalog)
        raise _PathError(
            ("unityCatalog", "catalogs", index, "schemas"),
            f"the jobs write bronze, silver and gold in catalog {catalog.name!r}, "
            f"which lacks {missing}",
        )


def medallion_zones_exist(config: StackConfig) -> None:
    zones = config.azure.storage.zones
    if not zones:
        raise _PathError(
            ("azure", "storage", "zones"),
            "is empty; the medallion job reads its deliveries from a zone",
        )
    medallion = config.jobs.medallion
    for key, zone in (
        ("landingZone", medallion.landing_zone),
        ("checkpointZone", medallion.checkpoint_zone),
    ):
        if zone is not None and zone not in zones:
            raise _PathError(
                ("jobs", "medallion", key),
                f"{zone!r} is not one of azure.storage.zones {list(zones)}",
            )


def job_groups_exist_once(config: StackConfig) -> None:
    jobs = config.jobs
    groups = set(config.identity.group_names())
    for key, names in (("runGroups", jobs.run_groups), ("manageGroups", jobs.manage_groups)):
        for index, group in enumerate(names):
            if group not in groups:
                raise _PathError(
                    ("jobs", key, index),
                    f"{group!r} is not one of identity.groups {sorted(groups)}",
                )
    for index, group in enumerate(jobs.run_groups):
        if group in jobs.manage_groups:
            raise _PathError(
                ("jobs", "runGroups", index),
                f"{group!r} is also in manageGroups; a group has one permission on a job",
            )


def https_backup_has_a_token(config: StackConfig) -> None:
    key = SecretKey.GIT_SYNC_TOKEN
    if config.git_sync_uses_token and key not in config.secrets_set:
        raise _PathError(
            ("jobs", "gitSync", "targetRepository"),
            f"an https remote needs the secret dataops:{key}, which is not set "
            f"(pulumi config set --secret {key} <token>); ssh remotes need none",
        )


def production_has_no_sample_data(config: StackConfig) -> None:
    if not config.tier.sample_data and config.jobs.medallion.seed_sample_data:
        raise _PathError(
            ("jobs", "medallion", "seedSampleData"),
            f"{config.environment.value} ingests only what is delivered to landing, "
            "never the sample dataset",
        )


def production_code_outside_shared(config: StackConfig) -> None:
    folder = config.names("<stack>").code_folder
    if config.tier.production and _is_under(folder, SHARED_FOLDER):
        raise _PathError(
            ("jobs", "codeFolder"),
            f"{folder!r} is under {SHARED_FOLDER}, which every workspace user may edit, "
            f"and {config.environment.value} jobs run this code as the job runner; set a "
            f"folder outside it, for example /dataops/{config.environment.value}",
        )


def derived_names_fit_azure(config: StackConfig) -> None:
    """Every Azure name the stack derives follows its resource type's rule, whatever the
    stack is called (rules and sources: components/naming.py, next to Names)."""
    if config.stack_name is None:
        return
    names = config.names(config.stack_name)
    found = azure_name_problem(names)
    if found is not None:
        derived, rule = found.derived, found.derived.rule
        explicit = derived.override_key is not None and _is_set(config, derived.override_key)
        if explicit:
            path: tuple[str | int, ...] = tuple(str(derived.override_key).split("."))
            raise _PathError(
                path,
                f"{derived.name!r} is not a {rule.resource} name Azure accepts: it "
                f"{found.problem} ({rule.description})",
            )
        fix = f"set {derived.override_key}, or " if derived.override_key else ""
        raise _PathError(
            tuple((derived.override_key or "azure").split(".")),
            f"{found.message(config.stack_name)}; {fix}rename the stack",
        )
    # Azure Databricks creates the managed resource group itself and refuses an existing
    # one, the workspace's own included:
    # https://learn.microsoft.com/azure/databricks/getting-started/
    if names.managed_resource_group.lower() == names.resource_group.lower():
        raise _PathError(
            ("azure", "workspace", "managedResourceGroupName"),
            f"{names.managed_resource_group!r} is the workspace's own resource group; "
            "Databricks needs a resource group of its own for the managed resources",
        )


def _is_set(config: StackConfig, dotted: str) -> bool:
    value: object = config
    for part in dotted.split("."):
        value = getattr(value, to_snake(part))
    return value is not None


# In the order they run; the first problem is the one reported.
CROSS_FIELD_RULES: tuple[CrossFieldRule, ...] = tuple(
    CrossFieldRule(check.__name__, check)
    for check in (
        grants_name_groups,
        owners_are_groups,
        developers_are_users,
        production_jobs_run_as_job_runner,
        deployer_runs_no_code_others_can_edit,
        production_keeps_purge_protection,
        production_workspace_is_premium,
        destinations_have_their_webhooks,
        observability_names_groups,
        injected_subnets_fit,
        private_link_subnets_fit,
        customer_managed_keys_need_purge_protection,
        customer_managed_keys_name_the_databricks_application,
        private_link_needs_premium,
        production_public_front_end_has_ip_access_list,
        compliance_standards_need_the_profile,
        metastore_in_workspace_region,
        catalog_containers_distinct_from_zones,
        production_deployments_reviewed,
        git_folders_have_a_credential,
        jobs_catalog_exists,
        jobs_catalog_has_medallion_schemas,
        medallion_zones_exist,
        job_groups_exist_once,
        https_backup_has_a_token,
        production_has_no_sample_data,
        production_code_outside_shared,
        derived_names_fit_azure,
    )
)
