"""Observability: the SQL warehouse, the run-history schema, dashboards, alerts, Azure Monitor.

- **Warehouse**: one serverless SQL warehouse per environment, sized by the tier
  (``components/tiers.py``) unless config says otherwise, stopping when idle, tagged like
  every other resource of the stack. ``observability.warehouse.useGroups`` may run
  queries on it, ``manageGroups`` manage it.
- **Run history**: the schema the git sync task records its runs in
  (``notebooks/dataops_jobs/run_history.py``), owned by the stack's owner group; the jobs'
  run-as principal writes it, the warehouse's users read it.
- **Dashboards**: the AI/BI (Lakeview) dashboards of ``dashboards/*.lvdash.json``, bound to
  the warehouse and published without embedded credentials (a viewer sees what their own
  grants let them read). Their queries are checked against the tables the jobs write by
  ``tests/test_dashboards.py``.
- **Alerts**: a SQL alert on the run history when the last successful backup is older than
  ``observability.runHistory.staleAfterHours``, to the failure emails and destinations.
- **Azure Monitor**: a Log Analytics workspace (created, or an existing one by id), and
  diagnostic settings sending the Databricks workspace's, the Key Vault's and the storage
  account's logs to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_databricks as databricks
from pulumi_azure_native import monitor, operationalinsights

from components.config import ObservabilityConfig
from components.naming import Names
from notebooks.dataops_jobs import run_history

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS_DIR = PROJECT_ROOT / "dashboards"

# Serverless SQL warehouses are PRO warehouses (databricks.SqlEndpoint ``warehouse_type``:
# "If enable_serverless_compute is true ... the default is PRO, which is required for
# serverless SQL warehouses"; pulumi_databricks/sql_endpoint.py).
SERVERLESS_WAREHOUSE_TYPE = "PRO"
# The stale-backup alert is evaluated hourly: a daily backup is late by hours, not minutes.
ALERT_CRON = "0 0 * * * ?"
STALE_COLUMN = "hours_since_success"

# Every log category Microsoft.Databricks/workspaces offers, as Azure Monitor's reference
# lists them ("Supported logs for Microsoft.Databricks/workspaces",
# https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-databricks-workspaces-logs,
# generated from Azure's API, revision of 2026-08-21). A category the service drops is
# refused by ARM at deploy: remove it here.
DATABRICKS_LOG_CATEGORIES = (
    "accounts",
    "Apps",
    "BrickStoreHttpGateway",
    "BudgetPolicyCentral",
    "capsule8Dataplane",
    "clamAVScan",
    "CloudStorageMetadata",
    "clusterLibraries",
    "ClusterPolicies",
    "clusters",
    "Dashboards",
    "databrickssql",
    "DataMonitoring",
    "DataRooms",
    "dbfs",
    "deltaPipelines",
    "featureStore",
    "Files",
    "Filesystem",
    "genie",
    "gitCredentials",
    "globalInitScripts",
    "Groups",
    "iamRole",
    "Ingestion",
    "instancePools",
    "jobs",
    "LakeviewConfig",
    "LineageTracking",
    "MarketplaceConsumer",
    "MarketplaceProvider",
    "mlflowAcledArtifact",
    "mlflowExperiment",
    "modelRegistry",
    "notebook",
    "OnlineTables",
    "partnerHub",
    "PredictiveOptimization",
    "RBAC",
    "RemoteHistoryService",
    "repos",
    "RFA",
    "secrets",
    "serverlessRealTimeInference",
    "sqlanalytics",
    "sqlPermissions",
    "ssh",
    "unityCatalog",
    "VectorSearch",
    "WebhookNotifications",
    "webTerminal",
    "workspace",
    "WorkspaceFiles",
)
# Key Vault: its audit log and policy evaluations
# (https://learn.microsoft.com/azure/key-vault/general/monitor-key-vault-reference).
KEY_VAULT_LOG_CATEGORIES = ("AuditEvent", "AzurePolicyEvaluationDetails")
# Storage logs are set on the blob service, which also serves ADLS Gen2's dfs endpoint
# (https://learn.microsoft.com/azure/storage/blobs/monitor-blob-storage-reference).
STORAGE_LOG_CATEGORIES = ("StorageRead", "StorageWrite", "StorageDelete")
BLOB_SERVICE = "blobServices/default"
# Databricks' categories go to their own tables (DatabricksJobs, ...) rather than the
# shared AzureDiagnostics table
# (https://learn.microsoft.com/azure/azure-monitor/essentials/resource-logs#resource-specific).
RESOURCE_SPECIFIC = "Dedicated"
LOG_ANALYTICS_SKU = "PerGB2018"

# What the run history's readers and its writer hold on its schema.
HISTORY_READER_PRIVILEGES = ("USE_SCHEMA", "SELECT")
HISTORY_WRITER_PRIVILEGES = ("USE_SCHEMA", "SELECT", "MODIFY", "CREATE_TABLE")


@dataclass(frozen=True)
class DashboardSpec:
    """One AI/BI dashboard, defined by a file of ``dashboards/``."""

    key: str  # its key in the dashboardIds output
    title: str
    file: str
    # Its datasets name the run-history tables without a schema: the dashboard's default
    # schema is the run history's (which config may rename); others name schema.table.
    history_schema_default: bool

    @property
    def path(self) -> Path:
        return DASHBOARDS_DIR / self.file

    def serialized(self) -> str:
        return self.path.read_text(encoding="utf-8")


DASHBOARDS = (
    DashboardSpec("backupHealth", "Backup health", "backup_health.lvdash.json", True),
    DashboardSpec("platformHealth", "Platform health", "platform_health.lvdash.json", False),
)


def stale_backup_query(catalog: str, schema: str) -> str:
    """Hours since the last successful backup; no success at all counts as very stale."""
    runs = run_history.qualified(catalog, schema, run_history.RUNS_TABLE)
    return (
        "SELECT COALESCE((unix_timestamp(current_timestamp()) - unix_timestamp(MAX(finished_at)))"
        f" / 3600.0, 1000000.0) AS {STALE_COLUMN} FROM {runs} WHERE status = 'ok'"
    )


def warehouse_http_path(warehouse_id: str) -> str:
    """A warehouse's HTTP path, as JDBC/ODBC clients and the SQL connectors take it
    (https://learn.microsoft.com/azure/databricks/integrations/compute-details)."""
    return f"/sql/1.0/warehouses/{warehouse_id}"


@dataclass(frozen=True)
class ObservabilityArgs:
    observability: ObservabilityConfig
    names: Names
    tags: Mapping[str, str]
    # The warehouse's size (config, else the tier's row).
    warehouse_size: str
    warehouse_max_clusters: int
    # The jobs' catalog, where the run history lives; the owner group of what the stack
    # creates in Unity Catalog; the jobs' run-as principal (application id).
    catalog: str
    owner_group: str
    run_as_application_id: pulumi.Input[str]
    protect_data: bool
    # Who hears of a stale backup: the failure emails and notification destinations.
    emails: Sequence[str]
    destination_ids: Sequence[pulumi.Input[str]]
    # Azure: where a created Log Analytics workspace goes, and what sends logs to it.
    location: str
    resource_group_name: pulumi.Input[str]
    workspace_resource_id: pulumi.Input[str]
    key_vault_id: pulumi.Input[str]
    storage_account_id: pulumi.Input[str]
    # What the layer waits for: the catalog (the run-history schema goes in it) and the
    # code folder (the dashboards' folder is inside it by default).
    ready: Sequence[pulumi.Resource] = field(default=())
    # Groups and principals the ACLs and grants name exist in the workspace once these do.
    principals_ready: Sequence[pulumi.Resource] = field(default=())


class Observability(pulumi.ComponentResource):
    """The stack's warehouse, run-history schema, dashboards, alerts and diagnostic logs."""

    warehouse: databricks.SqlEndpoint
    history_schema: databricks.Schema
    dashboards: dict[str, databricks.Dashboard]
    log_analytics_workspace_id: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:observability:Observability", name, None, opts)
        self._name, self._args = name, args
        self.warehouse = self._warehouse()
        self.warehouse_id = self.warehouse.id
        self.warehouse_http_path = self.warehouse.id.apply(warehouse_http_path)
        self.warehouse_jdbc_url = self.warehouse.jdbc_url
        self.history_schema = self._history_schema()
        history = args.observability.run_history.schema_name
        # Where the run history is, for other tools: catalog.schema.table, by role.
        self.history_tables = {
            "runs": f"{args.catalog}.{history}.{run_history.RUNS_TABLE}",
            "failures": f"{args.catalog}.{history}.{run_history.FAILURES_TABLE}",
        }
        self.dashboards = self._dashboards()
        self.dashboard_ids = pulumi.Output.all(*(d.id for d in self.dashboards.values())).apply(
            lambda ids: dict(zip(self.dashboards, (str(i) for i in ids), strict=True))
        )
        self.stale_backup_alert = self._stale_backup_alert()
        self.log_analytics_workspace_id = self._diagnostics()
        self.register_outputs(
            {
                "warehouse_id": self.warehouse_id,
                "dashboard_ids": self.dashboard_ids,
                "log_analytics_workspace_id": self.log_analytics_workspace_id,
            }
        )

    # ------------------------------------------------------------------ warehouse

    def _warehouse(self) -> databricks.SqlEndpoint:
        args, names = self._args, self._args.names
        config = args.observability.warehouse
        child = pulumi.ResourceOptions(parent=self)
        warehouse = databricks.SqlEndpoint(
            f"{self._name}-warehouse",
            name=names.warehouse,
            cluster_size=args.warehouse_size,
            min_num_clusters=1,
            max_num_clusters=args.warehouse_max_clusters,
            auto_stop_mins=config.auto_stop_minutes,
            enable_serverless_compute=True,
            warehouse_type=SERVERLESS_WAREHOUSE_TYPE,
            enable_photon=True,
            tags=databricks.SqlEndpointTagsArgs(
                custom_tags=[
                    databricks.SqlEndpointTagsCustomTagArgs(key=key, value=value)
                    for key, value in sorted(args.tags.items())
                ]
            ),
            opts=child,
        )
        databricks.Permissions(
            f"{self._name}-warehouse-permissions",
            sql_endpoint_id=warehouse.id,
            access_controls=_group_acls(
                names, {"CAN_MANAGE": config.manage_groups, "CAN_USE": config.use_groups}
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.principals_ready)),
        )
        return warehouse

    # ---------------------------------------------------------------- run history

    def _history_schema(self) -> databricks.Schema:
        args, names = self._args, self._args.names
        history = args.observability.run_history
        schema = databricks.Schema(
            f"{self._name}-history-schema",
            catalog_name=args.catalog,
            name=history.schema_name,
            comment=f"Operational history (the backup's runs). {names.comment}",
            owner=args.owner_group,
            force_destroy=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*args.ready, *args.principals_ready],
                protect=args.protect_data,
            ),
        )
        # Authoritative on a schema only this layer grants on.
        databricks.Grants(
            f"{self._name}-history-schema-grants",
            schema=schema.id,
            grants=[
                databricks.GrantsGrantArgs(
                    principal=args.run_as_application_id,
                    privileges=list(HISTORY_WRITER_PRIVILEGES),
                ),
                *(
                    databricks.GrantsGrantArgs(
                        principal=names.group(group), privileges=list(HISTORY_READER_PRIVILEGES)
                    )
                    for group in args.observability.warehouse.use_groups
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.principals_ready)),
        )
        return schema

    # ----------------------------------------------------------------- dashboards

    def _dashboards(self) -> dict[str, databricks.Dashboard]:
        args, names = self._args, self._args.names
        warehouse_config = args.observability.warehouse
        # The folder exists first: when it does not, the provider creates it and retries
        # the create without dataset_catalog/dataset_schema (databricks/terraform-provider-
        # databricks, dashboards/resource_dashboard.go, isParentDoesntExistError).
        folder = databricks.Directory(
            f"{self._name}-dashboards-folder",
            path=names.dashboards_folder,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.ready)),
        )
        created: dict[str, databricks.Dashboard] = {}
        for spec in DASHBOARDS:
            # The provider publishes the dashboard on every create and update, with
            # embed_credentials (default true) and the warehouse (resource_dashboard.go,
            # Lakeview.Publish): false makes viewers query with their own grants.
            dashboard = databricks.Dashboard(
                f"{self._name}-dashboard-{spec.key}",
                display_name=names.dashboard(spec.title),
                parent_path=folder.path,
                warehouse_id=self.warehouse.id,
                serialized_dashboard=spec.serialized(),
                dataset_catalog=args.catalog,
                dataset_schema=(
                    args.observability.run_history.schema_name
                    if spec.history_schema_default
                    else None
                ),
                embed_credentials=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.history_schema]),
            )
            # Lakeview permission levels: CAN_READ, CAN_RUN, CAN_EDIT, CAN_MANAGE
            # (https://docs.databricks.com/aws/en/security/auth/access-control/#ai-bi-dashboard-acls).
            databricks.Permissions(
                f"{self._name}-dashboard-{spec.key}-permissions",
                dashboard_id=dashboard.id,
                access_controls=_group_acls(
                    names,
                    {
                        "CAN_MANAGE": warehouse_config.manage_groups,
                        "CAN_RUN": warehouse_config.use_groups,
                    },
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.principals_ready)),
            )
            created[spec.key] = dashboard
        return created

    # --------------------------------------------------------------------- alerts

    def _stale_backup_alert(self) -> databricks.AlertV2:
        args, names = self._args, self._args.names
        history = args.observability.run_history
        subscriptions = [
            *(
                databricks.AlertV2EvaluationNotificationSubscriptionArgs(user_email=email)
                for email in args.emails
            ),
            *(
                databricks.AlertV2EvaluationNotificationSubscriptionArgs(destination_id=d)
                for d in args.destination_ids
            ),
        ]
        return databricks.AlertV2(
            f"{self._name}-stale-backup",
            display_name=names.stale_backup_alert,
            warehouse_id=self.warehouse.id,
            query_text=stale_backup_query(args.catalog, history.schema_name),
            parent_path=names.dashboards_folder,
            schedule=databricks.AlertV2ScheduleArgs(
                quartz_cron_schedule=ALERT_CRON, timezone_id="UTC", pause_status="UNPAUSED"
            ),
            evaluation=databricks.AlertV2EvaluationArgs(
                source=databricks.AlertV2EvaluationSourceArgs(name=STALE_COLUMN),
                comparison_operator="GREATER_THAN",
                threshold=databricks.AlertV2EvaluationThresholdArgs(
                    value=databricks.AlertV2EvaluationThresholdValueArgs(
                        double_value=float(history.stale_after_hours)
                    )
                ),
                # The query always returns one row; an empty result means it broke.
                empty_result_state="ERROR",
                notification=databricks.AlertV2EvaluationNotificationArgs(
                    notify_on_ok=True, subscriptions=subscriptions
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.history_schema, *self.dashboards.values()]
            ),
        )

    # -------------------------------------------------------------- Azure Monitor

    def _diagnostics(self) -> pulumi.Output[str] | None:
        args, names = self._args, self._args.names
        config = args.observability.log_analytics
        if config.mode == "off":
            return None
        if config.mode == "existing" and config.workspace_id:
            workspace_id: pulumi.Output[str] = pulumi.Output.from_input(config.workspace_id)
        else:
            workspace = operationalinsights.Workspace(
                f"{self._name}-log-analytics",
                resource_group_name=args.resource_group_name,
                workspace_name=names.log_analytics_workspace,
                location=args.location,
                sku=operationalinsights.WorkspaceSkuArgs(name=LOG_ANALYTICS_SKU),
                retention_in_days=config.retention_days,
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            workspace_id = workspace.id
        targets: list[tuple[str, pulumi.Input[str], Sequence[str], str | None]] = [
            (
                "databricks",
                args.workspace_resource_id,
                DATABRICKS_LOG_CATEGORIES,
                RESOURCE_SPECIFIC,
            ),
            ("key-vault", args.key_vault_id, KEY_VAULT_LOG_CATEGORIES, None),
            (
                "storage",
                pulumi.Output.concat(args.storage_account_id, "/", BLOB_SERVICE),
                STORAGE_LOG_CATEGORIES,
                None,
            ),
        ]
        for target, resource_uri, categories, destination_type in targets:
            monitor.DiagnosticSetting(
                f"{self._name}-diagnostics-{target}",
                name=names.diagnostic_setting(target),
                resource_uri=resource_uri,
                workspace_id=workspace_id,
                log_analytics_destination_type=destination_type,
                logs=[
                    monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True)
                    for category in categories
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )
        return workspace_id


def _group_acls(
    names: Names, groups_by_level: Mapping[str, Sequence[str]]
) -> list[databricks.PermissionsAccessControlArgs]:
    """An object ACL naming config groups by their account names, level by level."""
    return [
        databricks.PermissionsAccessControlArgs(
            group_name=names.group(group), permission_level=level
        )
        for level, groups in groups_by_level.items()
        for group in groups
    ]
