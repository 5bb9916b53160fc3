"""Compare two plans: resources added, removed and changed, in desired state.

Plans are compared in their JSON form (``Plan.to_json``), because the plan of a git ref
is rendered by that ref's own code in a subprocess and arrives as JSON.

Resources are matched by (type, name, parent name) with the stack name replaced by a
placeholder, so ``diff dev prod`` pairs ``datanova-dev-azure-rg`` with
``datanova-prod-azure-rg``; their inputs are compared as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

STACK_PLACEHOLDER = "<stack>"

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceChange:
    kind: ChangeKind
    type: str
    name: str  # with the stack name replaced by <stack>
    fields: tuple[FieldChange, ...] = ()


@dataclass
class PlanDiff:
    before: str  # labels, e.g. "dev" or "prod@origin/main"
    after: str
    resources: list[ResourceChange] = field(default_factory=list)
    outputs: list[FieldChange] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not self.resources and not self.outputs

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for change in self.resources if change.kind == kind)

    def summary(self) -> str:
        return (
            f"{self.count('added')} to add, {self.count('changed')} to change, "
            f"{self.count('removed')} to remove, {self.unchanged} unchanged"
            + (f", {len(self.outputs)} outputs changed" if self.outputs else "")
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "resources": [
                {
                    "kind": c.kind,
                    "type": c.type,
                    "name": c.name,
                    "fields": [
                        {"path": f.path, "before": f.before, "after": f.after} for f in c.fields
                    ],
                }
                for c in self.resources
            ],
            "outputs": [
                {"path": f.path, "before": f.before, "after": f.after} for f in self.outputs
            ],
            "unchanged": self.unchanged,
        }


_ABSENT = object()


def diff_plans(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    before_label: str,
    after_label: str,
) -> PlanDiff:
    """Diff two plan documents; ``None`` stands for a stack that does not exist there."""
    old = _index(before)
    new = _index(after)
    result = PlanDiff(before=before_label, after=after_label)
    for key in sorted(old.keys() | new.keys()):
        type_token, name, _parent = key
        if key not in old:
            result.resources.append(ResourceChange("added", type_token, name))
        elif key not in new:
            result.resources.append(ResourceChange("removed", type_token, name))
        else:
            fields = tuple(_field_changes(old[key], new[key]))
            if fields:
                result.resources.append(ResourceChange("changed", type_token, name, fields))
            else:
                result.unchanged += 1
    result.outputs = list(
        _changes("", (before or {}).get("outputs", {}), (after or {}).get("outputs", {}))
    )
    return result


def _index(plan: Mapping[str, Any] | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    if plan is None:
        return {}
    normalize = _normalizer(str(plan["stack"]))
    names = {r["urn"]: r["name"] for r in plan["resources"]}
    indexed: dict[tuple[str, str, str], dict[str, Any]] = {}
    for resource in plan["resources"]:
        parent = normalize(names.get(resource["parent"], "")) if resource["parent"] else ""
        comparable = {
            "inputs": resource["inputs"],
            "protect": resource["protect"],
            "provider": normalize(names.get(resource["provider"], ""))
            if resource["provider"]
            else None,
        }
        indexed[(resource["type"], normalize(resource["name"]), parent)] = comparable
    return indexed


def _normalizer(stack: str) -> Any:
    # The stack name as a whole token: "datanova-dev-azure" but not "devops".
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(stack)}(?![A-Za-z0-9])")

    def normalize(text: str) -> str:
        return pattern.sub(STACK_PLACEHOLDER, text)

    return normalize


def _field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[FieldChange]:
    yield from _changes("", old["inputs"], new["inputs"])
    if old["protect"] != new["protect"]:
        yield FieldChange("(protect)", old["protect"], new["protect"])
    if old["provider"] != new["provider"]:
        yield FieldChange("(provider)", old["provider"], new["provider"])


def _changes(path: str, old: Any, new: Any) -> Iterator[FieldChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            child = f"{path}.{key}" if path else str(key)
            yield from _changes(child, old.get(key, _ABSENT), new.get(key, _ABSENT))
    elif old != new:
        yield FieldChange(path, None if old is _ABSENT else old, None if new is _ABSENT else new)


_SIGNS = {"added": "+", "removed": "-", "changed": "~"}


def render_text(diff: PlanDiff) -> str:
    lines = [f"diff {diff.before} -> {diff.after} (desired state, not a cloud preview)"]
    for change in diff.resources:
        lines.append(f"{_SIGNS[change.kind]} {change.type}  {change.name}")
        lines.extend(
            f"    {f.path}: {_value(f.before)} -> {_value(f.after)}" for f in change.fields
        )
    if diff.outputs:
        lines.append("outputs:")
        lines.extend(f"  ~ {f.path}: {_value(f.before)} -> {_value(f.after)}" for f in diff.outputs)
    lines.append(diff.summary() if not diff.empty else "no changes in desired state")
    return "\n".join(lines) + "\n"


def render_markdown(diff: PlanDiff) -> str:
    """The pull-request comment form."""
    lines = [
        f"### Desired-state diff `{diff.before}` → `{diff.after}`",
        "",
        f"**{diff.summary()}**",
        "",
    ]
    if diff.empty:
        lines.append("No changes in desired state.")
        return "\n".join(lines) + "\n"
    lines.append("```diff")
    for change in diff.resources:
        lines.append(f"{_SIGNS[change.kind]} {change.type}  {change.name}")
        lines.extend(
            f"!     {f.path}: {_value(f.before)} -> {_value(f.after)}" for f in change.fields
        )
    for output in diff.outputs:
        lines.append(f"! output {output.path}: {_value(output.before)} -> {_value(output.after)}")
    lines.append("```")
    lines.append("")
    lines.append(
        "_Rendered offline from the stack config under Pulumi mocks; "
        "`pulumi preview` shows the cloud's view._"
    )
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)
