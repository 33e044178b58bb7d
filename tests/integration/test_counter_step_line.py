"""A hardware-timed step row (counter StepLine) measures what per-point counting does.

The counter IOC moves fine X, settles, counts and goes on by itself; one trigger gives
the row as Line mode does (counts and measured X per point).  Across a disk of the
noiseless phantom it must equal counting point by point (one move and one trigger per
point from the client), and each point must be counted where it was meant to be.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from iocs.physics import StxmModel
from stxm_devices.counter import CounterError, CounterMode

DWELL_MS = 1.0


@pytest.fixture
def row(noiseless):
    """X positions across a polymer disk, at its centre Y; the stage and counter put back."""
    beamline = noiseless
    disk = StxmModel().phantom.disks[1]
    stage, counter = beamline.stage, beamline.counter
    start = stage.fine_x.position, stage.fine_y.position
    saved = {signal: signal.get() for signal in (counter.mode, counter.dwell, counter.line_points)}
    stage.fine_y.move(disk.y_um, wait=True)
    yield beamline, disk.x_um + np.linspace(-2 * disk.radius_um, 2 * disk.radius_um, 17)
    for signal, value in saved.items():
        signal.set(value).wait(5)
    stage.fine_x.move(start[0], wait=True)
    stage.fine_y.move(start[1], wait=True)


def test_step_line_equals_counting_point_by_point(row):
    beamline, xs = row
    counter, fine_x = beamline.counter, beamline.stage.fine_x
    for signal, value in counter.step_line_settings(xs, DWELL_MS, settle_ms=0.5).items():
        signal.set(value).wait(5)
    done_moving = []
    cid = fine_x.motor_done_move.subscribe(lambda value, **kw: done_moving.append(value), run=False)
    try:
        counter.trigger().wait(30)
        deadline = time.monotonic() + 5  # the DMOV monitor may trail the Acquire's completion
        while done_moving[-1:] != [1] and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        fine_x.motor_done_move.unsubscribe(cid)
    reading = counter.read()
    counts = np.asarray(reading[counter.line_counts.name]["value"], dtype=float)
    measured = np.asarray(reading[counter.line_positions.name]["value"], dtype=float)
    assert counter.name + "_line_counts" in counter.describe()  # an event like Line mode's
    # The motor record saw one motion to the row's end, as its controller ran it.
    assert done_moving[:1] == [0] and done_moving[-1] == 1
    assert fine_x.user_readback.get(use_monitor=False) == pytest.approx(xs[-1], abs=1e-4)
    assert fine_x.user_setpoint.get(use_monitor=False) == pytest.approx(xs[-1], abs=1e-4)

    counter.mode.set(CounterMode.SINGLE.value).wait(5)
    per_point = []
    for x in xs:
        fine_x.move(x, wait=True)
        counter.trigger().wait(10)
        per_point.append(float(counter.counts.get(use_monitor=False)))
    per_point = np.array(per_point)

    assert counts.shape == per_point.shape == xs.shape
    assert per_point.max() > 1.02 * per_point.min(), "the row should cross the disk's edge"
    chi2 = np.mean((counts - per_point) ** 2 / np.maximum(per_point, 1.0))
    assert chi2 < 2
    tolerance = float(counter.settle_tolerance.get())
    np.testing.assert_allclose(measured, xs, rtol=0, atol=tolerance)


def test_a_point_out_of_the_stage_limits_is_refused_with_the_reason(row):
    beamline, _ = row
    counter = beamline.counter
    high = float(beamline.stage.fine_x.high_limit_travel.get())
    for signal, value in counter.step_line_settings(
        [high - 1.0, high - 0.5, high, high + 0.5], DWELL_MS
    ).items():
        signal.set(value).wait(5)
    with pytest.raises(CounterError, match="StepLine: fine X .* not within"):
        counter.trigger().wait(30)
