"""People and machines: account groups, users and the stack's service principals."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from components.config.types import (
    DisplayName,
    Email,
    GroupName,
    StrictBool,
    _doc,
    _Model,
    _PathError,
    _require_unique,
    _required,
)


class Entitlements(_Model):
    workspace_access: StrictBool = _doc(True, "May use the workspace")
    databricks_sql_access: StrictBool = _doc(False, "May use Databricks SQL")
    allow_cluster_create: StrictBool = _doc(False, "May create clusters (unrestricted)")


class GroupConfig(_Model):
    name: GroupName = _required("Account-level group name")
    members: tuple[Email, ...] = _doc((), "Emails of identity.users in the group")
    workspace_role: Literal["ADMIN", "USER"] = _doc("USER", "Permission on this workspace")
    entitlements: Entitlements = _doc(Entitlements(), "Workspace entitlements of the group")

    @model_validator(mode="after")
    def _members_unique(self) -> GroupConfig:
        _require_unique(self.members, "members")
        return self


class UserConfig(_Model):
    email: Email = _required("User name in Databricks (the Entra ID sign-in email)")
    display_name: DisplayName = _required("Display name")


class ServicePrincipalConfig(_Model):
    display_name: DisplayName = _required("Display name of the service principal")
    client_secret: StrictBool = _doc(
        False, "Generate an OAuth secret (kept in Key Vault); off: OIDC federation only"
    )


class ServicePrincipalsConfig(_Model):
    deployer: ServicePrincipalConfig = _required("CI's identity: runs pulumi up for this stack")
    job_runner: ServicePrincipalConfig = _required("Jobs run as this principal (staging, prod)")

    @model_validator(mode="after")
    def _distinct(self) -> ServicePrincipalsConfig:
        # Both are created in one account; two principals of one name cannot be told apart
        # in the account console, in grants or in the access report.
        # The deployer's read-only twin for previews is named "<deployer>-preview" (Names).
        taken = {
            self.deployer.display_name.lower(),
            f"{self.deployer.display_name}-preview".lower(),
        }
        if self.job_runner.display_name.lower() in taken:
            raise _PathError(
                ("jobRunner", "displayName"),
                f"{self.job_runner.display_name!r} is also the deployer's displayName "
                "(or its preview principal's); "
                "each service principal needs its own name",
            )
        return self


class IdentityConfig(_Model):
    groups: tuple[GroupConfig, ...] = _required("Account groups; grants name these", min_length=1)
    users: tuple[UserConfig, ...] = _doc((), "Account users (members of groups)")
    service_principals: ServicePrincipalsConfig = _required("This environment's machine identities")
    admin_group: GroupName = _doc(
        "platform-admins",
        "The stack's platform admins (one of groups): the people who run its bootstrap"
        " deploy; they may use the job runner (Service Principal User) like the deployer",
    )

    @model_validator(mode="after")
    def _consistent(self) -> IdentityConfig:
        # Databricks group names are case-insensitive (SCIM displayName).
        _require_unique([g.name for g in self.groups], "groups", ignore_case=True)
        _require_unique([u.email for u in self.users], "users")
        known = {u.email for u in self.users}
        for gi, group in enumerate(self.groups):
            for mi, member in enumerate(group.members):
                if member not in known:
                    raise _PathError(
                        ("groups", gi, "members", mi),
                        f"{member!r} is not one of identity.users; "
                        "add it there with its displayName",
                    )
        return self

    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]
