"""The detector IOC keeps files inside its data root and refuses bad settings with a reason.

A standalone detector IOC runs with ``--data-root ROOT``; a client then tries each path
escape of the fault campaign (FilePath with ``..`` or outside ROOT, FileName with "/",
an absolute FileTemplate, CreateDirectory reaching outside, replacing a file it did not
create) and broken names: each is refused with WriteStatus=Error and a WriteMessage
saying why, and nothing appears outside ROOT.  AcquireTime/AcquirePeriod refuse NaN,
±inf and out-of-range values, and Acquire=0 stops a 100 s exposure at once.
"""

from __future__ import annotations

import math
import os
import time

import epics
import pytest

from stxm_devices.testing import ioc_command, running_ioc

P = "CONF:det1:"


def put(suffix: str, value) -> None:
    epics.caput(P + suffix, value, wait=True, timeout=10)


def get(suffix: str, **kwargs):
    return epics.caget(P + suffix, use_monitor=False, timeout=5, **kwargs)


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def ioc(sim, ca_ports, tmp_path_factory):
    base = tmp_path_factory.mktemp("confine")
    root, outside = base / "root", base / "outside"
    root.mkdir()
    outside.mkdir()
    command = ioc_command("detector", P, "--no-noise", "--data-root", str(root))
    with running_ioc(
        command, port=ca_ports["b"], client_ports=[ca_ports["sim"]], ready_pv=P + "cam1:Acquire"
    ):
        for suffix, value in [
            ("cam1:SizeX", 16),
            ("cam1:SizeY", 16),
            ("cam1:AcquireTime", 0.001),
            ("cam1:ImageMode", "Single"),
            ("HDF1:FileWriteMode", "Single"),
            ("HDF1:AutoSave", "Yes"),
            ("HDF1:EnableCallbacks", "Enable"),
        ]:
            put(suffix, value)
        yield root, outside


def write_one(root, *, path=None, name="frame", template="%s%s_%3.3d.h5") -> tuple[int, str]:
    """Set the file name records, take one frame; (WriteStatus, WriteMessage) after it."""
    put("HDF1:FilePath", str(path or root))
    put("HDF1:FileName", name)
    put("HDF1:FileTemplate", template)
    put("cam1:Acquire", 1)
    wait_for(lambda: get("cam1:AcquireBusy") == 0)
    time.sleep(0.05)  # the writer thread reports within a frame
    return get("HDF1:WriteStatus"), get("HDF1:WriteMessage", as_string=True)


def everything_under(directory) -> list[str]:
    return [os.path.join(d, f) for d, dirs, files in os.walk(directory) for f in dirs + files]


@pytest.mark.parametrize(
    "case",
    ["dotdot_path", "outside_path", "slash_name", "absolute_template", "create_outside"],
)
def test_path_escapes_are_refused(ioc, case):
    root, outside = ioc
    put("HDF1:CreateDirectory", 0)
    if case == "dotdot_path":
        status, message = write_one(root, path=f"{root}/../outside")
        assert "'..'" in message
    elif case == "outside_path":
        status, message = write_one(root, path=outside)
        assert "outside the data root" in message
    elif case == "slash_name":
        status, message = write_one(root, name="../outside/x")
        assert "FileName" in message
    elif case == "absolute_template":
        status, message = write_one(root, template=f"{outside}/x%.0s%.0s%d.h5")
        assert "outside the data root" in message
    else:
        put("HDF1:CreateDirectory", -3)
        put("HDF1:FilePath", f"{outside}/a/b/c")
        status, message = get("HDF1:WriteStatus"), get("HDF1:WriteMessage", as_string=True)
        assert "outside the data root" in message
        assert get("HDF1:FilePathExists_RBV") == 0
    assert status == 1, message
    assert everything_under(outside) == []


def test_an_existing_file_is_never_replaced(ioc):
    root, _ = ioc
    victim = root / "victim.txt"
    victim.write_text("keep me")
    status, message = write_one(root, name="victim.txt", template="%s%s%.0s")
    assert status == 1 and "exists" in message
    assert victim.read_text() == "keep me"


@pytest.mark.parametrize("template", ["%s%s%s%s", "%s%d_%s.h5", "%n%s", "x" * 300 + "%s"])
def test_a_broken_file_template_sets_write_error(ioc, template):
    root, _ = ioc
    status, message = write_one(root, template=template)
    assert status == 1
    assert message.startswith("Error creating full file name") or "outside" in message
    assert everything_under(root) == [] or all("victim" in f for f in everything_under(root))


def test_a_good_name_writes_inside_the_root(ioc):
    root, _ = ioc
    status, message = write_one(root, name="good", template="%s%s_%3.3d.h5")
    assert status == 0, message
    written = get("HDF1:FullFileName_RBV", as_string=True)
    assert written.startswith(str(root)) and os.path.isfile(written)


@pytest.mark.parametrize("record", ["AcquireTime", "AcquirePeriod"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e9, -1.0])
def test_bad_times_are_refused_with_a_message(ioc, record, value):
    before = get(f"cam1:{record}_RBV")
    epics.caput(P + f"cam1:{record}", value, wait=True, timeout=10)
    assert get(f"cam1:{record}_RBV") == before
    message = get("cam1:StatusMessage_RBV", as_string=True)
    assert record in message and "got" in message


def test_acquire_zero_stops_a_long_exposure_at_once(ioc):
    put("cam1:AcquireTime", 100.0)
    try:
        epics.caput(P + "cam1:Acquire", 1)  # completes only when acquisition ends
        wait_for(lambda: get("cam1:Acquire_RBV") == 1)
        started = time.monotonic()
        epics.caput(P + "cam1:Acquire", 0, wait=True, timeout=10)
        wait_for(lambda: get("cam1:DetectorState_RBV") == 0, timeout=5)
        assert time.monotonic() - started < 5
        assert get("cam1:AcquireBusy") == 0
    finally:
        put("cam1:AcquireTime", 0.001)
