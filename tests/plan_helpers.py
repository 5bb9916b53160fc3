"""Assertions on plans, kept in one place so tests read as statements about a stack."""

from __future__ import annotations

import json
from typing import Any

from dataops.engine import Plan, PlannedResource
from dataops.mocks import SECRET_MASK
from dataops.stackfile import SECRET_PLACEHOLDER_PREFIX

# The stacks shipped as examples; conftest checks the project root has exactly these.
SHIPPED_STACKS = ("dev", "staging", "prod")

StackDocument = dict[str, Any]


def lookup(inputs: dict[str, Any], path: str) -> Any:
    """``inputs`` at a dotted path ('sku.name', 'grants.0.principal'); KeyError if absent."""
    current: Any = inputs
    for part in path.split("."):
        current = current[int(part)] if isinstance(current, list) else current[part]
    return current


def single(plan: Plan, type_token: str, name_suffix: str = "") -> PlannedResource:
    """The one resource of a type whose name ends with ``name_suffix``."""
    matches = [r for r in plan.of_type(type_token) if r.name.endswith(name_suffix)]
    names = [r.name for r in plan.of_type(type_token)]
    assert len(matches) == 1, f"{len(matches)} {type_token} ending {name_suffix!r}; have {names}"
    return matches[0]


def provider_type(plan: Plan, resource: PlannedResource) -> str:
    """The provider package of a custom resource: 'azure-native', 'databricks', ..."""
    provider = plan.provider_of(resource)
    assert provider is not None, f"{resource.name} has no explicit provider"
    return provider.type.removeprefix("pulumi:providers:")


def depends_on(plan: Plan, resource: PlannedResource, other: PlannedResource) -> bool:
    """True if ``resource`` waits for ``other`` (directly or through its dependencies)."""
    seen: set[str] = set()
    frontier = list(resource.dependencies)
    while frontier:
        urn = frontier.pop()
        if urn == other.urn:
            return True
        if urn in seen:
            continue
        seen.add(urn)
        try:
            frontier.extend(plan.by_urn(urn).dependencies)
        except KeyError:
            continue
    return False


def assert_no_secret_in_clear(plan: Plan) -> None:
    text = plan.dumps()
    assert SECRET_PLACEHOLDER_PREFIX not in text, "a secret config value appears in clear"


def masked(value: Any) -> bool:
    return value == SECRET_MASK


def plan_text(plan: Plan) -> str:
    return json.dumps(plan.to_json(), sort_keys=True)
