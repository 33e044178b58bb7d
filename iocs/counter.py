"""Point-detector IOC ``counter0``: transmitted-photon counts from the physics model."""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np
from caproto.server import PVGroup, SubGroup, pvproperty

from .motion import Trajectory
from .motor_record import SimMotor
from .physics import StxmModel
from .positions import (
    ChannelAccessPositions,
    PositionReader,
    add_followed_arguments,
    beam_state,
    followed_positions,
)
from .prefixes import subsystem_prefix
from .refusal import (
    CheckedEnum,
    RangedInteger,
    message_pvproperty,
    ranged_pvproperty,
    refusal,
)
from .runner import run_standalone

MAX_LINE_POINTS = 4096
#: How long an armed line waits for fine X to start moving.
MOTION_WAIT_S = 5.0
#: DwellTime's range (DRVL..DRVH), ms: 1 µs to a minute per point.
DWELL_RANGE_MS = (0.001, 60000.0)
#: Range of a step line's start and step, µm (the stage's own limits apply too).
STEP_RANGE_UM = (-10000.0, 10000.0)
#: SettleTime's range, ms.
SETTLE_RANGE_MS = (0.0, 10000.0)
#: SettleTolerance's range, µm.
TOLERANCE_RANGE_UM = (1e-6, 100.0)


class CounterIOC(PVGroup):
    """Point-detector IOC ``counter0``: transmitted-photon counts from the physics model.

    PVs::

        <prefix>DwellTime          dwell per point, ms (DWELL_RANGE_MS; else refused)
        <prefix>Mode               Single | Line | StepLine | FlyImage
        <prefix>Acquire            Done | Acquire; put-callback completes when data are ready
        <prefix>Counts_RBV         counts of the last acquisition (Line: the line's total)
        <prefix>LinePoints         points per line, 1…MAX_LINE_POINTS
        <prefix>LineTrigger        FineXMotion | Immediate: when an armed line starts
        <prefix>LineStart          StepLine, FlyImage: fine X of the first point, µm
        <prefix>LineStep           StepLine, FlyImage: fine X step between points, µm
        <prefix>SettleTime         StepLine: wait after each move before counting, ms
        <prefix>SettleTolerance    StepLine: how far from its target fine X may count, µm
        <prefix>LineCounts_RBV     Line mode: counts per point (waveform)
        <prefix>LinePositions_RBV  Line mode: fine-X position measured at each point, µm
        <prefix>ImageRows          FlyImage: rows of the image
        <prefix>FirstRow           FlyImage: the row to start from (a resumed scan's)
        <prefix>ImageYStart        FlyImage: fine Y of row 0, µm
        <prefix>ImageYStep         FlyImage: fine Y step between rows, µm
        <prefix>Serpentine         FlyImage: Off | On (odd rows flown from +X to -X)
        <prefix>RowY_RBV           FlyImage: fine Y measured during the last row, µm
        <prefix>RowIndex_RBV       FlyImage: the last row published (-1: none yet)
        <prefix>FlyImage_RBV       Unavailable | Available: the stage is in this process
        <prefix>Noise              Off | On: Poisson noise (Off gives expectation values)
        <prefix>Message_RBV        last error, empty when fine
        <prefix>DetX <prefix>DetY  the detector's stage (motor records, µm; 0,0 on the beam)

    Line mode acquires ``LinePoints`` consecutive dwells while the fine X stage flies
    and reports where X was at each one, as pyStxm's line scans do.  Like a counter
    gated by the piezo controller, an armed line (Acquire) starts when fine X starts
    moving (``LineTrigger`` FineXMotion, the default; the client arms, then starts the
    move) or at once (Immediate).  Running alone, the counter follows the stage, OSA,
    zone-plate and energy IOCs over Channel Access.

    FlyImage mode lets the stage's controller time a whole image on one Acquire: from
    ``FirstRow`` on, fine Y steps to each row, fine X flies it (one dwell per point,
    retraced at the travel velocity, or reversed on odd rows when ``Serpentine``) and
    each row's LineCounts/LinePositions/RowY are posted, then ``RowIndex_RBV``, while
    the stage already moves to the next row.
    Only with the stage in this process (``FlyImage_RBV``); Acquire=Done stops it.
    """

    dwell = ranged_pvproperty(
        "DwellTime", 1.0, *DWELL_RANGE_MS, units="ms", doc="Dwell time per point"
    )
    mode = pvproperty(
        name="Mode",
        value="Single",
        dtype=CheckedEnum,
        enum_strings=("Single", "Line", "StepLine", "FlyImage"),
        doc="Acquisition mode",
    )
    acquire = pvproperty(
        name="Acquire",
        value="Done",
        dtype=CheckedEnum,
        enum_strings=("Done", "Acquire"),
        doc="Start an acquisition",
    )
    counts = pvproperty(name="Counts_RBV", value=0, read_only=True, doc="Counts")
    line_points = pvproperty(
        name="LinePoints",
        value=100,
        dtype=RangedInteger,
        lower_ctrl_limit=1,
        upper_ctrl_limit=MAX_LINE_POINTS,
        doc="Points per line",
    )
    line_counts = pvproperty(
        name="LineCounts_RBV",
        value=[0],
        max_length=MAX_LINE_POINTS,
        dtype=int,
        read_only=True,
        doc="Counts per point of the line",
    )
    line_positions = pvproperty(
        name="LinePositions_RBV",
        value=[0.0],
        max_length=MAX_LINE_POINTS,
        dtype=float,
        read_only=True,
        units="um",
        precision=4,
        doc="Measured fine X per point",
    )
    line_trigger = pvproperty(
        name="LineTrigger",
        value="FineXMotion",
        dtype=CheckedEnum,
        enum_strings=("FineXMotion", "Immediate"),
        doc="What starts an armed line",
    )
    line_start = ranged_pvproperty(
        "LineStart", 0.0, *STEP_RANGE_UM, units="um", doc="StepLine: fine X of the first point"
    )
    line_step = ranged_pvproperty(
        "LineStep", 0.1, *STEP_RANGE_UM, units="um", doc="StepLine: fine X step"
    )
    settle_time = ranged_pvproperty(
        "SettleTime", 0.0, *SETTLE_RANGE_MS, units="ms", doc="StepLine: settle after each move"
    )
    settle_tolerance = ranged_pvproperty(
        "SettleTolerance",
        0.005,
        *TOLERANCE_RANGE_UM,
        units="um",
        precision=4,
        doc="StepLine: largest distance from the target to count at",
    )
    image_rows = pvproperty(
        name="ImageRows",
        value=1,
        dtype=RangedInteger,
        lower_ctrl_limit=1,
        upper_ctrl_limit=MAX_LINE_POINTS,
        doc="FlyImage: rows of the image",
    )
    first_row = pvproperty(
        name="FirstRow",
        value=0,
        dtype=RangedInteger,
        lower_ctrl_limit=0,
        upper_ctrl_limit=MAX_LINE_POINTS - 1,
        doc="FlyImage: the row to start from",
    )
    image_y_start = ranged_pvproperty(
        "ImageYStart", 0.0, *STEP_RANGE_UM, units="um", doc="FlyImage: fine Y of row 0"
    )
    image_y_step = ranged_pvproperty(
        "ImageYStep", 0.1, *STEP_RANGE_UM, units="um", doc="FlyImage: fine Y step"
    )
    serpentine = pvproperty(
        name="Serpentine",
        value="Off",
        dtype=CheckedEnum,
        enum_strings=("Off", "On"),
        doc="FlyImage: odd rows reversed",
    )
    row_y = pvproperty(
        name="RowY_RBV",
        value=0.0,
        read_only=True,
        units="um",
        precision=4,
        doc="FlyImage: fine Y during the last row",
    )
    row_index = pvproperty(
        name="RowIndex_RBV", value=-1, read_only=True, doc="FlyImage: last row published"
    )
    fly_image = pvproperty(
        name="FlyImage_RBV",
        value="Unavailable",
        dtype=CheckedEnum,
        enum_strings=("Unavailable", "Available"),
        read_only=True,
        doc="Whether FlyImage can run (the stage in this process)",
    )
    noise = pvproperty(
        name="Noise",
        value="On",
        dtype=CheckedEnum,
        enum_strings=("Off", "On"),
        doc="Poisson noise",
    )
    message = message_pvproperty()
    x = SubGroup(
        SimMotor,
        prefix="DetX",
        limits=(-5000.0, 5000.0),
        velocity=2000.0,
        acceleration=0.05,
        description="Detector X",
    )
    y = SubGroup(
        SimMotor,
        prefix="DetY",
        limits=(-5000.0, 5000.0),
        velocity=2000.0,
        acceleration=0.05,
        description="Detector Y",
    )

    def __init__(
        self, *args, model: StxmModel, positions: PositionReader, clock=time.monotonic, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.positions = positions
        self.clock = clock
        # One acquisition at a time: an Acquire put while one runs (a client resuming a
        # paused scan re-triggers the row it abandoned) starts when that one has ended.
        self._acquiring = asyncio.Lock()
        self._image: asyncio.Task | None = None

    @noise.startup
    async def noise(self, instance, async_lib):
        if isinstance(self.positions, ChannelAccessPositions):
            await self.positions.connect()
        await instance.write("On" if self.model.noise else "Off")
        await self.fly_image.write("Available" if self.positions.controls_motion else "Unavailable")

    @noise.putter
    async def noise(self, instance, value):
        self.model.noise = value == "On"
        return value

    @acquire.putter
    async def acquire(self, instance, value):
        if value != "Acquire":
            if self._image is not None:
                self._image.cancel()
            return "Done"
        async with self._acquiring:
            await instance.write("Acquire", verify_value=False)
            try:
                await self._acquire(instance)
            finally:
                await instance.write("Done", verify_value=False)
        return "Done"

    async def _acquire(self, instance) -> None:
        dwell_ms = float(self.dwell.value)
        if self.mode.value == "FlyImage":
            await self._stoppable(self._fly_image(instance, dwell_ms))
            return
        if self.mode.value == "StepLine":
            counts, positions = await self._step_line(instance, dwell_ms)
            await self._publish_line(counts, positions)
            return
        line = self.mode.value == "Line"
        points = int(self.line_points.value) if line else 1
        start = self.clock()
        if line and self.line_trigger.value == "FineXMotion":
            start = await self._fine_x_motion_start(instance, armed_at=start)
        await asyncio.sleep(max(0.0, start + points * dwell_ms / 1000.0 - self.clock()))
        times = start + (np.arange(points) + 0.5) * dwell_ms / 1000.0
        counts = await self._counts(instance, times, dwell_ms)
        if line:
            await self._publish_line(counts, self.positions.position("fine_x", times))
        else:
            await self.counts.write(int(counts.sum()))

    async def _counts(self, instance, times: np.ndarray, dwell_ms: float) -> np.ndarray:
        """Counts of dwells centred on ``times`` (refused, with the reason, if the model cannot)."""
        try:
            state = beam_state(self.positions, times).with_(
                detector_x_um=self.x.position_at(times), detector_y_um=self.y.position_at(times)
            )
            # Off the event loop: the stage's moves and the other PVs go on meanwhile.
            counts = await asyncio.get_running_loop().run_in_executor(
                None, self.model.counts, state, dwell_ms
            )
        except (KeyError, ValueError) as error:
            raise await refusal(instance, self.message, f"acquisition failed: {error}") from error
        return np.atleast_1d(counts).astype(np.int64)

    async def _publish_line(self, counts: np.ndarray, positions: np.ndarray) -> None:
        await self.line_positions.write(positions)
        await self.line_counts.write(counts)
        await self.counts.write(int(counts.sum()))

    async def _step_line(self, instance, dwell_ms: float) -> tuple[np.ndarray, np.ndarray]:
        """Move, settle, check, count, next: the row's counts and measured fine X.

        The stage's controller runs the row (move to each target, hold for the settle
        and the dwell) and gives when it arrived at each point; each dwell starts
        SettleTime after that arrival, as a controller times it, and the counts of every
        dwell come from the model at once when the row is over.
        """
        points = int(self.line_points.value)
        targets = float(self.line_start.value) + float(self.line_step.value) * np.arange(points)
        settle_s = float(self.settle_time.value) / 1000.0
        tolerance = float(self.settle_tolerance.value)
        dwell_s = dwell_ms / 1000.0
        try:
            arrivals = await self.positions.step_through("fine_x", targets, settle_s + dwell_s)
        except ValueError as error:
            raise await refusal(instance, self.message, f"StepLine: fine X {error}") from error
        starts = np.asarray(arrivals) + settle_s
        here = np.asarray(self.positions.position("fine_x", starts))
        off = np.flatnonzero(np.abs(here - targets) > tolerance)
        if off.size:
            index = int(off[0])
            raise await refusal(
                instance,
                self.message,
                f"StepLine: fine X at {here[index]:.4f} um, not within {tolerance} um of "
                f"point {index}'s {targets[index]:.4f} um (outside its limits?)",
            )
        await asyncio.sleep(max(0.0, starts[-1] + dwell_s - self.clock()))
        middles = starts + dwell_s / 2
        counts = await self._counts(instance, middles, dwell_ms)
        return counts, np.asarray(self.positions.position("fine_x", middles), dtype=float)

    async def _stoppable(self, acquisition) -> None:
        """Run ``acquisition`` until it ends or an Acquire=Done put stops it."""
        self._image = asyncio.ensure_future(acquisition)
        try:
            await asyncio.wait({self._image})
        finally:
            task, self._image = self._image, None
            task.cancel()  # a no-op when it ended; else this putter itself was cancelled
        if not task.cancelled():
            task.result()

    def _image_profiles(
        self, first: int, dwell_s: float
    ) -> tuple[list[Trajectory], list[Trajectory], list[Trajectory]]:
        """The controller's wave tables for rows ``first``…: fine X's and fine Y's moves.

        Each row: fine X goes to where the row starts (travel velocity) while fine Y
        steps to the row; then fine X flies it at one step per dwell, one dwell bin per
        point from the start of the move: half a step beyond each end point, shifted
        forward by the distance the axis lags while it accelerates.  Odd rows fly back
        when Serpentine is On.  Returns (X moves, Y moves, each row's flight).
        """
        step = float(self.line_step.value)
        points = float(self.line_start.value) + step * np.arange(int(self.line_points.value))
        x_motion = self.positions.motion_settings("fine_x")
        y_motion = self.positions.motion_settings("fine_y")
        fly_motion = x_motion | {"velocity": abs(step) / dwell_s}
        lag = np.sign(step) * fly_motion["velocity"] * x_motion["accel_time"] / 2.0
        forward = (points[0] - step / 2 + lag, points[-1] + step / 2 + lag)
        backward = (points[-1] + step / 2 - lag, points[0] - step / 2 - lag)
        serpentine = self.serpentine.value == "On"
        t = self.clock()
        x = float(self.positions.position("fine_x", t))
        y = float(self.positions.position("fine_y", t))
        x_moves, y_moves, flights = [], [], []
        for row in range(first, int(self.image_rows.value)):
            start, stop = backward if serpentine and row % 2 else forward
            y_row = float(self.image_y_start.value) + float(self.image_y_step.value) * row
            approach = Trajectory(start=x, target=start, t0=t, **x_motion)
            step_y = Trajectory(start=y, target=y_row, t0=t, **y_motion)
            flight = Trajectory(
                start=start,
                target=stop,
                t0=max(approach.end_time, step_y.end_time),
                **fly_motion,
            )
            x_moves += [approach, flight]
            y_moves.append(step_y)
            flights.append(flight)
            t, x, y = flight.end_time, stop, y_row
        return x_moves, y_moves, flights

    async def _fly_image(self, instance, dwell_ms: float) -> None:
        """Every row from FirstRow on, as the controller's wave tables; each posted as it ends."""
        if not self.positions.controls_motion:
            text = "FlyImage: the stage is in another process (fly rows in Line mode)"
            raise await refusal(instance, self.message, text)
        rows, first = int(self.image_rows.value), int(self.first_row.value)
        if first >= rows:
            raise await refusal(
                instance, self.message, f"FlyImage: FirstRow {first} >= ImageRows {rows}"
            )
        dwell_s = dwell_ms / 1000.0
        x_moves, y_moves, flights = self._image_profiles(first, dwell_s)
        bins = (np.arange(int(self.line_points.value)) + 0.5) * dwell_s
        await self.row_index.write(first - 1)
        try:
            try:
                await self.positions.follow("fine_x", x_moves)
                await self.positions.follow("fine_y", y_moves)
            except ValueError as error:
                raise await refusal(instance, self.message, f"FlyImage: {error}") from error
            for row, flight in enumerate(flights, start=first):
                await asyncio.sleep(max(0.0, flight.end_time - self.clock()))
                times = flight.t0 + bins
                counts = await self._counts(instance, times, dwell_ms)
                measured = np.asarray(self.positions.position("fine_x", times), dtype=float)
                await self.row_y.write(float(self.positions.position("fine_y", times.mean())))
                await self._publish_line(counts, measured)
                await self.row_index.write(row)
        except asyncio.CancelledError:
            await self.positions.stop("fine_x")
            await self.positions.stop("fine_y")
            raise

    async def _fine_x_motion_start(self, instance, *, armed_at: float) -> float:
        """Wait (up to MOTION_WAIT_S) for fine X to start moving; its start time."""
        deadline = armed_at + MOTION_WAIT_S
        while (started := self.positions.motion_started_after("fine_x", armed_at)) is None:
            if self.clock() > deadline:
                text = f"Acquire: armed line saw no fine X motion within {MOTION_WAIT_S} s"
                raise await refusal(instance, self.message, text)
            await asyncio.sleep(0.0005)
        return started


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_followed_arguments(parser)
    parser.add_argument("--no-noise", action="store_true", help="start with noise off")
    parser.add_argument("--seed", type=int, default=0, help="noise seed")


def _make_ioc(args: argparse.Namespace, prefix: str) -> CounterIOC:
    model = StxmModel(seed=args.seed, noise=not args.no_noise)
    return CounterIOC(prefix=prefix, model=model, positions=followed_positions(args))


def main() -> None:
    """Run this IOC alone: ``python -m iocs.counter --prefix ... --list-pvs``."""
    run_standalone(
        CounterIOC,
        default_prefix=subsystem_prefix("counter"),
        desc=(CounterIOC.__doc__),
        add_arguments=_add_arguments,
        make_ioc=_make_ioc,
    )


if __name__ == "__main__":
    main()
