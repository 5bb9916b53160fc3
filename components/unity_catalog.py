"""Unity Catalog: metastore, its assignment, storage access, catalogs, schemas and grants.

Two components. ``MetastoreAttachment`` (account provider): the region's metastore,
reused by id or created, and its assignment to this workspace; it comes first, because
until a metastore is attached the workspace has no Unity Catalog API and accepts no
account principals. ``UnityCatalog`` (workspace provider): everything else. Storage
credentials, external locations, catalogs, schemas, grants and bindings are metastore
objects reached through a workspace attached to that metastore, and ``ISOLATED`` objects
are bound to the workspace that creates them, which must be this stack's workspace. All
of them wait for the metastore assignment.

Grants and owners name account groups by their display names; the identity layer
creates the groups, and everything that names a principal waits for them. Other layers
add grants for principals that config does not name (the job runner, by its application
id) through ``UnityCatalogArgs.extra_grants``: ``Grants`` is authoritative per securable,
so they are merged into that securable's one ``Grants`` resource, never a second one
that would revert the first on every ``pulumi up``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_databricks as databricks

from components.config import GrantConfig, Privilege, StackConfig
from components.foundation import Foundation

ISOLATED_CATALOG = "ISOLATED"
ISOLATED_SECURABLE = "ISOLATION_MODE_ISOLATED"
READ_WRITE_BINDING = "BINDING_TYPE_READ_WRITE"
# What the owner group needs on the metastore to create the stack's objects; ownership of
# what exists covers changing it.
METASTORE_PRIVILEGES = ("CREATE_CATALOG", "CREATE_EXTERNAL_LOCATION", "CREATE_STORAGE_CREDENTIAL")


@dataclass(frozen=True)
class MetastoreAttachmentArgs:
    config: StackConfig
    stack: str
    foundation: Foundation
    account_provider: databricks.Provider
    # The account group that owns a created metastore (created by the identity layer).
    owner_dependencies: Sequence[pulumi.Resource] = field(default=())


@dataclass(frozen=True)
class Securable:
    """A securable this layer grants on: a catalog, a schema (``catalog.schema``) or the
    external location of a data zone (by zone name)."""

    kind: Literal["catalog", "schema", "zone"]
    name: str


@dataclass(frozen=True)
class PrincipalGrant:
    """Privileges of a principal config does not name, such as a service principal,
    which Unity Catalog knows by its application id (known once it exists)."""

    principal: pulumi.Input[str]
    privileges: tuple[Privilege, ...]


@dataclass(frozen=True)
class UnityCatalogArgs:
    config: StackConfig
    stack: str
    foundation: Foundation
    attachment: MetastoreAttachment
    workspace_provider: databricks.Provider
    # What grants naming account groups wait for: the groups, assigned to the workspace
    # (the identity layer's WorkspaceAccess.grant_dependencies()).
    grant_dependencies: Sequence[pulumi.Resource] = field(default=())
    # Grants other layers need (the jobs' run-as principal), merged after config's into
    # each securable's Grants; they wait for extra_grant_dependencies too.
    extra_grants: Mapping[Securable, Sequence[PrincipalGrant]] = field(default_factory=dict)
    extra_grant_dependencies: Sequence[pulumi.Resource] = field(default=())


def abfss_url(container: pulumi.Input[str], account: pulumi.Input[str]) -> pulumi.Output[str]:
    """The ADLS Gen2 URL of a whole container, as Unity Catalog takes it."""
    return pulumi.Output.concat("abfss://", container, "@", account, ".dfs.core.windows.net/")


def uc_name_prefix(config: StackConfig, stack: str) -> str:
    """Prefix of this stack's metastore-wide names (credentials, external locations).

    The metastore is shared by every stack in the region, so these names carry the stack.
    """
    return re.sub(r"[^a-z0-9_]", "_", f"{config.prefix}_{stack}".lower())


def _grants(
    config: StackConfig,
    stack: str,
    grants: Sequence[GrantConfig],
    extra: Sequence[PrincipalGrant] = (),
) -> list[databricks.GrantsGrantArgs]:
    # Config names a stack's groups ("analysts"); the account knows them by their
    # stack-qualified display names ("prod-analysts"), which is what a grant must name.
    return [
        *(
            databricks.GrantsGrantArgs(
                principal=config.group_display_name(stack, grant.group),
                privileges=list(grant.privileges),
            )
            for grant in grants
        ),
        *(
            databricks.GrantsGrantArgs(principal=grant.principal, privileges=list(grant.privileges))
            for grant in extra
        ),
    ]


def _check_securables(
    config: StackConfig, stack: str, extra_grants: Mapping[Securable, Sequence[PrincipalGrant]]
) -> None:
    """Refuse extra grants on a securable this layer does not create: they would be lost."""
    uc = config.unity_catalog
    known = {Securable("zone", zone) for zone in config.azure.storage.zones}
    for catalog in uc.catalogs:
        known.add(Securable("catalog", catalog.name))
        known.update(Securable("schema", f"{catalog.name}.{s.name}") for s in catalog.schemas)
    unknown = sorted(f"{s.kind} {s.name}" for s in extra_grants if s not in known)
    if unknown:
        raise ValueError(f"stack {stack}: grants on securables it does not create: {unknown}")


class MetastoreAttachment(pulumi.ComponentResource):
    """The region's metastore (reused by id, or created) and its assignment to this workspace.

    Apart from the rest of Unity Catalog because it sits between the identity layer's
    two halves: a created metastore is owned by one of this stack's account groups, and
    the workspace accepts account principals only once a metastore is attached to it.
    """

    metastore: databricks.Metastore | None
    metastore_id: pulumi.Output[str]
    assignment: databricks.MetastoreAssignment

    def __init__(
        self,
        name: str,
        args: MetastoreAttachmentArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("dataops:unitycatalog:MetastoreAttachment", name, None, opts)
        config, stack, foundation = args.config, args.stack, args.foundation
        metastore = config.unity_catalog.metastore
        account = pulumi.ResourceOptions(parent=self, provider=args.account_provider)
        assignment_after: list[pulumi.Resource] = []
        if metastore.mode == "create":
            owner = metastore.owner
            # Every stack of the region keeps its catalogs here: deleting it would take all
            # environments' governance with it, so it is protected whatever the tier.
            self.metastore = databricks.Metastore(
                f"{name}-created",
                name=metastore.name,
                region=metastore.region or config.azure.location,
                owner=config.group_display_name(stack, owner) if owner else None,
                storage_root=metastore.storage_root,
                force_destroy=False,
                opts=pulumi.ResourceOptions.merge(
                    account,
                    pulumi.ResourceOptions(
                        protect=True,
                        depends_on=list(args.owner_dependencies) if owner else [],
                    ),
                ),
            )
            self.metastore_id = self.metastore.id
            if metastore.storage_root:
                # Without a default data access configuration the root is unreadable and
                # the assignment's first read fails ("Storage Credential does not exist").
                assignment_after.append(
                    databricks.MetastoreDataAccess(
                        f"{name}-root-access",
                        metastore_id=self.metastore.id,
                        name=f"{uc_name_prefix(config, stack)}_metastore_root",
                        azure_managed_identity=databricks.MetastoreDataAccessAzureManagedIdentityArgs(
                            access_connector_id=foundation.access_connector_id
                        ),
                        is_default=True,
                        comment=f"Managed by dataops (stack {stack})",
                        opts=pulumi.ResourceOptions.merge(
                            account, pulumi.ResourceOptions(depends_on=[foundation.storage_access])
                        ),
                    )
                )
        else:
            self.metastore = None
            self.metastore_id = pulumi.Output.from_input(metastore.id or "")

        self.assignment = databricks.MetastoreAssignment(
            f"{name}-assignment",
            metastore_id=self.metastore_id,
            workspace_id=foundation.workspace_id,
            opts=pulumi.ResourceOptions.merge(
                account,
                pulumi.ResourceOptions(
                    depends_on=assignment_after,
                    # The default catalog is the workspace's default-namespace setting
                    # (the assignment's field is deprecated); the API echoes it back here.
                    ignore_changes=["defaultCatalogName"],
                ),
            ),
        )
        self.register_outputs({"metastore_id": self.metastore_id})


class UnityCatalog(pulumi.ComponentResource):
    """The governed data of one environment, attached to the region's metastore."""

    storage_credential: databricks.StorageCredential
    external_locations: dict[str, databricks.ExternalLocation]
    catalogs: dict[str, databricks.Catalog]
    schemas: dict[str, databricks.Schema]
    catalog_names: pulumi.Output[list[str]]
    schema_names: pulumi.Output[list[str]]
    external_location_urls: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: UnityCatalogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:unitycatalog:UnityCatalog", name, None, opts)
        config, stack, foundation = args.config, args.stack, args.foundation
        uc = config.unity_catalog
        self._workspace_provider = args.workspace_provider
        self._assignment = args.attachment.assignment
        self._principals = list(args.grant_dependencies)
        _check_securables(config, stack, args.extra_grants)
        extra, extra_principals = args.extra_grants, list(args.extra_grant_dependencies)

        def grants_opts(securable: Securable, *after: pulumi.Resource) -> pulumi.ResourceOptions:
            waits = extra_principals if extra.get(securable) else []
            return self._owned(*after, *waits)

        prefix = uc_name_prefix(config, stack)
        comment = f"Managed by dataops (stack {stack})"
        workspace_id = foundation.workspace_id
        # A Unity Catalog object belongs to whoever creates it, and only its owner (or a
        # metastore admin) may change its grants: left alone, the person who ran the first
        # `pulumi up` would own everything and every later CI deploy would be refused.
        # The owner group holds the deployer (identity layer) and that person's admins.
        owner = config.group_display_name(stack, uc.owner)
        # Non-authoritative (databricks.Grant, one principal): the metastore is shared by
        # every stack and each grants only its own group.
        databricks.Grant(
            f"{name}-metastore-privileges",
            metastore=args.attachment.metastore_id,
            principal=owner,
            privileges=list(METASTORE_PRIVILEGES),
            opts=self._owned(),
        )

        # -------------------------------------------------------------- workspace level
        # Through the access connector's managed identity: no secret to rotate. It waits
        # for the connector's role on the storage account, which Databricks checks.
        self.storage_credential = databricks.StorageCredential(
            f"{name}-credential",
            name=f"{prefix}_access_connector",
            azure_managed_identity=databricks.StorageCredentialAzureManagedIdentityArgs(
                access_connector_id=foundation.access_connector_id
            ),
            isolation_mode=ISOLATED_SECURABLE,
            comment=comment,
            owner=owner,
            opts=self._owned(foundation.storage_access),
        )
        credential_binding = self._bind(
            f"{name}-credential-binding",
            self.storage_credential.name,
            "storage_credential",
            workspace_id,
        )

        self.external_locations = {}
        for zone, container in foundation.zone_containers.items():
            location = databricks.ExternalLocation(
                f"{name}-location-{zone}",
                name=f"{prefix}_{zone}",
                url=abfss_url(container.name, foundation.storage_account_name),
                credential_name=self.storage_credential.name,
                isolation_mode=ISOLATED_SECURABLE,
                comment=f"Data zone {zone}. {comment}",
                owner=owner,
                opts=self._owned(credential_binding),
            )
            binding = self._bind(
                f"{name}-location-{zone}-binding", location.name, "external_location", workspace_id
            )
            zone_securable = Securable("zone", zone)
            if uc.external_location_grants or extra.get(zone_securable):
                databricks.Grants(
                    f"{name}-location-{zone}-grants",
                    external_location=location.name,
                    grants=_grants(
                        config, stack, uc.external_location_grants, extra.get(zone_securable, ())
                    ),
                    opts=grants_opts(zone_securable, binding),
                )
            self.external_locations[zone] = location

        self.catalogs = {}
        self.schemas = {}
        catalog_bindings: dict[str, databricks.WorkspaceBinding] = {}
        for catalog_config in uc.catalogs:
            catalog_name = catalog_config.name
            container = foundation.catalog_containers[catalog_name]
            managed_url = abfss_url(container.name, foundation.storage_account_name)
            # A catalog's managed location must lie inside an external location; this one
            # covers exactly the catalog's container and carries no grants: its files are
            # reached only through the catalog's tables.
            managed_location = databricks.ExternalLocation(
                f"{name}-catalog-{catalog_name}-location",
                name=f"{prefix}_catalog_{catalog_name}",
                url=managed_url,
                credential_name=self.storage_credential.name,
                isolation_mode=ISOLATED_SECURABLE,
                comment=f"Managed storage of catalog {catalog_name}. {comment}",
                owner=owner,
                opts=self._owned(credential_binding),
            )
            managed_binding = self._bind(
                f"{name}-catalog-{catalog_name}-location-binding",
                managed_location.name,
                "external_location",
                workspace_id,
            )
            catalog = databricks.Catalog(
                f"{name}-catalog-{catalog_name}",
                name=catalog_name,
                comment=catalog_config.comment,
                storage_root=managed_url,
                isolation_mode=ISOLATED_CATALOG,
                owner=owner,
                force_destroy=False,
                opts=self._owned(managed_binding, protect=config.protect_data),
            )
            # Bound to this workspace only: other environments' workspaces share the
            # metastore but cannot see this catalog.
            catalog_binding = self._bind(
                f"{name}-catalog-{catalog_name}-binding", catalog.name, "catalog", workspace_id
            )
            catalog_bindings[catalog_name] = catalog_binding
            catalog_securable = Securable("catalog", catalog_name)
            if catalog_config.grants or extra.get(catalog_securable):
                databricks.Grants(
                    f"{name}-catalog-{catalog_name}-grants",
                    catalog=catalog.name,
                    grants=_grants(
                        config, stack, catalog_config.grants, extra.get(catalog_securable, ())
                    ),
                    opts=grants_opts(catalog_securable, catalog_binding),
                )
            for schema_config in catalog_config.schemas:
                schema = databricks.Schema(
                    f"{name}-schema-{catalog_name}-{schema_config.name}",
                    catalog_name=catalog.name,
                    name=schema_config.name,
                    comment=schema_config.comment,
                    owner=owner,
                    force_destroy=False,
                    opts=self._owned(catalog_binding, protect=config.protect_data),
                )
                schema_securable = Securable("schema", f"{catalog_name}.{schema_config.name}")
                if schema_config.grants or extra.get(schema_securable):
                    databricks.Grants(
                        f"{name}-schema-{catalog_name}-{schema_config.name}-grants",
                        schema=schema.id,
                        grants=_grants(
                            config, stack, schema_config.grants, extra.get(schema_securable, ())
                        ),
                        opts=grants_opts(schema_securable, schema),
                    )
                self.schemas[f"{catalog_name}.{schema_config.name}"] = schema
            self.catalogs[catalog_name] = catalog

        if uc.default_catalog:
            # The current way to set a workspace's default catalog; the metastore
            # assignment's default_catalog_name is deprecated.
            databricks.DefaultNamespaceSetting(
                f"{name}-default-catalog",
                namespace=databricks.DefaultNamespaceSettingNamespaceArgs(
                    value=self.catalogs[uc.default_catalog].name
                ),
                opts=self._on_workspace(catalog_bindings[uc.default_catalog]),
            )

        self.catalog_names = pulumi.Output.all(*(c.name for c in self.catalogs.values())).apply(
            lambda names: [str(n) for n in names]
        )
        self.schema_names = pulumi.Output.all(
            *(
                pulumi.Output.concat(schema.catalog_name, ".", schema.name)
                for schema in self.schemas.values()
            )
        ).apply(lambda names: [str(n) for n in names])
        zones = list(self.external_locations)
        self.external_location_urls = pulumi.Output.all(
            *(location.url for location in self.external_locations.values())
        ).apply(lambda urls: {zone: str(url) for zone, url in zip(zones, urls, strict=True)})

        self.register_outputs(
            {
                "catalog_names": self.catalog_names,
                "schema_names": self.schema_names,
                "external_location_urls": self.external_location_urls,
            }
        )

    def _on_workspace(
        self, *after: pulumi.Resource, protect: bool = False
    ) -> pulumi.ResourceOptions:
        """Options of a workspace-level resource: after the metastore assignment, always."""
        return pulumi.ResourceOptions(
            parent=self,
            provider=self._workspace_provider,
            depends_on=[self._assignment, *after],
            protect=protect,
        )

    def _owned(self, *after: pulumi.Resource, protect: bool = False) -> pulumi.ResourceOptions:
        """Options of a resource that names a group (its owner, a grantee): it also waits
        for the groups and their workspace assignments, which a name does not imply."""
        return self._on_workspace(*after, *self._principals, protect=protect)

    def _bind(
        self,
        resource_name: str,
        securable_name: pulumi.Input[str],
        securable_type: str,
        workspace_id: pulumi.Input[str],
    ) -> databricks.WorkspaceBinding:
        """Bind an ISOLATED securable to this workspace, explicitly and reviewably.

        Isolation binds the creating workspace implicitly; the explicit binding makes it
        part of the desired state. Everything that uses the securable waits for its binding,
        so a destroy removes those users before the binding.
        """
        return databricks.WorkspaceBinding(
            resource_name,
            securable_name=securable_name,
            securable_type=securable_type,
            workspace_id=workspace_id,
            binding_type=READ_WRITE_BINDING,
            opts=self._on_workspace(),
        )
