"""Property test: any config a user can write is either valid or refused in one line.

Hypothesis starts from the shipped stack documents and mutates them as a careless or
hostile user would (drop keys, change types, random text and Unicode, huge and negative
numbers, booleans for numbers, duplicated list items, unknown keys, odd stack names).
Every result must either validate (and, for a few, render under the offline engine) or
raise ``ConfigError`` whose message is one line naming the stack file: never a traceback.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_helpers import SHIPPED_STACKS, StackDocument

from components.config import ConfigError
from dataops.engine import PROJECT_ROOT, render_stack_file, validate_stack
from dataops.stackfile import apply_project_config, read_project_config, stack_file_from_document

Path_ = tuple[str | int, ...]

_DOCUMENTS = {
    stack: yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    for stack in SHIPPED_STACKS
}
_PROJECT_CONFIG = read_project_config(PROJECT_ROOT)


def _paths(value: Any, path: Path_ = ()) -> list[Path_]:
    """Every path to a value inside a config mapping (containers and leaves)."""
    found: list[Path_] = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


_PATHS = {stack: _paths(document["config"]) for stack, document in _DOCUMENTS.items()}

# Values a YAML file can hold, with the edges a hostile user tries first.
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**53, 2**63, 10**30, -(10**30)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(
        [
            "",
            " ",
            "true",
            "1",
            "null",
            "x" * 5000,
            "é" * 300,
            "a\nb",
            "\u2028",
            "https://u:p@h/x",
            "0 0 2 30 2 ?",
            "Europe/Nowhere",
            "westeurope",
            "platform-admins",
            "ALL_PRIVILEGES",
            "{not json",
            "[1, 2",
            "../..",
            "rg/x",
            "--",
        ]
    ),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=6,
)


def _container(config: dict[str, Any], path: Path_) -> tuple[Any, str | int]:
    target: Any = config
    for part in path[:-1]:
        target = target[part]
    return target, path[-1]


@st.composite
def _mutations(draw: st.DrawFn, stack: str) -> Callable[[dict[str, Any]], None]:
    path = draw(st.sampled_from(_PATHS[stack]))
    kind = draw(st.sampled_from(["drop", "set", "duplicate", "unknown-key", "huge"]))
    value = draw(_values)
    key = draw(st.text(min_size=1, max_size=12))

    def mutate(config: dict[str, Any]) -> None:
        try:
            target, leaf = _container(config, path)
            current = target[leaf]
        except (KeyError, IndexError, TypeError):
            return  # an earlier mutation removed or replaced the path
        if kind == "drop":
            del target[leaf]
        elif kind == "set":
            target[leaf] = copy.deepcopy(value)
        elif kind == "duplicate" and isinstance(current, list) and current:
            current.append(copy.deepcopy(current[0]))
        elif kind == "unknown-key" and isinstance(current, dict):
            current[key] = copy.deepcopy(value)
        elif kind == "huge":
            target[leaf] = (
                [copy.deepcopy(current)] * 200 if isinstance(current, list) else "é" * 100_000
            )

    return mutate


_stack_names = st.one_of(
    st.sampled_from(SHIPPED_STACKS),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.é()", min_size=1, max_size=40),
)

_rendered: list[str] = []
# Rendering runs the whole program under mocks (seconds each): a few valid mutants suffice.
_RENDER_AT_MOST = 3


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_mutated_config_is_valid_or_one_line(data: st.DataObject) -> None:
    stack = data.draw(st.sampled_from(SHIPPED_STACKS), label="shipped document")
    document: StackDocument = copy.deepcopy(_DOCUMENTS[stack])
    for mutate in data.draw(st.lists(_mutations(stack), min_size=1, max_size=3), label="changes"):
        mutate(document["config"])
    name = data.draw(_stack_names, label="stack name")
    file_name = f"Pulumi.{name}.yaml"
    try:
        stack_file = stack_file_from_document(name, Path(file_name), document)
        stack_file = apply_project_config(stack_file, _PROJECT_CONFIG)
        validate_stack(stack_file)
    except ConfigError as error:
        message = str(error)
        assert len(message.splitlines()) == 1, message
        assert message.startswith(file_name + ": "), message
        return
    if len(_rendered) < _RENDER_AT_MOST:
        _rendered.append(name)
        plan = render_stack_file(stack_file)
        assert plan.resources


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_the_unmutated_documents_are_valid(stack: str) -> None:
    document = copy.deepcopy(_DOCUMENTS[stack])
    stack_file = stack_file_from_document(stack, Path(f"Pulumi.{stack}.yaml"), document)
    validate_stack(apply_project_config(stack_file, _PROJECT_CONFIG))


def test_a_huge_value_is_refused_in_a_bounded_line(
    stack_document: Callable[[str], StackDocument],
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:unityCatalog"]["catalogs"][0]["name"] = "é" * 100_000
    stack_file = stack_file_from_document("dev", Path("Pulumi.dev.yaml"), document)
    with pytest.raises(ConfigError) as caught:
        validate_stack(apply_project_config(stack_file, _PROJECT_CONFIG))
    message = str(caught.value)
    assert len(message) < 1100
    assert message.startswith("Pulumi.dev.yaml: dataops:unityCatalog.catalogs[0].name: 'ééé")
    assert message.endswith("(lower-case letters, digits and '_', not starting with a digit)")


def test_a_key_with_a_line_break_stays_on_one_line(
    stack_document: Callable[[str], StackDocument],
) -> None:
    document = stack_document("dev")
    document["config"]["dataops:azure"]["tags"] = {"cost\ncenter": 5}
    stack_file = stack_file_from_document("dev", Path("Pulumi.dev.yaml"), document)
    with pytest.raises(ConfigError) as caught:
        validate_stack(apply_project_config(stack_file, _PROJECT_CONFIG))
    assert str(caught.value) == (
        "Pulumi.dev.yaml: dataops:azure.tags.cost\\ncenter: 5 is not a string"
    )
