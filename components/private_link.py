"""Private Link (azure.network.mode private): private endpoints, their DNS, the transit VNet.

Back end: the clusters reach the control plane through a ``databricks_ui_api`` endpoint
in the data-plane VNet. Front end: users (and CI's self-hosted runners) reach the
workspace through a ``databricks_ui_api`` endpoint in a transit VNet this stack creates,
or in an existing hub VNet's subnet; single sign-on for the region goes through one
``browser_authentication`` endpoint, owned by exactly one stack per region. The storage
account (dfs, blob) and the Key Vault are reached through endpoints in the data-plane
VNet. Each endpoint registers its address in a private DNS zone: one this stack creates
and links to its VNets, or an existing central zone named by id.

https://learn.microsoft.com/azure/databricks/security/network/classic/private-link-standard

A private endpoint is one entry of :meth:`PrivateLink._endpoints`, rendered by one loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns

from components.config import PrivateLinkConfig
from components.config.azure import DNS_ZONES
from components.naming import Names

DATABRICKS_ZONE, DFS_ZONE, BLOB_ZONE, VAULT_ZONE = DNS_ZONES
# Private link sub-resources (group ids) of each target:
# https://learn.microsoft.com/azure/private-link/private-endpoint-overview#private-link-resource
UI_API, BROWSER_AUTHENTICATION = "databricks_ui_api", "browser_authentication"


@dataclass(frozen=True)
class PrivateLinkArgs:
    private_link: PrivateLinkConfig
    names: Names
    location: str
    tags: Mapping[str, str]
    resource_group_name: pulumi.Input[str]
    workspace_resource_id: pulumi.Input[str]
    storage_account_id: pulumi.Input[str]
    key_vault_id: pulumi.Input[str]
    # The data-plane VNet (VNet injection) and its endpoints' subnet.
    virtual_network_id: pulumi.Input[str]
    endpoint_subnet_id: pulumi.Input[str]


@dataclass(frozen=True)
class Endpoint:
    """One private endpoint: what it reaches, from which subnet, named in which zone."""

    key: str  # the resource name's suffix and the endpoint's name (Names.private_endpoint)
    target_id: pulumi.Input[str]
    group_id: str
    subnet_id: pulumi.Input[str]
    zone: str


class PrivateLink(pulumi.ComponentResource):
    """Private endpoints to the workspace, storage and vault, and the DNS that finds them."""

    endpoints: dict[str, network.PrivateEndpoint]
    zone_ids: dict[str, pulumi.Input[str]]
    transit_network: network.VirtualNetwork | None
    ci_runner_subnet: network.Subnet | None

    def __init__(
        self, name: str, args: PrivateLinkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:azure:PrivateLink", name, None, opts)
        settings, names = args.private_link, args.names
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)

        front_end_subnet_id, front_end_network_id = self._front_end(name, args)

        # Zones this stack creates are global resources; central ones are used as they are.
        self.zone_ids = {}
        for zone in DNS_ZONES:
            if zone in settings.dns_zone_ids:
                self.zone_ids[zone] = settings.dns_zone_ids[zone]
                continue
            created = privatedns.PrivateZone(
                f"{name}-zone-{_short(zone)}",
                private_zone_name=zone,
                resource_group_name=args.resource_group_name,
                location="global",
                tags=tags,
                opts=child,
            )
            self.zone_ids[zone] = created.id
            linked = {"data": args.virtual_network_id}
            if front_end_network_id is not None:
                linked["frontend"] = front_end_network_id
            for role, network_id in linked.items():
                privatedns.VirtualNetworkLink(
                    f"{name}-zone-{_short(zone)}-{role}",
                    virtual_network_link_name=names.dns_link(zone, role),
                    private_zone_name=created.name,
                    resource_group_name=args.resource_group_name,
                    location="global",
                    virtual_network=privatedns.SubResourceArgs(id=network_id),
                    # Resolution only: endpoints register through their zone groups.
                    registration_enabled=False,
                    tags=tags,
                    opts=child,
                )

        self.endpoints = {}
        for endpoint in self._endpoints(args, front_end_subnet_id):
            private_endpoint = network.PrivateEndpoint(
                f"{name}-pe-{endpoint.key}",
                private_endpoint_name=names.private_endpoint(endpoint.key),
                resource_group_name=args.resource_group_name,
                location=args.location,
                subnet=network.SubnetArgs(id=endpoint.subnet_id),
                private_link_service_connections=[
                    network.PrivateLinkServiceConnectionArgs(
                        name=names.private_endpoint(endpoint.key),
                        private_link_service_id=endpoint.target_id,
                        group_ids=[endpoint.group_id],
                    )
                ],
                tags=tags,
                opts=child,
            )
            network.PrivateDnsZoneGroup(
                f"{name}-pe-{endpoint.key}-dns",
                private_endpoint_name=private_endpoint.name,
                private_dns_zone_group_name="default",
                resource_group_name=args.resource_group_name,
                private_dns_zone_configs=[
                    network.PrivateDnsZoneConfigArgs(
                        name=endpoint.zone.replace(".", "-"),
                        private_dns_zone_id=self.zone_ids[endpoint.zone],
                    )
                ],
                opts=child,
            )
            self.endpoints[endpoint.key] = private_endpoint

        self.register_outputs(
            {
                "endpoints": {key: e.id for key, e in self.endpoints.items()},
                "transit_network_id": (
                    self.transit_network.id if self.transit_network is not None else None
                ),
            }
        )

    def _endpoints(
        self, args: PrivateLinkArgs, front_end_subnet_id: pulumi.Input[str]
    ) -> Sequence[Endpoint]:
        workspace, data = args.workspace_resource_id, args.endpoint_subnet_id
        endpoints = [
            Endpoint("dbw-backend", workspace, UI_API, data, DATABRICKS_ZONE),
            Endpoint("dbw-frontend", workspace, UI_API, front_end_subnet_id, DATABRICKS_ZONE),
            Endpoint("st-dfs", args.storage_account_id, "dfs", data, DFS_ZONE),
            Endpoint("st-blob", args.storage_account_id, "blob", data, BLOB_ZONE),
            Endpoint("kv", args.key_vault_id, "vault", data, VAULT_ZONE),
        ]
        if args.private_link.browser_authentication:
            endpoints.append(
                Endpoint(
                    "dbw-browser-auth",
                    workspace,
                    BROWSER_AUTHENTICATION,
                    front_end_subnet_id,
                    DATABRICKS_ZONE,
                )
            )
        return endpoints

    def _front_end(
        self, name: str, args: PrivateLinkArgs
    ) -> tuple[pulumi.Input[str], pulumi.Input[str] | None]:
        """The subnet users' endpoints live in, and the VNet the zones are linked to."""
        settings, names = args.private_link, args.names
        self.transit_network, self.ci_runner_subnet = None, None
        if settings.hub_subnet_id is not None:
            hub_network = settings.hub_subnet_id.rsplit("/subnets/", 1)[0]
            return settings.hub_subnet_id, hub_network
        child = pulumi.ResourceOptions(parent=self)
        transit = network.VirtualNetwork(
            f"{name}-transit-vnet",
            virtual_network_name=names.transit_network,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(
                address_prefixes=[settings.transit_address_space]
            ),
            tags=dict(args.tags),
            opts=child,
        )
        self.transit_network = transit
        front_end = network.Subnet(
            f"{name}-transit-snet-frontend",
            subnet_name=names.transit_subnet("frontend"),
            virtual_network_name=transit.name,
            resource_group_name=args.resource_group_name,
            address_prefix=settings.front_end_subnet,
            private_endpoint_network_policies=(
                network.VirtualNetworkPrivateEndpointNetworkPolicies.DISABLED
            ),
            default_outbound_access=False,
            opts=child,
        )
        if settings.ci_runner_subnet is not None:
            # CI's path to a private workspace: self-hosted runners in this subnet resolve
            # the workspace through the linked zone to the front-end endpoint.
            # Azure refuses concurrent subnet writes in one VNet, so it waits for the other.
            self.ci_runner_subnet = network.Subnet(
                f"{name}-transit-snet-ci",
                subnet_name=names.transit_subnet("ci"),
                virtual_network_name=transit.name,
                resource_group_name=args.resource_group_name,
                address_prefix=settings.ci_runner_subnet,
                default_outbound_access=False,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[front_end]),
            )
        return front_end.id, transit.id


def _short(zone: str) -> str:
    """privatelink.dfs.core.windows.net -> dfs: the part that tells the zones apart."""
    return zone.split(".")[1]
