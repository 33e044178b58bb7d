"""Where the beam hits the sample: positions an IOC needs from the other IOCs.

A detector IOC (counter, area detector) and the zone-plate IOC need positions served
by other IOCs.  Hosted in one process they read the motor trajectories directly
(:class:`LocalPositions`, exact at any time); running alone they follow the other IOCs
over Channel Access (:class:`ChannelAccessPositions`, monitors interpolated in time),
as a real IOC would.  :func:`beam_state` turns either into a physics ``BeamState``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import deque
from collections.abc import Mapping
from typing import Protocol

import numpy as np
from caproto import ChannelType
from caproto.server import PVGroup

from .physics import BeamState
from .prefixes import subsystem_prefix

#: Moving axes: name → (IOC, attribute of that IOC's PVGroup, PV suffix of the motor).
MOTOR_AXES: dict[str, tuple[str, str, str]] = {
    "fine_x": ("stage", "fine_x", "FineX"),
    "fine_y": ("stage", "fine_y", "FineY"),
    "coarse_x": ("stage", "coarse_x", "CoarseX"),
    "coarse_y": ("stage", "coarse_y", "CoarseY"),
    "sample_z": ("stage", "sample_z", "Z"),
    "goni_x": ("stage", "goni_x", "GoniX"),
    "goni_y": ("stage", "goni_y", "GoniY"),
    "goni_z": ("stage", "goni_z", "GoniZ"),
    "goni_theta": ("stage", "goni_theta", "GoniTheta"),
    "osa_x": ("osa", "x", "X"),
    "osa_y": ("osa", "y", "Y"),
    "zp_z": ("zoneplate", "z", "Z"),
    "energy": ("energy", "energy", "Energy"),
}

#: Settings that do not move: name → (IOC, attribute, PV suffix).
SETTINGS: dict[str, tuple[str, str, str]] = {
    "zp_index": ("zoneplate", "index", "Index"),
    "polarization": ("energy", "polarization", "Polarization"),
    "ring_current": ("energy", "ring_current", "RingCurrent"),
}


class PositionReader(Protocol):
    """What an IOC needs to know of the others."""

    #: Whether the stage's controller is in this process (whole images flown in-process).
    controls_motion: bool

    def position(self, axis: str, times: float | np.ndarray) -> np.ndarray: ...

    def setting(self, name: str) -> object: ...

    def motion_started_after(self, axis: str, t: float) -> float | None:
        """Start time of a move of ``axis`` begun after ``t``, if any.

        A controller's profile (a fly raster) counts the moves its motion output fires
        at (each row's fly), which a standalone IOC following MOVN over Channel Access
        sees as one move.
        """
        ...

    async def move(self, axis: str, target: float) -> float:
        """Move ``axis`` to ``target`` (a controller's own move); when it arrived (monotonic).

        Returns once the move is done (DMOV).
        """
        ...

    async def step_through(self, axis: str, targets: np.ndarray, hold: float) -> np.ndarray:
        """Move ``axis`` through ``targets``, holding ``hold`` s at each; the arrival times.

        Returns once the axis arrived at the last target (its hold not yet waited).
        """
        ...


class LocalPositions:
    """Positions straight from the motor trajectories of IOCs in this process."""

    controls_motion = True

    def __init__(self, groups: Mapping[str, PVGroup]) -> None:
        self.groups = groups

    def _motor(self, axis: str):
        ioc, attribute, _ = MOTOR_AXES[axis]
        return getattr(self.groups[ioc], attribute)

    def position(self, axis: str, times: float | np.ndarray) -> np.ndarray:
        ioc, attribute, _ = MOTOR_AXES[axis]
        return getattr(self.groups[ioc], attribute).position_at(times)

    def setting(self, name: str) -> object:
        ioc, attribute, _ = SETTINGS[name]
        return getattr(self.groups[ioc], attribute).value

    def motion_started_after(self, axis: str, t: float) -> float | None:
        ioc, attribute, _ = MOTOR_AXES[axis]
        triggers = getattr(self.groups[ioc], attribute).trajectory.trigger_times
        return next((start for start in triggers if start > t), None)

    async def move(self, axis: str, target: float) -> float:
        ioc, attribute, _ = MOTOR_AXES[axis]
        motor = getattr(self.groups[ioc], attribute)
        await motor.motor.write(target)  # completes with DMOV
        return min(motor.trajectory.end_time, motor.clock())

    async def step_through(self, axis: str, targets: np.ndarray, hold: float) -> np.ndarray:
        """The stage's controller runs the whole sequence (no record put per point)."""
        ioc, attribute, _ = MOTOR_AXES[axis]
        return await getattr(self.groups[ioc], attribute).step_through(targets, hold)

    def motion_settings(self, axis: str) -> dict[str, float]:
        """The velocity, accel_time and base_velocity ``axis`` moves with."""
        return self._motor(axis).motion_settings()

    async def follow(self, axis: str, moves: list) -> None:
        """The controller runs ``moves`` (Trajectory, user units) on ``axis``; returns at once."""
        await self._motor(axis).follow(moves)

    async def stop(self, axis: str) -> None:
        """Stop ``axis`` where it is (a controller's abort)."""
        await self._motor(axis).stop_motion(keep_target=False)


class ChannelAccessPositions:
    """Positions followed over Channel Access (monitors), interpolated in time.

    ``prefixes`` maps IOC name (stage, osa, zoneplate, energy) to its PV prefix; only
    the axes of those IOCs are followed.  Call :meth:`connect` from the IOC's event
    loop (a startup hook) before use.
    """

    controls_motion = False

    #: Monitor updates kept per axis: a whole step row (up to 4096 points, a few RBV
    #: updates each) is looked up once it is over.
    HISTORY = 16384

    def __init__(self, prefixes: Mapping[str, str], history: int = HISTORY) -> None:
        self.prefixes = dict(prefixes)
        self._history: dict[str, deque[tuple[float, float]]] = {}
        self._settings: dict[str, object] = {}
        self._motion_starts: dict[str, deque[float]] = {}
        self._history_length = history
        self._subscriptions: list = []

    def _names(self) -> dict[str, str]:
        """PV name → which record of ours it feeds ("history:", "moving:", "setting:")."""
        names = {}
        for axis, (ioc, _, suffix) in MOTOR_AXES.items():
            if ioc in self.prefixes:
                names[f"{self.prefixes[ioc]}{suffix}.RBV"] = f"history:{axis}"
                # MOVN, not DMOV: a SET-mode redefinition drops DMOV without any motion.
                names[f"{self.prefixes[ioc]}{suffix}.MOVN"] = f"moving:{axis}"
        for name, (ioc, _, suffix) in SETTINGS.items():
            if ioc in self.prefixes:
                names[f"{self.prefixes[ioc]}{suffix}"] = f"setting:{name}"
        return names

    async def connect(self, timeout: float = 10.0) -> None:
        from caproto.asyncio.client import Context

        self._context = Context()
        names = self._names()
        pvs = await self._context.get_pvs(*names, timeout=timeout)
        for pv, target in zip(pvs, names.values(), strict=True):
            await asyncio.wait_for(pv.wait_for_connection(), timeout)
            kind, key = target.split(":", 1)
            if kind == "history":
                self._history[key] = deque(maxlen=self._history_length)
            elif kind == "moving":
                self._motion_starts[key] = deque(maxlen=16)
            # Settings as strings: enum names (polarization), not their indices.
            data_type = ChannelType.STRING if kind == "setting" else "native"
            subscription = pv.subscribe(data_type=data_type)
            callback = self._callback(kind, key)
            subscription.add_callback(callback)
            # caproto holds callbacks weakly: keep them (and the subscriptions) alive.
            self._subscriptions.append((subscription, callback))

    def _callback(self, kind: str, key: str):
        async def on_update(subscription, response) -> None:
            value = response.data[0]
            now = time.monotonic()
            if kind == "history":
                self._history[key].append((now, float(value)))
            elif kind == "moving":
                if value == 1:
                    self._motion_starts[key].append(now)
                    history = self._history.get(key)
                    if history:  # the axis sat still until now: anchor interpolation
                        history.append((now, history[-1][1]))
            else:
                self._settings[key] = value.decode() if isinstance(value, bytes) else value

        return on_update

    def position(self, axis: str, times: float | np.ndarray) -> np.ndarray:
        history = self._history.get(axis)
        if not history:
            return np.zeros(np.shape(times))
        stamps, values = zip(*history, strict=True)
        return np.interp(times, stamps, values)

    def setting(self, name: str) -> object:
        return self._settings[name]

    def motion_started_after(self, axis: str, t: float) -> float | None:
        return next((start for start in self._motion_starts.get(axis, ()) if start > t), None)

    async def move(self, axis: str, target: float, timeout: float = 60.0) -> float:
        ioc, _, suffix = MOTOR_AXES[axis]
        (pv,) = await self._context.get_pvs(f"{self.prefixes[ioc]}{suffix}", timeout=timeout)
        await pv.write([target], wait=True, timeout=timeout)  # completes with DMOV
        return time.monotonic()

    async def step_through(self, axis: str, targets: np.ndarray, hold: float) -> np.ndarray:
        """A put to the motor record per target (the stage's IOC is another process)."""
        arrivals = []
        for index, target in enumerate(targets):
            if index:
                await asyncio.sleep(max(0.0, arrivals[-1] + hold - time.monotonic()))
            arrivals.append(await self.move(axis, float(target)))
        return np.array(arrivals)


def beam_state(reader: PositionReader, times: float | np.ndarray) -> BeamState:
    """The physics ``BeamState`` at ``times`` (arrays give a line of states)."""
    times = np.asarray(times, dtype=float)

    def at(axis: str) -> np.ndarray:
        return np.asarray(reader.position(axis, times))

    mean_time = float(times.mean()) if times.size else time.monotonic()
    return BeamState(
        energy_ev=float(reader.position("energy", mean_time)),
        zp_z_um=at("zp_z"),
        sample_x_um=at("coarse_x") + at("fine_x") + at("goni_x"),
        sample_y_um=at("coarse_y") + at("fine_y") + at("goni_y"),
        sample_z_um=at("sample_z") + at("goni_z"),
        osa_x_um=at("osa_x"),
        osa_y_um=at("osa_y"),
        theta_deg=float(reader.position("goni_theta", mean_time)),
        polarization=str(reader.setting("polarization")),
        ring_current_ma=float(reader.setting("ring_current")),
        zp_index=int(float(reader.setting("zp_index"))),
    )


#: The IOCs a standalone detector follows over Channel Access, with their default prefixes.
FOLLOWED_IOCS: dict[str, str] = {
    ioc: subsystem_prefix(ioc) for ioc in ("stage", "osa", "zoneplate", "energy")
}


def add_followed_arguments(parser: argparse.ArgumentParser) -> None:
    """``--<ioc>-prefix`` for each IOC of FOLLOWED_IOCS (a standalone IOC's options)."""
    for ioc, default in FOLLOWED_IOCS.items():
        parser.add_argument(
            f"--{ioc}-prefix",
            default=default,
            help=f"prefix of the {ioc} IOC to follow over Channel Access",
        )


def followed_positions(args: argparse.Namespace) -> ChannelAccessPositions:
    """Positions followed over Channel Access at the prefixes ``args`` name."""
    return ChannelAccessPositions({ioc: getattr(args, f"{ioc}_prefix") for ioc in FOLLOWED_IOCS})
