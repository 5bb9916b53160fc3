"""A sandbox stack's config: whose sandbox, which branch, and what it borrows from dev.

Written by ``python -m dataops sandbox config`` (``dataops/sandbox.py``), never by hand:
the values a sandbox needs from the base stack's config (its jobs' catalog, node type,
runtime, backup repository, name prefix) are copied into it when it is generated, and
the values only a deploy knows (workspace URL, zone URLs, group names) come from the base
stack's outputs through a ``StackReference`` (``components/sandbox.py``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import model_validator

from components.config.types import (
    ApiInt,
    Email,
    GitBranch,
    GitRemoteUrl,
    GroupName,
    NamePrefix,
    UcIdentifier,
    _doc,
    _Model,
    _PathError,
    _required,
)
from components.sandbox_names import STACK_NAME, STACK_PREFIX, SandboxNames
from components.secret_keys import SecretKey
from components.tiers import TIERS, Tier, TierTraits, traits

# The secrets a sandbox may hold: the token its own backup pushes with. Notification
# webhooks and the git credential belong to the platform stacks.
SANDBOX_SECRET_KEYS = frozenset({str(SecretKey.GIT_SYNC_TOKEN)})


class SandboxClusterConfig(_Model):
    node_type: str = _doc("Standard_DS3_v2", "VM size of the single-node job clusters")
    spark_version: str = _doc("15.4.x-scala2.12", "Databricks Runtime, as the base stack pins it")


class SandboxSettings(_Model):
    user: Email = _required("The developer: an email the base stack's identity.users lists")
    branch: GitBranch = _required("The git branch the sandbox deploys")
    created_at: str = _required("When the sandbox was first generated (UTC, ISO 8601)")
    base_stack: str = _doc("dev", "The stack whose workspace and catalog the sandbox works in")
    catalog: UcIdentifier = _required("The base stack's catalog the sandbox's schemas go in")
    company: NamePrefix = _required("The base stack's azure.namePrefix (its landing folder)")
    landing_zone: UcIdentifier = _doc("landing", "The base stack's zone deliveries land in")
    checkpoint_zone: UcIdentifier = _doc("bronze", "The base stack's zone for checkpoints")
    backup_repository: GitRemoteUrl = _required(
        "The base stack's backup repository; the sandbox's git sync pushes to its own "
        "branch there, sandboxes/<namespace> (with the gitSyncToken secret, if set)"
    )
    reviewer_groups: tuple[GroupName, ...] = _doc(
        ("data-engineers",), "The base stack's groups that may read the sandbox's data and jobs"
    )
    cluster: SandboxClusterConfig = _doc(SandboxClusterConfig(), "The jobs' compute")
    job_timeout_minutes: ApiInt = _doc(60, "Longest run of a sandbox job", ge=5)


class SandboxStackConfig(_Model):
    """A developer's sandbox: namespaced objects in the base stack's workspace."""

    environment: Tier = _required("sandbox")
    sandbox: SandboxSettings = _required("Whose sandbox, which branch, what it borrows")
    secrets_set: frozenset[str] = frozenset()
    stack_name: str | None = None

    @model_validator(mode="after")
    def _rules(self) -> SandboxStackConfig:
        settings, row = self.sandbox, self.tier
        if self.environment is not Tier.SANDBOX:  # the loader only sends sandboxes here
            raise _PathError(("environment",), "a sandbox stack's environment is sandbox")
        problem = _created_at_problem(settings.created_at)
        if problem:
            raise _PathError(("sandbox", "createdAt"), problem)
        base = settings.base_stack
        if not STACK_NAME.match(base):
            raise _PathError(("sandbox", "baseStack"), f"{base!r} is not a stack name")
        if base in {str(tier) for tier, traits_ in TIERS.items() if traits_.mandatory_policy}:
            raise _PathError(
                ("sandbox", "baseStack"),
                f"{base!r}: a sandbox works in the dev workspace, never in {base}'s",
            )
        if base.startswith(STACK_PREFIX):
            raise _PathError(("sandbox", "baseStack"), f"{base!r} is a sandbox itself")
        if row.sandbox_node_types and settings.cluster.node_type not in row.sandbox_node_types:
            raise _PathError(
                ("sandbox", "cluster", "nodeType"),
                f"{settings.cluster.node_type!r} is bigger than a sandbox gets; one of "
                f"{', '.join(row.sandbox_node_types)}",
            )
        longest = row.sandbox_max_job_minutes
        if longest is not None and settings.job_timeout_minutes > longest:
            raise _PathError(
                ("sandbox", "jobTimeoutMinutes"),
                f"{settings.job_timeout_minutes} is more than a sandbox run may take ({longest})",
            )
        refused = sorted(self.secrets_set - SANDBOX_SECRET_KEYS)
        if refused:
            raise _PathError(
                (refused[0],),
                f"is not a sandbox secret; a sandbox holds only {', '.join(SANDBOX_SECRET_KEYS)}",
            )
        if self.stack_name is not None and self.stack_name != self.names.stack:
            raise _PathError(
                ("sandbox",),
                f"user {settings.user} and branch {settings.branch!r} make the stack "
                f"{self.names.stack}, not {self.stack_name}; regenerate it with "
                "python -m dataops sandbox config",
            )
        return self

    @property
    def tier(self) -> TierTraits:
        return traits(self.environment)

    @property
    def names(self) -> SandboxNames:
        settings = self.sandbox
        return SandboxNames(settings.user, settings.branch, settings.base_stack)


def _created_at_problem(value: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"{value!r} is not an ISO 8601 time (2026-12-02T16:30:00Z)"
    if parsed.tzinfo is None:
        return f"{value!r} has no time zone; write it in UTC (2026-12-02T16:30:00Z)"
    return None
