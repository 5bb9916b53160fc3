"""``python -m dataops sandbox config``: a developer's sandbox stack file, from the template.

The stack file ``Pulumi.sandbox-<namespace>.yaml`` is never written by hand: this command
derives the namespace from the user and branch (``components/sandbox_names.py``), copies
what a sandbox borrows from the base stack's config (its jobs' catalog, zones, backup
repository, runtime and node type, reviewing groups) into
``dataops/templates/sandbox.yaml.tmpl``, and validates the result exactly as every other
stack file is validated before it replaces anything. Run again for the same user and
branch, it keeps the sandbox's creation time (the cleanup's clock) and rewrites the rest.

The last line it prints is the stack name, which ``./taskw sandbox:up`` and
``sandbox:down`` read.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from string import Template

import yaml

from components.config import (
    PROJECT,
    SANDBOX_SECRET_KEYS,
    ConfigError,
    SandboxStackConfig,
    StackConfig,
)
from components.sandbox import BASE_TIERS
from components.sandbox_names import SandboxNameError, SandboxNames
from components.tiers import TIERS, Tier
from dataops.engine import validate_stack
from dataops.stackfile import (
    StackFileError,
    apply_project_config,
    parse_stack_file,
    read_project_config,
    read_stack_file,
)

TEMPLATE = Path(__file__).resolve().parent / "templates" / "sandbox.yaml.tmpl"


class SandboxConfigError(Exception):
    """The sandbox cannot be configured; ``str(err)`` is one line saying why and what to do."""


@dataclass(frozen=True)
class GeneratedSandbox:
    path: Path
    stack: str
    created: bool  # a new sandbox, not a regenerated one


def generate(
    root: Path,
    user: str,
    branch: str,
    base_stack: str = "dev",
    now: datetime | None = None,
) -> GeneratedSandbox:
    """Write (or rewrite) the sandbox stack file of ``user`` on ``branch``; refuse with
    :class:`SandboxConfigError` before anything is written."""
    try:
        names = SandboxNames.of(user, branch, base_stack)
    except SandboxNameError as error:
        raise SandboxConfigError(f"sandbox config: {error}") from None
    base = _base_config(root, base_stack)
    _check_developer(base, names.user, base_stack)
    path = root / f"Pulumi.{names.stack}.yaml"
    created_at, kept = _existing(root, names.stack)
    fresh = created_at is None
    if created_at is None:
        moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        created_at = moment.isoformat().replace("+00:00", "Z")
    text = render_template(names, base, created_at) + kept
    _write_validated(root, path, names.stack, text)
    return GeneratedSandbox(path=path, stack=names.stack, created=fresh)


def render_template(names: SandboxNames, base: StackConfig, created_at: str) -> str:
    """The stack file's text: the template filled with JSON scalars (valid YAML for any
    unicode a branch may hold)."""
    row = TIERS[Tier.SANDBOX]
    node_type = base.jobs.cluster.node_type
    if node_type not in row.sandbox_node_types:
        node_type = row.sandbox_node_types[0]  # the base's is bigger than a sandbox gets
    known_groups = set(base.identity.group_names())
    reviewers = [group for group in base.jobs.run_groups if group in known_groups]
    values = {
        "user": names.user,
        "branch": names.branch,
        "created_at": created_at,
        "base_stack": names.base_stack,
        "catalog": base.jobs_catalog,
        "company": base.prefix,
        "landing_zone": base.landing_zone,
        "checkpoint_zone": base.checkpoint_zone,
        "backup_repository": base.jobs.git_sync.target_repository,
        "reviewer_groups": reviewers,
        "node_type": node_type,
        "spark_version": base.jobs.cluster.spark_version,
    }
    fields = {f"{key}_json": _scalar(value) for key, value in values.items()}
    # In a comment a branch is one line of printable text, whatever it holds.
    fields["branch_comment"] = _scalar(names.branch)
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        fields, user=names.user, base_stack=names.base_stack
    )


# Characters YAML reads as line breaks or a byte-order mark (YAML 1.1, 5.4 line break
# characters; PyYAML follows it), which git allows in a branch: escaped, a double-quoted
# scalar and a comment stay one line. Everything else is kept as written.
_YAML_BREAKS = ("\u0085", "\u2028", "\u2029", "\ufeff")


def _scalar(value: object) -> str:
    """``value`` as a YAML flow scalar: JSON, which YAML reads as the same value."""
    text = json.dumps(value, ensure_ascii=False)
    for char in _YAML_BREAKS:
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _base_config(root: Path, base_stack: str) -> StackConfig:
    try:
        config = validate_stack(read_stack_file(root, base_stack))
    except (ConfigError, StackFileError) as error:
        raise SandboxConfigError(f"sandbox config: base stack {base_stack}: {error}") from None
    if not isinstance(config, StackConfig) or config.environment.value not in BASE_TIERS:
        raise SandboxConfigError(
            f"sandbox config: base stack {base_stack} is {config.environment.value}; a sandbox "
            f"works only in a {' or '.join(sorted(BASE_TIERS))} stack (--base-stack)"
        )
    return config


def _check_developer(base: StackConfig, user: str, base_stack: str) -> None:
    """The developer must be a user of the base stack with workspace access: the sandbox
    deploys with their own credentials into its workspace."""
    identity = base.identity
    if user not in {known.email for known in identity.users}:
        raise SandboxConfigError(
            f"sandbox config: {user} is not a user of the {base_stack} stack "
            f"(Pulumi.{base_stack}.yaml identity.users); ask a platform admin to add you, "
            "or set your git email to the one you sign in with (git config user.email)"
        )
    with_access = [
        group.name
        for group in identity.groups
        if user in group.members and group.entitlements.workspace_access
    ]
    if not with_access:
        raise SandboxConfigError(
            f"sandbox config: {user} is in no group of the {base_stack} stack with workspace "
            f"access (Pulumi.{base_stack}.yaml identity.groups); ask a platform admin"
        )


def _existing(root: Path, stack: str) -> tuple[str | None, str]:
    """From this sandbox's current stack file, if it has a valid one: its creation time,
    and what Pulumi itself wrote there, as YAML to keep: the encrypted secrets the sandbox
    may hold (``pulumi config set --secret gitSyncToken``) and the stack's secrets
    provider (``secretsprovider``, ``encryptedkey``, ``encryptionsalt``, written by
    ``pulumi stack init``): losing those would make its secrets unreadable."""
    if not (root / f"Pulumi.{stack}.yaml").is_file():
        return None, ""
    try:
        stack_file = read_stack_file(root, stack)
        config = validate_stack(stack_file)
    except (ConfigError, StackFileError):
        return None, ""  # replaced by a fresh one (the old one could not deploy)
    if not isinstance(config, SandboxStackConfig):
        return None, ""
    document = yaml.safe_load(stack_file.path.read_text(encoding="utf-8")) or {}
    secrets = {
        f"{PROJECT}:{key}": {"secure": stack_file.ciphertexts[f"{PROJECT}:{key}"]}
        for key in sorted(SANDBOX_SECRET_KEYS)
        if f"{PROJECT}:{key}" in stack_file.ciphertexts
    }
    kept = ""
    if secrets:
        # Under the template's `config:`, which is its last block.
        kept += "".join(f"  {line}\n" for line in _dump(secrets).splitlines())
    pulumi_keys = {k: v for k, v in document.items() if k in _PULUMI_KEYS}
    if pulumi_keys:
        kept += _dump(pulumi_keys)
    return config.sandbox.created_at, kept


# What `pulumi stack init` writes at the top of a stack file.
_PULUMI_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")


def _dump(data: Mapping[str, object]) -> str:
    return yaml.safe_dump(data, default_flow_style=False, allow_unicode=True, sort_keys=True)


def _write_validated(root: Path, path: Path, stack: str, text: str) -> None:
    """Validate ``text`` as the stack file, then put it in place: a refused one changes
    nothing."""
    try:
        # The same checks every stack file gets, on the bytes as they will be read.
        stack_file = apply_project_config(
            parse_stack_file(stack, path, text.encode("utf-8")), read_project_config(root)
        )
        validate_stack(stack_file)
    except (ConfigError, StackFileError) as error:
        raise SandboxConfigError(
            f"sandbox config: the generated file is refused: {error}"
        ) from None
    staging = root / f".Pulumi.{stack}.{os.getpid()}.yaml"
    try:
        staging.write_text(text, encoding="utf-8")
        staging.replace(path)
    except OSError as error:
        raise SandboxConfigError(
            f"sandbox config: cannot write {path}: {error.strerror or type(error).__name__}"
        ) from None
    finally:
        with contextlib.suppress(OSError):
            staging.unlink()
