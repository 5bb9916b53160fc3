"""Databricks Asset Bundle targets from a stack's outputs: where a team's bundle deploys.

A team deploys its own jobs with a bundle (``databricks.yml`` with ``include:
[targets/*.yml]``). :func:`bundle_target` turns the outputs of one stack, exactly as
``pulumi stack output --json`` prints them (contract: ``schema/outputs.schema.json``; a
sandbox's keys are described in :func:`bundle_target`), into the definition of one bundle
target, named after the stack's tier; :func:`targets_document` is that target as the YAML
file the command writes. Plain data in, plain data out: no cloud, no files.

What a target gets, and why:

- **dev, staging, prod**: ``mode: production``, deployed by CI as the deployer service
  principal and run as the job runner, as the platform's own jobs are. Dev too:
  development mode would prefix every job name with the deployer's name, drop the
  deployment lock (two CI runs could then deploy at once) and require a root path
  containing the deployer's name, while dev is one shared copy that CI deploys from
  ``develop``; personal copies are what sandboxes are for. The root is a ``.bundle``
  folder inside the stack's code folder, which the platform creates with its own ACL
  (deployer manages, the stack's groups and the job runner read): the bundle inherits
  it, and the job runner can read the code it runs. Staging and prod roots are refused
  under ``/Shared`` (every workspace user may manage it), ``/Users`` and ``/Repos`` (a
  person's). Dev's code folder is ``/Shared/dataops/dev`` by default, so dev's bundles sit
  there too, as editable as the platform's own dev job code (the bundle CLI warns about
  it on every deploy). Schedules are paused where the tier pauses the platform's own
  (``components/tiers.py``).
- **sandbox**: ``mode: development``, deployed and run by the sandbox's owner into the
  owner's home folder, names prefixed with the owner and the branch, triggers and
  schedules paused, its own schema prefix in the dev catalog.

Permissions: the stack's ``<stack>-platform-admins`` group and the deployer manage (CI
deploys; the bundle CLI recommends that the deploying identity be listed), data
engineers may run (``CAN_RUN``: run now and cancel on jobs, as on the platform's own
jobs, whose runners they are), every other group of the stack views, and the job runner
views, so the folder ACL the bundle sets still lets it read the code it runs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any, Literal

import yaml

from components.tiers import Tier, traits
from notebooks.dataops_jobs.parameters import MEDALLION_SCHEMAS

TARGETS_FOLDER = "targets"
SANDBOX = Tier.SANDBOX.value
TIERS = tuple(tier.value for tier in Tier)
COMMAND = "python -m dataops bundle-targets"

# Bundle permission levels (top-level and per target): the bundle CLI refuses any other
# (allowedLevels in https://github.com/databricks/cli/blob/main/bundle/config/mutator/resourcemutator/apply_bundle_permissions.go)
# and maps each to the resource's own level (CAN_RUN is CAN_MANAGE_RUN on a job).
Level = Literal["CAN_MANAGE", "CAN_RUN", "CAN_VIEW"]

ADMIN_GROUP, RUN_GROUP = "platform-admins", "data-engineers"
# Folders whose every object someone other than the platform manages: /Shared (every
# workspace user, Databricks' default ACL:
# https://learn.microsoft.com/azure/databricks/workspace/workspace-assets#shared), a user's
# home (that user) and /Repos (each user's Git folders).
SHARED_ROOTS = ("/Shared", "/Users", "/Repos")
# The bundle CLI's root path is a workspace path; it adds this prefix when it is missing
# (prepend_workspace_prefix.go in https://github.com/databricks/cli/tree/main/bundle/config/mutator),
# so writing it makes the file say what the CLI will use.
WORKSPACE_PREFIX = "/Workspace"

# Pulumi stack names: alphanumerics, hyphens, underscores and periods
# (https://www.pulumi.com/docs/iac/concepts/stacks/, "Create a stack"). The stack also ends up
# in a YAML comment, which a newline would break out of.
_STACK_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# An Entra application id: what the bundle CLI's service_principal_name takes on Azure.
_APPLICATION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The sandbox namespace becomes a folder name; no separators, no '.' or '..'.
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class BundleTargetError(Exception):
    """The outputs cannot make a target; ``str(err)`` is one line naming the key."""


def target_name(stack: str, outputs: Mapping[str, Any]) -> str:
    """The target a stack's outputs define: its tier (dev, staging, prod or sandbox)."""
    tier = _Outputs(stack, outputs).text("environment")
    if tier not in TIERS:
        raise BundleTargetError(
            f"bundle-targets: the outputs of {stack} have environment {tier!r}, not a tier "
            f"bundle-targets knows ({', '.join(TIERS)})"
        )
    return tier


def bundle_target(stack: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle target (``targets.<tier>`` of ``databricks.yml``) for a stack's outputs.

    A sandbox's outputs (``environment: sandbox``) carry ``sandboxNamespace``,
    ``sandboxOwner`` (an email), ``sandboxBranch``, ``workspaceUrl``, ``catalogNames``,
    ``schemaPrefix``, ``schemaNames`` and ``reviewerGroups``; the other tiers' follow
    ``schema/outputs.schema.json``. Raises :class:`BundleTargetError` for outputs that
    lack what the target needs.
    """
    if not _STACK_NAME.fullmatch(stack):
        raise BundleTargetError(
            f"bundle-targets: {stack!r} is not a stack name (letters, digits, '-', '_', '.')"
        )
    tier = target_name(stack, outputs)
    values = _Outputs(stack, outputs)
    if tier == SANDBOX:
        return _sandbox_target(values)
    return _stack_target(values, Tier(tier))


def targets_document(stack: str, outputs: Mapping[str, Any], *, outputs_file: bool) -> str:
    """The target as the YAML file ``targets/<tier>.yml``: a header, then a fixed key order.

    The header names the command that wrote it (``outputs_file``: from ``--outputs``, real
    outputs, rather than the offline plan), so a reader knows to regenerate, not edit.
    """
    definition = bundle_target(stack, outputs)
    name = target_name(stack, outputs)
    command = f"{COMMAND} {stack}" + (" --outputs FILE" if outputs_file else "")
    source = (
        f"the outputs of stack {stack} (`pulumi stack output --json`)"
        if outputs_file
        else f"the outputs of stack {stack}'s offline plan"
    )
    header = (
        f"# Generated by `{command}` from {source}.\n"
        "# Do not edit: rerun the command (docs/bundles.md).\n"
    )
    # Insertion order is the order built above (mode, workspace, run_as, ...), the same on
    # every run; sorting would put `mode` in the middle of the file.
    body = yaml.safe_dump(
        {"targets": {name: definition}},
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )
    return header + body


# ------------------------------------------------------------------------------ tiers


def _stack_target(values: _Outputs, tier: Tier) -> dict[str, Any]:
    stack = values.stack
    catalog = values.text("jobsCatalog")
    groups = values.texts("groupNames")
    admins = f"{stack}-{ADMIN_GROUP}"
    if admins not in groups:
        raise BundleTargetError(
            f"bundle-targets: the outputs of {stack} have no 'groupNames' entry {admins!r}, "
            "the group that manages the stack's bundles (are these the outputs of stack "
            f"{stack}?)"
        )
    deployer = values.application_id("deployerApplicationId")
    runner = values.application_id("jobRunnerApplicationId")
    permissions: list[dict[str, str]] = [
        _permission("CAN_MANAGE", group_name=admins),
        _permission("CAN_MANAGE", service_principal_name=deployer),
        *(
            _permission(
                "CAN_RUN" if group == f"{stack}-{RUN_GROUP}" else "CAN_VIEW", group_name=group
            )
            for group in groups
            if group != admins
        ),
    ]
    if runner != deployer:
        permissions.append(_permission("CAN_VIEW", service_principal_name=runner))
    target: dict[str, Any] = {
        "mode": "production",
        "workspace": {
            "host": values.url("workspaceUrl"),
            "root_path": f"{_root_folder(values, tier)}/.bundle/${{bundle.name}}",
        },
        "run_as": {"service_principal_name": runner},
    }
    if traits(tier).schedules_paused:
        # As the platform's own jobs: paused unless a job's schedule says otherwise.
        target["presets"] = {"trigger_pause_status": "PAUSED"}
    # The job runner creates clusters only through the stack's cluster policy (it has no
    # unrestricted cluster creation; components/jobs.py grants it CAN_USE on the policy).
    target["variables"] = {
        **_variables(values, catalog, ""),
        "cluster_policy_id": values.text("clusterPolicyId"),
    }
    target["permissions"] = permissions
    return target


def _sandbox_target(values: _Outputs) -> dict[str, Any]:
    owner = values.email("sandboxOwner")
    namespace = values.text("sandboxNamespace")
    if not _NAMESPACE.fullmatch(namespace):
        raise BundleTargetError(
            f"bundle-targets: the outputs of {values.stack} have sandboxNamespace "
            f"{namespace!r}; the bundle's folder is named after it, so it may hold only "
            "letters, digits, '-' and '_'"
        )
    branch = values.text("sandboxBranch")
    prefix = values.text("schemaPrefix", allow_empty=True)
    if not prefix:
        raise BundleTargetError(
            f"bundle-targets: the outputs of {values.stack} have an empty 'schemaPrefix'; "
            "without one the sandbox's jobs would write the dev schemas"
        )
    catalog = values.texts("catalogNames")[0]
    return {
        "mode": "development",
        "workspace": {
            "host": values.url("workspaceUrl"),
            # In the owner's home: development mode refuses a root path that does not
            # contain the deploying user's name (findNonUserPath in
            # https://github.com/databricks/cli/blob/main/bundle/config/mutator/resourcemutator/validate_target_mode.go).
            "root_path": f"{WORKSPACE_PREFIX}/Users/{owner}/.bundle/${{bundle.name}}/{namespace}",
        },
        "run_as": {"user_name": owner},
        "presets": {
            "name_prefix": f"[sandbox {short_user_name(owner)} {branch}] ",
            # Development mode pauses them anyway (apply_target_mode.go, same folder);
            # written down so the file says it, and a reviewer need not know the default.
            "trigger_pause_status": "PAUSED",
        },
        # No cluster policy: a sandbox's developer creates clusters with their own
        # entitlement, and the policy pack keeps them to the sandbox size. Empty is left
        # out of the request (databricks-sdk-go service/compute: `policy_id,omitempty`,
        # a zero value sent only through ForceSendFields).
        "variables": {**_variables(values, catalog, prefix), "cluster_policy_id": ""},
        "permissions": [
            _permission("CAN_MANAGE", user_name=owner),
            *(
                _permission("CAN_VIEW", group_name=group)
                for group in values.texts("reviewerGroups", allow_empty=True)
            ),
        ],
    }


def short_user_name(email: str) -> str:
    """The bundle CLI's short name of a user: the email's local part, normalized.

    Development mode refuses a ``name_prefix`` that contains neither the deploying user's
    email nor this short name (namePrefixContainsUserIdentifier in validate_target_mode.go,
    above), so ``ben.okafor`` would be refused and ``ben_okafor`` is accepted. The rule is
    ``textutil.NormalizeString`` (https://github.com/databricks/cli/blob/main/libs/textutil/textutil.go):
    lower case, every character that is not a letter or digit becomes ``_``, runs of ``_``
    collapse, and leading and trailing ``_`` go.
    """
    local = email.split("@", 1)[0].lower()
    mapped = "".join(
        char if unicodedata.category(char)[0] == "L" or unicodedata.category(char) == "Nd" else "_"
        for char in local
    )
    return re.sub(r"_+", "_", mapped).strip("_")


def _root_folder(values: _Outputs, tier: Tier) -> str:
    folder = values.text("codeFolder")
    path = PurePosixPath(folder)
    if not path.is_absolute() or ".." in path.parts or folder.endswith("/"):
        raise BundleTargetError(
            f"bundle-targets: the outputs of {values.stack} have codeFolder {folder!r}; "
            "expected an absolute workspace folder such as /dataops/prod"
        )
    if path.is_relative_to(WORKSPACE_PREFIX):
        path = PurePosixPath("/", *path.parts[2:])
    shared = next((root for root in SHARED_ROOTS if path.is_relative_to(root)), None)
    if shared is not None and tier is not Tier.DEV:
        raise BundleTargetError(
            f"bundle-targets: the outputs of {values.stack} have codeFolder {folder!r}, under "
            f"{shared}, which others than the platform may edit; {tier.value} bundles would "
            f"deploy there and run as the job runner. Set jobs.codeFolder outside it, "
            f"e.g. /dataops/{tier.value}"
        )
    return f"{WORKSPACE_PREFIX}{path}"


def _variables(values: _Outputs, catalog: str, prefix: str) -> dict[str, str]:
    """catalog, schema_prefix, and each medallion schema's name in the catalog.

    The schema names are the ones the stack created (``schemaNames``), as the job code
    addresses them: ``<catalog>.<schema>``, where the schema is the prefix and the zone.
    """
    schemas = set(values.texts("schemaNames"))
    variables = {"catalog": catalog, "schema_prefix": prefix}
    for zone in MEDALLION_SCHEMAS:
        schema = f"{prefix}{zone}"
        if f"{catalog}.{schema}" not in schemas:
            raise BundleTargetError(
                f"bundle-targets: the outputs of {values.stack} have no 'schemaNames' entry "
                f"'{catalog}.{schema}' (the jobs' {', '.join(MEDALLION_SCHEMAS)} schemas in "
                f"catalog {catalog!r})"
            )
        variables[f"{zone}_schema"] = schema
    return variables


def _permission(level: Level, **principal: str) -> dict[str, str]:
    return {"level": level, **principal}


class _Outputs:
    """Typed reads of a stack's outputs, each refusal one line naming the key."""

    def __init__(self, stack: str, outputs: Mapping[str, Any]) -> None:
        self.stack = stack
        self._outputs = outputs

    def _get(self, key: str) -> object:
        if key not in self._outputs:
            raise BundleTargetError(f"bundle-targets: the outputs of {self.stack} have no {key!r}")
        return self._outputs[key]

    def _wrong(self, key: str, value: object, expected: str) -> BundleTargetError:
        return BundleTargetError(
            f"bundle-targets: the outputs of {self.stack} have {key!r} = {value!r}; "
            f"expected {expected}"
        )

    def text(self, key: str, *, allow_empty: bool = False) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._wrong(key, value, "a string")
        if not value.strip() and not allow_empty:
            raise self._wrong(key, value, "a non-empty string")
        return value

    def texts(self, key: str, *, allow_empty: bool = False) -> Sequence[str]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self._wrong(key, value, "a list of names")
        if not value and not allow_empty:
            raise self._wrong(key, value, "at least one name")
        return value

    def url(self, key: str) -> str:
        value = self.text(key)
        if not value.startswith("https://") or any(char.isspace() for char in value):
            raise self._wrong(key, value, "the workspace's https:// URL")
        return value.rstrip("/")

    def application_id(self, key: str) -> str:
        value = self.text(key)
        if not _APPLICATION_ID.fullmatch(value):
            raise self._wrong(key, value, "a service principal's application id (a UUID)")
        return value

    def email(self, key: str) -> str:
        value = self.text(key)
        local, at, domain = value.partition("@")
        if not (local and at and domain) or any(c.isspace() or c == "/" for c in value):
            raise self._wrong(key, value, "the owner's email, as their workspace user name")
        return value
