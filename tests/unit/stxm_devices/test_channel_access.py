"""Statuses that end: the deadline and a disconnect fail them with the PV named."""

from __future__ import annotations

import threading

import pytest
from ophyd import Signal
from ophyd.status import Status

from stxm_devices.channel_access import (
    Deadlines,
    IocDisconnectedError,
    IocTimeoutError,
    guard_status,
    naming_the_ioc,
)
from stxm_devices.detector import AreaDetector


def test_a_status_past_its_deadline_fails_saying_what_it_waited_for():
    signal = Signal(name="sim_acquire")
    status = guard_status(Status(), [signal], timeout=0.2, action="counter0 acquiring 1 point")
    with pytest.raises(IocTimeoutError, match="counter0 acquiring 1 point.*0.2 s.*sim_acquire"):
        status.wait(5)


def test_a_disconnect_fails_the_status_at_once_and_the_subscription_goes():
    signal = Signal(name="sim_acquire")
    status = guard_status(Status(), [signal], timeout=60, action="det1 acquiring 1 frame(s)")
    signal._run_subs(sub_type=signal.SUB_META, connected=False)  # as the control layer does
    with pytest.raises(IocDisconnectedError, match="sim_acquire disconnected while det1"):
        status.wait(1)
    assert not signal._callbacks[signal.SUB_META]


def test_a_finished_status_is_left_alone():
    signal = Signal(name="sim_acquire")
    status = guard_status(Status(), [signal], timeout=0.1, action="moving")
    status.set_finished()
    signal._run_subs(sub_type=signal.SUB_META, connected=False)
    status.wait(1)
    assert status.success


def test_deadlines_run_in_time_order_and_cancelled_ones_never_run():
    deadlines, ran, done = Deadlines(), [], threading.Event()
    # The cancelled deadline is due 0.5 s on: the cancel, two statements later, comes
    # before it even if a loaded machine holds this thread back for a tenth of a second.
    deadlines.call_later(1.0, lambda: (ran.append("late"), done.set()))
    cancelled = deadlines.call_later(0.5, lambda: ran.append("cancelled"))
    deadlines.call_later(0.05, lambda: ran.append("early"))
    deadlines.cancel(cancelled)
    assert done.wait(5)
    assert ran == ["early", "late"]


def test_a_bare_channel_access_error_is_given_the_ioc():
    from epics.ca import ChannelAccessGetFailure

    with pytest.raises(IocDisconnectedError, match="SIM:det1: did not answer while staging"):
        with naming_the_ioc("SIM:det1:", "staging"):
            raise ChannelAccessGetFailure("Get failed; status code: 192", chid=0, status=192)
    with pytest.raises(ValueError):  # anything else passes through unchanged
        with naming_the_ioc("SIM:det1:", "staging"):
            raise ValueError("not a CA error")


@pytest.mark.parametrize(
    ("template", "depth"),
    [("/tmp/stxm/det1/%Y/%m/%d/", -5), ("/data/", -1), ("/data/det1/", -1)],
)
def test_the_ioc_may_create_every_level_below_the_top_directory(template, depth):
    detector = AreaDetector("OFFLINE:det1:", name="det1", write_path_template=template)
    assert detector.hdf1.directory_depth(template) == depth
