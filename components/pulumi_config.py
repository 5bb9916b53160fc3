"""Read this stack's ``dataops:*`` config from the Pulumi runtime into a :class:`StackConfig`.

The same function serves ``pulumi up`` (the CLI hands config to the program) and the
offline engine (which sets config through ``pulumi.runtime.set_all_config``), so both
validate exactly the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components.config import PROJECT, AnyStackConfig, load_stack_config
from components.config.load import decode_value
from components.secret_keys import SecretKey


def stack_file_name() -> str:
    return f"Pulumi.{pulumi.get_stack()}.yaml"


def _all_config() -> dict[str, Any]:
    merged: dict[str, Any] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def _secret_keys(config: dict[str, Any]) -> set[str]:
    keys = set(runtime_config.get_config_secret_keys_env())
    keys.update(k for k in config if runtime_config.is_config_secret(k))
    return keys


def read_stack_config() -> AnyStackConfig:
    """Validate the stack's config; raises ``ConfigError`` before any resource exists."""
    prefix = f"{PROJECT}:"
    config = _all_config()
    secret_keys = _secret_keys(config)
    values = {k[len(prefix) :]: v for k, v in config.items() if k.startswith(prefix)}
    secure = frozenset(k[len(prefix) :] for k in secret_keys if k.startswith(prefix))
    # The providers' keys too: a provider credential in plain text is refused here as well
    # (objects arrive JSON-encoded; a credential inside one must still be found).
    foreign = {
        k: decode_value(v)
        for k, v in config.items()
        if not k.startswith(prefix) and k not in secret_keys
    }
    return load_stack_config(
        values,
        stack_file_name(),
        secure,
        pulumi.get_stack(),
        foreign=foreign,
        foreign_secure_keys=frozenset(k for k in secret_keys if not k.startswith(prefix)),
    )


@dataclass(frozen=True)
class Secrets:
    """The stack's secret config values, each an ``Output.secret`` (None: not set)."""

    teams_webhook_url: pulumi.Output[str] | None
    slack_webhook_url: pulumi.Output[str] | None
    git_sync_token: pulumi.Output[str] | None
    git_credential_token: pulumi.Output[str] | None


def read_secrets() -> Secrets:
    """Every secret the program uses, read once; layers are handed the values."""
    config = pulumi.Config(PROJECT)
    return Secrets(
        teams_webhook_url=config.get_secret(SecretKey.TEAMS_WEBHOOK_URL),
        slack_webhook_url=config.get_secret(SecretKey.SLACK_WEBHOOK_URL),
        git_sync_token=config.get_secret(SecretKey.GIT_SYNC_TOKEN),
        git_credential_token=config.get_secret(SecretKey.GIT_CREDENTIAL_TOKEN),
    )
