"""Checks a plan makes before anything moves; each error names the argument and the limit."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class PlanArgumentError(ValueError):
    """A plan argument that cannot be run (the message says which, and why)."""


def check_count(value: int, argument: str) -> int:
    """A number of points: a whole number ≥ 1."""
    if int(value) != value or value < 1:
        raise PlanArgumentError(f"{argument} must be a whole number ≥ 1, got {value!r}")
    return int(value)


def check_dwell(dwell_ms: float, argument: str = "dwell_ms") -> float:
    """A dwell time in ms: positive."""
    if not dwell_ms > 0:
        raise PlanArgumentError(f"{argument} must be > 0 ms, got {dwell_ms!r}")
    return float(dwell_ms)


def check_within_limits(motor, positions: Iterable[float], argument: str) -> None:
    """All ``positions`` inside ``motor.limits`` (a motor without limits reports (0, 0))."""
    values = np.asarray(list(positions), dtype=float)
    low, high = motor.limits
    if low == high or values.size == 0:
        return
    lowest, highest = float(values.min()), float(values.max())
    if lowest < low or highest > high:
        units = getattr(motor, "egu", "")
        raise PlanArgumentError(
            f"{argument}: {lowest:g}…{highest:g} {units} reaches outside the limits of "
            f"{motor.name} ({low:g}…{high:g} {units})"
        )


def check_choice(value: str, allowed: Iterable[str], argument: str) -> str:
    """One of ``allowed`` (e.g. the EPU's polarization modes)."""
    allowed = list(allowed)
    if value not in allowed:
        raise PlanArgumentError(f"{argument}={value!r} is not one of {', '.join(allowed)}")
    return value
