"""The offline engine itself: isolation, determinism, URN uniqueness, secrets, outputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pulumi
import pytest
from plan_helpers import CONTAINER, SHIPPED_STACKS, assert_no_secret_in_clear

from components import program
from components.config import ConfigError
from dataops.engine import (
    PROJECT_ROOT,
    DuplicateResourceError,
    Plan,
    PlannedResource,
    check_unique_identity,
    render_stack,
    run_program,
)
from dataops.mocks import COMPUTED_OUTPUTS, SECRET_MASK, Recording
from dataops.stackfile import read_stack_file

OUTPUTS_SCHEMA = json.loads((PROJECT_ROOT / "schema" / "outputs.schema.json").read_text())

PlanOf = Callable[[str], Plan]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_outputs_match_the_published_schema(plan: PlanOf, stack: str) -> None:
    outputs = plan(stack).outputs
    jsonschema.validate(outputs, OUTPUTS_SCHEMA)
    assert outputs["environment"] == stack


def test_schema_lists_every_output_the_program_exports(plan: PlanOf) -> None:
    # additionalProperties is false, so this is the other direction: nothing documented
    # that the program no longer exports.
    # A sandbox's own outputs are in tests/test_sandbox.py; the rest are prod's.
    sandbox_only = set(OUTPUTS_SCHEMA["allOf"][0]["then"]["required"])
    assert set(OUTPUTS_SCHEMA["properties"]) - sandbox_only == set(plan("prod").outputs)


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_no_two_resources_share_type_name_and_parent(plan: PlanOf, stack: str) -> None:
    resources = plan(stack).resources
    keys = [(r.type, r.name, r.parent) for r in resources]
    assert len(keys) == len(set(keys))
    assert len({r.urn for r in resources}) == len(resources)


def test_duplicate_urns_are_refused() -> None:
    def resource(name: str, parent: str | None) -> PlannedResource:
        return PlannedResource(
            urn=f"urn:{name}",
            type=CONTAINER,
            name=name,
            parent=parent,
            inputs={},
            dependencies=(),
            provider=None,
            protect=False,
            custom=True,
        )

    check_unique_identity([resource("a", "p"), resource("a", "q")])  # other parent: fine
    with pytest.raises(DuplicateResourceError, match="named 'a' under p"):
        check_unique_identity([resource("a", "p"), resource("a", "p")])


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_deployed_urn_is_kept_or_aliased(plan: PlanOf, stack: str) -> None:
    """A refactor must not replace what a deployed stack holds: every URN of the last
    release (tests/urns/<stack>.txt) is still planned, or is an alias of a planned
    resource. A resource removed on purpose comes off the list in the same change."""
    released = (PROJECT_ROOT / "tests" / "urns" / f"{stack}.txt").read_text().split()
    rendered = plan(stack)
    answered = {r.urn for r in rendered.resources}
    answered.update(alias for r in rendered.resources for alias in r.aliases)
    lost = [urn for urn in released if urn not in answered]
    assert not lost, f"{len(lost)} deployed resources would be replaced, first: {lost[0]}"


def test_an_alias_is_recorded_as_the_old_urn(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the URN check above relies on: the plan records a moved resource's old URN."""

    class Layer(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("dataops:test:Layer", name)

    def program_with_a_move() -> None:
        layer = Layer("layer")
        pulumi.Output.from_input(
            pulumi.CustomResource(
                "test:index:Thing",
                "thing-new",
                {},
                opts=pulumi.ResourceOptions(
                    parent=layer,
                    aliases=[pulumi.Alias(name="thing", parent=pulumi.ROOT_STACK_RESOURCE)],
                ),
            ).urn
        )

    monkeypatch.setattr(program, "define_stack", program_with_a_move)
    recording = run_program("dev", {}, [])
    (thing,) = [r for r in recording.resources if r.type == "test:index:Thing"]
    assert thing.urn == "urn:pulumi:dev::dataops::dataops:test:Layer$test:index:Thing::thing-new"
    assert "urn:pulumi:dev::dataops::test:index:Thing::thing" in thing.aliases


def test_rendering_is_deterministic_and_isolated() -> None:
    first = render_stack("prod").dumps()
    render_stack("dev")  # a different stack in between must leave no trace
    assert render_stack("prod").dumps() == first


def test_resources_come_parents_first(plan: PlanOf) -> None:
    seen: set[str] = set()
    for resource in plan("prod").resources:
        if resource.parent and resource.parent.split("::")[-2] != "pulumi:pulumi:Stack":
            assert resource.parent in seen, f"{resource.name} listed before its parent"
        seen.add(resource.urn)


def test_a_config_error_registers_nothing() -> None:
    stack_file = read_stack_file(PROJECT_ROOT, "dev")
    config, secret_keys = stack_file.pulumi_config()
    config["dataops:environment"] = "production"
    recording = Recording()
    with pytest.raises(ConfigError, match=r"^Pulumi\.dev\.yaml: dataops:environment: "):
        run_program("dev", config, secret_keys, recording)
    assert recording.resources == []


def test_secrets_are_masked_in_inputs_and_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret config value stays secret through resource inputs and stack outputs."""

    def program_with_a_secret() -> None:
        from pulumi_random import RandomPassword

        secret = pulumi.Config("dataops").require_secret("teamsWebhookUrl")
        password = RandomPassword("pw", length=32, keepers={"webhook": secret})
        pulumi.export("webhook", secret)
        pulumi.export("password", password.result)
        pulumi.export("plain", "visible")

    monkeypatch.setattr(program, "define_stack", program_with_a_secret)
    # The provider computes `result` and the SDK marks it secret (additional secret output).
    monkeypatch.setitem(
        COMPUTED_OUTPUTS, "random:index/randomPassword:RandomPassword", lambda r: {"result": "pw"}
    )
    stack_file = read_stack_file(PROJECT_ROOT, "prod")
    config, secret_keys = stack_file.pulumi_config()
    recording = run_program("prod", config, secret_keys)
    (password,) = recording.resources
    assert password.inputs["keepers"] == {"webhook": SECRET_MASK}
    assert recording.outputs == {
        "webhook": SECRET_MASK,
        "password": SECRET_MASK,
        "plain": "visible",
    }
    assert "offline-secret-placeholder" not in json.dumps(_as_json(recording))


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_no_secret_config_value_appears_in_a_plan(plan: PlanOf, stack: str) -> None:
    assert_no_secret_in_clear(plan(stack))


def _as_json(recording: Recording) -> dict[str, Any]:
    return {"resources": [r.inputs for r in recording.resources], "outputs": recording.outputs}
