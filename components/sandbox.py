"""A sandbox: one developer's namespaced copy of the jobs, inside the dev stack's workspace.

What ``pulumi up -s sandbox-<namespace>`` owns, with the developer's own credentials:

- **Nothing at the Azure or account level.** The workspace, its catalog, the zones and
  the groups are the base stack's (dev); the sandbox reads them from dev's outputs through
  a ``StackReference`` and checks they are what it expects (:func:`base_problem`) before
  anything is created.
- **Schemas** ``sbx_<namespace>_bronze|silver|gold|ops`` in the base stack's catalog, not
  a catalog of its own: a developer may create schemas there (dev's data-engineers hold
  ``CREATE_SCHEMA`` on it), while a catalog takes ``CREATE_CATALOG`` on the metastore,
  which would let them create catalogs every workspace of the metastore can see. The
  developer owns the schemas and holds ``ALL_PRIVILEGES`` on them; the reviewing groups
  read them. ``force_destroy``: ``sandbox down`` removes their tables too.
- **The job code** of the branch under the developer's own folder
  (``/Users/<email>/sandboxes/<namespace>``), which only they and admins may change.
- **The three jobs**, named ``[sandbox <user> <branch>] <job> (<namespace>)``, run as and
  owned by the developer, on single-node clusters of the sandbox size, schedules paused,
  failures mailed to the developer only. The medallion reads its own landing folder and
  keeps its own checkpoints (``<zone>/sandboxes/<namespace>/``); the git sync mirrors the
  sandbox's code folder to its own branch of the backup repository.

Tags (owner, branch, creation time, namespace) go on every job and job cluster, and as
properties on every schema; the cleanup workflow and ``sandbox list`` read the same
values from the stack's outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_databricks as databricks

from components.config import (
    PROJECT,
    ClusterConfig,
    GitSyncJobConfig,
    IntegrationTestJobConfig,
    JobsConfig,
    MedallionJobConfig,
    NotificationsConfig,
    SandboxStackConfig,
    ScheduleConfig,
)
from components.grants import SecurableKind
from components.jobs import GIT_SYNC, INTEGRATION_TESTS, MEDALLION, Jobs, JobsArgs
from components.principals import Principal
from components.sandbox_names import SandboxNames
from components.tiers import TIERS
from components.workspace_code import WorkspaceCode, WorkspaceCodeArgs
from notebooks.dataops_jobs import parameters as jp

# The sandbox's schemas: the medallion's and the git sync's run history.
SANDBOX_ZONES = (*jp.MEDALLION_SCHEMAS, jp.DEFAULT_HISTORY_SCHEMA)
# What the reviewing groups may do with the sandbox's data.
REVIEWER_PRIVILEGES = ("USE_SCHEMA", "SELECT")
# Run-history rows a sandbox keeps (days).
HISTORY_RETENTION_DAYS = 7
# The tiers a sandbox may work in: neither a tier whose rules are mandatory (staging,
# prod: only service principals deploy there) nor another sandbox.
BASE_TIERS = frozenset(
    str(tier) for tier, row in TIERS.items() if not row.mandatory_policy and not row.sandbox
)


def base_stack_reference(organization: str, project: str, base_stack: str) -> str:
    """The fully qualified name of the base stack: ``<organization>/<project>/<stack>``.

    Unambiguous in Pulumi Cloud and in a DIY backend alike (whose organization is the
    literal ``organization``): https://www.pulumi.com/docs/iac/concepts/stacks/#stackreferences
    """
    return f"{organization}/{project}/{base_stack}"


def base_problem(outputs: Mapping[str, Any], config: SandboxStackConfig) -> str | None:
    """Why the base stack's outputs cannot host this sandbox, or None.

    Read at deploy time (the outputs are the base stack's last deploy) and offline (from
    its offline render): the base must be a dev-tier stack with the catalog, zones and
    groups the sandbox config names.
    """
    settings = config.sandbox
    base = settings.base_stack
    environment = outputs.get("environment")
    if environment not in BASE_TIERS:
        return (
            f"the base stack {base} is {environment or 'not deployed (no outputs)'}; a sandbox "
            f"works only in a {' or '.join(sorted(BASE_TIERS))} stack"
        )
    for key in ("workspaceUrl", "workspaceResourceId", "catalogNames", "groupNames"):
        if not outputs.get(key):
            return f"the base stack {base} has no output {key!r}; deploy it first"
    if settings.catalog not in outputs["catalogNames"]:
        return (
            f"the base stack {base} has no catalog {settings.catalog!r} "
            f"(it has {', '.join(outputs['catalogNames'])})"
        )
    zones = outputs.get("externalLocationUrls") or {}
    for zone in (settings.landing_zone, settings.checkpoint_zone):
        if zone not in zones:
            return f"the base stack {base} has no zone {zone!r} (externalLocationUrls)"
    names = config.names
    missing = [
        names.group(group)
        for group in settings.reviewer_groups
        if names.group(group) not in outputs["groupNames"]
    ]
    if missing:
        return f"the base stack {base} has no group {', '.join(missing)}"
    return None


def sandbox_grant_checks(config: SandboxStackConfig) -> list[dict[str, Any]]:
    """The integration tests' grant checks in a sandbox: the reviewers read gold, and
    write nowhere (the same shape as ``components/grants.py`` gives the platform's)."""
    names = config.names
    return [
        {
            "principal": names.group(group),
            "securable": SecurableKind.SCHEMA.value,
            "name": names.schema(jp.GOLD),
            "must_have": list(REVIEWER_PRIVILEGES),
            "must_not_have": ["MODIFY"],
        }
        for group in config.sandbox.reviewer_groups
    ]


def _folder_of(
    zone_urls: pulumi.Output[dict[str, Any]], zone: str, folder: str
) -> pulumi.Output[str]:
    """``folder`` in a zone of the base stack: ``abfss://<zone>@<account>.../<folder>``."""
    return zone_urls.apply(lambda urls: f"{str(urls[zone]).rstrip('/')}/{folder}")


@dataclass(frozen=True)
class SandboxArgs:
    config: SandboxStackConfig
    # The sandbox's own backup token (Output.secret), if its developer set one.
    git_sync_token: pulumi.Output[str] | None


class Sandbox(pulumi.ComponentResource):
    """Everything ``pulumi up -s sandbox-<namespace>`` owns."""

    names: SandboxNames
    base: pulumi.StackReference
    schemas: dict[str, databricks.Schema]
    workspace_code: WorkspaceCode
    jobs: Jobs

    def __init__(
        self, name: str, args: SandboxArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:sandbox:Sandbox", name, None, opts)
        config = args.config
        settings = config.sandbox
        self.config = config
        self.names = names = config.names
        developer = Principal.user(settings.user)
        self._tags = {
            "project": PROJECT,
            "environment": config.environment.value,
            "stack": names.stack,
        } | names.tags(settings.created_at)

        self.base = pulumi.StackReference(
            f"{name}-base",
            stack_name=base_stack_reference(
                pulumi.get_organization(), pulumi.get_project(), settings.base_stack
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._base_outputs = self.base.outputs.apply(lambda outputs: self._checked(outputs))
        self.workspace_url = self._base_outputs.apply(lambda o: str(o["workspaceUrl"]))
        self.group_names = self._base_outputs.apply(lambda o: [str(g) for g in o["groupNames"]])
        # The workspace provider of the base stack's workspace; credentials come from the
        # developer's environment (az login), never from config.
        provider = databricks.Provider(
            f"{name}-databricks-workspace",
            host=self.workspace_url,
            azure_workspace_resource_id=self._base_outputs.apply(
                lambda o: str(o["workspaceResourceId"])
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_workspace = pulumi.ResourceOptions(parent=self, providers=[provider])

        self.schemas = {}
        grants: list[databricks.Grants] = []
        reviewers = [names.group(group) for group in settings.reviewer_groups]
        for zone in SANDBOX_ZONES:
            schema = databricks.Schema(
                f"{name}-schema-{zone}",
                catalog_name=settings.catalog,
                name=names.schema(zone),
                comment=f"{zone} of {names.label}",
                properties=self._tags,
                # `sandbox down` leaves nothing behind: the schema goes with its tables.
                force_destroy=True,
                opts=on_workspace,
            )
            self.schemas[zone] = schema
            grants.append(
                databricks.Grants(
                    f"{name}-grants-{zone}",
                    schema=schema.id,
                    grants=[
                        databricks.GrantsGrantArgs(
                            principal=settings.user, privileges=["ALL_PRIVILEGES"]
                        ),
                        *(
                            databricks.GrantsGrantArgs(
                                principal=group, privileges=list(REVIEWER_PRIVILEGES)
                            )
                            for group in reviewers
                        ),
                    ],
                    opts=on_workspace,
                )
            )

        self.workspace_code = code = WorkspaceCode(
            f"{name}-code",
            WorkspaceCodeArgs(
                folder=names.code_folder,
                manager=developer,
                reader_groups=reviewers,
                reader=None,
                # `sandbox down` leaves nothing: the backup's reports are written in here.
                delete_everything=True,
            ),
            on_workspace,
        )
        zone_url = self._base_outputs.apply(lambda o: dict(o["externalLocationUrls"]))
        self.jobs = Jobs(
            f"{name}-jobs",
            JobsArgs(
                jobs=self._jobs_config(),
                notifications=NotificationsConfig(emails=(settings.user,)),
                names=names,
                tags=self._tags,
                schedules_paused=True,
                catalog=settings.catalog,
                landing_zone=settings.landing_zone,
                checkpoint_zone=settings.checkpoint_zone,
                company=settings.company,
                seed_sample_data=True,
                grant_checks=sandbox_grant_checks(config),
                notebook_paths=code.notebook_paths,
                run_as=developer,
                owner=developer,
                run_as_is_owner=True,
                # Its own folder of each zone the medallion reads or writes: the sample
                # deliveries it seeds and its checkpoints never meet dev's.
                zone_urls={
                    zone: _folder_of(zone_url, zone, names.data_folder)
                    for zone in (settings.landing_zone, settings.checkpoint_zone)
                },
                workspace_url=self.workspace_url,
                teams_webhook_url=None,
                git_sync_token=args.git_sync_token,
                history_schema=names.schema(jp.DEFAULT_HISTORY_SCHEMA),
                schema_prefix=names.schema_prefix,
                history_retention_days=HISTORY_RETENTION_DAYS,
                ready=[code, *grants],
                cluster_policy=False,
                view_groups=settings.reviewer_groups,
                secret_scope=names.secret_scope,
                git_token_required=False,
                report_dir=names.report_folder,
            ),
            on_workspace,
        )
        self.register_outputs(self.outputs())

    def _checked(self, outputs: Mapping[str, Any]) -> Mapping[str, Any]:
        problem = base_problem(outputs, self.config)
        if problem is not None:
            # At deploy time: the base stack changed since the sandbox was generated.
            raise pulumi.RunError(f"Pulumi.{self.names.stack}.yaml: {problem}")
        return outputs

    def _jobs_config(self) -> JobsConfig:
        """The jobs layer's config of a sandbox: small, paused, its own backup branch."""
        settings, names = self.config.sandbox, self.names
        timeout = settings.job_timeout_minutes * 60
        return JobsConfig(
            run_as="deployer",
            cluster=ClusterConfig(
                node_type=settings.cluster.node_type,
                spark_version=settings.cluster.spark_version,
                num_workers=0,
            ),
            git_sync=GitSyncJobConfig(
                schedule=ScheduleConfig(cron="0 0 2 * * ?", paused=True),
                source_path=names.code_folder,
                target_repository=settings.backup_repository,
                target_branch=names.backup_branch,
                timeout_seconds=timeout,
                max_retries=0,
            ),
            integration_tests=IntegrationTestJobConfig(timeout_seconds=timeout),
            medallion=MedallionJobConfig(timeout_seconds=timeout),
            run_groups=(),
            manage_groups=(),
        )

    def outputs(self) -> dict[str, Any]:
        """A sandbox's outputs (schema/outputs.schema.json, the sandbox branch)."""
        settings, names = self.config.sandbox, self.names
        return {
            "environment": self.config.environment.value,
            "baseStack": settings.base_stack,
            "sandboxNamespace": names.namespace,
            "sandboxOwner": settings.user,
            "sandboxBranch": settings.branch,
            "sandboxCreatedAt": settings.created_at,
            "workspaceUrl": self.workspace_url,
            "catalogNames": [settings.catalog],
            "schemaPrefix": names.schema_prefix,
            "schemaNames": [f"{settings.catalog}.{names.schema(zone)}" for zone in SANDBOX_ZONES],
            "groupNames": self.group_names,
            "reviewerGroups": [names.group(group) for group in settings.reviewer_groups],
            "codeFolder": self.workspace_code.folder,
            "gitSyncJobId": self.jobs.job_ids[GIT_SYNC],
            "integrationTestJobId": self.jobs.job_ids[INTEGRATION_TESTS],
            "medallionJobId": self.jobs.job_ids[MEDALLION],
            "jobUrls": self.jobs.job_urls,
        }
