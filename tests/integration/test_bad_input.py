"""Bad puts are refused with an alarm and a message, and the IOC keeps running."""

from __future__ import annotations

import epics
import pytest


def put_and_read_back(pvname, value):
    before = epics.caget(pvname, use_monitor=False)
    epics.caput(pvname, value, wait=True, timeout=5)
    reading = epics.get_pv(pvname, form="time").get_with_metadata(use_monitor=False)
    return before, reading["value"], reading["severity"]


@pytest.mark.parametrize(
    ("pv_suffix", "bad_value", "good_value", "message_fragment"),
    [
        ("counter0:DwellTime", 0.0, 2.0, "DwellTime: 0 ms is outside 0.001..60000 ms"),
        ("counter0:DwellTime", -2.0, 2.0, "DwellTime: -2 ms is outside 0.001..60000 ms"),
        ("counter0:LinePoints", 0, 10, "LinePoints: 0 is outside 1..4096"),
        ("zp:Index", 12, 6, "unknown zone-plate index 12; installed: 0, 1, 2, 3, 4, 5, 6, 7"),
        ("zp:Index", -1, 6, "unknown zone-plate index -1"),
    ],
)
def test_bad_put_is_refused_with_a_message(sim, pv_suffix, bad_value, good_value, message_fragment):
    ioc = pv_suffix.split(":")[0]
    before, after, severity = put_and_read_back(f"SIM:{pv_suffix}", bad_value)
    assert after == before
    assert severity >= 1  # the PV is in alarm
    message = epics.caget(f"SIM:{ioc}:Message_RBV", as_string=True, use_monitor=False)
    assert message_fragment in message
    # A good put afterwards is accepted and clears the message: the IOC is alive.
    epics.caput(f"SIM:{pv_suffix}", good_value, wait=True)
    assert epics.caget(f"SIM:{pv_suffix}", use_monitor=False) == good_value
    assert epics.caget(f"SIM:{ioc}:Message_RBV", as_string=True, use_monitor=False) == ""
    epics.caput(f"SIM:{pv_suffix}", before, wait=True)


def test_armed_line_without_motion_fails_with_the_reason(beamline):
    counter = beamline.counter
    counter.mode.set("Line").wait(5)
    counter.line_trigger.set("FineXMotion").wait(5)
    counter.line_points.set(5).wait(5)
    try:
        with pytest.raises(Exception, match="no fine X motion"):
            counter.trigger().wait(counter.motion_wait_s + 10)
    finally:
        counter.mode.set("Single").wait(5)
    counter.trigger().wait(5)  # still acquires afterwards
