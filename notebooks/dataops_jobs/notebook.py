"""What the entry notebooks share: reading their job parameters from widgets."""

from __future__ import annotations

from typing import Protocol

from .parameters import EntryPoint


class Widgets(Protocol):
    """The part of ``dbutils.widgets`` the notebooks use."""

    def text(self, name: str, defaultValue: str, label: str | None = None) -> object: ...  # noqa: N803 - dbutils' own name

    def get(self, name: str) -> str: ...


def read_parameters(widgets: Widgets, entry: EntryPoint) -> dict[str, str]:
    """Declare the entry's widgets (defaults for an interactive run), then read them.

    A job run's parameters override the defaults; a required one left empty is an error
    naming every missing parameter at once.
    """
    for parameter in entry.parameters:
        widgets.text(parameter.name, parameter.default or "", parameter.description[:48])
    values = {p.name: widgets.get(p.name).strip() for p in entry.parameters}
    missing = [p.name for p in entry.parameters if p.required and not values[p.name]]
    if missing:
        raise ValueError(
            f"{entry.path}: job parameter(s) {missing} are required; "
            f"set them on the task (e.g. {', '.join(f'{n}={_example(entry, n)}' for n in missing)})"
        )
    return values


def _example(entry: EntryPoint, name: str) -> str:
    return next(p.example for p in entry.parameters if p.name == name)
