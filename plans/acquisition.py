"""The acquisition pieces every STXM plan is made of: runs, step paths and fly rows.

- :func:`stxm_run` — one run: open it with the standard metadata, read the baseline,
  stage the detectors, acquire, close it (a multi-image scan is several of these).
- :func:`step_path` — one event per point: move, trigger, read (a checkpoint per row).
- :func:`step_rows` — one event per row: the counter's StepLine mode, in which the sim's
  controller moves fine X, settles and counts each point of the row with the stage still.
- :func:`fly_rows` — one event per row: the counter's line mode while fine X flies, the
  event holding the counts waveform and the measured X of every point (as pyStxm); a
  fine-X × fine-Y image is flown whole by the stage's controller where it can.
- :func:`returning` — put motors back where they were after a plan, whatever happens.
- :func:`configured` — set signals for a plan and put them back afterwards, whatever happens.
- :func:`cleanup_after` — run a plan, then its cleanup; a failing cleanup (a dead IOC
  cannot be unstaged, restored or read) never replaces the error that stopped the plan.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky import preprocessors as bpp
from bluesky.utils import FailedStatus, Msg, MsgGenerator, root_ancestor, separate_devices

from stxm_devices import Beamline
from stxm_devices.counter import FlyImageRows

from ._patterns import fly_extent, fly_velocity
from .checks import PlanArgumentError, check_choice, check_within_limits

logger = logging.getLogger(__name__)


class RowMode(enum.StrEnum):
    """How image rows are measured."""

    STEP = "step"  # the beam still in each dwell: hardware-timed rows where possible
    POINT = "point"  # step, every point moved, triggered and read from bluesky
    LINE = "line"  # the counter's line mode while the fine X stage flies


DETECTOR_NAMES = ("counter", "detector")


def select_detectors(beamline: Beamline, names: Sequence[str], mode: RowMode) -> list:
    """The detector devices a plan reads, by name; the area detector cannot fly lines."""
    if not names:
        raise PlanArgumentError("detectors must name at least one of counter, detector")
    for name in names:
        check_choice(name, DETECTOR_NAMES, "detectors")
    if mode is RowMode.LINE and list(names) != ["counter"]:
        raise PlanArgumentError(
            f"mode='line' flies the counter only; detectors={list(names)} needs mode='step'"
        )
    devices = []
    for name in names:
        device = getattr(beamline, name, None)
        if device is None:
            raise PlanArgumentError(f"detectors: this beamline has no {name!r}")
        devices.append(device)
    return devices


def row_timing(
    beamline: Beamline, mode: RowMode, detectors: Sequence[Any], x_motor: Any, *, horizontal: bool
) -> RowMode:
    """How rows are measured: LINE, STEP (hardware-timed rows) or POINT.

    ``mode='step'`` runs each row in the counter's StepLine mode when the counter is the
    only detector and the row is a horizontal line of fine X; otherwise (an area
    detector, another axis, a slanted line) point by point from bluesky, as
    ``mode='point'`` always does.
    """
    hardware = (
        list(detectors) == [beamline.counter] and x_motor is beamline.stage.fine_x and horizontal
    )
    if mode is RowMode.STEP and not hardware:
        return RowMode.POINT
    return mode


def exposure_signal(detector: Any) -> Any:
    """The area detector's AcquireTime: ``cam`` (ophyd) or ``driver`` (an ophyd-async detector)."""
    camera = getattr(detector, "cam", None) or detector.driver
    return camera.acquire_time


def baseline_devices(beamline: Beamline) -> list:
    """Read at the start and end of every run: ring current, energy, EPU, optics, stages."""
    return [
        beamline.ring_current,
        beamline.energy,
        beamline.epu,
        beamline.zoneplate,
        beamline.osa,
        beamline.stage,
        beamline.goniometer,
    ]


def _name_the_cause(error: Exception) -> None:
    """Put a failed status's own error into the message (bluesky's names only the status)."""
    cause = error.__cause__
    if isinstance(error, FailedStatus) and cause is not None:
        note = f"because: {type(cause).__name__}: {cause}"
        if note not in getattr(error, "__notes__", ()):
            error.add_note(note)


def cleanup_after(plan: MsgGenerator, cleanup: Callable[[], MsgGenerator]) -> MsgGenerator:
    """Run ``plan``, then ``cleanup()`` whatever happens; the first error is the one raised.

    After a failure the cleanup still runs, but its own error (an IOC that died cannot
    be unstaged, restored or read) is logged and added as a note to the plan's error
    instead of replacing it: the user sees what failed first.
    """

    def after_failure(error: Exception) -> MsgGenerator:
        _name_the_cause(error)
        try:
            yield from cleanup()
        except Exception as cleanup_error:  # noqa: BLE001 - the first error wins
            logger.warning("cleanup after %r failed too: %r", error, cleanup_error)
            error.add_note(f"then, cleaning up: {type(cleanup_error).__name__}: {cleanup_error}")

    return (yield from bpp.contingency_wrapper(plan, except_plan=after_failure, else_plan=cleanup))


def returning(plan: MsgGenerator, motors: Sequence[Any]) -> MsgGenerator:
    """Run ``plan``, then put those of ``motors`` it moved back, whatever happens.

    The start positions are read through the RunEngine as the plan starts (bluesky's
    reset wrapper reads them off the devices); a plan refused by its checks moves nothing.
    """
    start: dict[Any, Any] = {}
    moved: list[Any] = []

    def reading_first():
        for motor in motors:
            start[motor] = yield from bps.rd(motor)
        return (yield from plan)

    def note_moves(msg: Msg) -> Msg:
        if msg.command == "set" and msg.obj in start and msg.obj not in moved:
            moved.append(msg.obj)
        return msg

    def back():
        if moved:
            yield from bps.mv(*(arg for motor in moved for arg in (motor, start[motor])))

    return (yield from cleanup_after(bpp.msg_mutator(reading_first(), note_moves), back))


def configured(
    settings: Mapping[Any, Any], plan: MsgGenerator, *, together: bool = False
) -> MsgGenerator:
    """Run ``plan`` with each signal set to its value; restore the old values afterwards.

    One by one, in order; ``together`` (settings that do not depend on each other's
    order, e.g. a camera's exposure, period and counts) sets them all at once and
    waits once, and restores them so: a round trip for all instead of one each.
    """
    settings = dict(settings)
    previous = {}

    def setup_and_run():
        if together:
            for signal in settings:
                previous[signal] = yield from bps.rd(signal)
            yield from bps.mv(*(arg for pair in settings.items() for arg in pair))
        else:
            for signal, value in settings.items():
                previous[signal] = yield from bps.rd(signal)
                yield from bps.mv(signal, value)
        return (yield from plan)

    def restore():
        if together and previous:
            yield from bps.mv(*(arg for pair in previous.items() for arg in pair))
            return
        for signal, value in previous.items():
            yield from bps.mv(signal, value)

    return (yield from cleanup_after(setup_and_run(), restore))


def _closing_baseline(devices: Sequence[Any], close: Msg) -> MsgGenerator:
    """The baseline reading before ``close``; after a failure, of what still answers.

    A run that failed may have lost an IOC: its devices are left out (and a reading
    that fails anyway is dropped), so the run still closes with the first error.
    """
    if close.kwargs.get("exit_status", "success") == "success":
        yield from bps.trigger_and_read(devices, name="baseline")
        return (yield close)
    answering = [device for device in devices if device.connected]
    bundle = {"open": False}

    def track(msg: Msg) -> Msg:
        if msg.command == "create":
            bundle["open"] = True
        elif msg.command in ("save", "drop"):
            bundle["open"] = False
        return msg

    try:
        if answering:
            reading = bps.trigger_and_read(answering, name="baseline")
            yield from bpp.msg_mutator(reading, track)
    except Exception as error:  # noqa: BLE001 - the run's own error is the one to raise
        logger.warning("closing baseline of a failed run skipped: %r", error)
        if bundle["open"]:
            yield from bps.drop()
    return (yield close)


def stxm_run(
    beamline: Beamline, detectors: Sequence[Any], md: dict, body: MsgGenerator
) -> MsgGenerator:
    """One run: start document ``md``, baseline readings, detectors staged, ``body``.

    As bluesky's stage and baseline wrappers, except that after a failure neither the
    unstaging nor the closing baseline can replace the error that stopped the run.
    """
    devices = separate_devices(root_ancestor(device) for device in detectors)
    baseline = baseline_devices(beamline)

    def staged():
        yield from bps.stage_all(*devices)
        return (yield from body)

    def baseline_around(msg: Msg):
        if msg.command == "open_run":
            opening = bps.declare_stream(*baseline, name="baseline")
            return None, bpp.pchain(opening, bps.trigger_and_read(baseline, name="baseline"))
        if msg.command == "close_run":
            return _closing_baseline(baseline, msg), None
        return None, None

    plan = cleanup_after(staged(), lambda: bps.unstage_all(*reversed(devices)))
    plan = bpp.run_wrapper(plan, md=md)
    return (yield from bpp.plan_mutator(plan, baseline_around))


def step_path(
    readables: Sequence[Any],
    motors: Sequence[Any],
    positions: np.ndarray,
    *,
    before_trigger: Callable[[int], MsgGenerator] | None = None,
) -> MsgGenerator:
    """Visit each row of ``positions`` (n points × len(motors)): move all, trigger, read.

    A checkpoint where the first (slowest) motor moves: a pause resumes at the start of
    the row (a redone point keeps its seq_num, bluesky's rewind). ``before_trigger(index)``
    may set something per point (the pattern generator's dwell).
    """
    positions = np.atleast_2d(np.asarray(positions, dtype=float))
    previous = np.full(len(motors), np.nan)
    for index, point in enumerate(positions):
        if point[0] != previous[0]:
            yield from bps.checkpoint()
        moves = [
            arg
            for motor, target, last in zip(motors, point, previous, strict=True)
            if target != last  # a row's slow axis stays put: no zero-length moves
            for arg in (motor, target)
        ]
        if moves:
            yield from bps.mv(*moves)
        previous = point
        if before_trigger is not None:
            yield from before_trigger(index)
        yield from _point_event(readables, motors)


def _point_event(readables: Sequence[Any], motors: Sequence[Any]) -> MsgGenerator:
    """One event: trigger the readables, then read them and the motors.

    As ``trigger_and_read`` without triggering the motors (a positioner's trigger does
    nothing but cost a message each point).
    """
    group = "point"
    for device in separate_devices(readables):
        yield from bps.trigger(device, group=group)
    yield from bps.wait(group=group)
    yield from bps.create("primary")

    def reading():
        for device in separate_devices([*readables, *motors]):
            yield from bps.read(device)

    def dropped(error: Exception) -> MsgGenerator:
        yield from bps.drop()  # a failed reading leaves no event open (as trigger_and_read)
        raise error

    yield from bpp.contingency_wrapper(reading(), except_plan=dropped, else_plan=bps.save)


def step_rows(
    beamline: Beamline,
    x_points: np.ndarray,
    row_motors: Sequence[Any],
    row_positions: np.ndarray,
    dwell_ms: float,
    *,
    readables: Sequence[Any] = (),
) -> MsgGenerator:
    """One event per row, hardware-timed: move the row motors, then one StepLine trigger.

    The counter's controller steps fine X through ``x_points`` (evenly spaced), settles
    (the counter's SettleTime), checks the position and counts each point with the stage
    still; the event holds the counts and the measured X per point, as a fly row's does.
    A checkpoint per row: a pause resumes at the row.
    """
    counter = beamline.counter

    def rows():
        for row in np.atleast_2d(np.asarray(row_positions, dtype=float)):
            yield from bps.checkpoint()
            yield from bps.mv(*(arg for pair in zip(row_motors, row, strict=True) for arg in pair))
            yield from bps.trigger_and_read([counter, *row_motors, *readables])

    settings = counter.step_line_settings(x_points, dwell_ms, settle_ms=None)
    return (yield from configured(settings, rows()))


def fly_rows(
    beamline: Beamline,
    x_points: np.ndarray,
    row_motors: Sequence[Any],
    row_positions: np.ndarray,
    dwell_ms: float,
    *,
    readables: Sequence[Any] = (),
    bidirectional: bool = False,
) -> MsgGenerator:
    """One event per row: move the row motors, then fly fine X across ``x_points``.

    The counter bins one dwell per point from the moment fine X starts moving (its
    FineXMotion line trigger), so the move spans half a step beyond each end point.
    ``bidirectional`` flies every odd row back from the last point to the first
    (serpentine): no retrace and no velocity change between rows. The event keeps the
    row as acquired (counts and measured X from +X to -X), and the start document's
    ``snaking`` says so.  Unidirectional rows retrace at the stage's travel velocity;
    that velocity is put while the row's event is made, and the fly velocity while
    the counter is armed, so neither costs a round trip of its own.

    Rows of fine Y at evenly spaced positions are flown by the stage's controller in
    one acquisition (:func:`fly_image_rows`) when the counter can (``FlyImage_RBV``);
    otherwise (a counter IOC running apart from the stage, other row motors) row by row.
    """
    counter, fine_x = beamline.counter, beamline.stage.fine_x
    rows_at = np.atleast_2d(np.asarray(row_positions, dtype=float))
    if (yield from flies_whole_images(beamline, row_motors, rows_at)):
        return (
            yield from fly_image_rows(
                beamline,
                x_points,
                rows_at[:, 0],
                dwell_ms,
                readables=readables,
                bidirectional=bidirectional,
            )
        )
    accel_s = float((yield from bps.rd(fine_x.acceleration)))
    travel = float((yield from bps.rd(fine_x.velocity)))
    fly = fly_velocity(x_points, dwell_ms)
    forward = fly_extent(x_points, dwell_ms, accel_s)
    backward = fly_extent(x_points[::-1], dwell_ms, accel_s)

    def row_event():
        yield from bps.create("primary")
        for device in (counter, *row_motors, *readables):
            yield from bps.read(device)
        yield from bps.save()

    def unidirectional_row(row_index: int, moves: list):
        # Retrace at the travel velocity (put while the last row's event was made), put
        # the fly velocity while the counter arms, fly; the event while going back to
        # the travel velocity. ``row_index`` unused: every row runs towards +X.
        yield from bps.mv(fine_x, forward[0], *moves)
        yield from bps.abs_set(fine_x.velocity, fly, group="arm")
        yield from bps.trigger(counter, group="line")
        yield from bps.wait(group="arm")
        yield from bps.abs_set(fine_x, forward[1], group="line")
        yield from bps.wait(group="line")
        yield from bps.abs_set(fine_x.velocity, travel, group="retrace")
        yield from row_event()
        yield from bps.wait(group="retrace")

    def serpentine_row(row_index: int, moves: list):
        start, stop = backward if row_index % 2 else forward
        # A row starts two ramp lags (v·accel) short of where the last one stopped; the
        # first row's approach is at the travel velocity, every row at the fly velocity.
        yield from bps.mv(fine_x, start, *moves)
        if row_index == 0:
            yield from bps.mv(fine_x.velocity, fly)
        yield from bps.trigger(counter, group="line")
        yield from bps.abs_set(fine_x, stop, group="line")
        yield from bps.wait(group="line")
        yield from row_event()

    fly_row = serpentine_row if bidirectional else unidirectional_row

    def rows():
        for row_index, row in enumerate(np.atleast_2d(np.asarray(row_positions, dtype=float))):
            yield from bps.checkpoint()
            moves = [arg for pair in zip(row_motors, row, strict=True) for arg in pair]
            yield from fly_row(row_index, moves)

    settings = {
        counter.mode: "Line",
        counter.line_trigger: "FineXMotion",
        counter.line_points: int(len(x_points)),
        counter.dwell: float(dwell_ms),
        fine_x.velocity: travel,
    }
    return (yield from configured(settings, rows()))


def measured_rows(
    beamline: Beamline,
    timing: RowMode,
    detectors: Sequence[Any],
    dwell_ms: float,
    rows: tuple[np.ndarray, Sequence[Any], np.ndarray],
    points: tuple[Sequence[Any], Callable[[], np.ndarray]],
    *,
    bidirectional: bool = False,
) -> MsgGenerator:
    """The events of a scan of rows, measured as ``timing`` (:func:`row_timing`) says.

    ``rows`` = (fine X points, row motors, row positions) for a row per event (LINE:
    flown; STEP: the counter's hardware-timed step rows); ``points`` = (motors, a
    function building the path) for a point per event (POINT): the path, a row of
    positions per point, is built only then (row events never need it, and a large
    image's would be the biggest thing the plan holds). The ring current is read with
    every event.
    """
    readables = [beamline.ring_current]
    if timing is RowMode.LINE:
        return (
            yield from fly_rows(
                beamline, *rows, dwell_ms, readables=readables, bidirectional=bidirectional
            )
        )
    if timing is RowMode.STEP:
        return (yield from step_rows(beamline, *rows, dwell_ms, readables=readables))
    motors, path = points
    plan = step_path([*detectors, *readables], motors, path())
    return (yield from counting(beamline, detectors, dwell_ms, plan))


def flies_whole_images(
    beamline: Beamline, row_motors: Sequence[Any], row_positions: np.ndarray
) -> MsgGenerator[bool]:
    """Plan stub: whether the counter's controller flies these rows as one image.

    Rows of fine Y alone, evenly spaced, and a counter that can (FlyImage_RBV: the
    stage in its process); otherwise fly rows go one by one.
    """
    if list(row_motors) != [beamline.stage.fine_y]:
        return False
    ys = np.asarray(row_positions, dtype=float)[:, 0]
    step = ys[1] - ys[0] if ys.size > 1 else 0.0
    if not np.allclose(np.diff(ys), step, rtol=0, atol=1e-6):
        return False
    return (yield from bps.rd(beamline.counter.fly_image)) == "Available"


def fly_image_rows(
    beamline: Beamline,
    x_points: np.ndarray,
    y_points: np.ndarray,
    dwell_ms: float,
    *,
    readables: Sequence[Any] = (),
    bidirectional: bool = False,
) -> MsgGenerator:
    """One event per row of an image the stage's controller flies whole (FlyImage mode).

    One Acquire flies every row (fine Y stepped between rows, fine X retraced or
    reversed by the controller); each row's event is made as the controller posts it,
    with :func:`fly_rows`' keys: the row's counts and measured X, its measured fine Y
    (and target as the setpoint), then ``readables``.  A checkpoint per row: a pause
    stops the controller and the resume restarts it at the row it redoes.
    """
    counter, fine_y = beamline.counter, beamline.stage.fine_y
    rows = FlyImageRows(counter, fine_y, y_points)
    counter_view, y_view = rows.view(counter), rows.view(fine_y)

    def events():
        for row in range(y_points.size):
            yield from bps.checkpoint()
            yield from bps.abs_set(rows, row, group="row")
            yield from bps.wait(group="row")
            yield from bps.create("primary")
            for device in (counter_view, y_view, *readables):
                yield from bps.read(device)
            yield from bps.save()

    def finish():
        rows.close()
        yield from bps.null()

    settings = {
        counter.mode: "FlyImage",
        counter.line_points: int(len(x_points)),
        counter.line_start: float(x_points[0]),
        counter.line_step: float(x_points[1] - x_points[0]),
        counter.dwell: float(dwell_ms),
        counter.image_rows: int(y_points.size),
        counter.image_y_start: float(y_points[0]),
        counter.image_y_step: float(y_points[1] - y_points[0]) if y_points.size > 1 else 0.0,
        counter.serpentine: "On" if bidirectional else "Off",
    }
    return (yield from configured(settings, cleanup_after(events(), finish)))


def counting(
    beamline: Beamline, detectors: Sequence[Any], dwell_ms: float, plan: MsgGenerator
) -> MsgGenerator:
    """Run ``plan`` with the counter (if used) in Single mode at ``dwell_ms``."""
    settings: dict = {}
    if beamline.counter in detectors:
        settings = {beamline.counter.mode: "Single", beamline.counter.dwell: float(dwell_ms)}
    return (yield from configured(settings, plan))


def check_fly_line(
    beamline: Beamline,
    x_points: np.ndarray,
    dwell_ms: float,
    argument: str,
    *,
    bidirectional: bool = False,
) -> MsgGenerator:
    """Plan stub: a fly line must fit the fine X limits and the counter's line length.

    Its half-step margins grow with the stage's acceleration, read when the plan runs;
    a bidirectional line's reversed rows reach as far the other way.
    """
    accel_s = float((yield from bps.rd(beamline.stage.fine_x.acceleration)))
    reach = list(fly_extent(x_points, dwell_ms, accel_s))
    if bidirectional:
        reach += fly_extent(x_points[::-1], dwell_ms, accel_s)
    check_within_limits(beamline.stage.fine_x, reach, argument)
    if x_points.size > 1 and x_points[1] <= x_points[0]:
        raise PlanArgumentError(f"{argument}: a fly line must run towards +X")
    if x_points.size < 2:
        raise PlanArgumentError(f"{argument}: a fly line needs at least 2 points")
    counter_max = 4096
    if x_points.size > counter_max:
        raise PlanArgumentError(
            f"{argument}: {x_points.size} points exceed the counter's {counter_max} per line"
        )
