"""The program body, shared by ``__main__.py`` (the Pulumi CLI) and the offline engine."""

from __future__ import annotations

import pulumi

from components.config import PROJECT, SandboxStackConfig
from components.platform import Platform, PlatformArgs
from components.pulumi_config import read_secrets, read_stack_config
from components.sandbox import Sandbox, SandboxArgs


def define_stack() -> None:
    """Validate the stack config, build the platform (or the sandbox), export the outputs."""
    config = read_stack_config()  # raises ConfigError before any resource is registered
    stack = pulumi.get_stack()
    secrets = read_secrets()  # the only place secrets are read; layers get the values
    built: Platform | Sandbox
    if isinstance(config, SandboxStackConfig):
        built = Sandbox(stack, SandboxArgs(config=config, git_sync_token=secrets.git_sync_token))
    else:
        built = Platform(
            f"{config.prefix}-{stack}", PlatformArgs(config=config, stack=stack, secrets=secrets)
        )
    for key, value in built.outputs().items():
        pulumi.export(key, value)
    pulumi.log.debug(f"{PROJECT}: stack {stack} defined")
