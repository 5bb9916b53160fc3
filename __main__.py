"""Pulumi entry point: validate the stack config, build the platform, export its outputs."""

from pathlib import Path

import pulumi

from components.config import ConfigError
from components.program import define_stack
from dataops.safe_yaml import YamlRefusedError, check_file

try:
    # Duplicate keys, non-UTF-8, depth, alias bombs: refused before any resource exists.
    check_file(Path(f"Pulumi.{pulumi.get_stack()}.yaml"))
    define_stack()
except (ConfigError, YamlRefusedError) as error:
    # RunError prints just the message: one line naming the stack file and the key.
    raise pulumi.RunError(str(error)) from None
