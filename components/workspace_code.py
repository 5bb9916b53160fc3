"""Workspace code: the jobs' code, uploaded from the commit into the stack's code folder.

What ships is ``upload.upload_manifest`` of the job code (notebooks/ and the gitsync
package): the entry notebooks as notebooks, everything else as workspace files, at their
paths relative to the code folder, so a notebook imports ``dataops_jobs`` and runs
``python -m gitsync`` from its own folder. Nothing else is uploaded (no caches, no tests).

Each upload names its file relative to the project root (Pulumi runs the program and its
provider plugins from there), so the state does not depend on where the repository is
checked out, and carries the file's MD5: the same hash the Databricks provider computes
from the file and stores, so an unchanged file plans as unchanged and a changed one shows
as an ``md5`` change in every plan and diff. The content itself stays out of the state
(``content_base64`` would copy every file into it).

The code folder is a ``Directory`` with its own ACL: the deployer manages it, the stack's
groups and the jobs' run-as principal read it. Under ``/Shared`` that ACL cannot take
away what Databricks gives every user there (manage), which is why prod keeps its code
elsewhere (config refuses a prod code folder under ``/Shared``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pulumi
import pulumi_databricks as databricks

from components.principals import Principal
from notebooks.dataops_jobs.parameters import EntryPoint
from notebooks.dataops_jobs.upload import Upload, upload_manifest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_FORMAT = "SOURCE"


@dataclass(frozen=True)
class WorkspaceCodeArgs:
    # The code folder (workspace path).
    folder: str
    # Who manages the folder: the deployer (in a sandbox, the developer).
    manager: Principal
    # Account group display names that read the code.
    reader_groups: Sequence[str]
    # The principal the jobs run as, when it is not the manager: it reads the code it runs.
    reader: Principal | None
    # The groups and principals the folder's ACL names exist in the workspace only then.
    principals_ready: Sequence[pulumi.Resource] = field(default=())
    # A destroy removes the code folder with whatever runs left in it (a sandbox's backup
    # reports, a developer's scratch notebooks). Off for platform stacks: there a destroy
    # refuses a folder someone added to by hand.
    delete_everything: bool = False
    repo_root: Path = PROJECT_ROOT


def content_md5(path: Path) -> str:
    """The hex MD5 of a file's bytes, as the Databricks provider records it."""
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


class WorkspaceCode(pulumi.ComponentResource):
    """The job code of one commit, in the stack's code folder."""

    folder: str
    notebook_paths: dict[str, str]
    directories: dict[str, databricks.Directory]
    notebooks: dict[str, databricks.Notebook]
    files: dict[str, databricks.WorkspaceFile]

    def __init__(
        self, name: str, args: WorkspaceCodeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dataops:workspace:WorkspaceCode", name, None, opts)
        self.folder = args.folder
        uploads = upload_manifest(args.repo_root)

        # Every folder of the tree is a resource, parents first: a destroy then removes
        # files, then their folders, and fails (instead of deleting) if someone added
        # something by hand.
        self.directories = {}
        for relative in _folders(uploads):
            after = [self.directories[_parent(relative)]] if relative else []
            self.directories[relative] = databricks.Directory(
                f"{name}-folder-{relative}" if relative else f"{name}-folder",
                path=self._path(relative),
                delete_recursive=True if args.delete_everything and not relative else None,
                opts=pulumi.ResourceOptions(parent=self, depends_on=after),
            )
        root = self.directories[""]
        access = [
            args.manager.access_control("CAN_MANAGE"),
            *(
                databricks.PermissionsAccessControlArgs(
                    group_name=group, permission_level="CAN_READ"
                )
                for group in args.reader_groups
            ),
        ]
        if args.reader is not None:
            access.append(args.reader.access_control("CAN_READ"))
        databricks.Permissions(
            f"{name}-permissions",
            directory_path=root.path,
            access_controls=access,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.principals_ready)),
        )

        self.notebooks = {}
        self.files = {}
        for upload in uploads:
            folder = _parent(upload.target)
            in_folder = pulumi.ResourceOptions(parent=self, depends_on=[self.directories[folder]])
            source = upload.source.relative_to(args.repo_root).as_posix()
            if upload.kind == "NOTEBOOK":
                self.notebooks[upload.target] = databricks.Notebook(
                    f"{name}-notebook-{upload.target}",
                    path=self._path(upload.target),
                    source=source,
                    md5=content_md5(upload.source),
                    language=upload.language,
                    format=NOTEBOOK_FORMAT,
                    opts=in_folder,
                )
            else:
                self.files[upload.target] = databricks.WorkspaceFile(
                    f"{name}-file-{upload.target}",
                    path=self._path(upload.target),
                    source=source,
                    md5=content_md5(upload.source),
                    opts=in_folder,
                )

        # Where each uploaded notebook is, by its path under the code folder: the jobs
        # name their tasks' notebooks by these.
        self.notebook_paths = {relative: self._path(relative) for relative in self.notebooks}
        self.register_outputs({"folder": self.folder})

    def _path(self, relative: str) -> str:
        return f"{self.folder}/{relative}" if relative else self.folder


def notebook_path(notebook_paths: Mapping[str, str], entry: EntryPoint) -> str:
    """Where an entry point's notebook is, refusing one this commit does not ship."""
    if entry.workspace_path not in notebook_paths:
        raise KeyError(
            f"{entry.path} is not uploaded as a notebook (its first line must be the "
            "Databricks notebook header); the job could not run it"
        )
    return notebook_paths[entry.workspace_path]


def _parent(relative: str) -> str:
    """The folder holding a path under the code folder; '' is the code folder itself."""
    parent = str(PurePosixPath(relative).parent)
    return "" if parent == "." else parent


def _folders(uploads: Sequence[Upload]) -> list[str]:
    """Every folder that holds an upload, parents first; '' is the code folder itself."""
    folders = {""}
    for upload in uploads:
        relative = upload.target
        while relative:
            relative = _parent(relative)
            folders.add(relative)
    return sorted(folders, key=lambda folder: (folder.count("/") if folder else -1, folder))
