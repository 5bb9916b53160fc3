"""Identity: who may use the workspace, and how CI signs in without a long-lived secret.

Two components, because a workspace only accepts account principals once a metastore is
attached to it, and the metastore's owner is one of this stack's groups:

- ``Identity`` (account provider, and azure-native): this stack's groups, the users in
  them, the deployer and job-runner service principals, the read-only preview
  principals, and how CI signs in as them. Nothing here touches the workspace.
- ``WorkspaceAccess``, created after the metastore assignment: the workspace permission
  assignments of those principals (account provider) and their entitlements (workspace
  provider).

CI holds no credential of its own. A GitHub Actions job running in the stack's
environment gets an OIDC token whose subject is ``repo:<owner>/<repo>:environment:<stack>``
and exchanges it twice: with Entra ID for the deployer's managed identity
(``ARM_CLIENT_ID``, what azure-native uses), and with Databricks for the deployer service
principal (``DATABRICKS_CLIENT_ID``, through the service-principal federation policy).
Two identities, because each cloud trusts its own: a Databricks-managed service principal
with a federation policy needs no Entra application, and the managed identity needs no
Databricks account. Pull-request previews run in the ``<stack>-preview`` environment and
sign in the same way as read-only preview principals, so no pull request can reach the
deploying identities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_databricks as databricks
from pulumi_azure_native import authorization, keyvault, managedidentity

from components.config import GroupConfig, IdentityConfig, ServicePrincipalConfig
from components.naming import (
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    KEY_VAULT_SECRETS_OFFICER,
    KEY_VAULT_SECRETS_USER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    Names,
    github_subject,
    role_definition_id,
)

GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
# The audience Entra ID requires of every federated token it exchanges.
AZURE_TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"

CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
KEY_VAULT_CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
# The only roles the deployer may grant or revoke: those the layers assign inside the
# stack's resource group (Reader: the preview identity's). Azure checks the condition on
# every write and delete, so a role missing here fails the first CI run that replaces or
# destroys its assignment; a test holds this list to the plan.
DELEGABLE_ROLES = (
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    KEY_VAULT_SECRETS_OFFICER,
    KEY_VAULT_SECRETS_USER,
    READER,
    # Customer-managed keys: the identities that wrap with the workspace's key.
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
)


def delegation_condition(roles: tuple[str, ...]) -> str:
    """An ABAC condition: role assignments may be written and deleted for ``roles`` only."""
    allowed = "{" + ", ".join(roles) + "}"
    return (
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR "
        f"(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        f"ForAnyOfAnyValues:GuidEquals {allowed})) AND "
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR "
        f"(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
        f"ForAnyOfAnyValues:GuidEquals {allowed}))"
    )


@dataclass(frozen=True)
class GithubRepository:
    """The repository whose Actions environments sign in as this stack's CI identities."""

    owner: str
    repository: str


@dataclass(frozen=True)
class IdentityArgs:
    identity: IdentityConfig
    names: Names
    location: str
    tags: Mapping[str, str]
    account_id: str
    # The group that owns the stack's Unity Catalog objects (unityCatalog.owner).
    owner_group: str
    # Who the jobs run as (jobs.runAs): the job runner, or the deployer.
    jobs_run_as: Literal["servicePrincipal", "deployer"]
    # The stack's platform admins (identity.adminGroup), who run the bootstrap deploy.
    admin_group: str
    # Whether this stack's deployer is the account admin (databricks.accountOwner).
    account_owner: bool
    resource_group_name: pulumi.Input[str]
    key_vault_name: pulumi.Input[str]
    # The vault holding the stack's customer-managed key, when it has one: the deployer
    # manages that key (rotation policy, new versions).
    key_vault_id: pulumi.Input[str] | None
    github: GithubRepository | None
    account_provider: databricks.Provider


@dataclass(frozen=True)
class CiIdentity:
    """The ids CI signs in with, as the pipelines' variables carry them."""

    azure_client_id: pulumi.Output[str]
    databricks_application_id: pulumi.Output[str]


# The two identities CI signs in as: the deploying one, and the read-only preview one.
CiRole = Literal["deploy", "preview"]


@dataclass(frozen=True)
class CiTrust:
    """Tokens of ``issuer`` for ``subject`` act as the deploy or the preview identity."""

    role: CiRole
    ci: str
    issuer: pulumi.Input[str]
    subject: pulumi.Input[str]
    databricks_audience: pulumi.Input[str]


@dataclass(frozen=True)
class RunAs:
    """The principal the jobs run as."""

    application_id: pulumi.Output[str]
    is_deployer: bool

    @property
    def reader_application_id(self) -> pulumi.Output[str] | None:
        """Who must be granted read on the jobs' code besides the deployer (which manages
        it anyway): the run-as principal, unless that is the deployer."""
        return None if self.is_deployer else self.application_id


@dataclass(frozen=True)
class CiPrincipal:
    """One identity CI signs in as: an Azure managed identity and a Databricks principal."""

    azure: managedidentity.UserAssignedIdentity
    databricks: databricks.ServicePrincipal

    @property
    def client_id(self) -> pulumi.Output[str]:
        return self.azure.client_id


class Identity(pulumi.ComponentResource):
    """Groups, users and service principals of one stack, and CI's federation."""

    groups: dict[str, databricks.Group]
    group_names: list[str]
    users: dict[str, databricks.User]
    memberships: list[databricks.GroupMember]
    deployer_owner_membership: databricks.GroupMember
    deployer: databricks.ServicePrincipal
    job_runner: databricks.ServicePrincipal
    deployer_identity: managedidentity.UserAssignedIdentity
    deployer_client_id: pulumi.Output[str]
    deploy: CiPrincipal
    preview: CiPrincipal
    github_subject: str | None
    run_as: RunAs
    groups_ready: list[pulumi.Resource]
    principals_ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:identity:Identity", name, None, opts)
        self._name = name
        self._args = args
        identity, names = args.identity, args.names
        account = pulumi.ResourceOptions(parent=self, provider=args.account_provider)

        # People are account-wide and appear in every stack's config: a stack adopts an
        # existing account user (force) and leaves it in place when destroyed, because
        # other stacks (and Entra ID provisioning) still rely on it.
        self.users = {
            user.email: databricks.User(
                f"{name}-user-{user.email}",
                user_name=user.email,
                display_name=user.display_name,
                force=True,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.account_provider, retain_on_delete=True
                ),
            )
            for user in identity.users
        }

        self.groups = {}
        self.memberships = []
        for group in identity.groups:
            account_group = databricks.Group(
                f"{name}-group-{group.name}",
                display_name=names.group(group.name),
                opts=account,
            )
            self.groups[group.name] = account_group
            for member in group.members:
                self.memberships.append(
                    databricks.GroupMember(
                        f"{name}-member-{group.name}-{member}",
                        group_id=account_group.id,
                        member_id=self.users[member].id,
                        opts=account,
                    )
                )
        self.group_names = [names.group(g.name) for g in identity.groups]

        principals = identity.service_principals
        self.deployer = self._service_principal(
            f"{name}-deployer", "deployer", principals.deployer, args
        )
        self.job_runner = self._service_principal(
            f"{name}-job-runner", "job-runner", principals.job_runner, args
        )
        # Unity Catalog objects are owned by a group (unityCatalog.owner), not by whoever
        # ran the first `pulumi up`: the deployer joins that group, so CI may change their
        # grants and children (and, through the group's metastore privileges, create more).
        self.deployer_owner_membership = databricks.GroupMember(
            f"{name}-deployer-member-{args.owner_group}",
            group_id=self.groups[args.owner_group].id,
            member_id=self.deployer.id,
            opts=account,
        )
        if args.account_owner:
            # The account-owning stack's deployer manages account-level objects (groups,
            # users, principals, workspace assignments, the metastore), which only an
            # account admin may create. One stack per account, at most (config).
            databricks.ServicePrincipalRole(
                f"{name}-deployer-account-admin",
                service_principal_id=self.deployer.id,
                role="account_admin",
                opts=account,
            )
        else:
            # Elsewhere the bootstrap deploy (an account admin) creates them, and the
            # deployer only manages the stack's own groups' memberships: Group Manager
            # (https://learn.microsoft.com/azure/databricks/admin/users-groups/groups#manage-roles-on-an-account-group;
            # rule set name: the provider's access_control_rule_set docs).
            for group_name, account_group in self.groups.items():
                databricks.AccessControlRuleSet(
                    f"{name}-group-{group_name}-managers",
                    name=account_group.id.apply(
                        lambda group_id: (
                            f"accounts/{args.account_id}/groups/{group_id}/ruleSets/default"
                        )
                    ),
                    grant_rules=[
                        databricks.AccessControlRuleSetGrantRuleArgs(
                            principals=[self.deployer.acl_principal_id],
                            role="roles/group.manager",
                        )
                    ],
                    opts=account,
                )
        # Naming a service principal as a job's run_as needs the Service Principal User
        # role on it, which account admins do not hold implicitly (they are its Manager):
        # https://learn.microsoft.com/azure/databricks/admin/users-groups/service-principals#roles-for-managing-service-principals
        # The deployer (CI) and the stack's platform admins (the bootstrap deploy) use the
        # principal the jobs run as. The rule set is authoritative: nobody else may.
        admins = self.groups[args.admin_group].acl_principal_id

        def rule_set(
            suffix: str, on: databricks.ServicePrincipal, rules: list[tuple[str, list[Any]]]
        ) -> databricks.AccessControlRuleSet:
            return databricks.AccessControlRuleSet(
                f"{name}-{suffix}",
                name=on.application_id.apply(
                    lambda app_id: (
                        f"accounts/{args.account_id}/servicePrincipals/{app_id}/ruleSets/default"
                    )
                ),
                grant_rules=[
                    databricks.AccessControlRuleSetGrantRuleArgs(principals=who, role=role)
                    for role, who in rules
                ],
                opts=account,
            )

        rule_set(
            "job-runner-users",
            self.job_runner,
            [("roles/servicePrincipal.user", [self.deployer.acl_principal_id, admins])],
        )
        # The deployer keeps its own git credential (the Git folders'), which takes the
        # Service Principal Manager role on it: "Only service principal managers can
        # perform this action" (https://docs.databricks.com/api/azure/workspace/gitcredentials/update).
        # Where the jobs run as the deployer, the platform admins may name it as run_as.
        rule_set(
            "deployer-rules",
            self.deployer,
            [
                ("roles/servicePrincipal.manager", [self.deployer.acl_principal_id]),
                *(
                    [("roles/servicePrincipal.user", [admins])]
                    if args.jobs_run_as == "deployer"
                    else []
                ),
            ],
        )
        # What the workspace layer waits for before it names these principals.
        self.groups_ready = list(self.groups.values())
        self.principals_ready = [*self.memberships, self.deployer_owner_membership]
        self.deployer_identity = self._deployer_identity(name, args)
        self.deployer_client_id = self.deployer_identity.client_id
        self.deploy = CiPrincipal(azure=self.deployer_identity, databricks=self.deployer)
        self.preview = self._preview_principal(name, args)

        runs_as_deployer = args.jobs_run_as == "deployer"
        self.run_as = RunAs(
            application_id=(self.deployer if runs_as_deployer else self.job_runner).application_id,
            is_deployer=runs_as_deployer,
        )
        github = args.github
        self.github_subject = (
            github_subject(github.owner, github.repository, names.deploy_environment)
            if github is not None
            else None
        )
        if github is not None:
            environments: tuple[tuple[CiRole, str], ...] = (
                ("deploy", names.deploy_environment),
                ("preview", names.preview_environment),
            )
            self.trust_ci(
                [
                    CiTrust(
                        role,
                        f"github-{environment}",
                        GITHUB_OIDC_ISSUER,
                        github_subject(github.owner, github.repository, environment),
                        # Databricks' recommended audience for GitHub tokens: the account id.
                        databricks_audience=args.account_id,
                    )
                    for role, environment in environments
                ]
            )

        self.register_outputs(
            {
                "group_names": self.group_names,
                "deployer_application_id": self.deployer.application_id,
                "job_runner_application_id": self.job_runner.application_id,
                "deployer_client_id": self.deployer_client_id,
            }
        )

    @property
    def ci_identities(self) -> dict[str, CiIdentity]:
        """The deploy and preview identities' ids, for the CI definitions."""
        return {
            role: CiIdentity(
                azure_client_id=principal.client_id,
                databricks_application_id=principal.databricks.application_id,
            )
            for role, principal in (("deploy", self.deploy), ("preview", self.preview))
        }

    def trust_ci(self, trusts: Sequence[CiTrust]) -> None:
        """Let each trust's tokens act as its identity, in Azure and in Databricks.

        Called here for GitHub, whose subjects follow from config; the platform calls it
        again for Azure Pipelines, whose issuer and subject only exist once the source
        control layer's service connections do. Either way the federation is this
        layer's: it belongs to the identities it trusts.
        """
        args = self._args
        for trust in trusts:
            principal = self.deploy if trust.role == "deploy" else self.preview
            name = f"{self._name}-{trust.ci}"
            managedidentity.FederatedIdentityCredential(
                name,
                federated_identity_credential_resource_name=trust.ci,
                resource_name_=principal.azure.name,
                resource_group_name=args.resource_group_name,
                issuer=trust.issuer,
                subject=trust.subject,
                audiences=[AZURE_TOKEN_EXCHANGE_AUDIENCE],
                opts=pulumi.ResourceOptions(parent=self),
            )
            databricks.ServicePrincipalFederationPolicy(
                name,
                service_principal_id=principal.databricks.id.apply(int),
                description=(
                    f"CI ({trust.ci}) signs in as this principal for stack {args.names.stack}"
                ),
                oidc_policy=databricks.ServicePrincipalFederationPolicyOidcPolicyArgs(
                    issuer=trust.issuer,
                    subject=trust.subject,
                    audiences=[trust.databricks_audience],
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=args.account_provider),
            )

    def _service_principal(
        self, name: str, role: str, principal: ServicePrincipalConfig, args: IdentityArgs
    ) -> databricks.ServicePrincipal:
        # Databricks-managed: Databricks generates the application id, and the principal
        # signs in through federation (deployer) or runs jobs inside the workspace (job
        # runner); neither has an Entra application or a secret by default.
        service_principal = databricks.ServicePrincipal(
            name,
            display_name=principal.display_name,
            opts=pulumi.ResourceOptions(parent=self, provider=args.account_provider),
        )
        if principal.client_secret:
            secret = databricks.ServicePrincipalSecret(
                f"{name}-secret",
                service_principal_id=service_principal.id,
                opts=pulumi.ResourceOptions(parent=self, provider=args.account_provider),
            )
            # Generated by Databricks, secret end to end, readable only through the
            # vault's RBAC; it is never a stack output.
            keyvault.Secret(
                f"{name}-secret",
                secret_name=args.names.client_secret(role),
                vault_name=args.key_vault_name,
                resource_group_name=args.resource_group_name,
                properties=keyvault.SecretPropertiesArgs(
                    value=pulumi.Output.secret(secret.secret),
                    content_type=service_principal.application_id.apply(
                        lambda app_id: f"OAuth secret of Databricks service principal {app_id}"
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return service_principal

    def _preview_principal(self, name: str, args: IdentityArgs) -> CiPrincipal:
        """What pull-request previews sign in as: it may read this stack, and change nothing.

        A pull request can edit its own workflow, so whatever its jobs can reach must be
        harmless: Reader on the stack's resource group, and a Databricks principal that is
        a plain workspace user (assigned by WorkspaceAccess), never an admin. Previews run
        without refresh and take no state lock, so reading is all they need (plus read
        access to the state backend, which lives outside every stack; see the README).
        """
        names = args.names
        stack, subscription = names.stack, names.subscription_id
        child = pulumi.ResourceOptions(parent=self)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-preview-identity",
            resource_name_=names.managed_identity("preview"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=child,
        )
        authorization.RoleAssignment(
            f"{name}-preview-reader",
            role_assignment_name=names.role_assignment("preview", READER),
            principal_id=identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(subscription, READER),
            scope=_resource_group_scope(names, args.resource_group_name),
            description=f"Pull-request previews of stack {stack} read it",
            # A GUID name from its meaning: a replacement must delete before it creates.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        deployer_name = args.identity.service_principals.deployer.display_name
        principal = databricks.ServicePrincipal(
            f"{name}-preview",
            display_name=names.preview_principal(deployer_name),
            opts=pulumi.ResourceOptions(parent=self, provider=args.account_provider),
        )
        return CiPrincipal(azure=identity, databricks=principal)

    def _deployer_identity(
        self, name: str, args: IdentityArgs
    ) -> managedidentity.UserAssignedIdentity:
        names = args.names
        stack, subscription = names.stack, names.subscription_id
        child = pulumi.ResourceOptions(parent=self)
        deployer = managedidentity.UserAssignedIdentity(
            f"{name}-deployer-identity",
            resource_name_=names.managed_identity("deployer"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=child,
        )
        scope = _resource_group_scope(names, args.resource_group_name)
        # What `pulumi up` needs, and no more: Contributor on the stack's own resource
        # group manages every resource the stack creates there; Role Based Access Control
        # Administrator, constrained to DELEGABLE_ROLES, lets it keep the data-plane role
        # assignments the layers make (never Owner, never a role on itself). Neither
        # reaches the subscription or another stack's resource group; creating the
        # resource group and these two assignments is the first, human deploy.
        authorization.RoleAssignment(
            f"{name}-deployer-contributor",
            role_assignment_name=names.role_assignment("deployer", CONTRIBUTOR),
            principal_id=deployer.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(subscription, CONTRIBUTOR),
            scope=scope,
            description=f"CI deploys stack {stack}",
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        authorization.RoleAssignment(
            f"{name}-deployer-rbac-administrator",
            role_assignment_name=names.role_assignment("deployer", RBAC_ADMINISTRATOR),
            principal_id=deployer.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(subscription, RBAC_ADMINISTRATOR),
            scope=scope,
            condition=delegation_condition(DELEGABLE_ROLES),
            condition_version="2.0",
            description=f"CI keeps the data-plane role assignments of stack {stack}",
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        if args.key_vault_id is not None:
            # Keys are data plane: Owner and Contributor do not reach them; Key Vault
            # Crypto Officer manages them (https://learn.microsoft.com/azure/key-vault/general/rbac-guide).
            # Only on this vault, and made by the bootstrap deploy (not a delegable role).
            authorization.RoleAssignment(
                f"{name}-deployer-key-officer",
                role_assignment_name=names.role_assignment("deployer", KEY_VAULT_CRYPTO_OFFICER),
                principal_id=deployer.principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=role_definition_id(subscription, KEY_VAULT_CRYPTO_OFFICER),
                scope=args.key_vault_id,
                description=f"CI manages the customer-managed key of stack {stack}",
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
        return deployer


def _resource_group_scope(names: Names, group: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(group).apply(names.resource_group_scope)


@dataclass(frozen=True)
class WorkspaceAccessArgs:
    groups: Sequence[GroupConfig]
    # Account ids of the groups (by config name) and of the stack's service principals.
    group_ids: Mapping[str, pulumi.Input[str]]
    deployer_id: pulumi.Input[str]
    job_runner_id: pulumi.Input[str]
    preview_id: pulumi.Input[str]
    workspace_id: pulumi.Input[str]
    # The metastore assignment: a workspace takes account principals only once a
    # metastore is attached (identity federation comes with it).
    attachment: pulumi.Resource
    # The account groups, and the memberships of the principals in them (Identity's).
    groups_ready: Sequence[pulumi.Resource]
    principals_ready: Sequence[pulumi.Resource]
    account_provider: databricks.Provider
    workspace_provider: databricks.Provider


class WorkspaceAccess(pulumi.ComponentResource):
    """Who may use this workspace, and with which entitlements."""

    group_assignments: dict[str, databricks.MwsPermissionAssignment]
    # What a Unity Catalog grant to a group waits for: the group, in this workspace.
    groups_ready: list[pulumi.Resource]
    # What an ACL naming a configured user or principal waits for: all of it assigned.
    principals_ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: WorkspaceAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:identity:WorkspaceAccess", name, None, opts)

        def assign(
            suffix: str, principal_id: pulumi.Input[str], role: str
        ) -> databricks.MwsPermissionAssignment:
            return databricks.MwsPermissionAssignment(
                f"{name}-{suffix}",
                workspace_id=args.workspace_id,
                principal_id=principal_id,
                permissions=[role],
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.account_provider, depends_on=[args.attachment]
                ),
            )

        def entitle(after: pulumi.Resource) -> pulumi.ResourceOptions:
            # Entitlements are per workspace and exist only once the principal is in it.
            return pulumi.ResourceOptions(
                parent=self, provider=args.workspace_provider, depends_on=[after]
            )

        self.group_assignments = {}
        for group in args.groups:
            group_id = args.group_ids[group.name]
            assignment = assign(f"group-{group.name}", group_id, group.workspace_role)
            self.group_assignments[group.name] = assignment
            databricks.Entitlements(
                f"{name}-entitlements-{group.name}",
                group_id=group_id,
                workspace_access=group.entitlements.workspace_access,
                databricks_sql_access=group.entitlements.databricks_sql_access,
                allow_cluster_create=group.entitlements.allow_cluster_create,
                opts=entitle(assignment),
            )

        deployer_admin = assign("deployer", args.deployer_id, "ADMIN")
        runner_user = assign("job-runner", args.job_runner_id, "USER")
        databricks.Entitlements(
            f"{name}-entitlements-job-runner",
            service_principal_id=args.job_runner_id,
            workspace_access=True,
            opts=entitle(runner_user),
        )
        # A plain user: previews read through it and can change nothing.
        preview_user = assign("preview", args.preview_id, "USER")
        self.groups_ready = [*args.groups_ready, *self.group_assignments.values()]
        self.principals_ready = [
            *self.groups_ready,
            *args.principals_ready,
            deployer_admin,
            runner_user,
            preview_user,
        ]
        self.register_outputs({})
