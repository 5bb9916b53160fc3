"""The rules of ``policy.rules`` as a CrossGuard policy pack, for the real Pulumi CLI.

``pulumi preview|up --policy-pack policy`` starts ``policy/__main__.py`` in the pack's own
virtualenv (``policy/.venv``, from ``policy/requirements.txt``) with the stack's config in
``PULUMI_CONFIG``, decrypted, and the stack's name in ``PULUMI_STACK``. The tier therefore
comes from the stack's own ``dataops:environment``, exactly as the offline engine reads
it, and sets each policy's enforcement level when the pack starts. A
``--policy-pack-config`` file still overrides a level, as CrossGuard allows.

``PolicyPack(...)`` starts a gRPC server and never returns, so everything else is built
by functions the tests call: ``build_policies`` is the whole pack minus the server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyPack,
    ReportViolation,
    ResourceValidation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policy.rules import (
    RULES,
    UNKNOWN,
    Enforcement,
    Resource,
    ResourceRule,
    StackContext,
    StackRule,
    enforcement,
    stack_context_from_config,
)

PACK_NAME = "dataops"

_LEVELS = {
    Enforcement.ADVISORY: EnforcementLevel.ADVISORY,
    Enforcement.MANDATORY: EnforcementLevel.MANDATORY,
    Enforcement.DISABLED: EnforcementLevel.DISABLED,
}


def plain(value: Any) -> Any:
    """Properties as plain data, with values unknown in a preview as ``UNKNOWN``.

    The SDK wraps properties in proxies that raise on an unknown value; a rule treats an
    unknown as "cannot judge yet" instead of failing as a whole.
    """
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key in value:
            try:
                result[str(key)] = plain(value[key])
            except UnknownValueError:
                result[str(key)] = UNKNOWN
        return result
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def _resource_validation(rule: ResourceRule, context: StackContext) -> ResourceValidation:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.types:
            return
        resource = Resource(
            type=args.resource_type,
            name=args.name,
            urn=args.urn,
            props=plain(args.props),
            protect=bool(args.opts.protect),
        )
        for message in rule.violations(resource, context):
            report_violation(message, None)

    return validate


def _stack_validation(rule: StackRule, context: StackContext) -> StackValidation:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            Resource(
                type=r.resource_type,
                name=r.name,
                urn=r.urn,
                props=plain(r.props),
                protect=bool(r.opts.protect),
            )
            for r in args.resources
        ]
        for finding in rule.violations(resources, context):
            report_violation(finding.message, finding.urn)

    return validate


def build_policies(context: StackContext) -> list[Policy]:
    """One CrossGuard policy per rule, at the enforcement level of the context's tier."""
    policies: list[Policy] = []
    for rule in RULES:
        level = _LEVELS[enforcement(rule, context.tier)]
        if isinstance(rule, ResourceRule):
            policies.append(
                ResourceValidationPolicy(
                    name=rule.name,
                    description=rule.description,
                    validate=_resource_validation(rule, context),
                    enforcement_level=level,
                )
            )
        else:
            policies.append(
                StackValidationPolicy(
                    name=rule.name,
                    description=rule.description,
                    validate=_stack_validation(rule, context),
                    enforcement_level=level,
                )
            )
    return policies


def context_from_environment(environ: Mapping[str, str] | None = None) -> StackContext:
    """The stack context from the environment the Pulumi CLI starts the pack with."""
    environ = os.environ if environ is None else environ
    try:
        config = json.loads(environ.get("PULUMI_CONFIG") or "{}")
    except ValueError:
        config = {}
    if not isinstance(config, dict):
        config = {}
    return stack_context_from_config({str(k): str(v) for k, v in config.items()})


def serve() -> None:
    """Run the pack: what the CLI starts. Never returns."""
    context = context_from_environment()
    tier = context.tier or "unknown (every rule mandatory)"
    PolicyPack(
        name=PACK_NAME,
        policies=build_policies(context),
        description=f"dataops governance rules; stack tier: {tier}",
    )
