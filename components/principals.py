"""Who an ACL entry or a job's ``run_as`` names: a user or a service principal.

The platform's jobs run as and are owned by service principals; a sandbox's by the
developer. Layers take a :class:`Principal` and never ask which kind it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_databricks as databricks


@dataclass(frozen=True)
class Principal:
    """A Databricks user (by user name, an email) or service principal (by application id)."""

    name: pulumi.Input[str]
    is_user: bool = False

    @classmethod
    def user(cls, email: str) -> Principal:
        return cls(email, is_user=True)

    @classmethod
    def service_principal(cls, application_id: pulumi.Input[str]) -> Principal:
        return cls(application_id)

    def access_control(self, level: str) -> databricks.PermissionsAccessControlArgs:
        if self.is_user:
            return databricks.PermissionsAccessControlArgs(
                user_name=self.name, permission_level=level
            )
        return databricks.PermissionsAccessControlArgs(
            service_principal_name=self.name, permission_level=level
        )

    def run_as(self) -> databricks.JobRunAsArgs:
        if self.is_user:
            return databricks.JobRunAsArgs(user_name=self.name)
        return databricks.JobRunAsArgs(service_principal_name=self.name)
