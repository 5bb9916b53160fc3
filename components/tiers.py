"""What each environment tier implies: one row per tier, read by the config, the layers
and the policy pack.

Standard library only: the CrossGuard pack imports this module in its own virtualenv,
which has no pydantic. A new tier is one member of :class:`Tier` and one row of
:data:`TIERS`; config defaults, the deploy branch, data protection and the policy
pack's enforcement all follow from the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal


class Tier(StrEnum):
    """The environment tier; it sets defaults and which governance rules are mandatory."""

    DEV = "dev"
    # A developer's personal stack for one branch, inside the dev stack's workspace.
    SANDBOX = "sandbox"
    STAGING = "staging"
    PROD = "prod"


@dataclass(frozen=True)
class TierTraits:
    """What a tier implies, wherever it is decided."""

    # Storage, Key Vault, catalogs and schemas are protected from deletion, and the Key
    # Vault gets purge protection by default (config may not turn it off where required).
    protect_data: bool
    # Job schedules are paused unless a schedule says otherwise.
    schedules_paused: bool
    # The medallion seeds the shipped sample dataset into landing (no real deliveries).
    sample_data: bool
    # Which configured branch deploys the stack: sourceControl.developBranch or mainBranch.
    # (A sandbox deploys its own branch: its row's value is never read.)
    deploy_branch: Literal["develop", "main"]
    # Governance rules the tier enables are mandatory (else advisory).
    mandatory_policy: bool
    # Production rules apply: jobs run as the job runner from a folder outside /Shared,
    # a premium workspace, reviewers on deployments, purge protection kept, no sample
    # data, reviewers bind admins, and the policy pack's production-only rules.
    production: bool
    # The SQL warehouse's default size: its cluster size ("2X-Small" ... "4X-Large", the
    # values of databricks.SqlEndpoint cluster_size) and how many clusters it may scale
    # out to under concurrent queries (max_num_clusters).
    warehouse_size: str
    warehouse_max_clusters: int
    # The security posture the tier defaults to (config may tighten it; the policy pack's
    # posture rules bind in the tiers whose row turns the control on).
    # azure.network.mode: private = Private Link front and back end, data behind endpoints.
    network_mode: Literal["managed", "injected", "private"] = "managed"
    # Customer-managed keys for managed services, managed disks and the DBFS root.
    customer_managed_keys: bool = False
    # Longest lifetime of a new personal access token (workspace conf maxTokenLifetimeDays).
    max_token_lifetime_days: int = 90
    # Personal access tokens at all; off where CI and jobs sign in with OIDC only.
    personal_access_tokens: bool = True
    # Enhanced security monitoring (hardened image, antivirus, file integrity monitoring).
    enhanced_security_monitoring: bool = False
    # Clusters restart into the latest host image in a maintenance window.
    automatic_cluster_update: bool = False
    # Serverless compute may reach only the destinations config allows (network policy).
    serverless_egress_restricted: bool = False
    # A personal stack inside another stack's workspace (components/sandbox.py): it creates
    # no Azure or account resource, and the policy pack's sandbox rules bind it, not the
    # platform rules (which judge what only a platform stack creates).
    sandbox: bool = False
    # The sandbox size: the node types a sandbox job cluster may use (each 4 vCPUs or
    # fewer: https://learn.microsoft.com/azure/virtual-machines/sizes), always single-node,
    # and the longest a run may take. Empty / None: no such limit (the platform tiers set
    # their compute in config, through their cluster policy).
    sandbox_node_types: tuple[str, ...] = ()
    sandbox_max_job_minutes: int | None = None


_PROD = TierTraits(
    protect_data=True,
    schedules_paused=False,
    sample_data=False,
    deploy_branch="main",
    mandatory_policy=True,
    production=True,
    warehouse_size="Small",
    warehouse_max_clusters=4,
    network_mode="private",
    customer_managed_keys=True,
    max_token_lifetime_days=30,
    personal_access_tokens=False,
    enhanced_security_monitoring=True,
    automatic_cluster_update=True,
    serverless_egress_restricted=True,
)

TIERS: Mapping[Tier, TierTraits] = {
    Tier.DEV: TierTraits(
        protect_data=False,
        schedules_paused=True,
        sample_data=True,
        deploy_branch="develop",
        mandatory_policy=False,
        production=False,
        warehouse_size="2X-Small",
        warehouse_max_clusters=1,
    ),
    Tier.SANDBOX: TierTraits(
        protect_data=False,
        schedules_paused=True,
        sample_data=True,
        deploy_branch="develop",
        # Mandatory: a sandbox is deployed from a laptop with a developer's credentials,
        # so the guard rails cannot be advice.
        mandatory_policy=True,
        production=False,
        warehouse_size="2X-Small",
        warehouse_max_clusters=1,
        sandbox=True,
        sandbox_node_types=(
            "Standard_DS3_v2",  # 4 vCPUs, 14 GiB: the dev stack's default
            "Standard_D4ds_v5",  # 4 vCPUs, 16 GiB
            "Standard_D4s_v5",  # 4 vCPUs, 16 GiB
            "Standard_F4s_v2",  # 4 vCPUs, 8 GiB
        ),
        sandbox_max_job_minutes=120,
    ),
    Tier.STAGING: replace(
        _PROD,
        # Production-like: the same network, keys and hardening as prod, so a deploy that
        # works here works there; but its data is test data, rebuilt freely.
        protect_data=False,
        schedules_paused=True,
        sample_data=True,
        production=False,
        # The latency SLO test runs against this warehouse.
        warehouse_size="X-Small",
        warehouse_max_clusters=1,
    ),
    Tier.PROD: _PROD,
}


def traits(tier: Tier | str) -> TierTraits:
    return TIERS[Tier(tier)]
