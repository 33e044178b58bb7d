"""Trapezoidal motion profiles, evaluated at any time (no ticks): pure maths, no EPICS."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Trajectory:
    """A point-to-point move from ``start`` to ``target`` beginning at time ``t0``.

    Velocity ramps from ``base_velocity`` to ``velocity`` in ``accel_time`` seconds,
    cruises, and ramps down again (a triangle when the move is too short to cruise).
    """

    start: float
    target: float
    t0: float
    velocity: float
    accel_time: float = 0.0
    base_velocity: float = 0.0

    def __post_init__(self) -> None:
        # A non-finite profile never ends (or ends at NaN): refuse it before any motion.
        numbers = (self.start, self.target, self.t0, self.velocity, self.accel_time)
        if not all(np.isfinite(numbers)) or not np.isfinite(self.base_velocity):
            raise ValueError(f"trajectory with a non-finite number: {self}")
        if self.velocity <= 0 or self.accel_time < 0:
            raise ValueError(f"trajectory needs velocity > 0 and accel_time >= 0: {self}")

    @classmethod
    def at_rest(cls, position: float, t0: float = 0.0) -> Trajectory:
        return cls(start=position, target=position, t0=t0, velocity=1.0)

    @property
    def distance(self) -> float:
        return abs(self.target - self.start)

    @property
    def direction(self) -> int:
        return 1 if self.target >= self.start else -1

    def _profile(self) -> tuple[float, float, float, float]:
        """(ramp time, peak velocity, acceleration, total duration) of the move."""
        v0 = max(0.0, min(self.base_velocity, self.velocity))
        v = max(self.velocity, 1e-12)
        ramp = max(self.accel_time, 0.0)
        if ramp == 0.0 or v == v0:
            return 0.0, v, 0.0, self.distance / v
        accel = (v - v0) / ramp
        ramp_distance = (v0 + v) / 2.0 * ramp
        if self.distance >= 2.0 * ramp_distance:
            return ramp, v, accel, 2.0 * ramp + (self.distance - 2.0 * ramp_distance) / v
        # Triangle: reach the peak velocity at half the distance.
        half = self.distance / 2.0
        t_peak = (-v0 + np.sqrt(v0 * v0 + 2.0 * accel * half)) / accel
        return float(t_peak), v0 + accel * float(t_peak), accel, 2.0 * float(t_peak)

    @property
    def duration(self) -> float:
        return self._profile()[3] if self.distance > 0 else 0.0

    @property
    def end_time(self) -> float:
        return self.t0 + self.duration

    @property
    def trigger_times(self) -> tuple[float, ...]:
        """When the controller's motion output fired: the start of a move that goes somewhere."""
        return (self.t0,) if self.distance > 0 else ()

    def position_at(self, t: float | np.ndarray) -> np.ndarray:
        """Position at time(s) ``t``; before t0 the start, after the end the target."""
        t = np.asarray(t, dtype=float)
        if self.distance == 0:
            return np.full(t.shape, self.target)
        ramp, peak, accel, total = self._profile()
        v0 = peak - accel * ramp
        tau = np.clip(t - self.t0, 0.0, total)
        ramp_distance = v0 * ramp + 0.5 * accel * ramp * ramp
        cruise = total - 2.0 * ramp
        up = v0 * tau + 0.5 * accel * tau * tau
        flat = ramp_distance + peak * (tau - ramp)
        t_down = np.clip(tau - ramp - cruise, 0.0, None)
        down = ramp_distance + peak * cruise + peak * t_down - 0.5 * accel * t_down * t_down
        travelled = np.where(tau < ramp, up, np.where(tau < ramp + cruise, flat, down))
        travelled = np.minimum(travelled, self.distance)
        return self.start + self.direction * travelled


class StepProfile:
    """A controller's own sequence of moves: to each target, hold there, move on.

    Each move is a :class:`Trajectory` starting ``hold`` seconds after the previous
    one arrived (the settle and dwell of a point-by-point line, as a PI E-712 wave
    table runs it).  It answers what a single ``Trajectory`` does, so a motor follows
    it like any move.
    """

    def __init__(self, moves: list[Trajectory], triggers: Sequence[int] | None = None) -> None:
        if not moves:
            raise ValueError("a step profile needs at least one move")
        self.moves = moves
        self._t0s = np.array([move.t0 for move in moves])
        self._ends = np.array([move.end_time for move in moves])
        #: The moves whose start fires the motion output (default: every real move).
        self.triggers = (
            [k for k, move in enumerate(moves) if move.distance > 0]
            if triggers is None
            else list(triggers)
        )

    @classmethod
    def through(
        cls, start: float, targets: np.ndarray, t0: float, hold: float, **motion: float
    ) -> StepProfile:
        """Moves from ``start`` through ``targets`` from ``t0``, holding ``hold`` s at each.

        ``motion``: the moves' velocity, accel_time and base_velocity.
        """
        moves = []
        here, when = start, t0
        for target in np.asarray(targets, dtype=float):
            move = Trajectory(start=here, target=float(target), t0=when, **motion)
            moves.append(move)
            here, when = float(target), move.end_time + hold
        return cls(moves)

    @property
    def trigger_times(self) -> tuple[float, ...]:
        return tuple(float(self._t0s[k]) for k in self.triggers)

    @property
    def arrivals(self) -> np.ndarray:
        """When the axis arrived at each target."""
        return self._ends.copy()

    @property
    def start(self) -> float:
        return self.moves[0].start

    @property
    def target(self) -> float:
        return self.moves[-1].target

    @property
    def t0(self) -> float:
        return self.moves[0].t0

    @property
    def distance(self) -> float:
        return sum(move.distance for move in self.moves)

    @property
    def direction(self) -> int:
        return 1 if self.target >= self.start else -1

    @property
    def duration(self) -> float:
        return self.end_time - self.t0

    @property
    def end_time(self) -> float:
        return float(self._ends[-1])

    def position_at(self, t: float | np.ndarray) -> np.ndarray:
        """Position at time(s) ``t``: along the move under way, or held at its target."""
        t = np.asarray(t, dtype=float)
        which = np.clip(np.searchsorted(self._t0s, t, side="right") - 1, 0, len(self.moves) - 1)
        out = np.empty(t.shape)
        for index in np.unique(which):
            mask = which == index
            out[mask] = self.moves[int(index)].position_at(t[mask])
        return out


@dataclass(frozen=True)
class Axis:
    """An axis's own motion settings (VELO, ACCL, VBAS) and where it is."""

    position: float
    velocity: float
    accel_time: float
    base_velocity: float = 0.0

    def move(self, start: float, target: float, t0: float, velocity: float | None = None):
        return Trajectory(
            start=start,
            target=target,
            t0=t0,
            velocity=self.velocity if velocity is None else velocity,
            accel_time=self.accel_time,
            base_velocity=self.base_velocity,
        )


def fly_raster(
    x: Axis,
    y: Axis,
    x_starts: np.ndarray,
    x_stops: np.ndarray,
    ys: np.ndarray,
    fly_velocity: float,
    t0: float,
) -> tuple[StepProfile, StepProfile]:
    """A whole fly raster as a controller runs it from one start: (X profile, Y profile).

    Row k: X and Y go to (``x_starts[k]``, ``ys[k]``) at their own velocities, then X
    flies to ``x_stops[k]`` at ``fly_velocity`` (from rest, with its ACCL and VBAS, as a
    move of the motor record would); the next row begins when the fly has ended.  The
    X profile's motion output fires at each fly's start (a row's trigger), not at the
    repositioning moves.
    """
    x_moves, y_moves, triggers = [], [], []
    here_x, here_y, when = x.position, y.position, t0
    for start, stop, row_y in zip(x_starts, x_stops, ys, strict=True):
        to_start = x.move(here_x, float(start), when)
        to_row = y.move(here_y, float(row_y), when)
        begin = max(to_start.end_time, to_row.end_time)
        fly = x.move(float(start), float(stop), begin, fly_velocity)
        triggers.append(len(x_moves) + 1)
        x_moves += [to_start, fly]
        y_moves.append(to_row)
        here_x, here_y, when = float(stop), float(row_y), fly.end_time
    return StepProfile(x_moves, triggers), StepProfile(y_moves, [])
