"""SIGSTOP / SIGCONT of the sim mid scan: a stall shorter than the deadline is waited out.

What a beamline user expects: an IOC that stops answering for a moment (a busy host,
a paused process) costs that moment, not the scan; one that stays silent beyond the
acquisition's deadline fails the scan with an error naming the PV it waited on.
"""

from __future__ import annotations

import signal
import threading

import pytest

import plans
from stxm_devices.channel_access import IocTimeoutError

from .conftest import PREFIX


def step_image(beamline):
    return plans.stxm_image(
        beamline,
        x_center_um=0,
        x_range_um=2,
        nx=4,
        y_center_um=0,
        y_range_um=1,
        ny=3,
        dwell_ms=200,
        mode="point",  # a deadline per point: per-point step
    )


def stall_after_first_event(sim, stall_s: float):
    """A callback that SIGSTOPs the sim after the first point and SIGCONTs it ``stall_s`` later."""
    state = {"stopped": False, "primary": None}
    resumed = threading.Event()

    def resume() -> None:
        sim.signal(signal.SIGCONT)
        resumed.set()

    def callback(name, doc):
        if name == "descriptor" and doc["name"] == "primary":
            state["primary"] = doc["uid"]
        first_point = name == "event" and doc["descriptor"] == state["primary"]
        if first_point and doc["seq_num"] == 1 and not state["stopped"]:
            state["stopped"] = True
            sim.signal(signal.SIGSTOP)
            threading.Timer(stall_s, resume).start()

    return callback, state, resumed


def test_a_short_stall_is_waited_out(RE, sim, beamline):
    callback, state, resumed = stall_after_first_event(sim, 2.0)
    events = []
    RE(step_image(beamline), [callback, lambda name, doc: events.append(name)])
    assert state["stopped"] and resumed.is_set()
    assert events.count("event") >= 12  # every point (plus the baseline readings)


def test_a_stall_beyond_the_deadline_fails_naming_the_pv(RE, sim, beamline):
    # Deadlines of 1 s beyond each exposure or move, so a 5 s stall exceeds them.
    short = [beamline.counter, beamline.stage.fine_x, beamline.stage.fine_y]
    for device in short:
        device.acquire_timeout_margin_s = device.move_timeout_margin_s = 1.0
    try:
        callback, state, resumed = stall_after_first_event(sim, 5.0)
        with pytest.raises(Exception) as raised:
            RE(step_image(beamline), callback)
    finally:
        for device in short:
            del device.acquire_timeout_margin_s, device.move_timeout_margin_s
        resumed.wait(10)
    cause = raised.value.__cause__
    text = f"{raised.value!r} {cause!r} {getattr(raised.value, '__notes__', '')}"
    print(text)
    assert state["stopped"]
    assert PREFIX in str(cause or raised.value), text
    assert isinstance(cause, IocTimeoutError | TimeoutError), text
