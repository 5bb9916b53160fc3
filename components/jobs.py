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
  The Unity Catalog privileges that principal needs are part of the stack's grant plan
  (``components/grants.py``, ``job_runner_needs``).
- **Git token**: Databricks-backed secret scope holding the ``gitSyncToken`` secret. An
  Azure Key Vault-backed scope can only be created with a Microsoft Entra ID token, and
  the deployer signs in to Databricks with a Databricks OIDC token (a Databricks-managed
  service principal), so `pulumi up` in CI could not create one. The run-as principal
  reads the scope (READ); workspace admins, the deployer among them, manage it.
- **Notifications**: failed runs mail ``notifications.emails`` and, with
  ``notifications.teams`` / ``notifications.slack``, post to a Microsoft Teams / Slack
  notification destination whose URL is the ``teamsWebhookUrl`` / ``slackWebhookUrl``
  secret: secret in every plan, state and output.
- **Run history**: the git sync task records every run in the catalog's run-history
  schema (``notebooks/dataops_jobs/run_history.py``), trimmed to the configured retention.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pulumi
import pulumi_databricks as databricks

from components.config import ClusterConfig, JobsConfig, NotificationsConfig, ScheduleConfig
from components.principals import Principal
from components.secret_keys import SecretKey
from components.workspace_code import PROJECT_ROOT, notebook_path
from notebooks.dataops_jobs import parameters as jp

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

# The three jobs, by the key the outputs use.
GIT_SYNC, INTEGRATION_TESTS, MEDALLION = "gitSync", "integrationTests", "medallion"


# ----------------------------------------------------------------- what the jobs need


def landing_path(landing_url: str, company: str) -> str:
    """Where deliveries land: a folder of the landing zone named after the company."""
    return f"{landing_url.rstrip('/')}/{company}"


def checkpoint_path(zone_url: str) -> str:
    return f"{zone_url.rstrip('/')}/{CHECKPOINT_FOLDER}"


def cluster_policy_definition(
    cluster: ClusterConfig, tags: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """The policy every job cluster of the stack is created through."""
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
    for key, value in sorted(tags.items()):
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


class JobNames(Protocol):
    """The names the jobs layer needs: a platform stack's ``Names`` or a sandbox's."""

    @property
    def stack(self) -> str: ...
    @property
    def cluster_policy(self) -> str: ...
    @property
    def teams_destination(self) -> str: ...
    @property
    def slack_destination(self) -> str: ...
    def job(self, suffix: str) -> str: ...
    def group(self, group: str) -> str: ...


@dataclass(frozen=True)
class JobsArgs:
    jobs: JobsConfig
    notifications: NotificationsConfig
    names: JobNames
    tags: Mapping[str, str]
    # The tier's default for a schedule that does not say whether it is paused.
    schedules_paused: bool
    # Where the medallion reads and writes: the catalog, the landing and checkpoint
    # zones, the company folder in landing, whether the sample data is seeded first.
    catalog: str
    landing_zone: str
    checkpoint_zone: str
    company: str
    seed_sample_data: bool
    # The integration tests' grant checks (components/grants.py), naming schemas as they
    # are in the catalog: with a schema_prefix, the prefixed names (the job code uses them
    # as given).
    grant_checks: Sequence[Mapping[str, Any]]
    # Where the uploaded notebooks are, by path under the code folder.
    notebook_paths: Mapping[str, str]
    # The principal the jobs run as, and their owner (the deployer; in a sandbox, the
    # developer). When they are one, the run-as principal needs no grant of its own on
    # the cluster policy, the secret scope or the medallion.
    run_as: Principal
    owner: Principal
    run_as_is_owner: bool
    # The external locations' URLs by zone.
    zone_urls: Mapping[str, pulumi.Input[str]]
    workspace_url: pulumi.Input[str]
    # Secrets (Output.secret), read once by the program; None when not set.
    teams_webhook_url: pulumi.Input[str] | None
    git_sync_token: pulumi.Input[str] | None
    # The git sync's run history: its schema in ``catalog`` and the days of rows kept.
    history_schema: str
    history_retention_days: int
    slack_webhook_url: pulumi.Input[str] | None = None
    # Prepended to the medallion's schema names (a sandbox's own schemas in the dev
    # catalog); empty: bronze, silver and gold. Only the medallion and the integration
    # tests take it: the run history has its own schema.
    schema_prefix: str = ""
    # What every job waits for: its code, the run-as role, the data it reads and writes.
    ready: Sequence[pulumi.Resource] = field(default=())
    # Groups and principals the ACLs name exist in the workspace only once these do.
    principals_ready: Sequence[pulumi.Resource] = field(default=())
    # A cluster policy of the stack's own that every job cluster goes through. A sandbox
    # has none: creating one takes a workspace admin, and its clusters' size is a rule of
    # the policy pack (sandbox-cluster-size) instead.
    cluster_policy: bool = True
    # Groups that may see the jobs and their runs (CAN_VIEW), besides jobs.run_groups
    # (CAN_MANAGE_RUN) and jobs.manage_groups (CAN_MANAGE).
    view_groups: Sequence[str] = ()
    # Where the git sync's token lives, and whether an https backup remote must have one
    # (a sandbox's backup may be created before its developer sets a token).
    secret_scope: str = jp.DEFAULT_SECRET_SCOPE
    git_token_required: bool = True
    # Where the git sync keeps its run reports; None: the job code's default (/Shared).
    report_dir: str | None = None


class Jobs(pulumi.ComponentResource):
    """The stack's three jobs, their cluster policy, secret scope and notifications."""

    cluster_policy: databricks.ClusterPolicy | None
    teams: databricks.NotificationDestination | None
    slack: databricks.NotificationDestination | None
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
        jobs, names = args.jobs, args.names
        self._runs_as_owner = args.run_as_is_owner
        self._tags = dict(args.tags)
        principals = list(args.principals_ready)

        self.cluster_policy = (
            databricks.ClusterPolicy(
                f"{name}-cluster-policy",
                name=names.cluster_policy,
                description=f"Job clusters of dataops stack {names.stack}",
                definition=json.dumps(
                    cluster_policy_definition(jobs.cluster, args.tags), sort_keys=True
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            if args.cluster_policy
            else None
        )
        if self.cluster_policy is not None and not self._runs_as_owner:
            # Workspace admins (the deployer) may use any policy; the job runner creates
            # its job clusters through this one.
            databricks.Permissions(
                f"{name}-cluster-policy-permissions",
                cluster_policy_id=self.cluster_policy.id,
                access_controls=[args.run_as.access_control("CAN_USE")],
                opts=pulumi.ResourceOptions(parent=self, depends_on=principals),
            )

        self.teams = self._teams_destination(name) if args.notifications.teams else None
        self.slack = self._slack_destination(name) if args.notifications.slack else None
        # Where failures are posted besides email: the alerts of other layers post there too.
        self.destination_ids: list[pulumi.Output[str]] = [
            d.id for d in (self.teams, self.slack) if d is not None
        ]
        secret_scope, secret_ready = self._git_token(name)
        git = jobs.git_sync
        git_sync_values = jp.GIT_SYNC.values(
            source_path=git.source_path,
            target_repository=git.target_repository,
            target_branch=git.target_branch,
            secret_scope=secret_scope,
            secret_key=jp.DEFAULT_GIT_TOKEN_KEY,
            **({"report_dir": args.report_dir} if args.report_dir is not None else {}),
            catalog=args.catalog,
            history_schema=args.history_schema,
            retention_days=str(args.history_retention_days),
            # A dynamic value reference the job fills in per run: the one parameter a run
            # may carry (https://docs.databricks.com/jobs/dynamic-value-references).
            job_run_id=jp.JOB_RUN_ID_REFERENCE,
        )

        self.git_sync = self._job(
            "git-sync",
            tasks=[self._git_sync_task(git_sync_values)],
            # Where the backup goes and which secret it reads are pinned in the job
            # cluster's environment: no run can point them elsewhere (parameters.py).
            clusters=[
                self._cluster(
                    jp.GIT_SYNC.task_key,
                    workers=0,
                    environment=jp.GIT_SYNC.pinned_environment(git_sync_values),
                )
            ],
            schedule=jobs.git_sync.schedule,
            # A run skipped behind a long one is caught up by the next: the sync is
            # incremental, so queueing would only stack runs up.
            queue=False,
            after=secret_ready,
        )
        medallion = jobs.medallion
        self.medallion = self._job(
            "medallion",
            tasks=self._medallion_tasks(args),
            clusters=[self._cluster(MEDALLION, workers=jobs.cluster.num_workers)],
            schedule=medallion.schedule,
            timeout_seconds=medallion.timeout_seconds,
            queue=True,
            # The integration tests (run as the same principal) start a medallion run first.
            runners=(
                [args.run_as]
                if jobs.integration_tests.run_medallion_first and not self._runs_as_owner
                else []
            ),
        )
        tests = jobs.integration_tests
        self.integration_tests = self._job(
            "integration-tests",
            tasks=self._integration_tasks(),
            clusters=[self._cluster(jp.INTEGRATION_TESTS.task_key, workers=0)],
            schedule=tests.schedule,
            timeout_seconds=tests.timeout_seconds,
            queue=True,
        )

        by_key = {
            GIT_SYNC: self.git_sync,
            INTEGRATION_TESTS: self.integration_tests,
            MEDALLION: self.medallion,
        }
        self.job_ids = {key: job.id for key, job in by_key.items()}
        keys = list(by_key)
        self.job_urls = pulumi.Output.all(
            *(pulumi.Output.concat(args.workspace_url, "/jobs/", job.id) for job in by_key.values())
        ).apply(lambda urls: {key: str(url) for key, url in zip(keys, urls, strict=True)})
        self.register_outputs({"job_ids": self.job_ids, "job_urls": self.job_urls})

    # ----------------------------------------------------------------------- pieces

    def _teams_destination(self, name: str) -> databricks.NotificationDestination:
        url = self._args.teams_webhook_url
        if url is None:  # the config model refuses teams without the secret
            raise ValueError(f"the secret dataops:{SecretKey.TEAMS_WEBHOOK_URL} is not set")
        return databricks.NotificationDestination(
            f"{name}-teams",
            display_name=self._args.names.teams_destination,
            config=databricks.NotificationDestinationConfigArgs(
                microsoft_teams=databricks.NotificationDestinationConfigMicrosoftTeamsArgs(url=url)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _slack_destination(self, name: str) -> databricks.NotificationDestination:
        url = self._args.slack_webhook_url
        if url is None:  # the config model refuses slack without the secret
            raise ValueError(f"the secret dataops:{SecretKey.SLACK_WEBHOOK_URL} is not set")
        return databricks.NotificationDestination(
            f"{name}-slack",
            display_name=self._args.names.slack_destination,
            config=databricks.NotificationDestinationConfigArgs(
                slack=databricks.NotificationDestinationConfigSlackArgs(url=url)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _git_token(self, name: str) -> tuple[str, list[pulumi.Resource]]:
        """The secret scope the sync task reads its token from ('' with no token)."""
        args = self._args
        # An https remote takes a token; ssh remotes authenticate with keys.
        if not args.jobs.git_sync.target_repository.startswith("https://"):
            return "", []
        token = args.git_sync_token
        if token is None:
            if not args.git_token_required:
                return "", []  # the backup runs and its push is refused: the run says so
            # the config model refuses an https remote without it
            raise ValueError(f"the secret dataops:{SecretKey.GIT_SYNC_TOKEN} is not set")
        child = pulumi.ResourceOptions(parent=self)
        # No initial_manage_principal: "users" would let everyone read the token; the
        # creator and workspace admins manage the scope.
        scope = databricks.SecretScope(f"{name}-git-sync-scope", name=args.secret_scope, opts=child)
        secret = databricks.Secret(
            f"{name}-git-sync-token",
            scope=scope.name,
            key=jp.DEFAULT_GIT_TOKEN_KEY,
            string_value=token,
            opts=child,
        )
        ready: list[pulumi.Resource] = [secret]
        if not self._runs_as_owner:
            ready.append(
                databricks.SecretAcl(
                    f"{name}-git-sync-scope-reader",
                    scope=scope.name,
                    principal=args.run_as.name,
                    permission="READ",
                    opts=pulumi.ResourceOptions(
                        parent=self, depends_on=list(args.principals_ready)
                    ),
                )
            )
        return args.secret_scope, ready

    def _cluster(
        self, key: str, *, workers: int, environment: Mapping[str, str] | None = None
    ) -> databricks.JobJobClusterArgs:
        cluster = self._args.jobs.cluster
        single_node = workers == 0
        return databricks.JobJobClusterArgs(
            job_cluster_key=key,
            new_cluster=databricks.JobJobClusterNewClusterArgs(
                policy_id=self.cluster_policy.id if self.cluster_policy else None,
                apply_policy_default_values=True if self.cluster_policy else None,
                spark_version=cluster.spark_version,
                node_type_id=cluster.node_type,
                num_workers=workers,
                data_security_mode=SINGLE_USER,
                spark_conf=SINGLE_NODE_SPARK_CONF if single_node else None,
                spark_env_vars=dict(environment) if environment else None,
                custom_tags={**self._tags, **(SINGLE_NODE_TAGS if single_node else {})},
            ),
        )

    def _notebook(
        self, entry: jp.EntryPoint, parameters: pulumi.Input[Mapping[str, str]] | None
    ) -> databricks.JobTaskNotebookTaskArgs:
        return databricks.JobTaskNotebookTaskArgs(
            notebook_path=notebook_path(self._args.notebook_paths, entry),
            source="WORKSPACE",
            base_parameters=parameters,
        )

    def _git_sync_task(self, values: dict[str, str]) -> databricks.JobTaskArgs:
        git = self._args.jobs.git_sync
        parameters = jp.GIT_SYNC.task_parameters(values)
        return databricks.JobTaskArgs(
            task_key=jp.GIT_SYNC.task_key,
            job_cluster_key=jp.GIT_SYNC.task_key,
            notebook_task=self._notebook(jp.GIT_SYNC, parameters or None),
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
        catalog, prefix = args.catalog, args.schema_prefix
        seed = "true" if args.seed_sample_data else "false"
        bronze = jp.MEDALLION_BRONZE
        # The names and the prefix are checked now, so a typo fails the plan, not the
        # first run.
        bronze.values(
            catalog=catalog,
            schema_prefix=prefix,
            landing_path="-",
            checkpoint_path="-",
            seed_sample_data=seed,
        )
        bronze_parameters = pulumi.Output.all(
            args.zone_urls[args.landing_zone],
            args.zone_urls[args.checkpoint_zone],
        ).apply(
            lambda urls: bronze.task_parameters(
                bronze.values(
                    catalog=catalog,
                    schema_prefix=prefix,
                    landing_path=landing_path(str(urls[0]), args.company),
                    checkpoint_path=checkpoint_path(str(urls[1])),
                    seed_sample_data=seed,
                )
            )
        )
        steps: list[tuple[jp.EntryPoint, pulumi.Input[Mapping[str, str]]]] = [
            (bronze, bronze_parameters),
            *(
                (entry, entry.task_parameters(entry.values(catalog=catalog, schema_prefix=prefix)))
                for entry in (jp.MEDALLION_SILVER, jp.MEDALLION_GOLD)
            ),
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

    def _integration_tasks(self) -> list[databricks.JobTaskArgs]:
        args = self._args
        parameters = jp.INTEGRATION_TESTS.task_parameters(
            jp.INTEGRATION_TESTS.values(
                catalog=args.catalog,
                schema_prefix=args.schema_prefix,
                grant_checks=json.dumps(list(args.grant_checks)),
            )
        )
        refresh_first = args.jobs.integration_tests.run_medallion_first
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
        runners: Sequence[Principal] = (),
    ) -> databricks.Job:
        """One job with what every job of the stack shares: one run at a time, run-as,
        tags, failure notifications, and its permissions."""
        args, names = self._args, self._args.names
        notifications = args.notifications
        job = databricks.Job(
            f"{self._name}-{suffix}",
            name=names.job(suffix),
            tasks=list(tasks),
            job_clusters=list(clusters),
            schedule=(
                databricks.JobScheduleArgs(
                    quartz_cron_expression=schedule.cron,
                    timezone_id=schedule.timezone,
                    pause_status="PAUSED" if self._paused(schedule) else "UNPAUSED",
                )
                if schedule is not None
                else None
            ),
            max_concurrent_runs=1,
            queue=databricks.JobQueueArgs(enabled=queue),
            timeout_seconds=timeout_seconds,
            run_as=args.run_as.run_as(),
            tags=self._tags,
            email_notifications=(
                databricks.JobEmailNotificationsArgs(on_failures=list(notifications.emails))
                if notifications.emails
                else None
            ),
            webhook_notifications=(
                databricks.JobWebhookNotificationsArgs(
                    on_failures=[
                        databricks.JobWebhookNotificationsOnFailureArgs(id=destination)
                        for destination in self.destination_ids
                    ]
                )
                if self.destination_ids
                else None
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*args.ready, *args.principals_ready, *after],
            ),
        )
        databricks.Permissions(
            f"{self._name}-{suffix}-permissions",
            job_id=job.id,
            access_controls=[
                # Owned by the deployer whoever runs `pulumi up` (a person's first deploy
                # included), so ownership does not move between deploys.
                args.owner.access_control("IS_OWNER"),
                *(
                    databricks.PermissionsAccessControlArgs(
                        group_name=names.group(group), permission_level="CAN_MANAGE"
                    )
                    for group in args.jobs.manage_groups
                ),
                *(
                    databricks.PermissionsAccessControlArgs(
                        group_name=names.group(group), permission_level="CAN_MANAGE_RUN"
                    )
                    for group in args.jobs.run_groups
                ),
                *(
                    databricks.PermissionsAccessControlArgs(
                        group_name=names.group(group), permission_level="CAN_VIEW"
                    )
                    for group in args.view_groups
                ),
                *(runner.access_control("CAN_MANAGE_RUN") for runner in runners),
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.principals_ready)),
        )
        return job

    def _paused(self, schedule: ScheduleConfig) -> bool:
        """As the schedule says, else the tier's default (paused outside production)."""
        return schedule.paused if schedule.paused is not None else self._args.schedules_paused
