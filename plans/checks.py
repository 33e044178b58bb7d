"""Checks a plan makes before anything moves; each error names the argument and the limit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import Msg, MsgGenerator

from ._patterns import energy_points


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
    """All ``positions`` inside ``motor.limits`` (a motor without limits reports (0, 0)).

    The limits come with the motor's connection (its channels' metadata); a motor not
    connected has none to check, and moving it fails naming it.
    """
    values = np.asarray(list(positions), dtype=float)
    if not getattr(motor, "connected", True):
        return
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


def check_polarizations(epu_polarization, polarizations: Sequence[str]) -> None:
    """Every polarization is a mode the EPU can do (its Polarization PV's choices).

    The choices come with the PV's connection; before it connects they are unknown and
    the IOC refuses a mode it cannot do when the plan sets it.
    """
    if not polarizations:
        raise PlanArgumentError("polarizations: give at least one")
    choices = epu_polarization.enum_strs
    for polarization in polarizations:
        if choices is not None:
            check_choice(polarization, choices, "polarizations")


def check_energies(beamline, energies: np.ndarray, argument: str) -> MsgGenerator:
    """Plan stub: mono range, and zone-plate Z range for keeping focus at every energy.

    The focus follows the installed zone plate (A1·E + offset, as ``FocusedEnergy``),
    read when the plan runs.
    """
    check_within_limits(beamline.energy.mono, energies, argument)
    a1 = float((yield from bps.rd(beamline.energy.a1)))
    offset = float((yield from bps.rd(beamline.energy.focus_offset)))
    focus = [a1 * float(e) + offset for e in (energies.min(), energies.max())]
    check_within_limits(beamline.zoneplate.z, focus, f"{argument} (zone-plate Z keeping focus)")


def check_energy_regions(energy_regions: Sequence[tuple[float, float, int]]) -> np.ndarray:
    """Energy regions ``(start eV, stop eV, npoints)``: at least one, whole counts ≥ 1."""
    if not energy_regions:
        raise PlanArgumentError("energy_regions: no energies")
    for i, (_, _, npoints) in enumerate(energy_regions):
        check_count(npoints, f"energy_regions[{i}] npoints")
    return energy_points(list(energy_regions))


#: What a rehearsal lets a plan do: read the hardware and mark checkpoints.
_REHEARSED = {"read", "locate", "null", "checkpoint", "clear_checkpoint"}


def rehearse(plan: MsgGenerator) -> None:
    """Run ``plan``'s checks against the hardware with nothing moved or written.

    A plan reads what it needs (energy, limits, velocities) and checks its arguments
    before anything moves; a rehearsal answers those reads from the devices and ends at
    the first message that would act (open a run, stage, set, trigger), so a
    ``PlanArgumentError`` it raises on the way is the one the plan would raise when run.
    For a queue or a user interface that wants the refusal before the plan is queued.
    """
    reply = None
    try:
        while True:
            msg: Msg = plan.send(reply)
            if msg.command not in _REHEARSED:
                return
            if msg.command == "read":
                reply = msg.obj.read()
            elif msg.command == "locate":
                reply = msg.obj.locate()
            else:
                reply = None
    except StopIteration:
        return
    finally:
        try:
            plan.close()
        except RuntimeError:  # a cleanup wrapper that would yield its undo messages
            pass
