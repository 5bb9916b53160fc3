"""The grant plan of a stack: every Unity Catalog privilege it grants, as plain values.

One pure function, :func:`grant_plan`, computes it from three sources, in this order per
securable: what config grants to groups, what the owner group needs to create the stack's
objects, and what the jobs' run-as principal needs to run them. The Unity Catalog layer
renders the plan with one loop, and the integration tests' grant checks are derived from
the same plan, so the three never disagree.

The vocabulary is Unity Catalog's own securable types (``SHOW GRANTS ON CATALOG``), which
the integration checks read too. To grant on a new kind of securable: add a member to
:class:`SecurableKind` (its value is the SQL securable type; lower-cased it is the
argument of ``databricks.Grants``), add the config field that grants on it, and add the
reference to the securable the Unity Catalog layer creates (``UnityCatalog._securable``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from components.config import MEDALLION_SCHEMAS, GrantConfig, Privilege

if TYPE_CHECKING:
    from components.config import StackConfig
    from components.naming import Names

# The curated schema: a group that config lets write nowhere must not write here either.
GOLD = "gold"
# Privileges that let a principal change data; a read-only group must hold none.
_WRITES: frozenset[str] = frozenset({"MODIFY", "ALL_PRIVILEGES"})


class SecurableKind(StrEnum):
    """A kind of securable the stack grants on, by its Unity Catalog securable type."""

    METASTORE = "METASTORE"
    EXTERNAL_LOCATION = "EXTERNAL_LOCATION"
    CATALOG = "CATALOG"
    SCHEMA = "SCHEMA"

    @property
    def grants_argument(self) -> str:
        """The argument of ``databricks.Grants``/``Grant`` that names the securable."""
        return self.value.lower()

    @property
    def shared(self) -> bool:
        """Shared by every stack of the region: grant per principal, never authoritatively
        (an authoritative ``Grants`` would revoke the other stacks' grants)."""
        return self is SecurableKind.METASTORE


@dataclass(frozen=True)
class Securable:
    """A securable the stack grants on. ``name`` is the catalog, ``catalog.schema``, the
    zone of an external location, or empty for the stack's metastore."""

    kind: SecurableKind
    name: str = ""


class PrincipalRole(StrEnum):
    """A principal config does not name, resolved by the layer that renders the plan."""

    # The jobs' run-as service principal, known by its application id once it exists.
    JOBS_RUN_AS = "jobs-run-as"


@dataclass(frozen=True)
class Group:
    """A group of ``identity.groups``, by its config name (``analysts``)."""

    name: str


@dataclass(frozen=True)
class Grant:
    principal: Group | PrincipalRole
    privileges: tuple[Privilege | str, ...]


GrantPlan = Mapping[Securable, tuple[Grant, ...]]

# What the owner group needs on the metastore to create the stack's objects; ownership of
# what exists covers changing it.
METASTORE_PRIVILEGES = ("CREATE_CATALOG", "CREATE_EXTERNAL_LOCATION", "CREATE_STORAGE_CREDENTIAL")


def securables(config: StackConfig) -> list[Securable]:
    """Every securable the stack creates and may grant on, in the order it creates them."""
    found = [Securable(SecurableKind.METASTORE)]
    found += [Securable(SecurableKind.EXTERNAL_LOCATION, z) for z in config.azure.storage.zones]
    for catalog in config.unity_catalog.catalogs:
        found.append(Securable(SecurableKind.CATALOG, catalog.name))
        found += [
            Securable(SecurableKind.SCHEMA, f"{catalog.name}.{schema.name}")
            for schema in catalog.schemas
        ]
    return found


def configured_grants(config: StackConfig) -> dict[Securable, tuple[GrantConfig, ...]]:
    """What config grants to groups, by securable."""
    uc = config.unity_catalog
    found: dict[Securable, tuple[GrantConfig, ...]] = {
        Securable(SecurableKind.EXTERNAL_LOCATION, zone): uc.external_location_grants
        for zone in config.azure.storage.zones
    }
    for catalog in uc.catalogs:
        found[Securable(SecurableKind.CATALOG, catalog.name)] = catalog.grants
        for schema in catalog.schemas:
            found[Securable(SecurableKind.SCHEMA, f"{catalog.name}.{schema.name}")] = schema.grants
    return found


def owner_needs(config: StackConfig) -> dict[Securable, tuple[Privilege | str, ...]]:
    """The owner group creates the stack's credential, locations and catalogs."""
    return {Securable(SecurableKind.METASTORE): METASTORE_PRIVILEGES}


def integration_grant_checks(config: StackConfig, names: Names) -> list[dict[str, Any]]:
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
        group: str, kind: SecurableKind, name: str, privileges: Sequence[str], held: set[str]
    ) -> dict[str, Any]:
        return {
            "principal": names.group(group),
            "securable": kind.value,
            "name": name,
            "must_have": list(privileges),
            "must_not_have": [] if held & _WRITES else ["MODIFY"],
        }

    checks = [
        check(grant.group, SecurableKind.CATALOG, "", grant.privileges, on_catalog[grant.group])
        for grant in catalog.grants
    ]
    for schema in catalog.schemas:
        for grant in schema.grants:
            held = on_catalog.get(grant.group, set()) | set(grant.privileges)
            checks.append(
                check(grant.group, SecurableKind.SCHEMA, schema.name, grant.privileges, held)
            )
    gold = next(s for s in catalog.schemas if s.name == GOLD)
    on_gold = {grant.group for grant in gold.grants}
    for group, held in on_catalog.items():
        if group not in on_gold and not held & _WRITES:
            checks.append(check(group, SecurableKind.SCHEMA, GOLD, [], held))
    return checks


def job_runner_needs(config: StackConfig) -> dict[Securable, tuple[Privilege | str, ...]]:
    """Unity Catalog privileges of the jobs' run-as principal.

    Bronze, silver and gold are created, written and read by the medallion; the
    integration tests write their results to bronze and read every grant they check,
    which Unity Catalog shows only to an owner or a holder of MANAGE. The landing zone is
    read (and written when the sample data is seeded); the checkpoint zone is read and
    written.
    """
    catalog = config.jobs_catalog
    # The checks' securables and names only: principals do not matter here.
    checked = {
        (c["securable"], c["name"])
        for c in integration_grant_checks(config, config.names("<stack>"))
    }
    manage: tuple[Privilege, ...] = ("MANAGE",)
    privileges: dict[Securable, tuple[Privilege | str, ...]] = {
        Securable(SecurableKind.CATALOG, catalog): (
            "USE_CATALOG",
            *(manage if (SecurableKind.CATALOG, "") in checked else ()),
        ),
    }
    for schema in MEDALLION_SCHEMAS:
        privileges[Securable(SecurableKind.SCHEMA, f"{catalog}.{schema}")] = (
            "USE_SCHEMA",
            "SELECT",
            "MODIFY",
            "CREATE_TABLE",
            *(manage if (SecurableKind.SCHEMA, schema) in checked else ()),
        )
    # Other schemas of the catalog whose grants the tests check: read the grants only.
    for kind, name in sorted(checked):
        if kind == SecurableKind.SCHEMA and name not in MEDALLION_SCHEMAS:
            privileges[Securable(SecurableKind.SCHEMA, f"{catalog}.{name}")] = (
                "USE_SCHEMA",
                "MANAGE",
            )
    seeding: tuple[Privilege, ...] = ("WRITE_FILES",) if config.seed_sample_data else ()
    # Set in this order, the checkpoint zone's read-write wins when it is the landing zone.
    privileges[Securable(SecurableKind.EXTERNAL_LOCATION, config.landing_zone)] = (
        "READ_FILES",
        *seeding,
    )
    privileges[Securable(SecurableKind.EXTERNAL_LOCATION, config.checkpoint_zone)] = (
        "READ_FILES",
        "WRITE_FILES",
    )
    return privileges


def grant_plan(config: StackConfig) -> dict[Securable, tuple[Grant, ...]]:
    """Every grant of the stack by securable, in creation order; securables without a
    grant are left out (they get no grants resource)."""
    configured = configured_grants(config)
    owner = owner_needs(config)
    runner = job_runner_needs(config)
    known = securables(config)
    unknown = sorted(f"{s.kind} {s.name}" for s in [*owner, *runner] if s not in known)
    if unknown:  # a grant on something the stack does not create would be lost
        raise ValueError(f"grants on securables the stack does not create: {unknown}")
    plan: dict[Securable, tuple[Grant, ...]] = {}
    for securable in known:
        grants = [Grant(Group(g.group), tuple(g.privileges)) for g in configured.get(securable, ())]
        if securable in owner:
            grants.append(Grant(Group(config.unity_catalog.owner), owner[securable]))
        if securable in runner:
            grants.append(Grant(PrincipalRole.JOBS_RUN_AS, runner[securable]))
        if grants:
            plan[securable] = tuple(grants)
    return plan
