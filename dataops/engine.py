"""The offline engine: run the real program under Pulumi mocks and record its desired state.

This is what ``python -m dataops plan`` prints and what the tests assert on. It is
desired state, not a cloud preview: no provider is asked what exists.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import Stack, wait_for_rpcs

from components.config import (
    PROJECT,
    AnyStackConfig,
    ConfigError,
    SandboxStackConfig,
    load_stack_config,
)
from dataops.mocks import DataopsMocks, PlannedResource, Recording, RecordingMonitor
from dataops.stackfile import StackFile, read_stack_file

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The organization of every stack in a DIY backend, and so of the offline engine's.
OFFLINE_ORGANIZATION = "organization"


class DuplicateResourceError(Exception):
    """Two resources share (type, name, parent): the real engine would reject the URN."""


@dataclass
class Plan:
    """The desired state of one stack, resources in tree order (parents first)."""

    stack: str
    config: AnyStackConfig
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    invokes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # A sandbox's base stack, rendered for its StackReference (the access check's
    # developer holds what this plan gives them); None for a platform stack.
    base: Plan | None = None

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def get(self, type_token: str, name: str) -> PlannedResource:
        matches = [r for r in self.resources if r.type == type_token and r.name == name]
        if len(matches) != 1:
            names = sorted(r.name for r in self.of_type(type_token))
            raise KeyError(f"{len(matches)} resources {type_token} named {name!r}; have {names}")
        return matches[0]

    def one(self, type_token: str) -> PlannedResource:
        matches = self.of_type(type_token)
        if len(matches) != 1:
            raise KeyError(f"expected one {type_token}, found {len(matches)}")
        return matches[0]

    def by_urn(self, urn: str) -> PlannedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def children(self, parent_urn: str | None) -> Iterator[PlannedResource]:
        return (r for r in self.resources if r.parent == parent_urn)

    def ancestors(self, resource: PlannedResource) -> Iterator[PlannedResource]:
        urns = {r.urn: r for r in self.resources}
        current = resource
        while current.parent in urns:
            current = urns[current.parent]
            yield current

    def provider_of(self, resource: PlannedResource) -> PlannedResource | None:
        return self.by_urn(resource.provider) if resource.provider else None

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "inputs": r.inputs,
                    "dependencies": list(r.dependencies),
                    "provider": r.provider,
                    "protect": r.protect,
                    # Only where set, so plans of resources without them read as before.
                    **({"aliases": list(r.aliases)} if r.aliases else {}),
                    **({"deleteBeforeReplace": True} if r.delete_before_replace else {}),
                    **({"ignoreChanges": list(r.ignore_changes)} if r.ignore_changes else {}),
                    **({"read": True} if r.read else {}),
                }
                for r in self.resources
            ],
            "outputs": self.outputs,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"


def check_unique_identity(resources: list[PlannedResource]) -> None:
    """Mocks accept duplicate URNs; the real engine refuses them, so a plan must too."""
    seen: set[tuple[str, str, str | None]] = set()
    for resource in resources:
        key = (resource.type, resource.name, resource.parent)
        if key in seen:
            raise DuplicateResourceError(
                f"two resources of type {resource.type} are named {resource.name!r} "
                f"under {resource.parent or 'the stack'}"
            )
        seen.add(key)


def tree_order(resources: list[PlannedResource]) -> list[PlannedResource]:
    """Parents before children, siblings by (type, name): the same order on every run.

    Registration order depends on the asyncio scheduler, so a plan sorted any other way
    would make diffs and snapshots flicker.
    """
    urns = {r.urn for r in resources}
    by_parent: dict[str | None, list[PlannedResource]] = {}
    for resource in resources:
        parent = resource.parent if resource.parent in urns else None
        by_parent.setdefault(parent, []).append(resource)
    ordered: list[PlannedResource] = []

    def visit(parent: str | None) -> None:
        for child in sorted(by_parent.get(parent, []), key=lambda r: (r.type, r.name)):
            ordered.append(child)
            visit(child.urn)

    visit(None)
    return ordered


def validate_stack(stack_file: StackFile) -> AnyStackConfig:
    """Config only: raises ``ConfigError`` with the one-line message."""
    return load_stack_config(
        stack_file.dataops_values(),
        stack_file.file_name,
        stack_file.dataops_secure_keys(),
        stack_file.stack,
        foreign=stack_file.foreign_values(),
        foreign_secure_keys=frozenset(k for k in stack_file.secure_keys if ":" in k),
        ciphertexts=stack_file.ciphertexts,
    )


def run_program(
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    recording: Recording | None = None,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
) -> Recording:
    """Run the program for ``stack`` under fresh mocks with the given raw config.

    ``stack_outputs`` are the outputs of the stacks it references (by qualified name).
    Exceptions from the program propagate (a ``ConfigError`` before anything is
    registered); ``recording`` then holds whatever was registered up to that point.
    """
    recording = Recording() if recording is None else recording
    # Pulumi keeps its runtime state (root stack, settings, config) in context variables;
    # a fresh context per run is what makes every render start from nothing.
    contextvars.Context().run(
        _run_in_context, stack, recording, config, secret_keys, stack_outputs or {}
    )
    return recording


def _run_in_context(
    stack: str,
    recording: Recording,
    config: dict[str, str],
    secret_keys: list[str],
    stack_outputs: dict[str, dict[str, Any]],
) -> None:
    from components import program  # imported late: the program imports the Pulumi SDKs

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        mocks = DataopsMocks(recording, stack_outputs)
        monitor = RecordingMonitor(mocks, recording)
        # set_mocks registers the root Stack itself, so run_in_stack must not be used (it
        # would try to create a second root). preview=False: applies run, as in `up`.
        # The organization a DIY backend gives every stack ("organization").
        pulumi.runtime.set_mocks(
            mocks,
            project=PROJECT,
            stack=stack,
            preview=False,
            monitor=monitor,
            organization=OFFLINE_ORGANIZATION,
        )
        pulumi.runtime.set_all_config(config, secret_keys)
        try:
            program.define_stack()
        finally:
            loop.run_until_complete(wait_for_rpcs())
        # The mock root stack registered its (empty) outputs when set_mocks created it;
        # register them again now that the program has exported, so the monitor records
        # them exactly as the engine would receive them (serialized, secrets marked).
        root = get_root_resource()
        if isinstance(root, Stack):
            root._outputs_registered = False
            root._finish()
            loop.run_until_complete(wait_for_rpcs())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def render_stack_file(stack_file: StackFile) -> Plan:
    """Run the program for one stack file under fresh mocks and return its plan.

    A sandbox's base stack is rendered first, from its own stack file beside this one:
    its outputs are what the sandbox's StackReference reads.
    """
    # Validate before the runtime starts, so a bad config registers nothing at all.
    stack_config = validate_stack(stack_file)
    config, secret_keys = stack_file.pulumi_config()
    base = (
        _base_plan(stack_file, stack_config)
        if isinstance(stack_config, SandboxStackConfig)
        else None
    )
    references = (
        {_reference(stack_config.sandbox.base_stack): base.outputs}
        if base is not None and isinstance(stack_config, SandboxStackConfig)
        else {}
    )
    recording = run_program(stack_file.stack, config, secret_keys, stack_outputs=references)
    resources = list(recording.resources)
    check_unique_identity(resources)
    return Plan(
        stack=stack_file.stack,
        config=stack_config,
        resources=tree_order(resources),
        outputs=dict(sorted(recording.outputs.items())),
        # Like registrations, calls arrive in scheduler order; sort them for stable plans.
        invokes=sorted(recording.invokes, key=lambda call: (call[0], json.dumps(call[1]))),
        base=base,
    )


def render_stack(stack: str, root: Path = PROJECT_ROOT) -> Plan:
    return render_stack_file(read_stack_file(root, stack))


def _base_plan(stack_file: StackFile, config: SandboxStackConfig) -> Plan:
    """The offline render of a sandbox's base stack, refused (one line) when it cannot
    host the sandbox."""
    # Imported late: components.sandbox imports the Pulumi SDKs.
    from components.sandbox import base_problem

    # Beside the sandbox's file; a file given by a relative name is the project's.
    root = stack_file.path.parent if stack_file.path.is_absolute() else PROJECT_ROOT
    base = render_stack_file(read_stack_file(root, config.sandbox.base_stack))
    problem = base_problem(base.outputs, config)
    if problem is not None:
        raise ConfigError(stack_file.file_name, f"{PROJECT}:sandbox.baseStack", problem)
    return base


def _reference(base_stack: str) -> str:
    """The name the sandbox's StackReference reads, in the offline organization."""
    from components.sandbox import base_stack_reference

    return base_stack_reference(OFFLINE_ORGANIZATION, PROJECT, base_stack)
