"""The detector IOC keeps files inside its data root and refuses bad settings with a reason.

A standalone detector IOC runs with ``--data-root ROOT``; a client then tries each path
escape of the fault campaign (FilePath with ``..`` or outside ROOT, FileName with "/",
an absolute FileTemplate, CreateDirectory reaching outside, replacing a file it did not
create) and broken names: each is refused with WriteStatus=Error and a WriteMessage
saying why, and nothing appears outside ROOT.  AcquireTime/AcquirePeriod refuse NaN,
±inf and out-of-range values, and Acquire=0 stops a 100 s exposure at once.

Inside ROOT the same IOC shows NDFileHDF5's semantics (LazyOpen opens and numbers the
file at the first frame, NumFramesChunks/NumRowChunks/NumColChunks decide the chunks,
FlushNow flushes) and NDFileTIFF's (a TIFF file per frame, the frame image1 serves).
"""

from __future__ import annotations

import math
import os
import time

import epics
import h5py
import numpy as np
import pytest
import tifffile

from stxm_devices.testing import ioc_command, running_ioc

P = "CONF:det1:"
#: Issue 9's escape probes: selected by ``-m faults`` with the other fault tests.
pytestmark = pytest.mark.faults


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
            # AcquireBusy falls once HDF1's writer thread has reported (WriteStatus).
            ("cam1:WaitForPlugins", "Yes"),
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
    wait_for(lambda: get("cam1:AcquireBusy") == 0)  # the write reported (WaitForPlugins)
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


# -- NDFileHDF5 and NDFileTIFF semantics, inside the root ------------------------------


def acquire(frames: int) -> None:
    put("cam1:ImageMode", "Multiple")
    put("cam1:NumImages", frames)
    put("cam1:Acquire", 1)  # completes when the frames are out
    wait_for(lambda: get("cam1:AcquireBusy") == 0)
    put("cam1:ImageMode", "Single")


def stream(root, name: str, **settings) -> None:
    """HDF1 streaming into ROOT/name_NNN.h5, with ``settings`` (record → value) put first."""
    put("HDF1:FilePath", str(root))
    put("HDF1:FileName", name)
    put("HDF1:FileTemplate", "%s%s_%3.3d.h5")
    put("HDF1:FileWriteMode", "Stream")
    for record, value in {"NumCapture": 0, "LazyOpen": "No", **settings}.items():
        put(f"HDF1:{record}", value)


@pytest.fixture()
def hdf1(ioc):
    yield ioc[0]
    put("HDF1:Capture", 0)
    for record, value in [("LazyOpen", "No"), ("ChunkSizeAuto", "Yes"), ("NumFramesChunks", 1)]:
        put(f"HDF1:{record}", value)
    put("HDF1:FileWriteMode", "Single")


def test_lazy_open_opens_and_numbers_the_file_at_the_first_frame(hdf1):
    stream(hdf1, "lazy", LazyOpen="Yes", FileNumber=7)
    put("HDF1:Capture", 1)
    assert get("HDF1:FileNumber_RBV") == 7  # nothing opened yet
    assert not (hdf1 / "lazy_007.h5").exists()
    acquire(3)
    wait_for(lambda: get("HDF1:NumCaptured_RBV") == 3)
    assert get("HDF1:FileNumber_RBV") == 8
    assert get("HDF1:FullFileName_RBV", as_string=True) == str(hdf1 / "lazy_007.h5")
    put("HDF1:Capture", 0)
    with h5py.File(hdf1 / "lazy_007.h5", "r") as file:
        assert file["/entry/data/data"].shape == (3, 16, 16)
    assert get("HDF1:WriteStatus") == 0


def test_chunks_follow_num_frames_rows_and_columns(hdf1):
    settings = dict(ChunkSizeAuto="No", NumFramesChunks=2, NumRowChunks=8, NumColChunks=4)
    stream(hdf1, "chunked", **settings)
    put("HDF1:Capture", 1)
    acquire(2)
    wait_for(lambda: get("HDF1:NumCaptured_RBV") == 2)
    put("HDF1:Capture", 0)
    with h5py.File(get("HDF1:FullFileName_RBV", as_string=True), "r") as file:
        assert file["/entry/data/data"].chunks == (2, 8, 4)


def test_flush_now_makes_the_frames_readable_while_capturing(hdf1):
    stream(hdf1, "flushed", SWMRMode="Off", NumFramesFlush=0)
    put("HDF1:Capture", 1)
    acquire(3)
    wait_for(lambda: get("HDF1:NumCaptured_RBV") == 3)
    put("HDF1:FlushNow", 1)
    path = get("HDF1:FullFileName_RBV", as_string=True)
    with h5py.File(path, "r", locking=False) as file:
        assert file["/entry/data/data"].shape[0] == 3
    put("HDF1:Capture", 0)


def test_tiff_writes_one_file_per_frame_in_every_mode(ioc):
    root, _ = ioc
    put("TIFF1:EnableCallbacks", "Enable")
    put("image1:EnableCallbacks", "Enable")
    put("HDF1:EnableCallbacks", "Disable")
    try:
        put("TIFF1:FilePath", str(root))
        put("TIFF1:FileName", "frame")
        put("TIFF1:FileNumber", 0)
        put("TIFF1:FileWriteMode", "Stream")
        put("TIFF1:NumCapture", 3)
        put("TIFF1:Capture", 1)
        acquire(3)
        wait_for(lambda: get("TIFF1:Capture_RBV") == 0)
        assert get("TIFF1:NumCaptured_RBV") == 3
        files = [root / f"frame_{n:03d}.tif" for n in range(3)]
        assert all(path.is_file() for path in files)
        last = tifffile.imread(files[-1])
        served = get("image1:ArrayData")[: last.size].reshape(last.shape)
        assert last.dtype == np.uint16 and np.array_equal(last, served)
        assert all(tifffile.imread(path).shape == (16, 16) for path in files)
        assert get("TIFF1:WriteStatus") == 0
    finally:
        put("TIFF1:EnableCallbacks", "Disable")
        put("HDF1:EnableCallbacks", "Enable")
