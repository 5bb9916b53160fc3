"""Unity Catalog: metastore, its assignment, storage access, catalogs, schemas and grants.

Two components. ``MetastoreAttachment`` (account provider): the region's metastore,
reused by id or created, and its assignment to this workspace; it comes first, because
until a metastore is attached the workspace has no Unity Catalog API and accepts no
account principals. ``UnityCatalog`` (workspace provider): everything else. Storage
credentials, external locations, catalogs, schemas, grants and bindings are metastore
objects reached through a workspace attached to that metastore, and ``ISOLATED`` objects
are bound to the workspace that creates them, which must be this stack's workspace. All
of them wait for the metastore assignment.

Grants are the stack's grant plan (``components/grants.py``), rendered by one loop: one
``Grants`` per securable, because ``Grants`` is authoritative and a second one on the
same securable would revert the first on every ``pulumi up``. Grants and owners name
account groups by their display names; everything that names a principal waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_databricks as databricks

from components.config import PROJECT, ConfigError, MetastoreConfig, UnityCatalogConfig
from components.grants import Grant, GrantPlan, Group, PrincipalRole, Securable, SecurableKind
from components.naming import Names
from components.pulumi_config import stack_file_name

ISOLATED_CATALOG = "ISOLATED"
ISOLATED_SECURABLE = "ISOLATION_MODE_ISOLATED"
READ_WRITE_BINDING = "BINDING_TYPE_READ_WRITE"


@dataclass(frozen=True)
class MetastoreAttachmentArgs:
    metastore: MetastoreConfig
    names: Names
    location: str
    workspace_id: pulumi.Input[str]
    access_connector_id: pulumi.Input[str]
    # The access connector's role on the storage, which Databricks checks.
    storage_access: pulumi.Resource
    # The account groups (a created metastore is owned by one of them).
    groups_ready: Sequence[pulumi.Resource]
    account_provider: databricks.Provider


@dataclass(frozen=True)
class UnityCatalogArgs:
    unity_catalog: UnityCatalogConfig
    names: Names
    grants: GrantPlan
    # Principals the grant plan names by role (the jobs' run-as application id).
    principals: Mapping[PrincipalRole, pulumi.Input[str]]
    protect_data: bool
    workspace_id: pulumi.Input[str]
    storage_account_name: pulumi.Input[str]
    # Container names by zone and by catalog (the foundation's).
    zone_containers: Mapping[str, pulumi.Input[str]]
    catalog_containers: Mapping[str, pulumi.Input[str]]
    access_connector_id: pulumi.Input[str]
    storage_access: pulumi.Resource
    metastore_id: pulumi.Input[str]
    attachment: pulumi.Resource
    # What a grant to a group waits for (the group, in this workspace), and what a grant
    # to a principal role waits for (every principal, in this workspace).
    groups_ready: Sequence[pulumi.Resource]
    principals_ready: Sequence[pulumi.Resource]
    workspace_provider: databricks.Provider


def existing_metastore(
    region: str, account_provider: databricks.Provider
) -> tuple[str, str] | None:
    """(name, id) of the account's metastore in ``region``, looked up at deploy time.

    One metastore per region per account
    (https://learn.microsoft.com/azure/databricks/data-governance/unity-catalog/enable-workspaces),
    and since November 2023 Azure provisions one for a region's first UC workspace
    (.../unity-catalog/get-started). The account-level data source finds it by region
    (terraform-provider-databricks docs/data-sources/metastore.md); it errs when there
    is none, which is what an exception here means.
    """
    try:
        found = databricks.get_metastore(
            region=region, opts=pulumi.InvokeOptions(provider=account_provider)
        )
    except Exception:  # noqa: BLE001 - the data source's "not found" is an error
        return None
    info = found.metastore_info
    if not found.metastore_id or info is None or not info.name:
        return None
    return info.name, found.metastore_id


def _check_securables(args: UnityCatalogArgs) -> None:
    """Refuse grants on a securable this layer does not create: they would be lost."""
    known = {Securable(SecurableKind.METASTORE)}
    known.update(Securable(SecurableKind.EXTERNAL_LOCATION, zone) for zone in args.zone_containers)
    for catalog in args.unity_catalog.catalogs:
        known.add(Securable(SecurableKind.CATALOG, catalog.name))
        known.update(
            Securable(SecurableKind.SCHEMA, f"{catalog.name}.{schema.name}")
            for schema in catalog.schemas
        )
    unknown = sorted(f"{s.kind} {s.name}" for s in args.grants if s not in known)
    if unknown:
        raise ValueError(
            f"stack {args.names.stack}: grants on securables it does not create: {unknown}"
        )


def abfss_url(container: pulumi.Input[str], account: pulumi.Input[str]) -> pulumi.Output[str]:
    """The ADLS Gen2 URL of a whole container, as Unity Catalog takes it."""
    return pulumi.Output.concat("abfss://", container, "@", account, ".dfs.core.windows.net/")


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
        metastore, names = args.metastore, args.names
        account = pulumi.ResourceOptions(parent=self, provider=args.account_provider)
        assignment_after: list[pulumi.Resource] = []
        region = metastore.region or args.location
        existing = (
            existing_metastore(region, args.account_provider) if metastore.mode != "reuse" else None
        )
        # A metastore of another name in the region: mode auto adopts it, create refuses.
        adopted = existing[1] if existing is not None and existing[0] != metastore.name else None
        if adopted is not None and existing is not None and metastore.mode == "create":
            # One metastore per region per account, and Azure provisions one for new
            # workspaces in many accounts: creating a second fails at the API.
            raise ConfigError(
                stack_file_name(),
                f"{PROJECT}:unityCatalog.metastore.mode",
                f"the account already has metastore {existing[0]!r} ({adopted}) in "
                f"{region}; adopt it: mode reuse with id {adopted}, or mode auto",
            )
        if adopted is not None:
            self.metastore = None
            self.metastore_id = pulumi.Output.from_input(adopted)
        elif metastore.mode != "reuse":
            owner = metastore.owner
            # Every stack of the region keeps its catalogs here: deleting it would take all
            # environments' governance with it, so it is protected whatever the tier.
            self.metastore = databricks.Metastore(
                f"{name}-created",
                name=metastore.name,
                region=region,
                owner=names.group(owner) if owner else None,
                storage_root=metastore.storage_root,
                force_destroy=False,
                opts=pulumi.ResourceOptions.merge(
                    account,
                    pulumi.ResourceOptions(
                        protect=True,
                        depends_on=list(args.groups_ready) if owner else [],
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
                        name=names.metastore_root_access,
                        azure_managed_identity=databricks.MetastoreDataAccessAzureManagedIdentityArgs(
                            access_connector_id=args.access_connector_id
                        ),
                        is_default=True,
                        comment=names.comment,
                        opts=pulumi.ResourceOptions.merge(
                            account, pulumi.ResourceOptions(depends_on=[args.storage_access])
                        ),
                    )
                )
        else:
            self.metastore = None
            self.metastore_id = pulumi.Output.from_input(metastore.id or "")

        self.assignment = databricks.MetastoreAssignment(
            f"{name}-assignment",
            metastore_id=self.metastore_id,
            workspace_id=args.workspace_id,
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
        uc, names = args.unity_catalog, args.names
        self._name = name
        self._args = args
        _check_securables(args)
        comment = names.comment
        workspace_id = args.workspace_id
        # A Unity Catalog object belongs to whoever creates it, and only its owner (or a
        # metastore admin) may change its grants: left alone, the person who ran the first
        # `pulumi up` would own everything and every later CI deploy would be refused.
        # The owner group holds the deployer (identity layer) and that person's admins.
        owner = names.group(uc.owner)
        # Where each securable's grants go, and what they wait for (its binding, so a
        # destroy revokes before it unbinds).
        self._securables: dict[Securable, tuple[str, pulumi.Input[str], list[pulumi.Resource]]] = {
            Securable(SecurableKind.METASTORE): (
                f"{name}-metastore-privileges",
                args.metastore_id,
                [],
            )
        }

        # The owner group's metastore privileges first: everything the group creates and
        # owns waits for them (below).
        metastore = Securable(SecurableKind.METASTORE)
        self._metastore_grants = (
            self._grant(metastore, args.grants[metastore]) if metastore in args.grants else []
        )

        # -------------------------------------------------------------- workspace level
        # Through the access connector's managed identity: no secret to rotate. It waits
        # for the connector's role on the storage account, which Databricks checks.
        self.storage_credential = databricks.StorageCredential(
            f"{name}-credential",
            name=names.storage_credential,
            azure_managed_identity=databricks.StorageCredentialAzureManagedIdentityArgs(
                access_connector_id=args.access_connector_id
            ),
            isolation_mode=ISOLATED_SECURABLE,
            comment=comment,
            owner=owner,
            opts=self._owned_object(args.storage_access),
        )
        credential_binding = self._bind(
            f"{name}-credential-binding",
            self.storage_credential.name,
            "storage_credential",
            workspace_id,
        )

        self.external_locations = {}
        for zone, container in args.zone_containers.items():
            location = databricks.ExternalLocation(
                f"{name}-location-{zone}",
                name=names.zone_location(zone),
                url=abfss_url(container, args.storage_account_name),
                credential_name=self.storage_credential.name,
                isolation_mode=ISOLATED_SECURABLE,
                comment=f"Data zone {zone}. {comment}",
                owner=owner,
                opts=self._owned_object(credential_binding),
            )
            binding = self._bind(
                f"{name}-location-{zone}-binding", location.name, "external_location", workspace_id
            )
            self._securables[Securable(SecurableKind.EXTERNAL_LOCATION, zone)] = (
                f"{name}-location-{zone}-grants",
                location.name,
                [binding],
            )
            self.external_locations[zone] = location

        self.catalogs = {}
        self.schemas = {}
        catalog_bindings: dict[str, databricks.WorkspaceBinding] = {}
        for catalog_config in uc.catalogs:
            catalog_name = catalog_config.name
            managed_url = abfss_url(
                args.catalog_containers[catalog_name], args.storage_account_name
            )
            # A catalog's managed location must lie inside an external location; this one
            # covers exactly the catalog's container and carries no grants: its files are
            # reached only through the catalog's tables.
            managed_location = databricks.ExternalLocation(
                f"{name}-catalog-{catalog_name}-location",
                name=names.catalog_location(catalog_name),
                url=managed_url,
                credential_name=self.storage_credential.name,
                isolation_mode=ISOLATED_SECURABLE,
                comment=f"Managed storage of catalog {catalog_name}. {comment}",
                owner=owner,
                opts=self._owned_object(credential_binding),
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
                opts=self._owned_object(managed_binding, protect=args.protect_data),
            )
            # Bound to this workspace only: other environments' workspaces share the
            # metastore but cannot see this catalog.
            catalog_binding = self._bind(
                f"{name}-catalog-{catalog_name}-binding", catalog.name, "catalog", workspace_id
            )
            catalog_bindings[catalog_name] = catalog_binding
            self._securables[Securable(SecurableKind.CATALOG, catalog_name)] = (
                f"{name}-catalog-{catalog_name}-grants",
                catalog.name,
                [catalog_binding],
            )
            for schema_config in catalog_config.schemas:
                schema = databricks.Schema(
                    f"{name}-schema-{catalog_name}-{schema_config.name}",
                    catalog_name=catalog.name,
                    name=schema_config.name,
                    comment=schema_config.comment,
                    owner=owner,
                    force_destroy=False,
                    opts=self._owned_object(catalog_binding, protect=args.protect_data),
                )
                qualified = f"{catalog_name}.{schema_config.name}"
                self._securables[Securable(SecurableKind.SCHEMA, qualified)] = (
                    f"{name}-schema-{catalog_name}-{schema_config.name}-grants",
                    schema.id,
                    [schema],
                )
                self.schemas[qualified] = schema
            self.catalogs[catalog_name] = catalog

        # The grant plan, one securable at a time.
        for securable, grants in args.grants.items():
            if securable != metastore:
                self._grant(securable, grants)

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

    def _grant(self, securable: Securable, grants: Sequence[Grant]) -> list[pulumi.Resource]:
        """Render one securable's grants: authoritative ``Grants``, or on a securable every
        stack shares, one non-authoritative ``Grant`` per principal."""
        resource_name, securable_name, after = self._securables[securable]
        # A grant to a principal role waits for every principal, not only the groups.
        waits = (
            self._args.principals_ready
            if any(isinstance(g.principal, PrincipalRole) for g in grants)
            else []
        )
        opts = self._owned(*after, *waits)
        # The one argument that differs by kind: catalog=, schema=, external_location=...
        target: dict[str, Any] = {securable.kind.grants_argument: securable_name}
        if securable.kind.shared:
            return [
                databricks.Grant(
                    resource_name if index == 0 else f"{resource_name}-{index}",
                    principal=self._principal(grant),
                    privileges=list(grant.privileges),
                    opts=opts,
                    **target,
                )
                for index, grant in enumerate(grants)
            ]
        return [
            databricks.Grants(
                resource_name,
                grants=[
                    databricks.GrantsGrantArgs(
                        principal=self._principal(grant), privileges=list(grant.privileges)
                    )
                    for grant in grants
                ],
                opts=opts,
                **target,
            )
        ]

    def _principal(self, grant: Grant) -> pulumi.Input[str]:
        # Config names a stack's groups ("analysts"); the account knows them by their
        # stack-qualified display names ("prod-analysts"), which is what a grant must name.
        if isinstance(grant.principal, Group):
            return self._args.names.group(grant.principal.name)
        return self._args.principals[grant.principal]

    def _on_workspace(
        self, *after: pulumi.Resource, protect: bool = False
    ) -> pulumi.ResourceOptions:
        """Options of a workspace-level resource: after the metastore assignment, always."""
        return pulumi.ResourceOptions(
            parent=self,
            provider=self._args.workspace_provider,
            depends_on=[self._args.attachment, *after],
            protect=protect,
        )

    def _owned_object(
        self, *after: pulumi.Resource, protect: bool = False
    ) -> pulumi.ResourceOptions:
        """Options of an object created for the owner group and handed to it: it waits for
        the group's metastore privileges and for every membership, the deployer's in the
        owner group included. CI creates such objects through that group, and the
        provider binds an ISOLATED one to the workspace only after setting its owner,
        which then takes ownership (tf catalog/bindings/bindings.go
        AddCurrentWorkspaceBindings)."""
        return self._owned(
            *after, *self._metastore_grants, *self._args.principals_ready, protect=protect
        )

    def _owned(self, *after: pulumi.Resource, protect: bool = False) -> pulumi.ResourceOptions:
        """Options of a resource that names a group (its owner, a grantee): it also waits
        for the groups and their workspace assignments, which a name does not imply."""
        return self._on_workspace(*after, *self._args.groups_ready, protect=protect)

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
