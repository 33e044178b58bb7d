"""EpicsMotor drives the simulated motor record like a real one."""

from __future__ import annotations

import threading
import time

import epics
import pytest
from ophyd.utils.errors import LimitError


@pytest.fixture
def osa_x(beamline):
    motor = beamline.osa.x
    motor.velocity.set(50.0).wait(5)
    motor.move(0.0, wait=True)
    yield motor
    motor.velocity.set(1000.0).wait(5)
    motor.move(0.0, wait=True)


def test_move_takes_distance_over_velocity(osa_x):
    distance, velocity = 20.0, 50.0
    start = time.monotonic()
    osa_x.move(distance, wait=True)
    elapsed = time.monotonic() - start
    assert osa_x.position == pytest.approx(distance, abs=1e-6)
    # Never faster than the trajectory; slower only by what a loaded machine adds.
    assert distance / velocity * 0.95 <= elapsed < distance / velocity + 5.0


def test_short_move_is_short(beamline):
    motor = beamline.stage.fine_x
    start = time.monotonic()
    motor.move(motor.position + 0.01, wait=True)
    assert time.monotonic() - start < 0.2


def test_dmov_goes_low_then_high_exactly_once(osa_x):
    seen: list[int] = []
    done = threading.Event()

    def record(value, **kwargs):
        seen.append(int(value))
        if value == 1 and 0 in seen:
            done.set()

    cid = osa_x.motor_done_move.subscribe(record, run=False)
    try:
        osa_x.move(5.0, wait=True)
        assert done.wait(2)
    finally:
        osa_x.motor_done_move.unsubscribe(cid)
    assert seen == [0, 1]


def test_limits_are_the_records_hlm_llm(beamline):
    for motor in (beamline.osa.x, beamline.stage.fine_x, beamline.zoneplate.z):
        low = epics.caget(motor.prefix + ".LLM")
        high = epics.caget(motor.prefix + ".HLM")
        assert motor.limits == (low, high)
        assert low < high


def test_move_beyond_limit_is_refused_without_motion(osa_x):
    low, high = osa_x.limits
    with pytest.raises(LimitError):
        osa_x.move(high + 1.0)
    assert osa_x.position == pytest.approx(0.0)
    # A raw put past the limit (no client-side check) is refused by the record itself.
    epics.caput(osa_x.prefix, high + 1.0, wait=True)
    assert epics.caget(osa_x.prefix + ".LVIO") == 1
    assert epics.caget(osa_x.prefix) == pytest.approx(0.0)
    assert epics.caget(osa_x.prefix + ".RBV") == pytest.approx(0.0)


def test_stop_mid_move_leaves_readback_between_start_and_target(osa_x):
    status = osa_x.move(40.0, wait=False)
    while osa_x.position < 5.0:
        time.sleep(0.01)
    osa_x.stop()
    status.wait(5)
    assert 0.0 < osa_x.position < 40.0
    assert osa_x.user_setpoint.get() == pytest.approx(osa_x.position, abs=1e-3)


def test_set_current_position_redefines_without_moving(osa_x):
    dial_before = epics.caget(osa_x.prefix + ".DRBV")
    osa_x.set_current_position(7.0)
    try:
        assert osa_x.user_readback.get(use_monitor=False) == pytest.approx(7.0)
        assert epics.caget(osa_x.prefix + ".DRBV") == pytest.approx(dial_before)
    finally:
        osa_x.set_current_position(dial_before)
        osa_x.user_offset.set(0.0).wait(5)
