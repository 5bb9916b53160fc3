"""Pulumi entry point: validate the stack config, build the platform, export its outputs."""

import pulumi

from components.config import ConfigError
from components.program import define_stack

try:
    define_stack()
except ConfigError as error:
    # RunError prints just the message: one line naming the stack file and the key.
    raise pulumi.RunError(str(error)) from None
