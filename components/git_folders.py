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

from components.config import GitFoldersConfig
from components.naming import developer_folder


@dataclass(frozen=True)
class GitFoldersArgs:
    git_folders: GitFoldersConfig
    develop_branch: str
    main_branch: str
    repository_url: pulumi.Input[str]
    repository_name: str
    git_provider: str
    deployer_id: pulumi.Input[str]
    deployer_application_id: pulumi.Input[str]
    deployer_display_name: str
    # The deployer's git token (the gitCredentialToken secret, an Output.secret).
    token: pulumi.Input[str]
    # Account group display names that read the production folder.
    reader_groups: Sequence[str]
    # Groups and users exist in the workspace only once these exist (see Identity).
    principals_ready: Sequence[pulumi.Resource]


class GitFolders(pulumi.ComponentResource):
    """The deployer's git credential and the Git folders of one workspace."""

    production: databricks.Repo
    production_path: pulumi.Output[str]
    developer_folders: dict[str, databricks.Repo]

    def __init__(
        self, name: str, args: GitFoldersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:workspace:GitFolders", name, None, opts)

        # For the deployer, whoever runs `pulumi up` (a person on the first deploy, CI
        # after): the account SCIM id is the workspace's too, the workspace being
        # identity-federated.
        credential = databricks.GitCredential(
            f"{name}-credential",
            principal_id=args.deployer_id,
            git_provider=args.git_provider,
            git_username=args.deployer_display_name,
            personal_access_token=args.token,
            is_default_for_provider=True,
            force=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.principals_ready)),
        )
        ready = pulumi.ResourceOptions(parent=self, depends_on=[credential, *args.principals_ready])

        self.production = databricks.Repo(
            f"{name}-production",
            url=args.repository_url,
            git_provider=args.git_provider,
            branch=args.main_branch,
            path=args.git_folders.production_path,
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
                    service_principal_name=args.deployer_application_id,
                    permission_level="CAN_MANAGE",
                ),
                *(
                    databricks.PermissionsAccessControlArgs(
                        group_name=group, permission_level="CAN_READ"
                    )
                    for group in args.reader_groups
                ),
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.developer_folders = {}
        for email in args.git_folders.developers:
            folder = databricks.Repo(
                f"{name}-developer-{email}",
                url=args.repository_url,
                git_provider=args.git_provider,
                branch=args.develop_branch,
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
