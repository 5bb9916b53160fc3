"""Fixtures shared by the Pulumi-program tests.

Every render runs the real program under fresh mocks in its own context (see
``dataops.engine.run_program``), so no state leaks between tests. A test reads like
"render the prod stack; the main branch is protected with 2 approvals".
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from plan_helpers import SHIPPED_STACKS, StackDocument

from components.config import AnyStackConfig
from dataops.engine import PROJECT_ROOT, Plan, render_stack_file, validate_stack
from dataops.stackfile import (
    apply_project_config,
    read_project_config,
    stack_file_from_document,
    stack_names,
)


@cache
def _shipped_document(stack: str) -> StackDocument:
    text = (PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")
    document: StackDocument = yaml.safe_load(text)
    return document


def _stack_file(stack: str, document: StackDocument) -> Any:
    stack_file = stack_file_from_document(stack, Path(f"Pulumi.{stack}.yaml"), document)
    return apply_project_config(stack_file, read_project_config(PROJECT_ROOT))


@cache
def _shipped_plan(stack: str) -> Plan:
    # Plans are read-only data; rendering each shipped stack once per session keeps the
    # suite fast. Tests that change config render their own document.
    return render_stack_file(_stack_file(stack, _shipped_document(stack)))


@pytest.fixture
def stack_document() -> Callable[[str], StackDocument]:
    """A private, editable copy of a shipped stack file's YAML document."""
    return lambda stack: copy.deepcopy(_shipped_document(stack))


@pytest.fixture
def plan() -> Callable[[str], Plan]:
    """The rendered plan of a shipped stack."""
    return _shipped_plan


@pytest.fixture
def render() -> Callable[[str, StackDocument], Plan]:
    """Render an edited stack document under fresh mocks."""
    return lambda stack, document: render_stack_file(_stack_file(stack, document))


@pytest.fixture
def validate() -> Callable[[str, StackDocument], AnyStackConfig]:
    """Validate an edited stack document (config only)."""
    return lambda stack, document: validate_stack(_stack_file(stack, document))


def pytest_configure(config: pytest.Config) -> None:
    # The shipped stacks are the examples users copy; a new one must be added here too.
    # A developer's generated sandbox files (gitignored) are theirs, not shipped.
    found = {stack for stack in stack_names(PROJECT_ROOT) if not stack.startswith("sandbox-")}
    assert found == set(SHIPPED_STACKS), f"stack files {sorted(found)} != {SHIPPED_STACKS}"
