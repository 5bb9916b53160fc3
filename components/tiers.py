"""What each environment tier implies: one row per tier, read by the config, the layers
and the policy pack.

Standard library only: the CrossGuard pack imports this module in its own virtualenv,
which has no pydantic. A new tier is one member of :class:`Tier` and one row of
:data:`TIERS`; config defaults, the deploy branch, data protection and the policy
pack's enforcement all follow from the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Tier(StrEnum):
    """The environment tier; it sets defaults and which governance rules are mandatory."""

    DEV = "dev"
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
    Tier.STAGING: TierTraits(
        protect_data=False,
        schedules_paused=True,
        sample_data=True,
        deploy_branch="main",
        mandatory_policy=True,
        production=False,
        # Production-like: the latency SLO test runs against this warehouse.
        warehouse_size="X-Small",
        warehouse_max_clusters=1,
    ),
    Tier.PROD: TierTraits(
        protect_data=True,
        schedules_paused=False,
        sample_data=False,
        deploy_branch="main",
        mandatory_policy=True,
        production=True,
        warehouse_size="Small",
        warehouse_max_clusters=4,
    ),
}


def traits(tier: Tier | str) -> TierTraits:
    return TIERS[Tier(tier)]
