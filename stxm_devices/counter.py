"""The point detector ``counter0`` (the counter IOC)."""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO
from ophyd.status import Status

from .channel_access import (
    CleanUnstage,
    GuardedSignal,
    NamedIocErrors,
    fresh_read,
    guard_status,
    naming_the_ioc,
    settle_status,
)
from .motor import StxmMotor


class CounterMode(enum.StrEnum):
    """Acquisition modes of the counter (its Mode PV's enum strings)."""

    SINGLE = "Single"
    LINE = "Line"
    STEP_LINE = "StepLine"


#: Modes in which one trigger acquires a whole row (one event per row).
ROW_MODES = frozenset({CounterMode.LINE.value, CounterMode.STEP_LINE.value})


class CounterError(RuntimeError):
    """The counter IOC refused or failed an acquisition (its Message_RBV says why)."""


class PointCounter(NamedIocErrors, CleanUnstage, Device):
    """Photon counter: one dwell per trigger (Single) or a whole row (Line, StepLine).

    In Line mode a trigger arms a line of ``line_points`` dwells that starts when the
    fine X stage starts moving (``line_trigger`` FineXMotion; the plan triggers, then
    starts the move) or at once (Immediate); the reading then holds the counts
    waveform and the measured X of each point, one event per row as pyStxm records it.

    In StepLine mode a trigger runs a hardware-timed step row in the IOC: for each of
    ``line_points`` targets ``line_start`` + i·``line_step`` fine X moves, settles
    (``settle_time``), is checked within ``settle_tolerance`` of the target, and one
    dwell is counted with the stage still — no client round trip per point.  The
    reading is Line mode's (counts waveform, measured X per point); ``step_line_settings``
    gives the settings for a row of given X positions.

    A trigger's status fails when the counter IOC disconnects (at once, naming the PV)
    or when the line / dwell has not finished ``acquire_timeout_margin_s`` after it
    should have, so a scan never waits for a counter that is gone.

    Attributes
    ----------
    counts : counts of the last trigger (Line: the line's total) — NXstxm counter0/data
    dwell : dwell per point, ms (NXstxm count_time, in s)
    mode : Single | Line
    line_points : points per line
    line_trigger : FineXMotion | Immediate — what starts an armed line
    line_start, line_step : StepLine: fine X of the first point and the step, µm
    settle_time : StepLine: wait after each move before counting, ms
    settle_tolerance : StepLine: largest distance from a point's target to count at, µm
    x, y : the detector's stage, µm (detector images)
    line_counts : counts per point of the last line (Line mode only)
    line_positions : measured fine X per point, µm (Line mode only)
    """

    counts = Cpt(EpicsSignalRO, "Counts_RBV", kind="hinted", auto_monitor=True)
    line_counts = Cpt(EpicsSignalRO, "LineCounts_RBV", kind="normal", auto_monitor=True)
    line_positions = Cpt(EpicsSignalRO, "LinePositions_RBV", kind="normal", auto_monitor=True)
    dwell = Cpt(GuardedSignal, "DwellTime", kind="config", put_complete=True, auto_monitor=True)
    mode = Cpt(
        GuardedSignal, "Mode", string=True, kind="config", put_complete=True, auto_monitor=True
    )
    line_points = Cpt(
        GuardedSignal, "LinePoints", kind="config", put_complete=True, auto_monitor=True
    )
    line_trigger = Cpt(
        GuardedSignal,
        "LineTrigger",
        string=True,
        kind="config",
        put_complete=True,
        auto_monitor=True,
    )
    line_start = Cpt(
        GuardedSignal, "LineStart", kind="config", put_complete=True, auto_monitor=True
    )
    line_step = Cpt(GuardedSignal, "LineStep", kind="config", put_complete=True, auto_monitor=True)
    settle_time = Cpt(
        GuardedSignal, "SettleTime", kind="config", put_complete=True, auto_monitor=True
    )
    settle_tolerance = Cpt(
        GuardedSignal, "SettleTolerance", kind="config", put_complete=True, auto_monitor=True
    )
    noise = Cpt(
        GuardedSignal, "Noise", string=True, kind="config", put_complete=True, auto_monitor=True
    )
    acquire = Cpt(EpicsSignal, "Acquire", put_complete=True, kind="omitted")
    x = Cpt(StxmMotor, "DetX", kind="config")
    y = Cpt(StxmMotor, "DetY", kind="config")
    message = Cpt(EpicsSignalRO, "Message_RBV", string=True, kind="omitted")

    _line_only = ("line_counts", "line_positions")
    #: Seconds allowed beyond the acquisition's own duration before a trigger times out.
    acquire_timeout_margin_s = 5.0
    #: How long the IOC waits for fine X motion after arming a line (its MOTION_WAIT_S).
    motion_wait_s = 5.0
    #: Seconds allowed per point of a step line for its move (beyond dwell and settle).
    step_move_allowance_s = 0.05

    @property
    def in_line_mode(self) -> bool:
        """Whether a trigger acquires a whole row (Line or StepLine)."""
        return self.mode.get() in ROW_MODES

    def step_line_settings(
        self, x_points_um: Sequence[float], dwell_ms: float, settle_ms: float | None = 0.0
    ) -> dict:
        """Signal → value for a hardware-timed step row at ``x_points_um`` (evenly spaced).

        For ``bps.mv`` (or ``configured``); then each ``trigger`` runs one row.
        ``settle_ms`` None leaves SettleTime as the beamline configured it.
        """
        points = np.asarray(x_points_um, dtype=float)
        step = float(points[1] - points[0]) if points.size > 1 else 0.0
        if points.size > 1 and not np.allclose(np.diff(points), step, rtol=0, atol=1e-6):
            raise ValueError("a step line's X positions must be evenly spaced")
        return {
            self.mode: CounterMode.STEP_LINE.value,
            self.line_start: float(points[0]),
            self.line_step: step,
            self.line_points: int(points.size),
            self.dwell: float(dwell_ms),
        } | ({} if settle_ms is None else {self.settle_time: float(settle_ms)})

    def trigger(self) -> Status:
        """Acquire once; the status finishes when the IOC's put-callback completes.

        It fails with the IOC's Message_RBV if the IOC refused, with
        ``IocDisconnectedError`` if the counter IOC went away, and with
        ``IocTimeoutError`` after points × dwell (+ the motion wait in Line mode, + settle
        and a move allowance per point in StepLine mode) + margin.
        """
        mode = self.mode.get()
        points = int(self.line_points.get()) if mode in ROW_MODES else 1
        timeout = points * float(self.dwell.get()) / 1000.0 + self.acquire_timeout_margin_s
        if mode == CounterMode.LINE.value:
            timeout += self.motion_wait_s
        elif mode == CounterMode.STEP_LINE.value:
            per_point = float(self.settle_time.get()) / 1000.0 + self.step_move_allowance_s
            timeout += points * per_point
        status = Status(self)

        def check() -> None:
            # A fresh read: a monitor update may trail the put's completion.
            try:  # a get on a channel whose IOC just died names nothing: name the IOC
                with naming_the_ioc(self.prefix, f"{self.name} read {self.message.pvname}"):
                    message = fresh_read(self.message)
            except Exception as error:  # noqa: BLE001 - the status carries it to the plan
                settle_status(status, error)
                return
            if message:
                settle_status(status, CounterError(f"{self.prefix}Acquire: {message}"))
            else:
                settle_status(status)

        def finished(*args, **kwargs) -> None:
            # Not in the CA callback itself: a get there cannot be answered.
            threading.Thread(target=check, daemon=True).start()

        guard_status(
            status,
            [self.acquire, self.message],
            timeout=timeout,
            action=f"{self.name} acquiring {points} point(s) of {self.dwell.get()} ms",
        )
        if not status.done:
            self.acquire.put(1, use_complete=True, callback=finished)
        return status

    def _without_line_keys(self, mapping: dict) -> dict:
        if self.in_line_mode:
            return mapping
        drop = {getattr(self, attr).name for attr in self._line_only}
        return {key: value for key, value in mapping.items() if key not in drop}

    @property
    def hints(self) -> dict:
        """The image field: the counts waveform in Line mode, the counts otherwise."""
        field = self.line_counts if self.in_line_mode else self.counts
        return {"fields": [field.name]}

    def read(self) -> dict:
        return self._without_line_keys(super().read())

    def describe(self) -> dict:
        return self._without_line_keys(super().describe())
