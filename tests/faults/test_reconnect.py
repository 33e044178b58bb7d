"""A sim killed mid scan and restarted on the same port: the same session scans again.

Within 5 s of the restarted sim answering (issue 9), a count has completed: the devices'
channels are searched afresh once their IOC answers (stxm_devices/reconnect.py) instead
of waiting out libca's search backoff.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import bluesky.plans as bp
import pytest
from epics import PV

import plans
from stxm_devices import make_beamline
from stxm_devices.reconnect import watch_restarts

from .conftest import PREFIX, KillableSim
from .test_ioc_death import kill_after_events

#: From the restarted sim answering to a count completing in the same session (issue 9).
RESCAN_BOUND_S = 5.0


def test_restart_on_the_same_port_then_scan_again(RE, sim, beamline, write_path):
    callback, seen = kill_after_events(sim, 2)
    with pytest.raises(Exception):  # noqa: B017 - which error: tests/faults/test_ioc_death.py
        RE(
            plans.ptycho_scan(beamline, region=plans.Region(0, 2, 5, 0, 2, 5), dwell_ms=300),
            callback,
        )
    assert seen["killed_at"] is not None
    # A scan started while the IOC is still down fails at once, naming it...
    with pytest.raises(Exception) as early:  # noqa: B017 - the type depends on where it stops
        RE(bp.count([beamline.counter, beamline.detector]))
    assert PREFIX in str(early.value), repr(early.value)
    sim.start()  # returns once a PV of the new sim answers
    ready = time.monotonic()
    beamline.connect(timeout=30)
    connected = time.monotonic() - ready
    # ...and the same devices stage again (no RedundantStaging): the scan completes.
    uid = RE(bp.count([beamline.counter, beamline.detector], num=2)).run_start_uids
    scanned = time.monotonic() - ready
    print(
        f"after the restart: all signals connected in {connected:.2f} s, scan done {scanned:.2f} s"
    )
    assert len(uid) == 1
    assert scanned < RESCAN_BOUND_S, f"scanned again {scanned:.2f} s after the sim answered"


def test_names_a_gone_ioc_left_on_the_port_do_not_hide_the_restarted_one(RE, sim):
    """An IOC of another prefix once served on the same port and never came back.

    Its channels stay disconnected and are mapped to the same server; the restarted
    IOC's records must still be found at once (CI once probed only a gone name and
    waited 30 s for libca's backoff).
    """
    watch_restarts()  # as a session that connected a beamline before
    gone = [PV(f"{sim.prefix}counter0:{field}") for field in ("Noise", "DwellTime")]
    gone += [PV(f"{sim.prefix}stage:FineX.{field}") for field in ("RBV", "VAL")]
    assert all(pv.wait_for_connection(timeout=30) for pv in gone)
    time.sleep(0.5)  # the watcher has seen them connected to this port's server
    sim.kill()
    with ExitStack() as stack:
        other = KillableSim(sim.port, stack)  # a new prefix on the same port
        other.start()
        beamline = make_beamline(other.prefix, timeout=60)
        other.kill()
        time.sleep(6)  # down for a while: libca's own searches have backed off
        other.start()
        ready = time.monotonic()
        beamline.connect(timeout=30)
        RE(bp.count([beamline.counter], num=1))
        scanned = time.monotonic() - ready
    print(f"after the restart: scan done {scanned:.2f} s")
    assert not any(pv.connected for pv in gone)
    assert scanned < RESCAN_BOUND_S, f"scanned again {scanned:.2f} s after the sim answered"
