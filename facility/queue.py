"""The package's plans for the bluesky queue server, generated from ``plans.PLANS``.

The queue server lists as plans the generator functions of its worker's namespace and
checks queued arguments against their signatures. The package's plans take the beamline
first and return a generator, so :func:`bound_plans` makes, for each, a generator
function with the beamline bound and the same keyword signature. The user-group
permissions (:func:`permissions`) allow exactly those plans, the beamline's devices and
:func:`check_plan`, which runs a plan's own argument checks (limits, counts, dwell)
in the worker without moving anything: :func:`queue_plan` calls it before adding the
plan, so bad arguments are refused at queue time with the plan's
``PlanArgumentError`` message.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

import plans as _plans

#: The function the permissions allow the API to run in the worker.
CHECK_FUNCTION = "check_plan"


def bound_plans(beamline: Any) -> dict[str, Callable]:
    """Every plan of ``plans.PLANS`` as a generator function with ``beamline`` bound."""
    return {name: _bind(plan, beamline) for name, plan in _plans.PLANS.items()}


def _region_parameters(plan: Callable) -> set[str]:
    return {name for name, hint in typing.get_type_hints(plan).items() if "Region" in str(hint)}


def with_regions(plan: Callable, kwargs: dict) -> dict:
    """``kwargs`` with the regions given as dicts (JSON from the API) made Region objects."""
    regions = _region_parameters(plan).intersection(kwargs)
    return {key: to_regions(value) if key in regions else value for key, value in kwargs.items()}


def _bind(plan: Callable, beamline: Any) -> Callable:
    """``plan`` with the beamline bound; its regions taken as JSON objects (dicts)."""
    hints = typing.get_type_hints(plan)
    signature = inspect.signature(plan)
    parameters = []
    for parameter in list(signature.parameters.values())[1:]:  # without the beamline
        hint = hints.get(parameter.name, parameter.annotation)
        if "Region" in str(hint):
            parameters.append(_as_region_objects(parameter, hint))
        else:
            parameters.append(parameter.replace(annotation=hint))

    def bound(*args: Any, **kwargs: Any) -> Any:
        return (yield from plan(beamline, *args, **with_regions(plan, kwargs)))

    functools.update_wrapper(bound, plan)
    del bound.__wrapped__  # the queue server reads __signature__, not the wrapped plan
    bound.__signature__ = signature.replace(parameters=parameters)
    return bound


def _as_region_objects(parameter: inspect.Parameter, hint: Any) -> inspect.Parameter:
    """A Region parameter as the queue server can list it: dicts of Region's fields."""
    annotation: Any = dict
    if typing.get_origin(hint) in (collections.abc.Sequence, list, tuple):
        annotation = list[dict]
    elif type(None) in typing.get_args(hint):
        annotation = dict | None
    default = parameter.default
    if isinstance(default, _plans.Region):
        default = dataclasses.asdict(default)
    return parameter.replace(annotation=annotation, default=default)


def to_regions(value: Any) -> Any:
    """A region given as a dict (or a list of them, JSON from the API) as Region(s)."""
    if isinstance(value, dict):
        return _plans.Region(**value)
    if isinstance(value, list | tuple):
        return [to_regions(item) for item in value]
    return value


def make_check_plan(beamline: Any) -> Callable[[str, dict], str]:
    """The worker's ``check_plan(name, kwargs)``: the plan's checks, nothing moved."""

    def check_plan(name: str, kwargs: dict) -> str:
        """Run plan ``name``'s argument checks: '' if they pass, else the error line."""
        plan = _plans.PLANS.get(name)
        if plan is None:
            return f"no plan named {name!r}; plans: {sorted(_plans.PLANS)}"
        try:
            _plans.rehearse(plan(beamline, **with_regions(plan, kwargs)))
        except (_plans.PlanArgumentError, TypeError, ValueError) as err:
            return f"{type(err).__name__}: {err}"
        return ""

    return check_plan


def permissions() -> dict:
    """The queue server's user-group permissions: the package's plans, its devices."""
    plans = [f":^{name}$" for name in sorted(_plans.PLANS)]
    return {
        "user_groups": {
            "root": {
                "allowed_plans": plans,
                "forbidden_plans": [":^_"],
                "allowed_devices": [":?.*:depth=5"],
                "forbidden_devices": [":^_:?.*"],
                "allowed_functions": [f":^{CHECK_FUNCTION}$"],
                "forbidden_functions": [":^_"],
            },
            "primary": {
                "allowed_plans": [":.*"],
                "forbidden_plans": [None],
                "allowed_devices": [":?.*:depth=5"],
                "forbidden_devices": [None],
                "allowed_functions": [f":^{CHECK_FUNCTION}$"],
                "forbidden_functions": [None],
            },
        }
    }


class PlanRefusedError(ValueError):
    """The queue server (or the plan's own checks) refused a plan's arguments."""


def queue_plan(api: Any, name: str, timeout: float = 60.0, **kwargs: Any) -> dict:
    """Check plan ``name`` with ``kwargs`` in the worker, then add it to the queue.

    ``api`` is a ``bluesky_queueserver_api.zmq.REManagerAPI``. Raises
    :class:`PlanRefusedError` with the plan's ``PlanArgumentError`` message (or the queue
    server's validation message); returns the queue server's answer to ``item_add``.
    """
    from bluesky_queueserver_api import BFunc, BPlan

    response = api.function_execute(BFunc(CHECK_FUNCTION, name, kwargs), run_in_background=True)
    task = response["task_uid"]
    api.wait_for_completed_task(task, timeout=timeout)
    result = api.task_result(task)["result"]
    if not result.get("success"):
        raise PlanRefusedError(f"{name}: {_first_line(result.get('msg', ''))}")
    if result["return_value"]:
        raise PlanRefusedError(f"{name}: {result['return_value']}")
    try:
        return api.item_add(BPlan(name, **kwargs))
    except Exception as err:
        raise PlanRefusedError(f"{name}: {_first_line(str(err))}") from err


def _first_line(message: str) -> str:
    """The line of a queue server error that says what is wrong."""
    return next((line.strip() for line in message.splitlines() if line.strip()), message)
