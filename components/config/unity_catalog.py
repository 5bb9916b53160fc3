"""Unity Catalog: the region's metastore, the environment's catalogs, schemas and grants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import model_validator

from components.config.types import (
    AbfssUrl,
    AzureLocation,
    GroupName,
    Guid,
    UcIdentifier,
    _container_problem,
    _doc,
    _Model,
    _PathError,
    _require_unique,
    _required,
)
from components.naming import CATALOG_CONTAINER_PREFIX


class MetastoreConfig(_Model):
    mode: Literal["reuse", "create", "auto"] = _doc(
        "reuse",
        "reuse the region's metastore by id; create it (exactly one stack may; refused at"
        " deploy when the account already has one there); auto: reuse the region's"
        " metastore when there is one, else create it",
    )
    id: Guid | None = _doc(None, "Id of the metastore to reuse (mode reuse)")
    name: str | None = _doc(None, "Name of the metastore to create (modes create and auto)")
    region: AzureLocation | None = _doc(
        None, "Region of a created metastore; default azure.location"
    )
    storage_root: AbfssUrl | None = _doc(
        None, "Metastore-level managed storage; default none (catalogs bring their own)"
    )
    owner: GroupName | None = _doc(None, "Group that owns a created metastore")

    @model_validator(mode="after")
    def _mode_fields(self) -> MetastoreConfig:
        if self.mode == "reuse" and not self.id:
            raise _PathError(("id",), "a reused metastore needs the existing metastore's id")
        if self.mode != "reuse" and self.id:
            raise _PathError(
                ("id",), "is for mode reuse; a created metastore gets its id from Databricks"
            )
        if self.mode != "reuse" and not self.name:
            raise _PathError(("name",), f"mode {self.mode} needs the name to create it under")
        return self


Privilege = Literal[
    "ALL_PRIVILEGES",
    "USE_CATALOG",
    "USE_SCHEMA",
    "SELECT",
    "MODIFY",
    "CREATE_SCHEMA",
    "CREATE_TABLE",
    "CREATE_VOLUME",
    "CREATE_FUNCTION",
    "CREATE_MATERIALIZED_VIEW",
    "EXECUTE",
    "READ_VOLUME",
    "WRITE_VOLUME",
    "BROWSE",
    "APPLY_TAG",
    "MANAGE",
    "READ_FILES",
    "WRITE_FILES",
    "CREATE_EXTERNAL_TABLE",
    "CREATE_EXTERNAL_VOLUME",
    "CREATE_MANAGED_STORAGE",
]


# Which privileges apply to which securable, from Databricks' table "What privileges apply
# to each securable object?":
# https://learn.microsoft.com/azure/databricks/data-governance/unity-catalog/manage-privileges/privileges
# Unity Catalog refuses the rest (GRANT READ_FILES ON CATALOG fails): a schema takes no
# USE_CATALOG, CREATE_SCHEMA or BROWSE; an external location takes only file and storage
# privileges.
_CATALOG_PRIVILEGES = frozenset(
    {
        "ALL_PRIVILEGES",
        "APPLY_TAG",
        "BROWSE",
        "CREATE_FUNCTION",
        "CREATE_MATERIALIZED_VIEW",
        "CREATE_SCHEMA",
        "CREATE_TABLE",
        "CREATE_VOLUME",
        "EXECUTE",
        "MANAGE",
        "MODIFY",
        "READ_VOLUME",
        "SELECT",
        "USE_CATALOG",
        "USE_SCHEMA",
        "WRITE_VOLUME",
    }
)
PRIVILEGES_ON: dict[str, frozenset[str]] = {
    "CATALOG": _CATALOG_PRIVILEGES,
    "SCHEMA": _CATALOG_PRIVILEGES - {"BROWSE", "CREATE_SCHEMA", "USE_CATALOG"},
    "EXTERNAL_LOCATION": frozenset(
        {
            "ALL_PRIVILEGES",
            "BROWSE",
            "CREATE_EXTERNAL_TABLE",
            "CREATE_EXTERNAL_VOLUME",
            "CREATE_MANAGED_STORAGE",
            "MANAGE",
            "READ_FILES",
            "WRITE_FILES",
        }
    ),
}


_SECURABLE_PHRASE = {
    "CATALOG": "a catalog",
    "SCHEMA": "a schema",
    "EXTERNAL_LOCATION": "an external location",
}


class GrantConfig(_Model):
    group: GroupName = _required("A group of identity.groups (never a user)")
    privileges: tuple[Privilege, ...] = _required("Unity Catalog privileges", min_length=1)

    @model_validator(mode="after")
    def _privileges_unique(self) -> GrantConfig:
        _require_unique(self.privileges, "privileges")
        return self


def _check_grants(grants: Sequence[GrantConfig], securable: str, key: str) -> None:
    """Each group once per securable, with privileges that apply to it."""
    applicable = PRIVILEGES_ON[securable]
    what = _SECURABLE_PHRASE[securable]
    groups: dict[str, int] = {}
    for gi, grant in enumerate(grants):
        if grant.group.lower() in groups:
            raise _PathError(
                (key, gi, "group"),
                f"{grant.group!r} is granted on this {what.split(' ', 1)[1]} "
                f"already ({key}[{groups[grant.group.lower()]}]); list its privileges once",
            )
        groups[grant.group.lower()] = gi
        for pi, privilege in enumerate(grant.privileges):
            if privilege not in applicable:
                raise _PathError(
                    (key, gi, "privileges", pi),
                    f"{privilege} does not apply to {what}; "
                    f"it takes {', '.join(sorted(applicable))}",
                )


class SchemaConfig(_Model):
    name: UcIdentifier = _required("Schema name")
    comment: str | None = _doc(None, "Schema comment")
    grants: tuple[GrantConfig, ...] = _doc((), "Grants on the schema, by group")

    @model_validator(mode="after")
    def _grants_apply(self) -> SchemaConfig:
        _check_grants(self.grants, "SCHEMA", "grants")
        return self


class CatalogConfig(_Model):
    name: UcIdentifier = _required("Catalog name, e.g. the environment's: dev, staging, prod")
    comment: str | None = _doc(None, "Catalog comment")
    schemas: tuple[SchemaConfig, ...] = _doc(
        (SchemaConfig(name="bronze"), SchemaConfig(name="silver"), SchemaConfig(name="gold")),
        "Schemas in the catalog",
    )
    grants: tuple[GrantConfig, ...] = _doc((), "Grants on the catalog, by group")

    @model_validator(mode="after")
    def _schemas_unique(self) -> CatalogConfig:
        _require_unique([s.name for s in self.schemas], "schemas")
        _check_grants(self.grants, "CATALOG", "grants")
        problem = _container_problem(f"{CATALOG_CONTAINER_PREFIX}{self.name}")
        if problem:
            raise _PathError(("name",), f"{self.name!r}: {problem}")
        return self


class UnityCatalogConfig(_Model):
    metastore: MetastoreConfig = _required("The region's metastore: reuse or create")
    catalogs: tuple[CatalogConfig, ...] = _required(
        "The environment's catalogs, bound to this workspace only", min_length=1
    )
    default_catalog: UcIdentifier | None = _doc(None, "Workspace default catalog (one of catalogs)")
    owner: GroupName = _doc(
        "platform-admins",
        "Group that owns the credential, external locations, catalogs and schemas the stack"
        " creates and holds the metastore privileges to create more; the deployer joins it,"
        " so CI can change them after a person's first deploy",
    )
    external_location_grants: tuple[GrantConfig, ...] = _doc(
        (), "Grants on every zone's external location, by group"
    )

    @model_validator(mode="after")
    def _catalogs(self) -> UnityCatalogConfig:
        names = [c.name for c in self.catalogs]
        _require_unique(names, "catalogs")
        _check_grants(self.external_location_grants, "EXTERNAL_LOCATION", "externalLocationGrants")
        if self.default_catalog and self.default_catalog not in names:
            raise _PathError(
                ("defaultCatalog",), f"{self.default_catalog!r} is not one of the catalogs {names}"
            )
        return self
