"""Databricks Git folders: each developer's checkout of develop, and production on main.

All workspace level. The deployer's git credential (one per git provider, ``force``
replaces whatever it held) carries the token of the ``gitCredentialToken`` secret, so
the production folder can be updated by CI after every release. Developers' folders
live in their own ``/Repos/<email>`` folder and are theirs to manage; when they pull,
Databricks uses their own git credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_databricks as databricks

from components.config import StackConfig
from components.pulumi_config import read_secret

GIT_TOKEN_KEY = "gitCredentialToken"


@dataclass(frozen=True)
class GitFoldersArgs:
    config: StackConfig
    stack: str
    repository_url: pulumi.Input[str]
    repository_name: str
    git_provider: str
    deployer: databricks.ServicePrincipal
    # Groups and users exist in the workspace only once these exist (see Identity).
    principals_ready: Sequence[pulumi.Resource]


def developer_folder(email: str, repository: str) -> str:
    return f"/Repos/{email}/{repository}"


class GitFolders(pulumi.ComponentResource):
    """The deployer's git credential and the Git folders of one workspace."""

    production: databricks.Repo
    production_path: pulumi.Output[str]
    developer_folders: dict[str, databricks.Repo]

    def __init__(
        self, name: str, args: GitFoldersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:workspace:GitFolders", name, None, opts)
        config, deployer = args.config, args.deployer
        source = config.source_control
        token = read_secret(GIT_TOKEN_KEY)
        if token is None:  # the config model refuses a stack without it
            raise ValueError(f"the secret dataops:{GIT_TOKEN_KEY} is not set")

        # For the deployer, whoever runs `pulumi up` (a person on the first deploy, CI
        # after): the account SCIM id is the workspace's too, the workspace being
        # identity-federated.
        credential = databricks.GitCredential(
            f"{name}-credential",
            principal_id=deployer.id,
            git_provider=args.git_provider,
            git_username=config.identity.service_principals.deployer.display_name,
            personal_access_token=token,
            is_default_for_provider=True,
            force=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.principals_ready)),
        )
        ready = pulumi.ResourceOptions(parent=self, depends_on=[credential, *args.principals_ready])

        self.production = databricks.Repo(
            f"{name}-production",
            url=args.repository_url,
            git_provider=args.git_provider,
            branch=source.main_branch,
            path=config.git_folders.production_path,
            opts=ready,
        )
        self.production_path = self.production.path
        # Production code is read by everyone and changed by the deployer only (a pull
        # after each release); nobody edits it in the workspace.
        databricks.Permissions(
            f"{name}-production-permissions",
            repo_id=self.production.id,
            access_controls=[
                databricks.PermissionsAccessControlArgs(
                    service_principal_name=deployer.application_id, permission_level="CAN_MANAGE"
                ),
                *(
                    databricks.PermissionsAccessControlArgs(
                        group_name=config.group_display_name(args.stack, group.name),
                        permission_level="CAN_READ",
                    )
                    for group in config.identity.groups
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.developer_folders = {}
        for email in config.git_folders.developers:
            folder = databricks.Repo(
                f"{name}-developer-{email}",
                url=args.repository_url,
                git_provider=args.git_provider,
                branch=source.develop_branch,
                path=developer_folder(email, args.repository_name),
                opts=ready,
            )
            self.developer_folders[email] = folder
            databricks.Permissions(
                f"{name}-developer-{email}-permissions",
                repo_id=folder.id,
                access_controls=[
                    databricks.PermissionsAccessControlArgs(
                        user_name=email, permission_level="CAN_MANAGE"
                    )
                ],
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.register_outputs({"production_path": self.production_path})
