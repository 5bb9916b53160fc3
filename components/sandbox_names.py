"""A sandbox's namespace and every name derived from it: one developer, one git branch.

Standard library only: the CrossGuard pack imports this module (its namespace rule must
derive the same names the program does) and so does ``python -m dataops sandbox config``.

The namespace is ``<user>-<branch>-<hash>``: the email's local part and the branch, each
folded to lowercase ASCII letters, digits and hyphens and shortened, then ten hex digits of
SHA-256 over the exact email (lowercased: addresses are case-insensitive) and the exact
branch (git branch names are case-sensitive). The readable parts say whose sandbox it is;
the hash alone keeps two sandboxes apart, so a branch that folds to nothing (all CJK) or
two branches that fold alike (``feature/a_b`` and ``feature/a-b``) still get their own
names, and the same user and branch always get the same ones.

Every name is checked here against the rule of the object kind it names, each rule with
its source, so a 200-character branch of slashes and unicode still yields names every API
accepts (``tests/test_sandbox.py`` proves it for odd branches).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

# Stack names of sandboxes start with this; the rest is the namespace.
STACK_PREFIX = "sandbox-"
# Schemas of a sandbox start with this, then the namespace with '_' for '-'.
SCHEMA_PREFIX = "sbx_"
USER_PART_LENGTH = 20
BRANCH_PART_LENGTH = 24
HASH_LENGTH = 10  # 40 bits: a collision among a team's sandboxes is out of reach
# The branch as the job names show it; the namespace (in every name) tells them apart.
BRANCH_DISPLAY_LENGTH = 60
# Azure resource tag values: at most 256 characters (job tags reach the cluster's VMs as
# Azure tags). https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations
TAG_VALUE_LENGTH = 256

# --- the rules of the names' kinds, with their sources --------------------------------

# "Stack names may only contain alphanumeric characters, hyphens, underscores, or periods"
# (https://www.pulumi.com/docs/iac/concepts/stacks/#create-a-stack), "stack names are
# limited to 100 characters" (pulumi/pulumi pkg/backend/diy/store.go, ParseReference).
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# Unity Catalog identifiers: at most 255 characters; we keep to lowercase letters, digits
# and underscores, which need no quoting in SQL
# (https://docs.databricks.com/en/sql/language-manual/sql-ref-names.html).
UC_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")
# Secret scopes: "alphanumeric characters, dashes, underscores, and periods, and may not
# exceed 128 characters" (databricks-sdk, SecretsAPI.create_scope docstring).
SECRET_SCOPE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
# Job names: "The maximum length is 4096 bytes in UTF-8 encoding" (databricks-sdk,
# jobs.JobSettings.name docstring).
JOB_NAME_BYTES = 4096
# Workspace paths take a folder name per part; keep to what needs no URL escaping.
PATH_PART = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class SandboxNameError(ValueError):
    """A user or branch no sandbox can be named after; ``str(err)`` says which and why."""


def _fold(text: str, length: int) -> str:
    """Lowercase ASCII letters and digits joined by single hyphens, at most ``length``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:length].rstrip("-")


@dataclass(frozen=True)
class SandboxNames:
    """The names of one sandbox: what ``user`` working on ``branch`` deploys."""

    user: str  # the developer's email, as the dev stack knows them
    branch: str  # the git branch, exactly
    base_stack: str = "dev"  # the stack whose workspace and catalog the sandbox uses

    @classmethod
    def of(cls, user: str, branch: str, base_stack: str = "dev") -> SandboxNames:
        """The names, or :class:`SandboxNameError` naming what cannot be used."""
        # The config's own value rules (imported here: that module needs pydantic, and
        # the policy pack, which imports this one, has none; it never calls ``of``).
        from components.config.types import git_branch_problem, valid_email

        user = user.strip()
        if not user:
            raise SandboxNameError(
                "no user: set your email with `git config user.email you@example.com`"
            )
        if not STACK_NAME.match(base_stack):
            raise SandboxNameError(f"base stack {base_stack!r} is not a stack name")
        if not valid_email(user):
            raise SandboxNameError(f"user {user!r} is not an email address")
        if not branch or branch == "HEAD":
            raise SandboxNameError(
                "no branch: a detached HEAD has none; check out a branch first "
                "(git switch -c <branch>)"
            )
        if branch.startswith("refs/"):
            raise SandboxNameError(
                f"branch {branch!r} is a full ref; give the branch name (feature/x)"
            )
        problem = git_branch_problem(branch)
        if problem is not None:
            raise SandboxNameError(f"branch {branch!r} is not a git branch name: it {problem}")
        names = cls(user=user.lower(), branch=branch, base_stack=base_stack)
        names.check()
        return names

    # --------------------------------------------------------------------- namespace

    @property
    def user_local_part(self) -> str:
        return self.user.split("@", 1)[0]

    @property
    def digest(self) -> str:
        text = f"{self.user}\n{self.branch}".encode()
        return hashlib.sha256(text).hexdigest()[:HASH_LENGTH]

    @property
    def namespace(self) -> str:
        """``<user>-<branch>-<hash>``: lowercase ASCII letters, digits and hyphens."""
        parts = (
            _fold(self.user_local_part, USER_PART_LENGTH),
            _fold(self.branch, BRANCH_PART_LENGTH),
            self.digest,
        )
        return "-".join(part for part in parts if part)

    @property
    def stack(self) -> str:
        return f"{STACK_PREFIX}{self.namespace}"

    # --------------------------------------------------------------- derived names

    @property
    def schema_prefix(self) -> str:
        """Prepended to the medallion's schema names: ``sbx_<namespace>_``."""
        return f"{SCHEMA_PREFIX}{self.namespace.replace('-', '_')}_"

    def schema(self, zone: str) -> str:
        return f"{self.schema_prefix}{zone}"

    @property
    def label(self) -> str:
        """``[sandbox <user> <branch>]``: the prefix of every job name."""
        branch = self.branch
        if len(branch) > BRANCH_DISPLAY_LENGTH:
            branch = branch[: BRANCH_DISPLAY_LENGTH - 1] + "…"
        return f"[sandbox {self.user_local_part} {branch}]"

    def job(self, suffix: str) -> str:
        return f"{self.label} {suffix} ({self.namespace})"

    @property
    def user_folder(self) -> str:
        return f"/Users/{self.user}"

    @property
    def code_folder(self) -> str:
        """Under the developer's own folder, which only they (and admins) may change."""
        return f"{self.user_folder}/sandboxes/{self.namespace}"

    @property
    def report_folder(self) -> str:
        """Where the sandbox's git-sync reports go (the dev default is under /Shared)."""
        return f"/Workspace{self.code_folder}/reports/gitsync"

    @property
    def data_folder(self) -> str:
        """The sandbox's folder in each zone it reads or writes (landing, checkpoints)."""
        return f"sandboxes/{self.namespace}"

    @property
    def secret_scope(self) -> str:
        return self.stack

    @property
    def backup_branch(self) -> str:
        """The backup repository's branch the sandbox's git sync pushes to."""
        return f"sandboxes/{self.namespace}"

    # The jobs layer's other names (components/jobs.py JobNames); a sandbox creates no
    # cluster policy or notification destination, but they would carry the label too.
    @property
    def cluster_policy(self) -> str:
        return self.job("job clusters")

    @property
    def teams_destination(self) -> str:
        return self.job("Teams")

    @property
    def slack_destination(self) -> str:
        return self.job("Slack")

    def group(self, group: str) -> str:
        """An account group of the base stack, as its identity layer names them."""
        return f"{self.base_stack}-{group}"

    def tags(self, created_at: str) -> dict[str, str]:
        """Owner, branch and creation time on every sandbox object that takes tags.

        The branch is kept to ASCII tag characters and cut to the tag value limit: the
        exact branch is in the stack's config and outputs; the namespace tells them apart.
        """
        branch = re.sub(r"[^A-Za-z0-9 _.:/=+@-]", "-", self.branch)[:TAG_VALUE_LENGTH]
        return {
            "sandbox": self.namespace,
            "sandbox-owner": self.user,
            "sandbox-branch": branch,
            "sandbox-created": created_at,
        }

    # ------------------------------------------------------------------------ checks

    def problems(self) -> list[str]:
        """Every derived name that its kind's rule refuses (empty: all valid)."""
        found: list[str] = []
        if not STACK_NAME.match(self.stack):
            found.append(f"stack name {self.stack!r}")
        for zone in ("bronze", "silver", "gold"):
            if not UC_IDENTIFIER.match(self.schema(zone)):
                found.append(f"schema name {self.schema(zone)!r}")
        if not SECRET_SCOPE.match(self.secret_scope):
            found.append(f"secret scope {self.secret_scope!r}")
        if len(self.job("integration-tests").encode()) > JOB_NAME_BYTES:
            found.append("job name longer than 4096 bytes")
        if not PATH_PART.match(self.namespace):
            found.append(f"folder name {self.namespace!r}")
        return found

    def check(self) -> None:
        problems = self.problems()
        if problems:  # the folding above makes this unreachable; kept as the proof
            raise SandboxNameError(
                f"user {self.user!r} and branch {self.branch!r} give invalid names: "
                + "; ".join(problems)
            )
