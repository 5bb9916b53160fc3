"""Seeing the platform: the SQL warehouse, the run history, dashboards, alerts, Azure Monitor."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from components.config.types import (
    GroupName,
    UcIdentifier,
    WorkspacePath,
    _doc,
    _Model,
    _PathError,
)

# The sizes a SQL warehouse takes (databricks.SqlEndpoint ``cluster_size``; the provider's
# documentation of the argument lists them).
WarehouseSize = Literal[
    "2X-Small", "X-Small", "Small", "Medium", "Large", "X-Large", "2X-Large", "3X-Large", "4X-Large"
]


class WarehouseConfig(_Model):
    size: WarehouseSize | None = _doc(
        None, "Cluster size; default by tier (dev 2X-Small, staging X-Small, prod Small)"
    )
    max_clusters: int | None = _doc(
        None,
        "Clusters it scales out to under concurrent queries; default by tier (prod 4, else 1)",
        ge=1,
        le=40,
    )
    # Serverless warehouses start in seconds, so a short idle time costs little latency;
    # the SQL Warehouses API takes 0 (never stop) or at least 1 minute for serverless
    # (https://docs.databricks.com/api/azure/workspace/warehouses/create, auto_stop_mins).
    auto_stop_minutes: int = _doc(10, "Idle minutes before it stops", ge=1, le=1440)
    use_groups: tuple[GroupName, ...] = _doc(
        ("analysts", "data-engineers"), "identity.groups that run queries on it (CAN_USE)"
    )
    manage_groups: tuple[GroupName, ...] = _doc(
        ("platform-admins",), "identity.groups that manage it (CAN_MANAGE)"
    )


class RunHistoryConfig(_Model):
    schema_name: UcIdentifier = _doc(
        "ops", "Schema of the backup's run-history tables, in the jobs' catalog"
    )
    retention_days: int = _doc(30, "Days of run history kept; older rows are removed", ge=1)
    stale_after_hours: int = _doc(
        30,
        "Alert when the last successful backup is older than this (the backup is daily)",
        ge=1,
        le=24 * 30,
    )


class LogAnalyticsConfig(_Model):
    mode: Literal["create", "existing", "off"] = _doc(
        "create",
        "create a Log Analytics workspace for the stack, send to an existing one, or none",
    )
    workspace_id: str | None = _doc(
        None, "ARM id of the existing workspace (mode existing)", pattern=r"(?i)^/subscriptions/"
    )
    # PerGB2018 workspaces keep data 30 to 730 days
    # (https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure).
    retention_days: int = _doc(30, "Days a created workspace keeps logs", ge=30, le=730)

    @model_validator(mode="after")
    def _mode_fields(self) -> LogAnalyticsConfig:
        if self.mode == "existing" and not self.workspace_id:
            raise _PathError(("workspaceId",), "mode existing needs the workspace's ARM id")
        if self.mode != "existing" and self.workspace_id:
            raise _PathError(("workspaceId",), f"is for mode existing, not {self.mode}")
        return self


class ObservabilityConfig(_Model):
    warehouse: WarehouseConfig = _doc(WarehouseConfig(), "The environment's SQL warehouse")
    run_history: RunHistoryConfig = _doc(
        RunHistoryConfig(), "The backup's run history and its stale-backup alert"
    )
    dashboards_folder: WorkspacePath | None = _doc(
        None, "Workspace folder of the dashboards; default <jobs.codeFolder>/dashboards"
    )
    log_analytics: LogAnalyticsConfig = _doc(
        LogAnalyticsConfig(), "Where the workspace's, vault's and storage's diagnostic logs go"
    )
