"""Unity Catalog of every shipped stack: the metastore chain down to schema grants."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_azure_native as azure_native
import pulumi_databricks as databricks
import pytest
from plan_helpers import (
    BINDING,
    CATALOG,
    CONNECTOR,
    CONTAINER,
    DATA_ACCESS,
    DEFAULT_NAMESPACE,
    GRANTS,
    GROUP,
    LOCATION,
    MEMBER,
    METASTORE,
    METASTORE_ASSIGNMENT,
    PRINCIPAL,
    RG,
    ROLE,
    SCHEMA,
    SHIPPED_STACKS,
    STORAGE,
    STORAGE_CREDENTIAL,
    VAULT,
    WORKSPACE,
    WORKSPACE_ASSIGNMENT,
    StackDocument,
    depends_on,
    lookup,
    single,
)

from components import program
from components.config import ConfigError, StackConfig, check_shared_singletons
from components.foundation import Foundation, FoundationArgs
from components.grants import (
    Grant,
    GrantPlan,
    PrincipalRole,
    Securable,
    SecurableKind,
    grant_plan,
)
from components.pulumi_config import read_stack_config
from components.unity_catalog import (
    MetastoreAttachment,
    MetastoreAttachmentArgs,
    UnityCatalog,
    UnityCatalogArgs,
)
from dataops.engine import PROJECT_ROOT, Plan, PlannedResource, validate_stack
from dataops.stackfile import read_stack_file, stack_names

PlanOf = Callable[[str], Plan]
Render = Callable[[str, StackDocument], Plan]
DocumentOf = Callable[[str], StackDocument]

COMPONENTS = ("dataops:unitycatalog:UnityCatalog", "dataops:unitycatalog:MetastoreAttachment")
ACCOUNT_LEVEL = (METASTORE, DATA_ACCESS, METASTORE_ASSIGNMENT)


def _uc_resources(plan: Plan) -> list[PlannedResource]:
    return [
        r
        for r in plan.resources
        if r.custom and any(a.type in COMPONENTS for a in plan.ancestors(r))
    ]


def _workspace_level(plan: Plan) -> list[PlannedResource]:
    return [r for r in _uc_resources(plan) if r.type not in ACCOUNT_LEVEL]


def _provider(plan: Plan, resource: PlannedResource) -> PlannedResource:
    provider = plan.provider_of(resource)
    assert provider is not None, f"{resource.name} has no explicit provider"
    return provider


def _is_account_provider(provider: PlannedResource, config: StackConfig) -> bool:
    return (
        provider.type == "pulumi:providers:databricks"
        and provider.inputs.get("host") == "https://accounts.azuredatabricks.net"
        and provider.inputs.get("accountId") == config.databricks.account_id
    )


def _is_workspace_provider(plan: Plan, provider: PlannedResource) -> bool:
    return (
        provider.type == "pulumi:providers:databricks"
        and "accountId" not in provider.inputs
        and provider.inputs.get("azureWorkspaceResourceId") == plan.outputs["workspaceResourceId"]
    )


# ------------------------------------------------------------------ providers and order


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_account_level_resources_use_the_account_provider(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    account_level = [r for r in _uc_resources(rendered) if r.type in ACCOUNT_LEVEL]
    assert any(r.type == METASTORE_ASSIGNMENT for r in account_level)
    for resource in account_level:
        assert _is_account_provider(_provider(rendered, resource), rendered.config), resource.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_workspace_level_resources_use_this_stacks_workspace_provider(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    workspace_level = _workspace_level(rendered)
    assert {STORAGE_CREDENTIAL, LOCATION, CATALOG, SCHEMA, BINDING, GRANTS} <= {
        r.type for r in workspace_level
    }
    for resource in workspace_level:
        assert _is_workspace_provider(rendered, _provider(rendered, resource)), resource.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_workspace_level_uc_resource_waits_for_the_metastore_assignment(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    assignment = single(rendered, METASTORE_ASSIGNMENT)
    for resource in _workspace_level(rendered):
        assert assignment.urn in resource.dependencies, resource.name


def test_the_chain_runs_from_resource_group_to_schema_grants(plan: PlanOf) -> None:
    prod = plan("prod")
    group = single(prod, RG)
    storage = single(prod, STORAGE)
    role = single(prod, ROLE, "-connector-blob-contributor")
    workspace = single(prod, WORKSPACE)
    metastore = single(prod, METASTORE)
    assignment = single(prod, METASTORE_ASSIGNMENT)
    credential = single(prod, STORAGE_CREDENTIAL)
    container = single(prod, CONTAINER, "-azure-catalog-prod")
    managed_location = single(prod, LOCATION, "-catalog-prod-location")
    catalog = single(prod, CATALOG, "-catalog-prod")
    binding = single(prod, BINDING, "-catalog-prod-binding")
    schema = single(prod, SCHEMA, "-schema-prod-gold")
    schema_grants = single(prod, GRANTS, "-schema-prod-gold-grants")
    # (later, earlier): the order `pulumi up` creates them in.
    waits = [
        (storage, group),
        (role, storage),
        (workspace, group),
        (assignment, workspace),
        (assignment, metastore),
        (credential, assignment),
        (credential, role),
        (managed_location, credential),
        (managed_location, container),
        (catalog, managed_location),
        (binding, catalog),
        (schema, binding),
        (schema_grants, schema),
    ]
    for later, earlier in waits:
        assert depends_on(prod, later, earlier), f"{later.name} does not wait for {earlier.name}"
    assert depends_on(prod, schema_grants, group)


# --------------------------------------------------------------------------- metastore


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_a_stack_that_reuses_a_metastore_creates_none(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    reused = rendered.config.unity_catalog.metastore.id
    assert rendered.config.unity_catalog.metastore.mode == "reuse"
    assert rendered.of_type(METASTORE) == []
    assert rendered.of_type(DATA_ACCESS) == []
    assert single(rendered, METASTORE_ASSIGNMENT).inputs["metastoreId"] == reused
    assert rendered.outputs["metastoreId"] == reused


def test_the_owning_stack_creates_a_protected_metastore_in_its_region(plan: PlanOf) -> None:
    prod = plan("prod")
    metastore = single(prod, METASTORE)
    assert metastore.inputs["name"] == "datanova-westeurope"
    assert metastore.inputs["region"] == "westeurope"
    # The stack's own group: account groups carry the stack in their display names.
    assert metastore.inputs["owner"] == "prod-platform-admins"
    assert metastore.inputs["forceDestroy"] is False
    assert metastore.protect
    assignment = single(prod, METASTORE_ASSIGNMENT)
    assert metastore.urn in assignment.dependencies
    assert assignment.inputs["metastoreId"] == prod.outputs["metastoreId"]
    assert assignment.inputs["workspaceId"] == prod.outputs["workspaceId"]


def test_exactly_one_stack_file_creates_the_metastore() -> None:
    # Every Pulumi.*.yaml in the project, not only the shipped examples.
    configs = {
        stack: validate_stack(read_stack_file(PROJECT_ROOT, stack))
        for stack in stack_names(PROJECT_ROOT)
    }
    creators = [s for s, c in configs.items() if c.unity_catalog.metastore.mode == "create"]
    assert creators == ["prod"]
    check_shared_singletons({f"Pulumi.{s}.yaml": c for s, c in configs.items()})


def test_a_metastore_with_root_storage_gets_its_default_data_access_first(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("prod")
    root = "abfss://metastore@stdatanovaprod.dfs.core.windows.net/"
    document["config"]["dataops:unityCatalog"]["metastore"]["storageRoot"] = root
    rendered = render("prod", document)
    assert single(rendered, METASTORE).inputs["storageRoot"] == root
    access = single(rendered, DATA_ACCESS)
    assert access.inputs["isDefault"] is True
    connector_id = rendered.outputs["accessConnectorId"]
    assert lookup(access.inputs, "azureManagedIdentity.accessConnectorId") == connector_id
    assert _is_account_provider(_provider(rendered, access), rendered.config)
    assert access.urn in single(rendered, METASTORE_ASSIGNMENT).dependencies
    assert depends_on(rendered, access, single(rendered, ROLE, "-connector-blob-contributor"))


# ------------------------------------------------------------------ storage access


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_storage_credential_is_the_access_connectors_identity_after_its_role(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    credential = single(rendered, STORAGE_CREDENTIAL)
    connector_id = rendered.outputs["accessConnectorId"]
    assert connector_id.endswith(f"/accessConnectors/dbac-datanova-{stack}")
    assert lookup(credential.inputs, "azureManagedIdentity.accessConnectorId") == connector_id
    assert "azureServicePrincipal" not in credential.inputs
    assert single(rendered, CONNECTOR).urn in credential.dependencies
    role = single(rendered, ROLE, "-connector-blob-contributor")
    assert role.urn in credential.dependencies
    assert credential.inputs["name"] == f"datanova_{stack}_access_connector"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_one_external_location_per_zone_container(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    credential = single(rendered, STORAGE_CREDENTIAL)
    zones = rendered.config.azure.storage.zones
    for zone in zones:
        location = single(rendered, LOCATION, f"-location-{zone}")
        url = f"abfss://{zone}@stdatanova{stack}.dfs.core.windows.net/"
        assert location.inputs["url"] == url
        assert location.inputs["name"] == f"datanova_{stack}_{zone}"
        assert location.inputs["credentialName"] == credential.inputs["name"]
        assert depends_on(rendered, location, single(rendered, CONTAINER, f"-azure-{zone}"))
        assert depends_on(rendered, location, credential)
    urls = rendered.outputs["externalLocationUrls"]
    assert urls == {z: f"abfss://{z}@stdatanova{stack}.dfs.core.windows.net/" for z in zones}


def test_metastore_wide_names_differ_between_stacks_sharing_the_metastore(
    plan: PlanOf,
) -> None:
    seen: dict[str, str] = {}
    for stack in SHIPPED_STACKS:
        rendered = plan(stack)
        for resource in rendered.of_type(LOCATION) + rendered.of_type(STORAGE_CREDENTIAL):
            name = resource.inputs["name"]
            assert name not in seen, f"{stack} and {seen.get(name)} both name {name}"
            seen[name] = stack


def test_two_stacks_sharing_a_metastore_cannot_declare_one_catalog(
    stack_document: DocumentOf, validate: Callable[[str, StackDocument], StackConfig]
) -> None:
    configs = {f"Pulumi.{s}.yaml": validate(s, stack_document(s)) for s in SHIPPED_STACKS}
    document = stack_document("staging")
    document["config"]["dataops:unityCatalog"]["catalogs"][0]["name"] = "dev"
    document["config"]["dataops:unityCatalog"]["defaultCatalog"] = "dev"
    configs["Pulumi.staging.yaml"] = validate("staging", document)
    with pytest.raises(ConfigError) as caught:
        check_shared_singletons(configs)
    assert str(caught.value) == (
        "Pulumi.dev.yaml, Pulumi.staging.yaml: dataops:unityCatalog.catalogs: catalog 'dev' "
        "is declared by more than one stack sharing the westeurope metastore; each stack "
        "owns its own catalogs"
    )


# ------------------------------------------------------------------ catalogs and binding


def test_prod_catalog_is_bound_only_to_the_prod_workspace(plan: PlanOf) -> None:
    prod = plan("prod")
    catalog = single(prod, CATALOG)
    assert catalog.inputs["name"] == "prod"
    assert catalog.inputs["isolationMode"] == "ISOLATED"
    bindings = [
        b
        for b in prod.of_type(BINDING)
        if b.inputs["securableType"] == "catalog" and b.inputs["securableName"] == "prod"
    ]
    assert len(bindings) == 1
    assert bindings[0].inputs["workspaceId"] == prod.outputs["workspaceId"]
    assert bindings[0].inputs["bindingType"] == "BINDING_TYPE_READ_WRITE"
    assert catalog.urn in bindings[0].dependencies
    # No binding in any stack opens the prod catalog to another workspace.
    for stack in SHIPPED_STACKS:
        for binding in plan(stack).of_type(BINDING):
            if binding.inputs["securableName"] == "prod":
                assert binding.inputs["workspaceId"] == prod.outputs["workspaceId"], stack


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_credential_and_locations_are_isolated_and_bound_to_this_workspace(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    workspace_id = rendered.outputs["workspaceId"]
    bound = {
        (b.inputs["securableType"], b.inputs["securableName"])
        for b in rendered.of_type(BINDING)
        if b.inputs["workspaceId"] == workspace_id
    }
    assert len(bound) == len(rendered.of_type(BINDING))
    credential = single(rendered, STORAGE_CREDENTIAL)
    assert credential.inputs["isolationMode"] == "ISOLATION_MODE_ISOLATED"
    assert ("storage_credential", credential.inputs["name"]) in bound
    for location in rendered.of_type(LOCATION):
        assert location.inputs["isolationMode"] == "ISOLATION_MODE_ISOLATED"
        assert ("external_location", location.inputs["name"]) in bound
    for catalog in rendered.of_type(CATALOG):
        assert ("catalog", catalog.inputs["name"]) in bound


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_what_uses_an_isolated_securable_waits_for_its_binding(plan: PlanOf, stack: str) -> None:
    # Creation needs the binding in place, and a destroy then removes users first.
    rendered = plan(stack)
    bindings = {
        (b.inputs["securableType"], b.inputs["securableName"]): b for b in rendered.of_type(BINDING)
    }
    for schema in rendered.of_type(SCHEMA):
        binding = bindings[("catalog", schema.inputs["catalogName"])]
        assert binding.urn in schema.dependencies, schema.name
    for location in rendered.of_type(LOCATION):
        binding = bindings[("storage_credential", location.inputs["credentialName"])]
        assert binding.urn in location.dependencies, location.name
    for grants in rendered.of_type(GRANTS):
        if "catalog" in grants.inputs:
            assert bindings[("catalog", grants.inputs["catalog"])].urn in grants.dependencies
        if "externalLocation" in grants.inputs:
            key = ("external_location", grants.inputs["externalLocation"])
            assert bindings[key].urn in grants.dependencies


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_each_catalog_keeps_its_managed_tables_in_its_own_container(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    for catalog_config in rendered.config.unity_catalog.catalogs:
        name = catalog_config.name
        catalog = single(rendered, CATALOG, f"-catalog-{name}")
        container = single(rendered, CONTAINER, f"-azure-catalog-{name}")
        assert container.inputs["containerName"] == f"catalog-{name}"
        url = f"abfss://catalog-{name}@stdatanova{stack}.dfs.core.windows.net/"
        assert catalog.inputs["storageRoot"] == url
        assert catalog.inputs["forceDestroy"] is False
        # The managed location lies inside an external location, which exists first.
        location = single(rendered, LOCATION, f"-catalog-{name}-location")
        assert location.inputs["url"] == url
        assert depends_on(rendered, catalog, location)
        assert depends_on(rendered, location, container)
        # Nobody reads a catalog's files directly: no grants on its managed location.
        assert not any(
            g.inputs.get("externalLocation") == location.inputs["name"]
            for g in rendered.of_type(GRANTS)
        )
    assert rendered.outputs["catalogNames"] == [
        c.name for c in rendered.config.unity_catalog.catalogs
    ]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_schemas_default_to_bronze_silver_gold(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    catalog = rendered.config.unity_catalog.catalogs[0].name
    # The run history's schema belongs to the observability layer (tests/test_observability.py).
    configured = [s for s in rendered.of_type(SCHEMA) if "-observability-" not in s.name]
    schemas = {(s.inputs["catalogName"], s.inputs["name"]) for s in configured}
    assert schemas == {(catalog, "bronze"), (catalog, "silver"), (catalog, "gold")}
    catalog_resource = single(rendered, CATALOG)
    for schema in rendered.of_type(SCHEMA):
        assert catalog_resource.urn in schema.dependencies
    names = [f"{catalog}.{zone}" for zone in ("bronze", "silver", "gold")]
    assert rendered.outputs["schemaNames"] == names


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_default_catalog_is_the_workspace_default_namespace_setting(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    default = rendered.config.unity_catalog.default_catalog
    assert default == stack
    setting = single(rendered, DEFAULT_NAMESPACE)
    assert lookup(setting.inputs, "namespace.value") == default
    assert depends_on(rendered, setting, single(rendered, CATALOG, f"-catalog-{default}"))
    # The assignment's default_catalog_name is deprecated: it is not set.
    assert "defaultCatalogName" not in single(rendered, METASTORE_ASSIGNMENT).inputs


def test_without_a_default_catalog_the_workspace_default_is_left_alone(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("dev")
    del document["config"]["dataops:unityCatalog"]["defaultCatalog"]
    assert render("dev", document).of_type(DEFAULT_NAMESPACE) == []


# --------------------------------------------------------------------------- grants


def _grant_map(resource: PlannedResource) -> dict[str, list[str]]:
    return {g["principal"]: g["privileges"] for g in resource.inputs["grants"]}


def _group_grants(plan: Plan, resource: PlannedResource) -> dict[str, list[str]]:
    """The grants of a Grants resource to groups (the run-as principal's are the jobs')."""
    run_as = plan.outputs["jobRunnerApplicationId"]
    return {k: v for k, v in _grant_map(resource).items() if k != run_as}


def test_grants_on_every_securable_come_from_config(plan: PlanOf) -> None:
    prod = plan("prod")
    uc = prod.config.unity_catalog
    catalog_config = uc.catalogs[0]
    catalog_grants = single(prod, GRANTS, "-catalog-prod-grants")
    assert catalog_grants.inputs["catalog"] == "prod"
    assert _group_grants(prod, catalog_grants) == {
        f"prod-{g.group}": list(g.privileges) for g in catalog_config.grants
    }
    for schema_config in catalog_config.schemas:
        matches = [
            g
            for g in prod.of_type(GRANTS)
            if g.inputs.get("schema") == f"prod.{schema_config.name}"
        ]
        # Every medallion schema has grants: the jobs' run-as principal writes them.
        assert len(matches) == 1
        assert _group_grants(prod, matches[0]) == {
            f"prod-{g.group}": list(g.privileges) for g in schema_config.grants
        }
        schema = single(prod, SCHEMA, f"-schema-prod-{schema_config.name}")
        assert schema.urn in matches[0].dependencies
    for zone in prod.config.azure.storage.zones:
        zone_grants = single(prod, GRANTS, f"-location-{zone}-grants")
        assert zone_grants.inputs["externalLocation"] == f"datanova_prod_{zone}"
        assert _group_grants(prod, zone_grants) == {
            f"prod-{g.group}": list(g.privileges) for g in uc.external_location_grants
        }


def test_a_securable_without_grants_gets_no_grants_resource(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("prod")
    catalog = document["config"]["dataops:unityCatalog"]["catalogs"][0]
    catalog["schemas"].append({"name": "sandbox"})
    rendered = render("prod", document)
    assert single(rendered, SCHEMA, "-schema-prod-sandbox")
    assert not [g for g in rendered.of_type(GRANTS) if g.inputs.get("schema") == "prod.sandbox"]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_no_grant_names_a_user_directly(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    # The account groups this stack creates, by display name.
    groups = {g.inputs["displayName"] for g in rendered.of_type(GROUP)}
    assert groups == set(rendered.outputs["groupNames"])
    # Besides groups, grants name only this stack's service principals (the jobs' run-as),
    # by application id.
    principals = {
        rendered.outputs["deployerApplicationId"],
        rendered.outputs["jobRunnerApplicationId"],
    }
    grants = rendered.of_type(GRANTS)
    assert grants
    for resource in grants:
        for grant in resource.inputs["grants"]:
            assert "@" not in grant["principal"], resource.name
            assert grant["principal"] in groups | principals, resource.name
    for metastore in rendered.of_type(METASTORE):
        assert metastore.inputs["owner"] in groups


def _securable(grants: PlannedResource) -> tuple[str, str]:
    for kind in ("catalog", "schema", "externalLocation"):
        if kind in grants.inputs:
            return kind, str(grants.inputs[kind])
    raise AssertionError(f"{grants.name} names no securable")


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_each_securable_has_one_authoritative_grants_resource(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    securables = [_securable(g) for g in rendered.of_type(GRANTS)]
    assert len(securables) == len(set(securables))


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_jobs_run_as_privileges_are_merged_into_the_configured_grants(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    run_as = rendered.outputs["jobRunnerApplicationId"]
    by_securable = {_securable(g): g for g in rendered.of_type(GRANTS)}
    catalog = by_securable[("catalog", stack)]
    # Config's group grants first, the run-as principal's after them, in the same resource.
    principals = [g["principal"] for g in catalog.inputs["grants"]]
    assert principals[-1] == run_as
    assert principals[:-1] == [
        f"{stack}-{g.group}" for g in rendered.config.unity_catalog.catalogs[0].grants
    ]
    assert _grant_map(catalog)[run_as] == ["USE_CATALOG", "MANAGE"]
    for schema in ("bronze", "silver", "gold"):
        held = _grant_map(by_securable[("schema", f"{stack}.{schema}")])[run_as]
        assert {"USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE"} <= set(held), schema
    landing = _grant_map(by_securable[("externalLocation", f"datanova_{stack}_landing")])
    bronze = _grant_map(by_securable[("externalLocation", f"datanova_{stack}_bronze")])
    assert bronze[run_as] == ["READ_FILES", "WRITE_FILES"]
    # Sample data is seeded into landing outside prod only.
    expected = ["READ_FILES"] if stack == "prod" else ["READ_FILES", "WRITE_FILES"]
    assert landing[run_as] == expected
    for zone in ("silver", "gold"):
        zone_grants = _grant_map(by_securable[("externalLocation", f"datanova_{stack}_{zone}")])
        assert run_as not in zone_grants, zone


def _stand_in_unity_catalog(
    grants: GrantPlan,
    principals: dict[PrincipalRole, pulumi.Input[str]],
    groups_ready: list[pulumi.Resource],
    principals_ready: list[pulumi.Resource],
) -> None:
    """The foundation and Unity Catalog alone, with the given grant plan and readiness."""
    config = read_stack_config()
    names = config.names(pulumi.get_stack())
    azure = azure_native.Provider(
        "azure",
        location=config.azure.location,
        subscription_id=config.azure.subscription_id,
        tenant_id=config.azure.tenant_id,
    )
    foundation = Foundation(
        "azure",
        FoundationArgs(
            azure=config.azure,
            names=names,
            tags=config.tags(names.stack),
            catalogs=[c.name for c in config.unity_catalog.catalogs],
            protect_data=config.protect_data,
            purge_protection=config.key_vault_purge_protection,
        ),
        pulumi.ResourceOptions(providers=[azure]),
    )
    account = databricks.Provider(
        "account", host=config.databricks.account_host, account_id=config.databricks.account_id
    )
    workspace = databricks.Provider(
        "workspace",
        host=foundation.workspace_url,
        azure_workspace_resource_id=foundation.workspace_resource_id,
    )
    attachment = MetastoreAttachment(
        "metastore",
        MetastoreAttachmentArgs(
            metastore=config.unity_catalog.metastore,
            names=names,
            location=config.azure.location,
            workspace_id=foundation.workspace_id,
            access_connector_id=foundation.access_connector_id,
            storage_access=foundation.storage_access,
            groups_ready=groups_ready,
            account_provider=account,
        ),
    )
    UnityCatalog(
        "uc",
        UnityCatalogArgs(
            unity_catalog=config.unity_catalog,
            names=names,
            grants=grants,
            principals=principals,
            protect_data=config.protect_data,
            workspace_id=foundation.workspace_id,
            storage_account_name=foundation.storage_account_name,
            zone_containers={z: c.name for z, c in foundation.zone_containers.items()},
            catalog_containers={n: c.name for n, c in foundation.catalog_containers.items()},
            access_connector_id=foundation.access_connector_id,
            storage_access=foundation.storage_access,
            metastore_id=attachment.metastore_id,
            attachment=attachment.assignment,
            groups_ready=groups_ready,
            principals_ready=principals_ready,
            workspace_provider=workspace,
        ),
    )


def _program_with_extra_grants(extra: dict[Securable, tuple[str, ...]]) -> None:
    """Unity Catalog with the groups' grants of config, plus extra grants to a stand-in
    service principal (in the run-as role)."""
    config = read_stack_config()
    account = databricks.Provider("principal-account", host=config.databricks.account_host)
    principal = databricks.ServicePrincipal(
        "principal", display_name="stand-in", opts=pulumi.ResourceOptions(provider=account)
    )
    plan: dict[Securable, tuple[Grant, ...]] = {}
    for securable, grants in grant_plan(config).items():
        by_group = tuple(g for g in grants if not isinstance(g.principal, PrincipalRole))
        if by_group:
            plan[securable] = by_group
    for securable, privileges in extra.items():
        plan[securable] = (*plan.get(securable, ()), Grant(PrincipalRole.JOBS_RUN_AS, privileges))
    _stand_in_unity_catalog(
        grants=plan,
        principals={PrincipalRole.JOBS_RUN_AS: principal.application_id},
        groups_ready=[],
        principals_ready=[principal],
    )


def test_extra_grants_make_a_grants_resource_that_waits_for_their_principal(
    monkeypatch: pytest.MonkeyPatch, stack_document: DocumentOf, render: Render
) -> None:
    # Staging configures no grants on its schemas: the extra grant alone makes one.
    extra = {Securable(SecurableKind.SCHEMA, "staging.silver"): ("SELECT",)}
    monkeypatch.setattr(program, "define_stack", lambda: _program_with_extra_grants(extra))
    rendered = render("staging", stack_document("staging"))
    principal = single(rendered, PRINCIPAL)
    (silver,) = [g for g in rendered.of_type(GRANTS) if g.inputs.get("schema") == "staging.silver"]
    assert [g["privileges"] for g in silver.inputs["grants"]] == [["SELECT"]]
    assert principal.urn in silver.dependencies
    # Grants without extras do not wait for it.
    catalog = single(rendered, GRANTS, "-catalog-staging-grants")
    assert principal.urn not in catalog.dependencies
    assert not [g for g in rendered.of_type(GRANTS) if g.inputs.get("schema") == "staging.gold"]


def test_extra_grants_on_a_securable_the_layer_does_not_create_are_refused(
    monkeypatch: pytest.MonkeyPatch, stack_document: DocumentOf, render: Render
) -> None:
    extra = {
        Securable(SecurableKind.SCHEMA, "staging.platinum"): ("SELECT",),
        Securable(SecurableKind.EXTERNAL_LOCATION, "archive"): ("READ_FILES",),
    }
    monkeypatch.setattr(program, "define_stack", lambda: _program_with_extra_grants(extra))
    with pytest.raises(ValueError) as caught:
        render("staging", stack_document("staging"))
    assert str(caught.value) == (
        "stack staging: grants on securables it does not create: "
        "['EXTERNAL_LOCATION archive', 'SCHEMA staging.platinum']"
    )


def _program_with_stand_in_groups() -> None:
    """Unity Catalog with the stack's grant plan, and stand-ins for the identity layer's
    groups (its run-as principal is a name only: nothing to wait for)."""
    config = read_stack_config()
    names = config.names(pulumi.get_stack())
    account = databricks.Provider(
        "groups-account",
        host=config.databricks.account_host,
        account_id=config.databricks.account_id,
    )
    groups: list[pulumi.Resource] = [
        databricks.Group(
            f"group-{group.name}",
            display_name=names.group(group.name),
            opts=pulumi.ResourceOptions(provider=account),
        )
        for group in config.identity.groups
    ]
    _stand_in_unity_catalog(
        grants=grant_plan(config),
        principals={PrincipalRole.JOBS_RUN_AS: "stand-in-application-id"},
        groups_ready=groups,
        principals_ready=groups,
    )


def test_grants_and_the_metastore_owner_wait_for_grant_dependencies(
    monkeypatch: pytest.MonkeyPatch, stack_document: DocumentOf, render: Render
) -> None:
    monkeypatch.setattr(program, "define_stack", _program_with_stand_in_groups)
    rendered = render("prod", stack_document("prod"))
    groups = rendered.of_type(GROUP)
    assert len(groups) == len(rendered.config.identity.groups)
    principals_named = rendered.of_type(GRANTS) + rendered.of_type(METASTORE)
    assert len(principals_named) >= 2
    for resource in principals_named:
        for group in groups:
            assert group.urn in resource.dependencies, f"{resource.name} before {group.name}"
    # The credential names its owner group, so it waits for it; a binding names no
    # principal and does not wait for the identity layer.
    owner = single(rendered, GROUP, "group-platform-admins")
    assert owner.urn in single(rendered, STORAGE_CREDENTIAL).dependencies
    assert not any(g.urn in rendered.of_type(BINDING)[0].dependencies for g in groups)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_grants_wait_for_the_groups_and_their_workspace_assignments(
    plan: PlanOf, stack: str
) -> None:
    """The platform wires the layers: a grant is applied once its groups exist and are
    in the workspace; a created metastore once its owning group exists."""
    rendered = plan(stack)
    groups = rendered.of_type(GROUP)
    assignments = [
        a for a in rendered.of_type(WORKSPACE_ASSIGNMENT) if "-workspace-access-group-" in a.name
    ]
    assert len(groups) == len(assignments) == len(rendered.config.identity.groups)
    for grants in rendered.of_type(GRANTS):
        for principal in (*groups, *assignments):
            assert principal.urn in grants.dependencies, f"{grants.name} before {principal.name}"
    for metastore in rendered.of_type(METASTORE):
        owner = single(rendered, GROUP, "-group-platform-admins")
        assert owner.urn in metastore.dependencies


# --------------------------------------------------------------------------- ownership

OWNED = (STORAGE_CREDENTIAL, LOCATION, CATALOG, SCHEMA)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_what_the_layer_creates_is_owned_by_the_owner_group_not_the_first_deployer(
    plan: PlanOf, stack: str
) -> None:
    """Left to default, the person who runs the first `pulumi up` owns every object, and
    CI, which may change only what it (or a group it is in) owns, is refused afterwards."""
    rendered = plan(stack)
    owner_group = single(rendered, GROUP, "-group-platform-admins")
    assert rendered.config.unity_catalog.owner == "platform-admins"
    owned = [r for token in OWNED for r in rendered.of_type(token)]
    assert {r.type for r in owned} == set(OWNED)
    for resource in owned:
        assert resource.inputs.get("owner") == f"{stack}-platform-admins", resource.name
        assert owner_group.urn in resource.dependencies, resource.name


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_deployer_is_in_the_owner_group(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    owner_group = single(rendered, GROUP, "-group-platform-admins")
    deployer = single(rendered, PRINCIPAL, "-identity-deployer")
    memberships = [m for m in rendered.of_type(MEMBER) if deployer.urn in m.dependencies]
    assert len(memberships) == 1
    assert owner_group.urn in memberships[0].dependencies
    assert _is_account_provider(_provider(rendered, memberships[0]), rendered.config)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_owner_group_may_create_the_stacks_objects_on_the_shared_metastore(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    grant = single(rendered, "databricks:index/grant:Grant", "-metastore-privileges")
    assert grant.inputs["metastore"] == rendered.outputs["metastoreId"]
    assert grant.inputs["principal"] == f"{stack}-platform-admins"
    assert set(grant.inputs["privileges"]) == {
        "CREATE_CATALOG",
        "CREATE_EXTERNAL_LOCATION",
        "CREATE_STORAGE_CREDENTIAL",
    }
    assert _is_workspace_provider(rendered, _provider(rendered, grant))
    assert single(rendered, METASTORE_ASSIGNMENT).urn in grant.dependencies
    # One principal, non-authoritative: it cannot revoke what other stacks granted.
    assert not [g for g in rendered.of_type(GRANTS) if "metastore" in g.inputs]


def test_another_owner_group_from_config(stack_document: DocumentOf, render: Render) -> None:
    document = stack_document("staging")
    document["config"]["dataops:unityCatalog"]["owner"] = "data-engineers"
    rendered = render("staging", document)
    for resource in (r for token in OWNED for r in rendered.of_type(token)):
        assert resource.inputs["owner"] == "staging-data-engineers", resource.name
    grant = single(rendered, "databricks:index/grant:Grant", "-metastore-privileges")
    assert grant.inputs["principal"] == "staging-data-engineers"
    engineers = single(rendered, GROUP, "-group-data-engineers")
    member = single(rendered, MEMBER, "-deployer-member-data-engineers")
    assert engineers.urn in member.dependencies


# --------------------------------------------------------------------------- protection


def test_prod_storage_vault_catalogs_and_metastore_are_protected(plan: PlanOf) -> None:
    prod = plan("prod")
    for token in (STORAGE, VAULT, CATALOG, SCHEMA, METASTORE):
        resources = prod.of_type(token)
        assert resources, token
        assert all(r.protect for r in resources), token
    containers = prod.of_type(CONTAINER)
    assert {c.inputs["containerName"] for c in containers} >= {"catalog-prod", "bronze"}
    assert all(c.protect for c in containers)
    for stack in ("dev", "staging"):
        rendered = plan(stack)
        assert not any(r.protect for r in rendered.of_type(CATALOG) + rendered.of_type(SCHEMA))
