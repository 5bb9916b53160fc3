"""Scheduled jobs, their compute, and where their failures are reported."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from components.config.types import (
    ApiInt,
    Email,
    GitBranch,
    GitRemoteUrl,
    GroupName,
    JavaTimeZone,
    QuartzCron,
    StrictBool,
    UcIdentifier,
    WorkspacePath,
    _doc,
    _Model,
    _require_unique,
    _required,
)


class ClusterConfig(_Model):
    node_type: str = _doc("Standard_DS3_v2", "VM size of job-cluster nodes")
    spark_version: str = _doc("15.4.x-scala2.12", "Databricks Runtime, pinned")
    num_workers: ApiInt = _doc(0, "Workers per job cluster; 0 is single-node", ge=0, le=100)
    autotermination_minutes: ApiInt = _doc(
        20, "Idle minutes before an all-purpose cluster stops", ge=10, le=240
    )


class ScheduleConfig(_Model):
    cron: QuartzCron = _required("Quartz cron: sec min hour day-of-month month day-of-week")
    timezone: JavaTimeZone = _doc("UTC", "Java time zone id, e.g. Europe/Amsterdam")
    paused: StrictBool | None = _doc(None, "Default: paused outside prod, running in prod")


class GitSyncJobConfig(_Model):
    schedule: ScheduleConfig = _doc(ScheduleConfig(cron="0 0 2 * * ?"), "Daily at 02:00 UTC")
    source_path: WorkspacePath = _doc("/Clients", "Workspace folder mirrored into git")
    target_repository: GitRemoteUrl = _required("Git remote the backup is pushed to")
    target_branch: GitBranch = _doc("main", "Branch of the backup repository")
    timeout_seconds: ApiInt = _doc(8 * 3600, "Run timeout", ge=60)
    max_retries: ApiInt = _doc(1, "Retries of a failed run", ge=0, le=10)


class IntegrationTestJobConfig(_Model):
    schedule: ScheduleConfig | None = _doc(None, "Optional schedule (CI triggers it after deploy)")
    timeout_seconds: ApiInt = _doc(3600, "Run timeout", ge=60)
    run_medallion_first: StrictBool = _doc(
        True, "Run the medallion job first, so the tables the checks read exist and are current"
    )


class MedallionJobConfig(_Model):
    schedule: ScheduleConfig | None = _doc(None, "Optional schedule of the ingestion")
    timeout_seconds: ApiInt = _doc(3600, "Run timeout", ge=60)
    seed_sample_data: StrictBool | None = _doc(
        None, "Copy the shipped sample files into landing first; default on outside prod"
    )
    landing_zone: UcIdentifier | None = _doc(
        None, "Zone whose deliveries bronze reads; default the first of azure.storage.zones"
    )
    checkpoint_zone: UcIdentifier | None = _doc(
        None, "Zone holding bronze's Auto Loader checkpoints; default the second zone"
    )


class JobsConfig(_Model):
    run_as: Literal["servicePrincipal", "deployer"] = _doc(
        "servicePrincipal", "Jobs run as the job-runner principal, or the deploying identity"
    )
    cluster: ClusterConfig = _doc(ClusterConfig(), "Job cluster size, through the cluster policy")
    git_sync: GitSyncJobConfig = _required("The daily notebook backup")
    integration_tests: IntegrationTestJobConfig = _doc(
        IntegrationTestJobConfig(), "The integration-test job"
    )
    medallion: MedallionJobConfig = _doc(MedallionJobConfig(), "The bronze/silver/gold ingestion")
    code_folder: WorkspacePath | None = _doc(
        None,
        "Where job code is uploaded; default /Shared/dataops/<stack> (every user may edit "
        "/Shared: prod needs a folder outside it, e.g. /dataops/prod)",
    )
    catalog: UcIdentifier | None = _doc(
        None, "Catalog the jobs write; default unityCatalog.defaultCatalog, else the first catalog"
    )
    run_groups: tuple[GroupName, ...] = _doc(
        ("data-engineers",), "identity.groups that may view and run the jobs (CAN_MANAGE_RUN)"
    )
    manage_groups: tuple[GroupName, ...] = _doc(
        ("platform-admins",), "identity.groups that manage the jobs (CAN_MANAGE)"
    )

    @model_validator(mode="after")
    def _groups_unique(self) -> JobsConfig:
        _require_unique(self.run_groups, "run_groups", ignore_case=True)
        _require_unique(self.manage_groups, "manage_groups", ignore_case=True)
        return self


class NotificationsConfig(_Model):
    emails: tuple[Email, ...] = _doc((), "Addresses told of failed job runs")
    teams: StrictBool = _doc(
        False, "Also post failures to Teams (needs the teamsWebhookUrl secret)"
    )
    slack: StrictBool = _doc(
        False, "Also post failures to Slack (needs the slackWebhookUrl secret)"
    )

    @model_validator(mode="after")
    def _emails_unique(self) -> NotificationsConfig:
        _require_unique(self.emails, "emails")
        return self
