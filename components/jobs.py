"""Jobs: the daily git backup, the integration tests CI runs after a deploy, the medallion.

All workspace level, all from the code ``WorkspaceCode`` uploads (each task names its
entry notebook there, with the parameters of ``dataops_jobs/parameters.py``, the
hand-off between the job code and this layer).

- **Compute**: every job cluster goes through one cluster policy the stack creates: the
  configured node type and pinned Databricks Runtime, single-user access mode (Unity
  Catalog), at most ``cluster.numWorkers`` workers, no autoscaling or pools, the stack's
  tags on every node, and an idle limit for any all-purpose cluster put on it (job
  clusters stop with their run and take no idle limit, so it is optional there).
- **Identity**: the jobs run as the job-runner service principal (``jobs.runAs``; config
  requires it in prod) or the deployer, by application id, and the deployer owns them.
  ``run_as_grants`` lists the Unity Catalog privileges that principal needs; the platform
  hands them to the Unity Catalog layer, which merges them into its authoritative grants.
- **Git token**: Databricks-backed secret scope holding the ``gitSyncToken`` secret. An
  Azure Key Vault-backed scope can only be created with a Microsoft Entra ID token, and
  the deployer signs in to Databricks with a Databricks OIDC token (a Databricks-managed
  service principal), so `pulumi up` in CI could not create one. The run-as principal
  reads the scope (READ); workspace admins, the deployer among them, manage it.
- **Notifications**: failed runs mail ``notifications.emails`` and, with
  ``notifications.teams``, post to a Microsoft Teams notification destination whose URL is
  the ``teamsWebhookUrl`` secret: secret in every plan, state and output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_databricks as databricks

from components.config import MEDALLION_SCHEMAS, Privilege, ScheduleConfig, StackConfig
from components.pulumi_config import read_secret
from components.unity_catalog import PrincipalGrant, Securable
from components.workspace_code import PROJECT_ROOT, WorkspaceCode
from notebooks.dataops_jobs import parameters as jp

TEAMS_WEBHOOK_KEY = "teamsWebhookUrl"
GIT_SYNC_TOKEN_KEY = "gitSyncToken"
SINGLE_USER = "SINGLE_USER"
# A Databricks single-node cluster: Spark runs on the driver, with no workers.
SINGLE_NODE_SPARK_CONF = {
    "spark.databricks.cluster.profile": "singleNode",
    "spark.master": "local[*]",
}
SINGLE_NODE_TAGS = {"ResourceClass": "SingleNode"}
# Auto Loader's state, in the checkpoint zone (bronze by default), which the run-as
# principal may write.
CHECKPOINT_FOLDER = "_checkpoints/medallion"
# A failed backup is retried after this long (a push may have met a busy remote).
GIT_SYNC_RETRY_INTERVAL_MS = 10 * 60 * 1000
# Privileges that let a principal change data; a read-only group must hold none.
_WRITES: frozenset[str] = frozenset({"MODIFY", "ALL_PRIVILEGES"})

# The three jobs, by the key the outputs use.
GIT_SYNC, INTEGRATION_TESTS, MEDALLION = "gitSync", "integrationTests", "medallion"


# ----------------------------------------------------------------- what the jobs need


def landing_path(landing_url: str, config: StackConfig) -> str:
    """Where deliveries land: a folder of the landing zone named after the company."""
    return f"{landing_url.rstrip('/')}/{config.prefix}"


def checkpoint_path(zone_url: str) -> str:
    return f"{zone_url.rstrip('/')}/{CHECKPOINT_FOLDER}"


def integration_grant_checks(config: StackConfig, stack: str) -> list[dict[str, Any]]:
    """The integration tests' grant checks: the grants config makes on the jobs' catalog.

    Each configured grant must hold on its securable (catalog or schema), and a group
    that config gives no write privilege must hold none there, nor on gold, the curated
    tables (a grant made by hand shows up as a failed check).
    """
    catalog = next(c for c in config.unity_catalog.catalogs if c.name == config.jobs_catalog)
    on_catalog: dict[str, set[str]] = {}
    for grant in catalog.grants:
        on_catalog.setdefault(grant.group, set()).update(grant.privileges)

    def check(
        group: str, securable: str, name: str, privileges: Sequence[str], held: set[str]
    ) -> dict[str, Any]:
        return {
            "principal": config.group_display_name(stack, group),
            "securable": securable,
            "name": name,
            "must_have": list(privileges),
            "must_not_have": [] if held & _WRITES else ["MODIFY"],
        }

    checks = [
        check(grant.group, "CATALOG", "", grant.privileges, on_catalog[grant.group])
        for grant in catalog.grants
    ]
    for schema in catalog.schemas:
        for grant in schema.grants:
            held = on_catalog.get(grant.group, set()) | set(grant.privileges)
            checks.append(check(grant.group, "SCHEMA", schema.name, grant.privileges, held))
    gold = next(s for s in catalog.schemas if s.name == jp.GOLD)
    on_gold = {grant.group for grant in gold.grants}
    for group, held in on_catalog.items():
        if group not in on_gold and not held & _WRITES:
            checks.append(check(group, "SCHEMA", jp.GOLD, [], held))
    return checks


def run_as_grants(
    config: StackConfig, stack: str, principal: pulumi.Input[str]
) -> dict[Securable, list[PrincipalGrant]]:
    """Unity Catalog privileges of the jobs' run-as principal (its application id).

    Bronze, silver and gold are created, written and read by the medallion; the
    integration tests write their results to bronze and read every grant they check,
    which Unity Catalog shows only to an owner or a holder of MANAGE. The landing zone is
    read (and written when the sample data is seeded); the checkpoint zone is read and
    written.
    """
    catalog = config.jobs_catalog
    checked = {(c["securable"], c["name"]) for c in integration_grant_checks(config, stack)}
    manage: tuple[Privilege, ...] = ("MANAGE",)
    privileges: dict[Securable, tuple[Privilege, ...]] = {
        Securable("catalog", catalog): (
            "USE_CATALOG",
            *(manage if ("CATALOG", "") in checked else ()),
        ),
    }
    for schema in MEDALLION_SCHEMAS:
        privileges[Securable("schema", f"{catalog}.{schema}")] = (
            "USE_SCHEMA",
            "SELECT",
            "MODIFY",
            "CREATE_TABLE",
            *(manage if ("SCHEMA", schema) in checked else ()),
        )
    # Other schemas of the catalog whose grants the tests check: read the grants only.
    for kind, name in sorted(checked):
        if kind == "SCHEMA" and name not in MEDALLION_SCHEMAS:
            privileges[Securable("schema", f"{catalog}.{name}")] = ("USE_SCHEMA", "MANAGE")
    seeding: tuple[Privilege, ...] = ("WRITE_FILES",) if config.seed_sample_data else ()
    # Set in this order, the checkpoint zone's read-write wins when it is the landing zone.
    privileges[Securable("zone", config.landing_zone)] = ("READ_FILES", *seeding)
    privileges[Securable("zone", config.checkpoint_zone)] = ("READ_FILES", "WRITE_FILES")
    return {
        securable: [PrincipalGrant(principal=principal, privileges=granted)]
        for securable, granted in privileges.items()
    }


def cluster_policy_definition(config: StackConfig, stack: str) -> dict[str, dict[str, Any]]:
    """The policy every job cluster of the stack is created through."""
    cluster = config.jobs.cluster
    node_types = [cluster.node_type]
    definition: dict[str, dict[str, Any]] = {
        "spark_version": {"type": "fixed", "value": cluster.spark_version},
        "node_type_id": {"type": "allowlist", "values": node_types, "defaultValue": node_types[0]},
        "driver_node_type_id": {
            "type": "allowlist",
            "values": node_types,
            "defaultValue": node_types[0],
        },
        "num_workers": {"type": "range", "minValue": 0, "maxValue": cluster.num_workers},
        # A fixed size per environment: autoscaling would escape the worker limit's intent.
        "autoscale.min_workers": {"type": "forbidden", "hidden": True},
        "autoscale.max_workers": {"type": "forbidden", "hidden": True},
        # Pools would bring their own node types.
        "instance_pool_id": {"type": "forbidden", "hidden": True},
        "driver_instance_pool_id": {"type": "forbidden", "hidden": True},
        # Optional and without a default: job clusters take no idle limit (they stop with
        # their run), and a default would be written into their spec.
        "autotermination_minutes": {
            "type": "range",
            "minValue": 10,
            "maxValue": cluster.autotermination_minutes,
            "isOptional": True,
        },
        "data_security_mode": {"type": "fixed", "value": SINGLE_USER, "hidden": True},
    }
    for key, value in sorted(config.tags(stack).items()):
        definition[f"custom_tags.{key}"] = {"type": "fixed", "value": value}
    return definition


def requirement(package: str, repo_root: Path = PROJECT_ROOT) -> str:
    """``package`` with the version range of requirements.txt, as a task library takes it."""
    for line in (repo_root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        spec = line.split("#", 1)[0].strip()
        name = re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0]
        if name.lower() == package.lower():
            return spec
    raise ValueError(f"{package} is not in requirements.txt; the git sync task needs it")


# --------------------------------------------------------------------------- component


@dataclass(frozen=True)
class JobsArgs:
    config: StackConfig
    stack: str
    code: WorkspaceCode
    # The principal the jobs run as (job runner or deployer) and the deployer (the owner).
    run_as: databricks.ServicePrincipal
    deployer: databricks.ServicePrincipal
    # The Unity Catalog layer's external locations, by zone: the medallion reads its
    # landing zone and keeps its checkpoints in the checkpoint zone, through them.
    external_locations: Mapping[str, databricks.ExternalLocation]
    workspace_url: pulumi.Input[str]
    # Groups and principals the ACLs name exist in the workspace only once these do.
    principals_ready: Sequence[pulumi.Resource] = field(default=())
    # The deployer may name run_as only once it has the Service Principal User role.
    run_as_ready: Sequence[pulumi.Resource] = field(default=())
    # The catalog, schemas and grants the jobs read and write.
    data_ready: Sequence[pulumi.Resource] = field(default=())


class Jobs(pulumi.ComponentResource):
    """The stack's three jobs, their cluster policy, secret scope and notifications."""

    cluster_policy: databricks.ClusterPolicy
    teams: databricks.NotificationDestination | None
    git_sync: databricks.Job
    medallion: databricks.Job
    integration_tests: databricks.Job
    job_ids: dict[str, pulumi.Output[str]]
    job_urls: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: JobsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:jobs:Jobs", name, None, opts)
        self._name = name
        self._args = args
        config, stack = args.config, args.stack
        self._runs_as_deployer = config.jobs.run_as == "deployer"
        self._tags = config.tags(stack)
        principals = list(args.principals_ready)

        self.cluster_policy = databricks.ClusterPolicy(
            f"{name}-cluster-policy",
            name=f"{config.prefix}-{stack}-jobs",
            description=f"Job clusters of dataops stack {stack}",
            definition=json.dumps(cluster_policy_definition(config, stack), sort_keys=True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if not self._runs_as_deployer:
            # Workspace admins (the deployer) may use any policy; the job runner creates
            # its job clusters through this one.
            databricks.Permissions(
                f"{name}-cluster-policy-permissions",
                cluster_policy_id=self.cluster_policy.id,
                access_controls=[
                    databricks.PermissionsAccessControlArgs(
                        service_principal_name=args.run_as.application_id,
                        permission_level="CAN_USE",
                    )
                ],
                opts=pulumi.ResourceOptions(parent=self, depends_on=principals),
            )

        self.teams = self._teams_destination(name) if config.notifications.teams else None
        secret_scope, secret_ready = self._git_token(name)

        self.git_sync = self._job(
            "git-sync",
            tasks=[self._git_sync_task(secret_scope)],
            clusters=[self._cluster(jp.GIT_SYNC.task_key, workers=0)],
            schedule=config.jobs.git_sync.schedule,
            # A run skipped behind a long one is caught up by the next: the sync is
            # incremental, so queueing would only stack runs up.
            queue=False,
            after=secret_ready,
        )
        medallion = config.jobs.medallion
        self.medallion = self._job(
            "medallion",
            tasks=self._medallion_tasks(args),
            clusters=[self._cluster(MEDALLION, workers=config.jobs.cluster.num_workers)],
            schedule=medallion.schedule,
            timeout_seconds=medallion.timeout_seconds,
            queue=True,
            # The integration tests (run as the same principal) start a medallion run first.
            runners=(
                [args.run_as.application_id]
                if config.jobs.integration_tests.run_medallion_first and not self._runs_as_deployer
                else []
            ),
        )
        tests = config.jobs.integration_tests
        self.integration_tests = self._job(
            "integration-tests",
            tasks=self._integration_tasks(stack),
            clusters=[self._cluster(jp.INTEGRATION_TESTS.task_key, workers=0)],
            schedule=tests.schedule,
            timeout_seconds=tests.timeout_seconds,
            queue=True,
        )

        jobs = {
            GIT_SYNC: self.git_sync,
            INTEGRATION_TESTS: self.integration_tests,
            MEDALLION: self.medallion,
        }
        self.job_ids = {key: job.id for key, job in jobs.items()}
        keys = list(jobs)
        self.job_urls = pulumi.Output.all(
            *(pulumi.Output.concat(args.workspace_url, "/jobs/", job.id) for job in jobs.values())
        ).apply(lambda urls: {key: str(url) for key, url in zip(keys, urls, strict=True)})
        self.register_outputs({"job_ids": self.job_ids, "job_urls": self.job_urls})

    # ----------------------------------------------------------------------- pieces

    def _teams_destination(self, name: str) -> databricks.NotificationDestination:
        config, stack = self._args.config, self._args.stack
        url = read_secret(TEAMS_WEBHOOK_KEY)
        if url is None:  # the config model refuses teams without the secret
            raise ValueError(f"the secret dataops:{TEAMS_WEBHOOK_KEY} is not set")
        return databricks.NotificationDestination(
            f"{name}-teams",
            display_name=f"{config.prefix}-{stack} job failures (Teams)",
            config=databricks.NotificationDestinationConfigArgs(
                microsoft_teams=databricks.NotificationDestinationConfigMicrosoftTeamsArgs(url=url)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _git_token(self, name: str) -> tuple[str, list[pulumi.Resource]]:
        """The secret scope the sync task reads its token from ('' with no token)."""
        args = self._args
        if not args.config.git_sync_uses_token:
            return "", []
        token = read_secret(GIT_SYNC_TOKEN_KEY)
        if token is None:  # the config model refuses an https remote without it
            raise ValueError(f"the secret dataops:{GIT_SYNC_TOKEN_KEY} is not set")
        child = pulumi.ResourceOptions(parent=self)
        # No initial_manage_principal: "users" would let everyone read the token; the
        # creator and workspace admins manage the scope.
        scope = databricks.SecretScope(
            f"{name}-git-sync-scope", name=jp.DEFAULT_SECRET_SCOPE, opts=child
        )
        secret = databricks.Secret(
            f"{name}-git-sync-token",
            scope=scope.name,
            key=jp.DEFAULT_GIT_TOKEN_KEY,
            string_value=token,
            opts=child,
        )
        ready: list[pulumi.Resource] = [secret]
        if not self._runs_as_deployer:
            ready.append(
                databricks.SecretAcl(
                    f"{name}-git-sync-scope-reader",
                    scope=scope.name,
                    principal=args.run_as.application_id,
                    permission="READ",
                    opts=pulumi.ResourceOptions(
                        parent=self, depends_on=list(args.principals_ready)
                    ),
                )
            )
        return jp.DEFAULT_SECRET_SCOPE, ready

    def _cluster(self, key: str, *, workers: int) -> databricks.JobJobClusterArgs:
        cluster = self._args.config.jobs.cluster
        single_node = workers == 0
        return databricks.JobJobClusterArgs(
            job_cluster_key=key,
            new_cluster=databricks.JobJobClusterNewClusterArgs(
                policy_id=self.cluster_policy.id,
                apply_policy_default_values=True,
                spark_version=cluster.spark_version,
                node_type_id=cluster.node_type,
                num_workers=workers,
                data_security_mode=SINGLE_USER,
                spark_conf=SINGLE_NODE_SPARK_CONF if single_node else None,
                custom_tags={**self._tags, **(SINGLE_NODE_TAGS if single_node else {})},
            ),
        )

    def _notebook(
        self, entry: jp.EntryPoint, parameters: pulumi.Input[Mapping[str, str]]
    ) -> databricks.JobTaskNotebookTaskArgs:
        return databricks.JobTaskNotebookTaskArgs(
            notebook_path=self._args.code.notebook_path(entry),
            source="WORKSPACE",
            base_parameters=parameters,
        )

    def _git_sync_task(self, secret_scope: str) -> databricks.JobTaskArgs:
        git = self._args.config.jobs.git_sync
        parameters = jp.GIT_SYNC.values(
            source_path=git.source_path,
            target_repository=git.target_repository,
            target_branch=git.target_branch,
            secret_scope=secret_scope,
            secret_key=jp.DEFAULT_GIT_TOKEN_KEY,
        )
        return databricks.JobTaskArgs(
            task_key=jp.GIT_SYNC.task_key,
            job_cluster_key=jp.GIT_SYNC.task_key,
            notebook_task=self._notebook(jp.GIT_SYNC, parameters),
            # The runtime's own databricks-sdk is older than gitsync's.
            libraries=[
                databricks.JobTaskLibraryArgs(
                    pypi=databricks.JobTaskLibraryPypiArgs(package=requirement("databricks-sdk"))
                )
            ],
            timeout_seconds=git.timeout_seconds,
            max_retries=git.max_retries,
            min_retry_interval_millis=GIT_SYNC_RETRY_INTERVAL_MS,
            retry_on_timeout=False,
        )

    def _medallion_tasks(self, args: JobsArgs) -> list[databricks.JobTaskArgs]:
        config = args.config
        catalog = config.jobs_catalog
        seed = "true" if config.seed_sample_data else "false"
        # The names are checked now, so a typo fails the plan, not the first run.
        jp.MEDALLION_BRONZE.values(
            catalog=catalog, landing_path="-", checkpoint_path="-", seed_sample_data=seed
        )
        bronze_parameters = pulumi.Output.all(
            args.external_locations[config.landing_zone].url,
            args.external_locations[config.checkpoint_zone].url,
        ).apply(
            lambda urls: jp.MEDALLION_BRONZE.values(
                catalog=catalog,
                landing_path=landing_path(str(urls[0]), config),
                checkpoint_path=checkpoint_path(str(urls[1])),
                seed_sample_data=seed,
            )
        )
        steps: list[tuple[jp.EntryPoint, pulumi.Input[Mapping[str, str]]]] = [
            (jp.MEDALLION_BRONZE, bronze_parameters),
            (jp.MEDALLION_SILVER, jp.MEDALLION_SILVER.values(catalog=catalog)),
            (jp.MEDALLION_GOLD, jp.MEDALLION_GOLD.values(catalog=catalog)),
        ]
        tasks = []
        previous: str | None = None
        for entry, parameters in steps:
            tasks.append(
                databricks.JobTaskArgs(
                    task_key=entry.task_key,
                    job_cluster_key=MEDALLION,
                    notebook_task=self._notebook(entry, parameters),
                    depends_ons=(
                        [databricks.JobTaskDependsOnArgs(task_key=previous)] if previous else None
                    ),
                )
            )
            previous = entry.task_key
        return tasks

    def _integration_tasks(self, stack: str) -> list[databricks.JobTaskArgs]:
        config = self._args.config
        parameters = jp.INTEGRATION_TESTS.values(
            catalog=config.jobs_catalog,
            grant_checks=json.dumps(integration_grant_checks(config, stack)),
        )
        refresh_first = config.jobs.integration_tests.run_medallion_first
        tests = databricks.JobTaskArgs(
            task_key=jp.INTEGRATION_TESTS.task_key,
            job_cluster_key=jp.INTEGRATION_TESTS.task_key,
            notebook_task=self._notebook(jp.INTEGRATION_TESTS, parameters),
            depends_ons=(
                [databricks.JobTaskDependsOnArgs(task_key=MEDALLION)] if refresh_first else None
            ),
        )
        if not refresh_first:
            return [tests]
        # The checks read the medallion's tables: a run of it first makes them exist (a
        # fresh stack) and current, and CI triggers one job, not two.
        refresh = databricks.JobTaskArgs(
            task_key=MEDALLION,
            run_job_task=databricks.JobTaskRunJobTaskArgs(job_id=self.medallion.id.apply(int)),
        )
        return [refresh, tests]

    def _job(
        self,
        suffix: str,
        *,
        tasks: Sequence[databricks.JobTaskArgs],
        clusters: Sequence[databricks.JobJobClusterArgs],
        schedule: ScheduleConfig | None,
        queue: bool,
        timeout_seconds: int | None = None,
        after: Sequence[pulumi.Resource] = (),
        runners: Sequence[pulumi.Input[str]] = (),
    ) -> databricks.Job:
        """One job with what every job of the stack shares: one run at a time, run-as,
        tags, failure notifications, and its permissions."""
        args, config, stack = self._args, self._args.config, self._args.stack
        notifications = config.notifications
        job = databricks.Job(
            f"{self._name}-{suffix}",
            name=f"{config.prefix}-{stack}-{suffix}",
            tasks=list(tasks),
            job_clusters=list(clusters),
            schedule=(
                databricks.JobScheduleArgs(
                    quartz_cron_expression=schedule.cron,
                    timezone_id=schedule.timezone,
                    pause_status="PAUSED" if config.jobs_paused(schedule) else "UNPAUSED",
                )
                if schedule is not None
                else None
            ),
            max_concurrent_runs=1,
            queue=databricks.JobQueueArgs(enabled=queue),
            timeout_seconds=timeout_seconds,
            run_as=databricks.JobRunAsArgs(service_principal_name=args.run_as.application_id),
            tags=self._tags,
            email_notifications=(
                databricks.JobEmailNotificationsArgs(on_failures=list(notifications.emails))
                if notifications.emails
                else None
            ),
            webhook_notifications=(
                databricks.JobWebhookNotificationsArgs(
                    on_failures=[databricks.JobWebhookNotificationsOnFailureArgs(id=self.teams.id)]
                )
                if self.teams is not None
                else None
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    args.code,
                    *args.run_as_ready,
                    *args.data_ready,
                    *args.principals_ready,
                    *after,
                ],
            ),
        )
        display = config.group_display_name
        databricks.Permissions(
            f"{self._name}-{suffix}-permissions",
            job_id=job.id,
            access_controls=[
                # Owned by the deployer whoever runs `pulumi up` (a person's first deploy
                # included), so ownership does not move between deploys.
                databricks.PermissionsAccessControlArgs(
                    service_principal_name=args.deployer.application_id,
                    permission_level="IS_OWNER",
                ),
                *(
                    databricks.PermissionsAccessControlArgs(
                        group_name=display(stack, group), permission_level="CAN_MANAGE"
                    )
                    for group in config.jobs.manage_groups
                ),
                *(
                    databricks.PermissionsAccessControlArgs(
                        group_name=display(stack, group), permission_level="CAN_MANAGE_RUN"
                    )
                    for group in config.jobs.run_groups
                ),
                *(
                    databricks.PermissionsAccessControlArgs(
                        service_principal_name=runner, permission_level="CAN_MANAGE_RUN"
                    )
                    for runner in runners
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.principals_ready)),
        )
        return job
