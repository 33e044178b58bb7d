"""SIGKILL of the sim mid scan: the RunEngine raises promptly, naming the PV, and is clean."""

from __future__ import annotations

import threading
import time

import h5py
import pytest
from bluesky.utils import FailedStatus
from ophyd import Staged
from ophyd.utils import DisconnectedError

import plans
from nxstxm import NXstxmAssembler, check_file
from stxm_devices.channel_access import IocDisconnectedError, fresh_read

from .conftest import PREFIX

#: Events to let through before the kill (the scan is surely acquiring by then).
EVENTS_BEFORE_KILL = 2
#: The brief's bound from the kill to the RunEngine raising; generous on a loaded machine.
RAISE_WITHIN_S = 15.0


def _scans():
    """Scans whose exposures are long enough that a kill lands mid-acquisition."""
    return {
        # 200 points × 5 ms: a 1 s line, killed 0.4 s after the previous row's event.
        "line_image": lambda b: plans.stxm_image(
            b,
            x_center_um=0,
            x_range_um=2,
            nx=200,
            y_center_um=0,
            y_range_um=2,
            ny=20,
            dwell_ms=5,
        ),
        # 300 ms exposures of the counter and the area detector at every point.
        "step_image": lambda b: plans.stxm_image(
            b,
            x_center_um=0,
            x_range_um=2,
            nx=5,
            y_center_um=0,
            y_range_um=2,
            ny=5,
            dwell_ms=300,
            mode="step",
            detectors=("counter", "detector"),
        ),
        "ptycho_scan": lambda b: plans.ptycho_scan(
            b, region=plans.Region(0, 2, 5, 0, 2, 5), dwell_ms=300
        ),
    }


#: Seconds after an event before the kill: inside the next point's or line's exposure.
KILL_DELAY_S = 0.4


def kill_after_events(sim, count: int) -> tuple[callable, dict]:
    """A document callback: SIGKILL the sim ``KILL_DELAY_S`` after point (or line) ``count``."""
    seen = {"events": 0, "killed_at": None, "primary": None}

    def kill() -> None:
        sim.kill()
        seen["killed_at"] = time.monotonic()

    def callback(name, doc):
        if name == "descriptor" and doc["name"] == "primary":
            seen["primary"] = doc["uid"]
        if name == "event" and doc["descriptor"] == seen["primary"]:
            seen["events"] += 1
            if seen["events"] == count:
                threading.Timer(KILL_DELAY_S, kill).start()

    return callback, seen


def error_text(error: BaseException) -> str:
    """The error, its notes and its causes, as a user reads the traceback."""
    parts = []
    while error is not None:
        parts += [f"{type(error).__name__}: {error}", *getattr(error, "__notes__", [])]
        error = error.__cause__ or error.__context__
    return "\n".join(parts)


@pytest.mark.parametrize("scan", sorted(_scans()))
def test_sigkill_mid_scan_raises_promptly_naming_the_pv(
    RE, sim, beamline, write_path, scan, tmp_path
):
    callback, seen = kill_after_events(sim, EVENTS_BEFORE_KILL)
    assembler = NXstxmAssembler(tmp_path)
    with pytest.raises(Exception) as raised:
        RE(_scans()[scan](beamline), [callback, assembler])
    took = time.monotonic() - seen["killed_at"]
    print(f"{scan}: raised {took:.2f} s after the SIGKILL: {raised.value!r}")
    assert seen["killed_at"] is not None, "the scan ended before the sim was killed"
    assert took < RAISE_WITHIN_S
    text = error_text(raised.value)
    # The first cause names a PV of the killed sim: a status that failed on the
    # disconnect, or a put the plan tried next; cleanup errors come only as notes.
    error = raised.value
    first = error.__cause__ if isinstance(error, FailedStatus) else error
    assert PREFIX in str(first), text
    assert isinstance(first, IocDisconnectedError | DisconnectedError | TimeoutError), text
    assert "ring_current" not in str(raised.value), text
    for device in (beamline.counter, beamline.detector):
        assert device._staged == Staged.no, f"{device.name} left staged"
    # What was acquired is written, marked incomplete, its frames linked and readable.
    [written] = assembler.written
    with h5py.File(written) as nexus:
        entries = [group for group in nexus.values() if group.attrs.get("NX_class") == "NXentry"]
        assert entries and all(
            entry["status/data"].asstr()[()] == "incomplete" for entry in entries
        )
    report = check_file(written)
    assert report.ok, report.text()


def test_a_fresh_read_under_a_sigkill_names_the_pv(sim, beamline):
    """Reads racing the kill fail naming the PV, however the control layer saw it die.

    A get already on the wire when the circuit drops fails in libca with
    ``Get failed; status code: 192``, which names nothing; one after it, as disconnected.
    """
    write_status = beamline.detector.hdf1.write_status
    errors: list[BaseException] = []
    stop = threading.Event()

    def read_until_it_fails() -> None:
        while not stop.is_set():
            try:
                fresh_read(write_status, timeout=2)
            except Exception as error:  # noqa: BLE001 - the test looks at it
                errors.append(error)
                return

    reader = threading.Thread(target=read_until_it_fails, daemon=True)
    reader.start()
    time.sleep(0.2)
    sim.kill()
    reader.join(15)
    stop.set()
    [error] = errors
    assert write_status.pvname in str(error), error_text(error)
