"""The point detector ``counter0`` (the counter IOC)."""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Sequence

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal, EpicsSignalRO, Signal
from ophyd.status import Status

from .channel_access import (
    CleanUnstage,
    GuardedSignal,
    NamedIocErrors,
    fresh_read,
    guard_status,
    settle_status,
)
from .motor import StxmMotor

logger = logging.getLogger(__name__)


class CounterMode(enum.StrEnum):
    """Acquisition modes of the counter (its Mode PV's enum strings)."""

    SINGLE = "Single"
    LINE = "Line"
    STEP_LINE = "StepLine"
    FLY_IMAGE = "FlyImage"


#: Modes whose reading is a row (one event per row).
ROW_MODES = frozenset(
    {CounterMode.LINE.value, CounterMode.STEP_LINE.value, CounterMode.FLY_IMAGE.value}
)


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

    In FlyImage mode one Acquire flies a whole image in the IOC (``image_rows`` rows
    of fine Y from ``image_y_start`` by ``image_y_step``, each a Line-mode row of fine X
    from ``line_start`` by ``line_step``, ``serpentine`` reversing odd rows), posting
    each row as it ends; :class:`FlyImageRows` follows the rows for a plan.

    A trigger's status fails when the counter IOC disconnects (at once, naming the PV)
    or when the line / dwell has not finished ``acquire_timeout_margin_s`` after it
    should have, so a scan never waits for a counter that is gone.

    Attributes
    ----------
    counts : counts of the last trigger (Line: the line's total) — NXstxm counter0/data
    dwell : dwell per point, ms (NXstxm count_time, in s)
    mode : Single | Line | StepLine | FlyImage
    line_points : points per line
    line_trigger : FineXMotion | Immediate — what starts an armed line
    line_start, line_step : StepLine: fine X of the first point and the step, µm
    settle_time : StepLine: wait after each move before counting, ms
    settle_tolerance : StepLine: largest distance from a point's target to count at, µm
    image_rows, image_y_start, image_y_step, serpentine : FlyImage: the image's rows
    first_row : FlyImage: the row to start from
    row_y, row_index : FlyImage: the last row's measured fine Y and its index
    fly_image : whether FlyImage can run (the stage in the counter's process)
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
    image_rows = Cpt(
        GuardedSignal, "ImageRows", kind="config", put_complete=True, auto_monitor=True
    )
    first_row = Cpt(GuardedSignal, "FirstRow", kind="omitted", put_complete=True)
    image_y_start = Cpt(
        GuardedSignal, "ImageYStart", kind="config", put_complete=True, auto_monitor=True
    )
    image_y_step = Cpt(
        GuardedSignal, "ImageYStep", kind="config", put_complete=True, auto_monitor=True
    )
    serpentine = Cpt(
        GuardedSignal,
        "Serpentine",
        string=True,
        kind="config",
        put_complete=True,
        auto_monitor=True,
    )
    row_y = Cpt(EpicsSignalRO, "RowY_RBV", kind="omitted", auto_monitor=True)
    row_index = Cpt(EpicsSignalRO, "RowIndex_RBV", kind="omitted", auto_monitor=True)
    fly_image = Cpt(EpicsSignalRO, "FlyImage_RBV", string=True, kind="omitted")
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
        if mode == CounterMode.FLY_IMAGE.value:
            points *= int(self.image_rows.get())
        timeout = points * float(self.dwell.get()) / 1000.0 + self.acquire_timeout_margin_s
        if mode == CounterMode.FLY_IMAGE.value:  # a retrace and a Y step per row
            timeout += int(self.image_rows.get()) * self.step_move_allowance_s
        elif mode == CounterMode.LINE.value:
            timeout += self.motion_wait_s
        elif mode == CounterMode.STEP_LINE.value:
            per_point = float(self.settle_time.get()) / 1000.0 + self.step_move_allowance_s
            timeout += points * per_point
        status = Status(self)

        def check() -> None:
            # A fresh read: a monitor update may trail the put's completion.
            try:
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


class _RowView:
    """A device as read when a row was posted: the reading the event of that row holds."""

    def __init__(self, device: Device, rows: FlyImageRows) -> None:
        self._device, self._rows = device, rows

    def read(self) -> dict:
        return self._rows.reading_of(self._device)

    def __getattr__(self, name: str):
        return getattr(self._device, name)


class FlyImageRows:
    """The rows of a FlyImage acquisition, as the controller posts them.

    ``set(row)`` (a plan's ``abs_set``) finishes when that row has been posted, starting
    the controller's acquisition at ``row`` if none is under way (the first row, or a
    resumed scan's); ``stop`` (the RunEngine's, on pause or abort) stops it, so a resume
    restarts the image at the row it redoes.  ``view(counter)`` and ``view(y_motor)``
    read as the row was posted: its counts and measured X, the fine Y measured during
    it (RowY_RBV) with its target ``y_points[row]`` as the setpoint.
    """

    def __init__(self, counter: PointCounter, y_motor: StxmMotor, y_points: np.ndarray) -> None:
        self.counter = counter
        self.name = f"{counter.name}_image_rows"
        self.parent = None
        self._y_motor, self._y_points = y_motor, np.asarray(y_points, dtype=float)
        self._posted: dict[int, dict[int, dict]] = {}
        self._waiting: dict[int, Status] = {}
        self._current = 0
        self._first = 0
        self._acquiring: Status | None = None
        self._posted_at: list[tuple[int, float]] = []
        self._data_signals = (
            counter.line_counts,
            counter.line_positions,
            counter.counts,
            counter.row_y,
        )
        self._data: dict[str, dict] = {}
        self._tokens: list[tuple[Signal, int]] = []
        self._lock = threading.Lock()

    def view(self, device: Device) -> _RowView:
        """``device`` read as it was when the current row was posted."""
        return _RowView(device, self)

    def reading_of(self, device: Device) -> dict:
        return self._posted[self._current][id(device)]

    def _on_row(self, *, value, timestamp, **_) -> None:
        with self._lock:
            self._posted_at.append((int(value), float(timestamp)))
        self._take_rows()

    def _on_data(self, *, obj: Signal, value, timestamp, **_) -> None:
        # The value as this update carried it: a signal's cached value and timestamp
        # are not updated together.
        with self._lock:
            self._data[obj.name] = {"value": value, "timestamp": timestamp}
        self._take_rows()

    def _row_readings(self, row: int) -> dict[int, dict]:
        """The counter's and fine Y's readings of ``row``, from the data it was posted with."""
        counter = self.counter.read()
        counter.update({name: dict(data) for name, data in self._data.items() if name in counter})
        y_motor = self._y_motor.read()
        y_motor[self._y_motor.user_readback.name] = dict(self._data[self.counter.row_y.name])
        setpoint = y_motor[self._y_motor.user_setpoint.name]
        setpoint["value"] = float(self._y_points[row])
        return {id(self.counter): counter, id(self._y_motor): y_motor}

    def _take_rows(self) -> None:
        """Read each posted row once all its data have come.

        Monitors of several PVs may arrive in any order: a row's data are those newer
        than the index posted before it and not newer than its own.
        """
        names = [signal.name for signal in self._data_signals]
        finished = []
        with self._lock:
            while len(self._posted_at) > 1:
                (_, after), (row, at) = self._posted_at[0], self._posted_at[1]
                if row < self._first:  # a restart's "none yet": rows start after it
                    self._posted_at.pop(0)
                    continue
                if any(name not in self._data for name in names):
                    break
                stamps = [self._data[name]["timestamp"] for name in names]
                if any(stamp > at for stamp in stamps):  # already the next row's: lost
                    self._posted_at.pop(0)
                    continue
                if not all(stamp > after for stamp in stamps):
                    break
                self._posted_at.pop(0)
                self._posted[row] = self._row_readings(row)
                finished.append(self._waiting.pop(row, None))
        for status in finished:
            if status is not None:
                settle_status(status)

    def set(self, row: int) -> Status:
        row = self._current = int(row)
        status = Status(self)
        with self._lock:
            if row in self._posted:
                status.set_finished()
                return status
            self._waiting[row] = status
        counter = self.counter
        per_row = int(counter.line_points.get()) * float(counter.dwell.get()) / 1000.0
        guard_status(
            status,
            [counter.acquire, counter.row_index, counter.message],
            timeout=per_row + counter.acquire_timeout_margin_s,
            action=f"{counter.name} flying image row {row}",
        )
        if self._acquiring is None and not status.done:
            self._start(row)
        return status

    def _start(self, row: int) -> None:
        """Start the controller's acquisition at ``row``."""
        self._first = row
        if not self._tokens:
            counter = self.counter
            self._tokens = [
                (counter.row_index, counter.row_index.subscribe(self._on_row, run=False))
            ]
            for signal in self._data_signals:
                self._tokens.append((signal, signal.subscribe(self._on_data, run=False)))
        acquiring = self._acquiring = Status(self)
        counter = self.counter

        def check() -> None:
            try:
                message = fresh_read(counter.message)
            except Exception as error:  # noqa: BLE001 - the waiting rows carry it
                self._fail(error)
                return
            if message:
                self._fail(CounterError(f"{counter.prefix}Acquire: {message}"))
            if self._acquiring is acquiring:
                self._acquiring = None

        def finished(*args, **kwargs) -> None:
            threading.Thread(target=check, daemon=True).start()

        def acquire(first_row: Status) -> None:
            if first_row.success and self._acquiring is acquiring:
                counter.acquire.put(1, use_complete=True, callback=finished)
            elif not first_row.success:
                self._fail(first_row.exception() or CounterError("FirstRow put failed"))

        counter.first_row.set(row).add_callback(acquire)

    def _fail(self, error: Exception) -> None:
        with self._lock:
            waiting, self._waiting = list(self._waiting.values()), {}
        for status in waiting:
            settle_status(status, error)

    def stop(self, *, success: bool = False) -> None:
        """Stop the controller (pause, abort): a later ``set`` restarts it at its row."""
        if self._acquiring is None:
            return
        self._acquiring = None
        if not self.counter.acquire.connected:
            # Its IOC is gone, and the acquisition with it: a put would first wait (in
            # the RunEngine's thread, ~30 s in pyepics) for the channel to come back.
            return
        try:
            self.counter.acquire.put(0)
        except Exception as error:  # noqa: BLE001 - a dead IOC has stopped already
            logger.warning("stopping %s failed: %r", self.counter.name, error)

    def close(self) -> None:
        """Stop following the rows (the image is over)."""
        self.stop()
        for signal, token in self._tokens:
            signal.unsubscribe(token)
        self._tokens = []
