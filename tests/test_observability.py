"""The observability layer in the rendered stacks: warehouse, run-history schema,
dashboards, the stale-backup alert, Log Analytics and the diagnostic settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from plan_helpers import (
    DESTINATION,
    DIRECTORY,
    GRANTS,
    PERMISSIONS,
    SCHEMA,
    SHIPPED_STACKS,
    StackDocument,
    depends_on,
    provider_type,
    single,
)

from components.config import ConfigError, StackConfig
from components.observability import (
    DASHBOARDS,
    DATABRICKS_LOG_CATEGORIES,
    KEY_VAULT_LOG_CATEGORIES,
    STORAGE_LOG_CATEGORIES,
)
from dataops.engine import Plan, PlannedResource

PlanOf = Callable[[str], Plan]
DocumentOf = Callable[[str], StackDocument]
Render = Callable[[str, StackDocument], Plan]
Validate = Callable[[str, StackDocument], StackConfig]

WAREHOUSE = "databricks:index/sqlEndpoint:SqlEndpoint"
DASHBOARD = "databricks:index/dashboard:Dashboard"
ALERT = "databricks:index/alertV2:AlertV2"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"


def _permissions(plan: Plan, key: str, resource: PlannedResource) -> dict[str, str]:
    (permissions,) = [
        p for p in plan.of_type(PERMISSIONS) if key in p.inputs and resource.urn in p.dependencies
    ]
    return {a["groupName"]: a["permissionLevel"] for a in permissions.inputs["accessControls"]}


@pytest.mark.parametrize(
    ("stack", "size", "clusters"),
    [("dev", "2X-Small", 1), ("staging", "X-Small", 1), ("prod", "Small", 4)],
)
def test_one_serverless_warehouse_sized_by_the_tier(
    plan: PlanOf, stack: str, size: str, clusters: int
) -> None:
    rendered = plan(stack)
    warehouse = single(rendered, WAREHOUSE)
    inputs = warehouse.inputs
    assert inputs["name"] == f"datanova-{stack}-sql"
    assert (inputs["clusterSize"], inputs["minNumClusters"], inputs["maxNumClusters"]) == (
        size,
        1,
        clusters,
    )
    assert inputs["enableServerlessCompute"] is True and inputs["warehouseType"] == "PRO"
    assert inputs["autoStopMins"] == 10
    tags = {t["key"]: t["value"] for t in inputs["tags"]["customTags"]}
    assert tags == rendered.config.tags(stack)
    assert provider_type(rendered, warehouse) == "databricks"


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_analysts_and_engineers_use_the_warehouse_and_admins_manage_it(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    warehouse = single(rendered, WAREHOUSE)
    assert _permissions(rendered, "sqlEndpointId", warehouse) == {
        f"{stack}-analysts": "CAN_USE",
        f"{stack}-data-engineers": "CAN_USE",
        f"{stack}-platform-admins": "CAN_MANAGE",
    }


def test_the_warehouse_size_may_be_configured(stack_document: DocumentOf, render: Render) -> None:
    document = stack_document("dev")
    document["config"]["dataops:observability"] = {
        "warehouse": {"size": "Medium", "maxClusters": 2, "autoStopMinutes": 30}
    }
    inputs = single(render("dev", document), WAREHOUSE).inputs
    assert (inputs["clusterSize"], inputs["maxNumClusters"], inputs["autoStopMins"]) == (
        "Medium",
        2,
        30,
    )


@pytest.mark.parametrize(
    ("observability", "message"),
    [
        ({"warehouse": {"size": "Huge"}}, "observability.warehouse.size"),
        ({"warehouse": {"useGroups": ["auditors"]}}, "'auditors' is not one of identity.groups"),
        (
            {"warehouse": {"useGroups": ["analysts", "platform-admins"]}},
            "'platform-admins' is also in manageGroups",
        ),
        ({"logAnalytics": {"mode": "existing"}}, "mode existing needs the workspace's ARM id"),
        ({"logAnalytics": {"retentionDays": 7}}, "observability.logAnalytics.retentionDays"),
        ({"runHistory": {"retentionDays": 0}}, "observability.runHistory.retentionDays"),
    ],
)
def test_bad_observability_config_is_refused(
    stack_document: DocumentOf, validate: Validate, observability: dict[str, Any], message: str
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:observability"] = observability
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        validate("dev", document)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_run_history_schema_is_written_by_the_jobs_and_read_by_the_warehouse_users(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    schema = single(rendered, SCHEMA, "-observability-history-schema")
    assert (schema.inputs["catalogName"], schema.inputs["name"]) == (stack, "ops")
    assert schema.inputs["owner"] == f"{stack}-platform-admins"
    assert schema.protect is (stack == "prod")
    catalog = single(rendered, "databricks:index/catalog:Catalog", f"-uc-catalog-{stack}")
    assert depends_on(rendered, schema, catalog)
    grants = single(rendered, GRANTS, "-observability-history-schema-grants")
    by_principal = {g["principal"]: g["privileges"] for g in grants.inputs["grants"]}
    runner = rendered.outputs["jobRunnerApplicationId"]
    run_as = runner if rendered.config.jobs.run_as == "servicePrincipal" else None
    writer = run_as or rendered.outputs["deployerApplicationId"]
    assert by_principal == {
        writer: ["USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE"],
        f"{stack}-analysts": ["USE_SCHEMA", "SELECT"],
        f"{stack}-data-engineers": ["USE_SCHEMA", "SELECT"],
    }
    assert rendered.outputs["runHistoryTables"] == {
        "runs": f"{stack}.ops.gitsync_runs",
        "failures": f"{stack}.ops.gitsync_run_failures",
    }


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_both_dashboards_are_published_on_the_warehouse_without_embedded_credentials(
    plan: PlanOf, stack: str
) -> None:
    rendered = plan(stack)
    warehouse = single(rendered, WAREHOUSE)
    folder = single(rendered, DIRECTORY, "-observability-dashboards-folder")
    ids = rendered.outputs["dashboardIds"]
    assert set(ids) == {spec.key for spec in DASHBOARDS}
    for spec in DASHBOARDS:
        dashboard = single(rendered, DASHBOARD, f"-dashboard-{spec.key}")
        inputs = dashboard.inputs
        assert inputs["warehouseId"] == rendered.outputs["warehouseId"]
        assert warehouse.urn in dashboard.dependencies
        # embed_credentials false: the provider publishes it with the viewer's credentials.
        assert inputs["embedCredentials"] is False
        assert inputs["displayName"] == f"{spec.title} ({stack})"
        assert inputs["parentPath"] == folder.inputs["path"]
        assert inputs["datasetCatalog"] == stack
        assert inputs.get("datasetSchema") == ("ops" if spec.history_schema_default else None)
        assert json.loads(inputs["serializedDashboard"]) == json.loads(spec.serialized())
        assert _permissions(rendered, "dashboardId", dashboard) == {
            f"{stack}-analysts": "CAN_RUN",
            f"{stack}-data-engineers": "CAN_RUN",
            f"{stack}-platform-admins": "CAN_MANAGE",
        }
    assert folder.inputs["path"] == f"{rendered.outputs['codeFolder']}/dashboards"
    assert rendered.outputs["warehouseHttpPath"] == (
        f"/sql/1.0/warehouses/{rendered.outputs['warehouseId']}"
    )


def test_a_stale_backup_alerts_the_failure_emails_and_destinations(plan: PlanOf) -> None:
    rendered = plan("prod")
    alert = single(rendered, ALERT)
    inputs = alert.inputs
    assert inputs["warehouseId"] == rendered.outputs["warehouseId"]
    assert "FROM `prod`.`ops`.`gitsync_runs` WHERE status = 'ok'" in inputs["queryText"]
    evaluation = inputs["evaluation"]
    assert evaluation["source"] == {"name": "hours_since_success"}
    assert evaluation["comparisonOperator"] == "GREATER_THAN"
    assert evaluation["threshold"]["value"] == {"doubleValue": 30.0}
    assert inputs["schedule"]["quartzCronSchedule"] == "0 0 * * * ?"
    destinations = rendered.of_type(DESTINATION)
    assert len(destinations) == 2  # Teams and Slack
    subscriptions = evaluation["notification"]["subscriptions"]
    assert [s["userEmail"] for s in subscriptions if "userEmail" in s] == list(
        rendered.config.notifications.emails
    )
    assert len([s for s in subscriptions if "destinationId" in s]) == 2
    assert all(d.urn in alert.dependencies for d in destinations)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_diagnostic_logs_go_to_the_stacks_log_analytics_workspace(plan: PlanOf, stack: str) -> None:
    rendered = plan(stack)
    workspace = single(rendered, LOG_ANALYTICS)
    assert workspace.inputs["workspaceName"] == f"log-datanova-{stack}"
    assert workspace.inputs["sku"] == {"name": "PerGB2018"}
    assert workspace.inputs["retentionInDays"] == (90 if stack == "prod" else 30)
    assert provider_type(rendered, workspace) == "azure-native"
    la_id = rendered.outputs["logAnalyticsWorkspaceId"]
    assert la_id.endswith(f"/Microsoft.OperationalInsights/workspaces/log-datanova-{stack}")
    settings = {r.name.rsplit("-diagnostics-", 1)[1]: r for r in rendered.of_type(DIAGNOSTICS)}
    assert set(settings) == {"databricks", "key-vault", "storage"}
    expected = {
        "databricks": (rendered.outputs["workspaceResourceId"], DATABRICKS_LOG_CATEGORIES),
        "key-vault": (None, KEY_VAULT_LOG_CATEGORIES),
        "storage": (None, STORAGE_LOG_CATEGORIES),
    }
    for target, setting in settings.items():
        resource_uri, categories = expected[target]
        assert setting.inputs["workspaceId"] == la_id
        assert [log["category"] for log in setting.inputs["logs"]] == list(categories)
        assert all(log["enabled"] for log in setting.inputs["logs"])
        if resource_uri:
            assert setting.inputs["resourceUri"] == resource_uri
    assert settings["storage"].inputs["resourceUri"].endswith("/blobServices/default")
    assert "/Microsoft.KeyVault/vaults/" in settings["key-vault"].inputs["resourceUri"]
    # The categories the issue names, among all the service offers.
    assert {
        "accounts",
        "clusters",
        "jobs",
        "notebook",
        "secrets",
        "unityCatalog",
        "workspace",
    } <= set(DATABRICKS_LOG_CATEGORIES)
    assert settings["databricks"].inputs["logAnalyticsDestinationType"] == "Dedicated"


def test_an_existing_log_analytics_workspace_is_used_by_id(
    stack_document: DocumentOf, render: Render
) -> None:
    existing = (
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-central"
        "/providers/Microsoft.OperationalInsights/workspaces/log-central"
    )
    document = stack_document("dev")
    document["config"]["dataops:observability"] = {
        "logAnalytics": {"mode": "existing", "workspaceId": existing}
    }
    rendered = render("dev", document)
    assert rendered.of_type(LOG_ANALYTICS) == []
    assert {r.inputs["workspaceId"] for r in rendered.of_type(DIAGNOSTICS)} == {existing}
    assert rendered.outputs["logAnalyticsWorkspaceId"] == existing


def test_without_log_analytics_there_are_no_diagnostic_settings(
    stack_document: DocumentOf, render: Render
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:observability"] = {"logAnalytics": {"mode": "off"}}
    rendered = render("dev", document)
    assert rendered.of_type(LOG_ANALYTICS) == [] and rendered.of_type(DIAGNOSTICS) == []
    assert "logAnalyticsWorkspaceId" not in rendered.outputs
