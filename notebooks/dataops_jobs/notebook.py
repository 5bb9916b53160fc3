"""What the entry notebooks share: reading their job parameters from widgets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from .parameters import EntryPoint, Parameter


class Widgets(Protocol):
    """The part of ``dbutils.widgets`` the notebooks use."""

    def text(self, name: str, defaultValue: str, label: str | None = None) -> object: ...  # noqa: N803 - dbutils' own name

    def get(self, name: str) -> str: ...


def read_parameters(
    widgets: Widgets, entry: EntryPoint, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Declare the entry's widgets (defaults for an interactive run), then read them.

    A job run's parameters override the defaults; a parameter neither the task's base
    parameters nor the run set reads as its default. A required one left empty is an
    error naming every missing parameter at once; a value its check refuses (a bad
    ``schema_prefix``) is an error too, before the notebook touches Spark. A pinned
    parameter is read from the job cluster's environment, where the job definition put
    it; a run that tries to set it (a widget value that differs) is refused, so "Run now
    with different parameters" cannot send a backup, or a secret, anywhere else.
    """
    environ = os.environ if environ is None else environ
    for parameter in entry.parameters:
        widgets.text(parameter.name, parameter.default or "", parameter.description[:48])
    values = {
        p.name: _pinned(widgets, p, environ)
        if p.pinned and p.env_var in environ
        else widgets.get(p.name).strip()
        for p in entry.parameters
    }
    missing = [p.name for p in entry.parameters if p.required and not values[p.name]]
    if missing:
        raise ValueError(
            f"{entry.path}: job parameter(s) {missing} are required; "
            f"set them on the task (e.g. {', '.join(f'{n}={_example(entry, n)}' for n in missing)})"
        )
    return entry.checked(values)


def _pinned(widgets: Widgets, parameter: Parameter, environ: Mapping[str, str]) -> str:
    fixed = environ[parameter.env_var].strip()
    given = widgets.get(parameter.name).strip()
    # The widget holds the declared default unless a run set it: anything else is a run
    # trying to override what the job definition fixed.
    if given not in (fixed, parameter.default or ""):
        raise ValueError(
            f"{parameter.name} is fixed in the job definition ({fixed!r}); a run cannot set "
            f"it to {given!r}. Change it in the stack config and deploy"
        )
    return fixed


def _example(entry: EntryPoint, name: str) -> str:
    return next(p.example for p in entry.parameters if p.name == name)
