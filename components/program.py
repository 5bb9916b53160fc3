"""The program body, shared by ``__main__.py`` (the Pulumi CLI) and the offline engine."""

from __future__ import annotations

import pulumi

from components.config import PROJECT
from components.platform import Platform, PlatformArgs
from components.pulumi_config import read_stack_config


def define_stack() -> None:
    """Validate the stack config, build the platform, export the outputs contract."""
    config = read_stack_config()  # raises ConfigError before any resource is registered
    stack = pulumi.get_stack()
    platform = Platform(f"{config.prefix}-{stack}", PlatformArgs(config=config, stack=stack))
    for key, value in platform.outputs().items():
        pulumi.export(key, value)
    pulumi.log.debug(f"{PROJECT}: stack {stack} defined")
