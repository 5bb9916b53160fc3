"""The whole stack config, validated as one: its sections, then the cross-field rules."""

from __future__ import annotations

from pydantic import model_validator

from components.config.azure import AzureConfig, DatabricksConfig
from components.config.identity import IdentityConfig
from components.config.jobs import JobsConfig, NotificationsConfig, ScheduleConfig
from components.config.observability import ObservabilityConfig
from components.config.source_control import GitFoldersConfig, SourceControlConfig
from components.config.types import PROJECT, _doc, _Model, _required
from components.config.unity_catalog import UnityCatalogConfig
from components.naming import Names
from components.tiers import Tier, TierTraits, traits


class StackConfig(_Model):
    """Everything one stack deploys, validated as a whole."""

    environment: Tier = _required(f"Environment tier: {', '.join(Tier)}")
    azure: AzureConfig = _required("The Azure side")
    databricks: DatabricksConfig = _required("The Databricks account")
    unity_catalog: UnityCatalogConfig = _required("Metastore, catalogs, schemas, grants")
    identity: IdentityConfig = _required("Groups, users, service principals")
    source_control: SourceControlConfig = _required("Repository, branches and their protection")
    git_folders: GitFoldersConfig = _doc(GitFoldersConfig(), "Databricks Git folders")
    jobs: JobsConfig = _required("Scheduled jobs and their compute")
    notifications: NotificationsConfig = _doc(NotificationsConfig(), "Where failures are reported")
    observability: ObservabilityConfig = _doc(
        ObservabilityConfig(), "SQL warehouse, run history, dashboards, alerts, Azure Monitor"
    )
    # Which of SECRET_KEYS this stack sets (as secure values). Filled by the loader.
    secrets_set: frozenset[str] = frozenset()
    # The stack's name (Pulumi.<stack>.yaml), which every derived name carries; filled by
    # the loader so the rules can check those names. None: not known (no name rules).
    stack_name: str | None = None

    @model_validator(mode="after")
    def _cross_field(self) -> StackConfig:
        # Imported here: the rules take a StackConfig, which this module defines.
        from components.config.rules import CROSS_FIELD_RULES

        for rule in CROSS_FIELD_RULES:
            rule.check(self)
        return self

    # ----------------------------------------------------------------- derived values

    @property
    def tier(self) -> TierTraits:
        """What the stack's tier implies (components/tiers.py)."""
        return traits(self.environment)

    @property
    def prefix(self) -> str:
        return self.azure.name_prefix

    def names(self, stack: str) -> Names:
        """Every name this stack derives, explicit names from config first."""
        azure = self.azure
        return Names(
            prefix=self.prefix,
            stack=stack,
            subscription_id=azure.subscription_id,
            resource_group_override=azure.resource_group_name,
            storage_account_override=azure.storage.account_name,
            key_vault_override=azure.key_vault.name,
            workspace_override=azure.workspace.name,
            managed_resource_group_override=azure.workspace.managed_resource_group_name,
            code_folder_override=self.jobs.code_folder,
            dashboards_folder_override=self.observability.dashboards_folder,
        )

    @property
    def key_vault_purge_protection(self) -> bool:
        """Configured, or what the tier implies (a dev vault must be purgeable); a vault
        holding customer-managed keys has it by default (Databricks requires it)."""
        configured = self.azure.key_vault.purge_protection
        if configured is not None:
            return configured
        return self.tier.protect_data or self.customer_managed_keys

    @property
    def network_mode(self) -> str:
        """managed, injected or private: configured, else the tier's default."""
        return self.azure.network.mode or self.tier.network_mode

    @property
    def customer_managed_keys(self) -> bool:
        configured = self.azure.encryption.customer_managed_keys
        return configured if configured is not None else self.tier.customer_managed_keys

    @property
    def serverless_restricted(self) -> bool:
        configured = self.azure.network.serverless.restricted
        return configured if configured is not None else self.tier.serverless_egress_restricted

    def jobs_paused(self, schedule: ScheduleConfig) -> bool:
        return schedule.paused if schedule.paused is not None else self.tier.schedules_paused

    @property
    def jobs_catalog(self) -> str:
        """The catalog the jobs write: configured, else the default catalog, else the first."""
        return (
            self.jobs.catalog
            or self.unity_catalog.default_catalog
            or self.unity_catalog.catalogs[0].name
        )

    @property
    def landing_zone(self) -> str:
        """Where deliveries land: configured, else the first zone (data flows in list order)."""
        return self.jobs.medallion.landing_zone or self.azure.storage.zones[0]

    @property
    def checkpoint_zone(self) -> str:
        """Where bronze keeps its checkpoints: configured, else the zone after landing's."""
        zones = self.azure.storage.zones
        return self.jobs.medallion.checkpoint_zone or zones[min(1, len(zones) - 1)]

    @property
    def seed_sample_data(self) -> bool:
        """Tiers without real deliveries seed the sample dataset in their place."""
        configured = self.jobs.medallion.seed_sample_data
        return configured if configured is not None else self.tier.sample_data

    @property
    def git_sync_uses_token(self) -> bool:
        """An https remote takes a token; ssh remotes authenticate with keys."""
        return self.jobs.git_sync.target_repository.startswith("https://")

    @property
    def deploy_branch(self) -> str:
        """The branch whose commits deploy this stack (the tier's row picks which)."""
        source = self.source_control
        return source.develop_branch if self.tier.deploy_branch == "develop" else source.main_branch

    def tags(self, stack: str) -> dict[str, str]:
        return {"project": PROJECT, "environment": self.environment.value, "stack": stack} | dict(
            self.azure.tags
        )

    @property
    def warehouse_size(self) -> str:
        """Configured, or what the tier implies."""
        return self.observability.warehouse.size or self.tier.warehouse_size

    @property
    def warehouse_max_clusters(self) -> int:
        configured = self.observability.warehouse.max_clusters
        return configured if configured is not None else self.tier.warehouse_max_clusters

    @property
    def protect_data(self) -> bool:
        """Data resources (storage, Key Vault, catalogs) are protected from deletion."""
        return self.tier.protect_data
