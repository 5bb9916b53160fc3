"""Azure foundation: resource group, network, ADLS storage, access connector, vault, workspace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, databricks, keyvault, network, resources, storage

from components.config import AzureConfig, NetworkConfig
from components.keys import (
    WorkspaceKey,
    workspace_encryption,
    workspace_identity_grants,
    workspace_key,
)
from components.naming import STORAGE_BLOB_DATA_CONTRIBUTOR, Names, role_definition_id


@dataclass(frozen=True)
class FoundationArgs:
    azure: AzureConfig
    names: Names
    tags: Mapping[str, str]
    # The catalogs whose managed storage this layer creates (one container each).
    catalogs: Sequence[str]
    # What the tier implies: data protected from deletion, the vault's purge protection.
    protect_data: bool
    purge_protection: bool
    # managed, injected or private (the tier's default unless config says otherwise).
    network_mode: str = "managed"
    # Customer-managed keys for managed services, managed disks and the DBFS root.
    customer_managed_keys: bool = False


# Microsoft.Databricks needs both workspace subnets delegated to it (VNet injection).
DATABRICKS_DELEGATION = "Microsoft.Databricks/workspaces"


@dataclass(frozen=True)
class InjectedNetwork:
    """The VNet the workspace's clusters run in (azure.network.mode injected)."""

    virtual_network: network.VirtualNetwork
    security_group: network.NetworkSecurityGroup
    public_subnet: network.Subnet
    private_subnet: network.Subnet
    nat_gateway: network.NatGateway
    # Private mode: the subnet of the back-end, storage and vault private endpoints.
    endpoint_subnet: network.Subnet | None = None


class Foundation(pulumi.ComponentResource):
    """The Azure side of one environment; the Databricks layers build on its outputs."""

    resource_group_name: pulumi.Output[str]
    storage_account_name: pulumi.Output[str]
    storage_account_id: pulumi.Output[str]
    dfs_endpoint: pulumi.Output[str]
    zone_containers: dict[str, storage.BlobContainer]
    catalog_containers: dict[str, storage.BlobContainer]
    injected_network: InjectedNetwork | None
    access_connector_id: pulumi.Output[str]
    access_connector_principal_id: pulumi.Output[str]
    storage_access: authorization.RoleAssignment
    key_vault: keyvault.Vault
    key_vault_id: pulumi.Output[str]
    key_vault_uri: pulumi.Output[str]
    workspace_key: WorkspaceKey | None
    key_grants: list[authorization.RoleAssignment]
    workspace: databricks.Workspace
    workspace_url: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    workspace_resource_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:azure:Foundation", name, None, opts)
        azure, names = args.azure, args.names
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)
        # Prod data outlives any one deployment: deleting it needs an explicit unprotect.
        data = pulumi.ResourceOptions(parent=self, protect=args.protect_data)

        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=names.resource_group,
            location=azure.location,
            tags=tags,
            opts=child,
        )
        self.resource_group_name = group.name

        self.injected_network = (
            self._injected_network(
                name, azure.network, names, azure.location, group, tags, args.network_mode
            )
            if args.network_mode in ("injected", "private")
            else None
        )
        private = args.network_mode == "private"

        # Created before the storage account, whose firewall names it as a trusted resource.
        connector = databricks.AccessConnector(
            f"{name}-connector",
            connector_name=names.access_connector,
            resource_group_name=group.name,
            location=azure.location,
            identity=databricks.ManagedServiceIdentityArgs(
                type=databricks.ManagedServiceIdentityType.SYSTEM_ASSIGNED
            ),
            tags=tags,
            opts=child,
        )
        self.access_connector_id = connector.id
        self.access_connector_principal_id = connector.identity.apply(
            lambda identity: identity.principal_id if identity else ""
        )

        account = storage.StorageAccount(
            f"{name}-storage",
            account_name=names.storage_account,
            resource_group_name=group.name,
            location=azure.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=azure.storage.sku),
            is_hns_enabled=True,  # ADLS Gen2: Unity Catalog needs the hierarchical namespace
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            enable_https_traffic_only=True,
            # Access is by managed identity and RBAC only; account keys stay unused.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            public_network_access=(
                storage.PublicNetworkAccess.DISABLED
                if private
                else storage.PublicNetworkAccess.ENABLED
            ),
            network_rule_set=_storage_firewall(azure.tenant_id, connector.id) if private else None,
            tags=tags,
            opts=data,
        )
        self.storage_account_name = account.name
        self.storage_account_id = account.id
        self.dfs_endpoint = account.primary_endpoints.apply(lambda e: e.dfs)

        self.zone_containers = {
            zone: storage.BlobContainer(
                f"{name}-{zone}",
                container_name=names.zone_container(zone),
                account_name=account.name,
                resource_group_name=group.name,
                public_access=storage.PublicAccess.NONE,
                opts=data,
            )
            for zone in azure.storage.zones
        }
        # One container per catalog for its managed tables: a catalog's data can then be
        # governed, backed up and deleted on its own, and no two catalogs share a path.
        self.catalog_containers = {
            catalog: storage.BlobContainer(
                f"{name}-catalog-{catalog}",
                container_name=names.catalog_container(catalog),
                account_name=account.name,
                resource_group_name=group.name,
                public_access=storage.PublicAccess.NONE,
                opts=data,
            )
            for catalog in args.catalogs
        }

        self.storage_access = authorization.RoleAssignment(
            f"{name}-connector-blob-contributor",
            role_assignment_name=names.role_assignment(
                "access-connector", STORAGE_BLOB_DATA_CONTRIBUTOR
            ),
            principal_id=self.access_connector_principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(
                azure.subscription_id, STORAGE_BLOB_DATA_CONTRIBUTOR
            ),
            scope=account.id,
            description="Unity Catalog reads and writes the data zones via the access connector",
            # Its name is a GUID derived from what it means, so a replacement (a new
            # connector: a new principal) would create the same name before deleting the
            # old one, which Azure refuses (RoleAssignmentExists): delete first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )

        self.key_vault = keyvault.Vault(
            f"{name}-keyvault",
            vault_name=names.key_vault,
            resource_group_name=group.name,
            location=azure.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=azure.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                # RBAC only: who may read a secret is a role assignment, reviewable in a
                # plan, not an access policy hidden inside the vault.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                # Fixed at creation: "once set, it cannot be changed"
                # (https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview),
                # so a later change is ignored, not sent (ignore_changes below).
                soft_delete_retention_in_days=azure.key_vault.soft_delete_retention_days,
                # Azure refuses `false` here (purge protection is irreversible), so "off"
                # is expressed by leaving it unset.
                enable_purge_protection=True if args.purge_protection else None,
                # Private mode: reached through its private endpoint only; trusted Azure
                # services (the disk encryption set, Databricks) still unwrap keys.
                public_network_access="disabled" if private else None,
                network_acls=(
                    keyvault.NetworkRuleSetArgs(
                        default_action=keyvault.NetworkRuleAction.DENY,
                        bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                    )
                    if private
                    else None
                ),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions.merge(
                data,
                pulumi.ResourceOptions(ignore_changes=["properties.softDeleteRetentionInDays"]),
            ),
        )
        self.key_vault_id = self.key_vault.id
        self.key_vault_uri = self.key_vault.properties.apply(lambda p: p.vault_uri or "")

        self.workspace_key = (
            workspace_key(
                name,
                azure.encryption,
                names,
                azure.subscription_id,
                group.name,
                self.key_vault,
                self.key_vault_uri,
                tags,
                child,
                data,
            )
            if args.customer_managed_keys
            else None
        )
        key = self.workspace_key
        self.workspace = databricks.Workspace(
            f"{name}-workspace",
            workspace_name=names.workspace,
            resource_group_name=group.name,
            location=azure.location,
            sku=databricks.SkuArgs(name=azure.workspace.sku),
            managed_resource_group_id=names.managed_resource_group_id,
            parameters=self._workspace_parameters(
                azure.workspace.no_public_ip, key, azure.encryption.dbfs_root == "encrypted"
            ),
            # Back-end Private Link: users and clusters reach the control plane through
            # private endpoints only, and Databricks adds no NSG rules for the public
            # path (https://learn.microsoft.com/azure/databricks/security/network/classic/private-link-standard#step-3).
            public_network_access=(
                databricks.PublicNetworkAccess.DISABLED
                if private
                else databricks.PublicNetworkAccess.ENABLED
            ),
            required_nsg_rules=(
                databricks.RequiredNsgRules.NO_AZURE_DATABRICKS_RULES if private else None
            ),
            encryption=workspace_encryption(key),
            # Classic compute in the stack's network. Required on create and cannot be
            # changed (azure-native Workspace.compute_mode docstring), so it is pinned:
            # left to a default, a new default would replace the workspace.
            compute_mode=databricks.ComputeMode.HYBRID,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[key.ready] if key is not None else []
            ),
        )
        self.key_grants = (
            workspace_identity_grants(
                name, names, azure.subscription_id, key, self.workspace, child
            )
            if key is not None
            else []
        )
        self.workspace_url = self.workspace.workspace_url.apply(lambda host: f"https://{host}")
        self.workspace_id = self.workspace.workspace_id
        self.workspace_resource_id = self.workspace.id

        self.register_outputs(
            {
                "resource_group_name": self.resource_group_name,
                "virtual_network_id": (
                    self.injected_network.virtual_network.id if self.injected_network else None
                ),
                "storage_account_name": self.storage_account_name,
                "workspace_url": self.workspace_url,
                "workspace_id": self.workspace_id,
                "key_vault_uri": self.key_vault_uri,
            }
        )

    def _workspace_parameters(
        self, no_public_ip_on: bool, key: WorkspaceKey | None, encrypt_dbfs: bool
    ) -> databricks.WorkspaceCustomParametersArgs:
        no_public_ip = databricks.WorkspaceNoPublicIPBooleanParameterArgs(value=no_public_ip_on)
        # DBFS root CMK: the workspace's storage gets an identity (prepareEncryption), and
        # once that identity holds the key, the key (encryption).
        # https://learn.microsoft.com/azure/databricks/security/keys/customer-managed-keys-dbfs/cmk-dbfs-azure-cli
        encryption: dict[str, object] = {}
        if key is not None:
            encryption["prepare_encryption"] = databricks.WorkspaceCustomBooleanParameterArgs(
                value=True
            )
            if encrypt_dbfs:
                encryption["encryption"] = databricks.WorkspaceEncryptionParameterArgs(
                    value=databricks.EncryptionArgs(
                        key_source=databricks.KeySource.MICROSOFT_KEYVAULT,
                        key_name=key.name,
                        key_version=key.version,
                        key_vault_uri=key.vault_uri,
                    )
                )
        if self.injected_network is None:
            return databricks.WorkspaceCustomParametersArgs(
                enable_no_public_ip=no_public_ip,
                **encryption,  # type: ignore[arg-type]
            )
        injected = self.injected_network
        return databricks.WorkspaceCustomParametersArgs(
            enable_no_public_ip=no_public_ip,
            **encryption,  # type: ignore[arg-type]
            custom_virtual_network_id=databricks.WorkspaceCustomStringParameterArgs(
                value=injected.virtual_network.id
            ),
            custom_public_subnet_name=databricks.WorkspaceCustomStringParameterArgs(
                value=injected.public_subnet.name.apply(_required_name)
            ),
            custom_private_subnet_name=databricks.WorkspaceCustomStringParameterArgs(
                value=injected.private_subnet.name.apply(_required_name)
            ),
        )

    def _injected_network(
        self,
        name: str,
        settings: NetworkConfig,
        names: Names,
        location: str,
        group: resources.ResourceGroup,
        tags: dict[str, str],
        mode: str,
    ) -> InjectedNetwork:
        """VNet injection: the workspace's clusters run in subnets this stack owns."""
        child = pulumi.ResourceOptions(parent=self)
        # Egress through an existing firewall: the default route's next hop is its private
        # IP; the NAT gateway stays for whatever the firewall sends back out.
        route_table = (
            network.RouteTable(
                f"{name}-egress-routes",
                route_table_name=names.egress_route_table,
                resource_group_name=group.name,
                location=location,
                routes=[
                    network.RouteArgs(
                        name="default-via-firewall",
                        address_prefix="0.0.0.0/0",
                        next_hop_type=network.RouteNextHopType.VIRTUAL_APPLIANCE,
                        next_hop_ip_address=str(settings.egress_firewall_ip),
                    )
                ],
                tags=tags,
                opts=child,
            )
            if settings.egress_firewall_ip is not None
            else None
        )
        # Databricks writes its own rules into this NSG (through a network intent policy)
        # once the workspace exists; declaring none here leaves them to it. azure-native
        # keeps rules it did not create when security_rules is unset.
        security_group = network.NetworkSecurityGroup(
            f"{name}-nsg",
            network_security_group_name=names.security_group,
            resource_group_name=group.name,
            location=location,
            tags=tags,
            opts=child,
        )
        # Clusters without public IPs need an egress device with one to reach the secure
        # cluster connectivity relay; Azure no longer gives new subnets default outbound
        # access. A NAT gateway is the egress Databricks recommends for VNet injection.
        egress_ip = network.PublicIPAddress(
            f"{name}-nat-ip",
            public_ip_address_name=names.nat_public_ip,
            resource_group_name=group.name,
            location=location,
            sku=network.PublicIPAddressSkuArgs(
                name=network.PublicIPAddressSkuName.STANDARD,
                tier=network.PublicIPAddressSkuTier.REGIONAL,
            ),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            public_ip_address_version=network.IPVersion.I_PV4,
            tags=tags,
            opts=child,
        )
        nat_gateway = network.NatGateway(
            f"{name}-nat",
            nat_gateway_name=names.nat_gateway,
            resource_group_name=group.name,
            location=location,
            sku=network.NatGatewaySkuArgs(name=network.NatGatewaySkuName.STANDARD),
            public_ip_addresses=[network.SubResourceArgs(id=egress_ip.id)],
            tags=tags,
            opts=child,
        )
        # Subnets are standalone resources and the VNet declares none: azure-native then
        # leaves the VNet's subnets alone on update instead of deleting what it did not list.
        virtual_network = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=names.virtual_network,
            resource_group_name=group.name,
            location=location,
            address_space=network.AddressSpaceArgs(address_prefixes=[settings.address_space]),
            tags=tags,
            opts=child,
        )

        def subnet(role: str, prefix: str, after: list[pulumi.Resource]) -> network.Subnet:
            return network.Subnet(
                f"{name}-snet-{role}",
                subnet_name=names.subnet(role),
                virtual_network_name=virtual_network.name,
                resource_group_name=group.name,
                address_prefix=prefix,
                delegations=[
                    network.DelegationArgs(name="databricks", service_name=DATABRICKS_DELEGATION)
                ],
                network_security_group=network.NetworkSecurityGroupArgs(id=security_group.id),
                nat_gateway=network.SubResourceArgs(id=nat_gateway.id),
                route_table=(
                    network.RouteTableArgs(id=route_table.id) if route_table is not None else None
                ),
                default_outbound_access=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=after),
            )

        public_subnet = subnet("public", settings.public_subnet, [])
        # Azure rejects concurrent writes to subnets of one VNet (AnotherOperationInProgress),
        # so the second subnet waits for the first.
        private_subnet = subnet("private", settings.private_subnet, [public_subnet])
        # Private endpoints take a subnet without delegation; the NSG does not apply to
        # them unless network policies are on, which leaves them to the endpoint's rules.
        endpoint_subnet = (
            network.Subnet(
                f"{name}-snet-endpoints",
                subnet_name=names.endpoint_subnet,
                virtual_network_name=virtual_network.name,
                resource_group_name=group.name,
                address_prefix=settings.private_link.endpoint_subnet,
                private_endpoint_network_policies=(
                    network.VirtualNetworkPrivateEndpointNetworkPolicies.DISABLED
                ),
                default_outbound_access=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[private_subnet]),
            )
            if mode == "private"
            else None
        )
        return InjectedNetwork(
            virtual_network=virtual_network,
            security_group=security_group,
            public_subnet=public_subnet,
            private_subnet=private_subnet,
            nat_gateway=nat_gateway,
            endpoint_subnet=endpoint_subnet,
        )


def _storage_firewall(
    tenant_id: str, connector_id: pulumi.Input[str]
) -> storage.NetworkRuleSetArgs:
    """Private mode: the firewall denies by default, and the access connector is a trusted
    resource instance (Unity Catalog reaches the data through it, not a network path)."""
    # https://learn.microsoft.com/azure/databricks/connect/unity-catalog/cloud-storage/azure-managed-identities#configure-trusted-access-to-azure-storage-based-on-your-managed-identity
    return storage.NetworkRuleSetArgs(
        default_action=storage.DefaultAction.DENY,
        bypass=storage.Bypass.AZURE_SERVICES,
        resource_access_rules=[
            storage.ResourceAccessRuleArgs(tenant_id=tenant_id, resource_id=connector_id)
        ],
    )


def _required_name(value: str | None) -> str:
    # A subnet's name is its subnet_name input, always set here; the SDK types it optional.
    if not value:
        raise ValueError("a workspace subnet has no name")
    return value
