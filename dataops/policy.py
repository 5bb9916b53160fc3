"""The policy pack, offline: the rules of ``policy/rules.py`` over a rendered plan.

``python -m dataops plan <stack>`` runs this after rendering, with the enforcement the
real pack gives the stack's tier (``environment``): a mandatory violation makes the plan
fail, an advisory one is a warning. The rules see what the pack sees, as the engine
records it: each resource's type, name, inputs (camelCase) and ``protect``, and the
stack outputs as the properties of the root ``pulumi:pulumi:Stack`` resource, with
secrets masked as ``[secret]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config import PROJECT, SandboxStackConfig
from dataops.engine import Plan
from policy.rules import (
    RULES,
    STACK,
    Enforcement,
    Resource,
    SandboxContext,
    StackContext,
    Violation,
    enforcement,
    evaluate,
)


def stack_urn(stack: str) -> str:
    """The URN the engine gives the root stack resource."""
    return f"urn:pulumi:{stack}::{PROJECT}::{STACK}::{PROJECT}-{stack}"


def plan_resources(plan: Plan) -> list[Resource]:
    """The plan's resources as the rules see them, and the root stack holding the outputs."""
    resources = [
        Resource(type=r.type, name=r.name, urn=r.urn, props=r.inputs, protect=r.protect)
        for r in plan.resources
    ]
    resources.append(
        Resource(
            type=STACK,
            name=f"{PROJECT}-{plan.stack}",
            urn=stack_urn(plan.stack),
            props=plan.outputs,
        )
    )
    return resources


def plan_context(plan: Plan, secret_values: frozenset[str] = frozenset()) -> StackContext:
    config = plan.config
    if isinstance(config, SandboxStackConfig):
        return StackContext(
            tier=config.environment.value,
            secret_values=secret_values,
            sandbox=SandboxContext.of(config.names),
        )
    return StackContext(
        tier=config.environment.value,
        main_branch=config.source_control.main_branch,
        secret_values=secret_values,
    )


@dataclass(frozen=True)
class PolicyReport:
    stack: str
    tier: str
    rules_enabled: int
    violations: tuple[Violation, ...]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement is Enforcement.MANDATORY]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement is Enforcement.ADVISORY]

    def lines(self) -> list[str]:
        """One line per violation, naming the rule and the resource, then a summary."""
        lines = [
            f"policy: [{v.enforcement.value}] {v.rule} ({v.resource}): {v.message}"
            for v in self.violations
        ]
        counts = (
            f"{_count(len(self.mandatory), 'mandatory violation')}, "
            f"{len(self.advisory)} advisory ({self.rules_enabled} rules enabled in "
            f"{self.tier}, stack {self.stack})"
        )
        if self.mandatory:
            lines.append(f"policy: {counts}: the plan is not deployable")
        else:
            lines.append(f"policy: {counts}")
        return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def check_plan(plan: Plan, secret_values: frozenset[str] = frozenset()) -> PolicyReport:
    """Run every rule over a plan, at the enforcement of its tier.

    ``secret_values`` are the placeholders the engine gave the stack's secure config
    values (``dataops.stackfile.secret_placeholder``): an output holding one leaks it.
    """
    context = plan_context(plan, secret_values)
    enabled = sum(enforcement(rule, context.tier) is not Enforcement.DISABLED for rule in RULES)
    return PolicyReport(
        stack=plan.stack,
        tier=plan.config.environment.value,
        rules_enabled=enabled,
        violations=tuple(evaluate(plan_resources(plan), context)),
    )
