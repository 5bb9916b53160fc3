"""Loading a stack's ``dataops:*`` values into a :class:`StackConfig`, one line per error,
and the rules across every stack of the project."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from components.config.credentials import (
    PROVIDER_SECRET_KEYS,
    ciphertext_problem,
    credentials_in,
)
from components.config.sandbox import SandboxStackConfig
from components.config.stack import StackConfig
from components.config.types import PROJECT, ConfigError, _camel, _PathError
from components.secret_keys import SECRET_KEYS
from components.tiers import Tier

# --------------------------------------------------------------------------- helpers

# Fields of StackConfig the loader fills; never keys of a stack file.
_LOADER_FIELDS = ("secrets_set", "stack_name")


def _format_path(parts: Sequence[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def _known_keys(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """The camelCase keys accepted at `path` (for did-you-mean), best effort."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields:
            return []
        match = next((f for n, f in fields.items() if _camel(n) == part or n == part), None)
        if match is None:
            return []
        current = _model_in(match.annotation)
    fields = getattr(current, "model_fields", {}) or {}
    return [_camel(name) for name in fields if name not in _LOADER_FIELDS]


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# pydantic's error types for a value of the wrong type, as a YAML author would say it.
_TYPE_NAMES: Mapping[str, str] = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "a whole number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "tuple_type": "a list",
    "list_type": "a list",
    "frozen_set_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


_BOUNDS: Mapping[str, str] = {
    "less_than_equal": "is more than {le}",
    "less_than": "is not less than {lt}",
    "greater_than_equal": "is less than {ge}",
    "greater_than": "is not more than {gt}",
    "too_short": "needs at least {min_length} item(s)",
    "too_long": "has more than {max_length} item(s)",
}


# What one stack file holds: a platform stack, or a developer's sandbox.
AnyStackConfig = StackConfig | SandboxStackConfig


def _error_line(
    stack_file: str, error: Mapping[str, Any], model: type[BaseModel] = StackConfig
) -> ConfigError:
    loc: list[str | int] = list(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    original = ctx.get("error")
    if isinstance(original, _PathError):
        # Cross-field errors carry their own path; pydantic's loc stops at their model.
        loc = [*loc, *original.path]
        message = str(original)
    elif kind == "extra_forbidden":
        key = str(loc[-1])
        known = _known_keys(model, loc[:-1])
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
        message = f"unknown key {key!r}{hint}"
    elif kind == "missing":
        message = "is required"
    elif kind in ("value_error", "assertion_error"):
        message = str(original) if original is not None else error["msg"]
    elif kind == "literal_error" or kind == "enum":
        message = f"{error.get('input')!r} is not one of {ctx.get('expected')}"
    elif kind in _BOUNDS:
        message = f"{error.get('input')!r} {_BOUNDS[kind].format(**ctx)}"
    elif kind in _TYPE_NAMES:
        message = f"{error.get('input')!r} is not {_TYPE_NAMES[kind]}"
    else:
        message = f"{error['msg']} (got {error.get('input')!r})"
    top = str(loc[0]) if loc else ""
    key_path = f"{PROJECT}:{_format_path([_camel(top), *loc[1:]])}" if loc else PROJECT
    return ConfigError(stack_file, key_path, message)


def load_stack_config(
    values: Mapping[str, Any],
    stack_file: str,
    secure_keys: frozenset[str] = frozenset(),
    stack: str | None = None,
    *,
    foreign: Mapping[str, Any] | None = None,
    foreign_secure_keys: frozenset[str] = frozenset(),
    ciphertexts: Mapping[str, Any] | None = None,
) -> AnyStackConfig:
    """Validate the ``dataops:*`` values of one stack (keys without the namespace).

    ``values`` holds plain values (objects may also arrive as JSON strings, as
    ``pulumi.Config`` returns them); ``secure_keys`` names the keys given as ``secure:``;
    ``stack`` is the stack's name (default: read from ``Pulumi.<stack>.yaml``).
    ``foreign`` holds the other namespaces' values by full key (``github:token``), with
    ``foreign_secure_keys`` those given as ``secure:``; ``ciphertexts`` maps full keys to
    what follows ``secure:`` in the stack file, where it is known (offline).
    A stack whose ``environment`` is ``sandbox`` is a :class:`SandboxStackConfig`.
    Raises :class:`ConfigError` on the first problem.
    """
    foreign = foreign or {}
    for key in sorted(foreign):
        if key in PROVIDER_SECRET_KEYS and key not in foreign_secure_keys:
            raise ConfigError(
                stack_file,
                key,
                "is a provider credential and must not be in plain text: remove it and run "
                f"pulumi config set --secret {key} <value>",
            )
    plain: dict[str, Any] = {}
    for key, value in values.items():
        if key in SECRET_KEYS:
            if key not in secure_keys:
                raise ConfigError(
                    stack_file,
                    f"{PROJECT}:{key}",
                    "is a secret and must be set with 'pulumi config set --secret', "
                    "never in plain text",
                )
            continue
        if key in secure_keys:
            raise ConfigError(
                stack_file,
                f"{PROJECT}:{key}",
                f"is not a secret setting; only {', '.join(SECRET_KEYS)} may be secure values",
            )
        plain[key] = decode_value(value)
    _check_ciphertexts(stack_file, ciphertexts or {})
    _check_no_credentials(stack_file, plain, foreign, foreign_secure_keys)
    for field in _LOADER_FIELDS:
        if field in plain or _camel(field) in plain:
            raise ConfigError(stack_file, f"{PROJECT}:{_camel(field)}", "is not a config key")
    plain["secretsSet"] = frozenset(k for k in secure_keys if k in SECRET_KEYS)
    plain["stackName"] = stack if stack is not None else _stack_of(stack_file)
    model: type[StackConfig | SandboxStackConfig] = (
        SandboxStackConfig if plain.get("environment") == Tier.SANDBOX else StackConfig
    )
    try:
        return model.model_validate(plain)
    except ValidationError as exc:
        raise _error_line(stack_file, exc.errors()[0], model) from None


def _check_ciphertexts(stack_file: str, ciphertexts: Mapping[str, Any]) -> None:
    """Every ``secure:`` value of a secret key looks like what Pulumi writes."""
    prefix = f"{PROJECT}:"
    for key, ciphertext in sorted(ciphertexts.items()):
        name = key[len(prefix) :] if key.startswith(prefix) else key
        if key.startswith(prefix) and name not in SECRET_KEYS:
            continue  # refused as no secret setting, before this runs
        problem = ciphertext_problem(ciphertext)
        if problem:
            raise ConfigError(
                stack_file,
                key,
                f"secure: {problem}; encrypt it with: pulumi config set --secret {name} <value>",
            )


def _check_no_credentials(
    stack_file: str,
    plain: Mapping[str, Any],
    foreign: Mapping[str, Any],
    foreign_secure_keys: frozenset[str],
) -> None:
    """No credential in a value every plan, diff and pull-request comment prints. The value
    itself is never repeated in the message: the message lands in CI logs."""
    candidates: list[tuple[str, str | None, Any]] = [
        (f"{PROJECT}:{key}", key, value) for key, value in plain.items()
    ]
    candidates += [
        (key, None, value) for key, value in foreign.items() if key not in foreign_secure_keys
    ]
    for full_key, dataops_key, value in sorted(candidates, key=lambda c: c[0]):
        for path, kind in credentials_in(value):
            if dataops_key is not None:
                key_path = f"{PROJECT}:{_format_path([dataops_key, *path])}"
            else:
                below = _format_path(list(path))
                key_path = full_key + (below if below[:1] in ("", "[") else f".{below}")
            raise ConfigError(
                stack_file,
                key_path,
                f"holds {kind}; plan --json, diff and the pull-request comment print every "
                "non-secret value: remove it and keep credentials in secrets "
                "(pulumi config set --secret <key> <value>)",
            )


def _stack_of(stack_file: str) -> str | None:
    match = re.fullmatch(r"Pulumi\.(.+)\.yaml", stack_file)
    return match.group(1) if match else None


def decode_value(value: Any) -> Any:
    """A config value as Pulumi hands it: objects and lists arrive JSON-encoded."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def check_shared_singletons(configs: Mapping[str, StackConfig]) -> None:
    """Cross-stack rules: each shared singleton has exactly one owning stack.

    ``configs`` maps stack file names to their configs (every stack of the project).
    The GitHub repository (or Azure DevOps project) is created and protected by one
    stack and looked up by the others; a region's metastore is created by at most one
    stack (Azure allows one per region per account) and reused by id everywhere else, and
    the stacks sharing it never declare the same catalog.
    """
    repositories: dict[str, list[str]] = {}
    owners: dict[str, list[str]] = {}
    for file_name, config in configs.items():
        source = config.source_control
        if source.provider == "github" and source.github:
            key = f"github.com/{source.github.owner}/{source.github.repository}"
            owned = source.github.manage_repository
        elif source.azure_devops:
            devops = source.azure_devops
            key = f"{devops.organization_url.rstrip('/')}/{devops.project}"
            owned = devops.manage_project
        else:  # pragma: no cover - the model requires the provider's section
            continue
        repositories.setdefault(key, []).append(file_name)
        if owned:
            owners.setdefault(key, []).append(file_name)
    for key, files in sorted(repositories.items()):
        owning = owners.get(key, [])
        if len(owning) != 1:
            flag = "manageRepository" if key.startswith("github.com/") else "manageProject"
            found = ", ".join(owning) if owning else "none"
            raise ConfigError(
                ", ".join(sorted(files)),
                f"{PROJECT}:sourceControl",
                f"{key} needs exactly one owning stack ({flag}: true), found {found}",
            )

    # Account-level power lives in one place: at most one stack per account has a deployer
    # that is an account admin (databricks.accountOwner).
    account_owners: dict[str, list[str]] = {}
    for file_name, config in configs.items():
        if config.databricks.account_owner:
            account_owners.setdefault(config.databricks.account_id, []).append(file_name)
    for account, files in sorted(account_owners.items()):
        if len(files) > 1:
            raise ConfigError(
                ", ".join(sorted(files)),
                f"{PROJECT}:databricks.accountOwner",
                f"more than one stack of account {account} sets it; one stack's deployer is "
                "the account admin, the others get only what their resources need",
            )

    creators: dict[tuple[str, str], list[str]] = {}
    for file_name, config in configs.items():
        metastore = config.unity_catalog.metastore
        if metastore.mode == "create":
            region = metastore.region or config.azure.location
            creators.setdefault((config.databricks.account_id, region), []).append(file_name)
    for (_account, region), files in sorted(creators.items()):
        if len(files) > 1:
            raise ConfigError(
                ", ".join(sorted(files)),
                f"{PROJECT}:unityCatalog.metastore.mode",
                f"more than one stack creates the {region} metastore; one creates it, "
                "the others reuse it by id",
            )

    # One browser_authentication endpoint serves every private workspace of a region (SSO
    # callbacks for the region resolve through it); a second is refused and none breaks
    # sign-in, so exactly one private stack per region owns it.
    # https://learn.microsoft.com/azure/databricks/security/network/front-end/front-end-private-connect#browser-authentication
    private_stacks: dict[str, list[str]] = {}
    browser_owners: dict[str, list[str]] = {}
    for file_name, config in configs.items():
        if config.network_mode != "private":
            continue
        region = config.azure.location
        private_stacks.setdefault(region, []).append(file_name)
        if config.azure.network.private_link.browser_authentication:
            browser_owners.setdefault(region, []).append(file_name)
    for region, files in sorted(private_stacks.items()):
        owning = sorted(browser_owners.get(region, []))
        if len(owning) != 1:
            found = ", ".join(owning) if owning else "none"
            raise ConfigError(
                ", ".join(sorted(files)),
                f"{PROJECT}:azure.network.privateLink.browserAuthentication",
                f"the {region} browser_authentication endpoint needs exactly one owning "
                f"stack among the private ones, found {found}",
            )

    # Catalog names are unique in a metastore, and every stack of an account in a region
    # shares that region's metastore: two stacks declaring one catalog would fight over it.
    catalog_owners: dict[tuple[str, str, str], list[str]] = {}
    for file_name, config in configs.items():
        for catalog in config.unity_catalog.catalogs:
            owner_key = (config.databricks.account_id, config.azure.location, catalog.name)
            catalog_owners.setdefault(owner_key, []).append(file_name)
    for (_account, region, catalog_name), files in sorted(catalog_owners.items()):
        if len(files) > 1:
            raise ConfigError(
                ", ".join(sorted(files)),
                f"{PROJECT}:unityCatalog.catalogs",
                f"catalog {catalog_name!r} is declared by more than one stack sharing the "
                f"{region} metastore; each stack owns its own catalogs",
            )

    _check_names_unique_across_stacks(configs)


def _check_names_unique_across_stacks(configs: Mapping[str, StackConfig]) -> None:
    """Names that share a namespace across stacks: two stacks deriving one would fight
    over it (or the second deploy fails). Long stack names are truncated to fit Azure's
    limits, so two stacks can derive the same name without either being wrong alone.

    Azure compares names case-insensitively
    (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules),
    as do Databricks account groups and Unity Catalog names.
    """
    # (scope, name lower-cased) -> [(file, what, name, key path, the key sets the name)]
    claims: dict[tuple[str, str], list[tuple[str, str, str, str, bool]]] = {}

    def claim(
        scope: str, file_name: str, what: str, name: str, key_path: str, settable: bool = True
    ) -> None:
        entries = claims.setdefault((scope, name.lower()), [])
        if all(entry[0] != file_name for entry in entries):
            entries.append((file_name, what, name, key_path, settable))

    for file_name, config in configs.items():
        stack = config.stack_name or _stack_of(file_name)
        if stack is None:
            continue
        names = config.names(stack)
        subscription = f"subscription {config.azure.subscription_id}"
        account = f"Databricks account {config.databricks.account_id}"
        region = config.unity_catalog.metastore.region or config.azure.location
        metastore = f"the {region} metastore of {account}"
        claim(
            "all of Azure",
            file_name,
            "storage account",
            names.storage_account,
            "azure.storage.accountName",
        )
        claim("all of Azure", file_name, "Key Vault", names.key_vault, "azure.keyVault.name")
        claim(
            subscription,
            file_name,
            "resource group",
            names.resource_group,
            "azure.resourceGroupName",
        )
        claim(
            subscription,
            file_name,
            "resource group",
            names.managed_resource_group,
            "azure.workspace.managedResourceGroupName",
        )
        for group in config.identity.groups:
            claim(
                account,
                file_name,
                "account group",
                names.group(group.name),
                "identity.groups",
                settable=False,
            )
        uc_names = [names.storage_credential, names.metastore_root_access]
        uc_names += [names.zone_location(zone) for zone in config.azure.storage.zones]
        uc_names += [names.catalog_location(c.name) for c in config.unity_catalog.catalogs]
        for uc_name in uc_names:
            claim(metastore, file_name, "Unity Catalog name", uc_name, "azure.namePrefix", False)
    for (scope, _name), entries in sorted(claims.items()):
        if len(entries) > 1:
            files = ", ".join(sorted(entry[0] for entry in entries))
            _file, what, name, key_path, settable = entries[0]
            fix = (
                f"set {key_path} in all but one, or give the stacks names that differ "
                "within the first characters"
                if settable
                else "rename one of the stacks (or its groups)"
                if what == "account group"
                else "give the stacks names that differ in more than '-', '_' or '.'"
            )
            raise ConfigError(
                files,
                f"{PROJECT}:{key_path}",
                f"{what} {name!r} is derived by more than one stack and must be unique in "
                f"{scope}; {fix}",
            )
