"""Write errors reach the user as the IOC's WriteMessage, and no file claims missing frames.

Tests run as root, so chmod cannot make a directory unwritable.  Each error is provoked
for real instead:
- no such directory, and it cannot be created: a path component is a regular file
  (ENOTDIR);
- a directory outside the IOC's data roots (/sys): refused before anything is written;
- a file that already exists where the IOC would write (a symlink to /dev/full, made
  through ophyd's ``make_filename`` hook): never replaced nor written through; in
  Single mode it is the third frame's file, so two frames are written first;
- a full disk mid-stream: a standalone detector IOC under ``prlimit --fsize`` (EFBIG
  once the file reaches the limit) — the file keeps exactly the frames written.
"""

from __future__ import annotations

import os
import shutil

import bluesky.plans as bp
import h5py
import numpy as np
import pytest
from bluesky.utils import FailedStatus

from iocs.hdf5_writer import readable_frames
from stxm_devices import AreaDetector, DetectorWriteError, SingleFileAreaDetector
from stxm_devices.testing import ioc_command, running_ioc

SHAPE = (32, 32)


def configured(detector):
    detector.wait_for_connection(timeout=10)
    detector.cam.size.size_x.set(SHAPE[1]).wait(5)
    detector.cam.size.size_y.set(SHAPE[0]).wait(5)
    detector.cam.acquire_time.set(0.002).wait(5)
    return detector


def stream_detector(directory, prefix="SIM:det1:"):
    return configured(AreaDetector(prefix, name="det1", write_path_template=f"{directory}/"))


def raised_message(RE, plan):  # noqa: N803 - bluesky's name for the RunEngine
    """Run ``plan``; the message of the error the device raised (not a timeout)."""
    documents = []
    with pytest.raises((DetectorWriteError, FailedStatus)) as failure:
        RE(plan, lambda name, doc: documents.append((name, doc)))
    error = failure.value
    while not isinstance(error, DetectorWriteError) and error.__cause__ is not None:
        error = error.__cause__
    assert isinstance(error, DetectorWriteError), repr(failure.value)
    return str(error), documents


def test_path_that_cannot_be_created_fails_at_stage(RE, sim, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    message, documents = raised_message(RE, bp.count([stream_detector(blocker / "run")], num=1))
    assert "Cannot create directory" in message and "Not a directory" in message
    assert not [name for name, _ in documents if name == "event"]


def test_directory_outside_the_data_roots_fails_at_stage(RE, sim):
    message, _ = raised_message(RE, bp.count([stream_detector("/sys")], num=1))
    assert "outside the data root" in message and "/sys" in message
    assert not [f for f in os.listdir("/sys") if f.endswith(".h5")]


class FullDiskAt:
    """Put a symlink to /dev/full where frame ``index``'s file will go (make_filename hook)."""

    def __init__(self, plugin, index):
        self.plugin, self.index = plugin, index
        self.make_filename = plugin.make_filename
        plugin.make_filename = self

    def __call__(self):
        filename, read_path, write_path = self.make_filename()
        os.makedirs(write_path, exist_ok=True)
        target = os.path.join(write_path, f"{filename}_{self.index:06d}.h5")
        os.symlink("/dev/full", target)
        self.path = target
        return filename, read_path, write_path


def test_existing_file_at_open_fails_at_stage(RE, sim, tmp_path):
    detector = stream_detector(tmp_path)
    full = FullDiskAt(detector.hdf1, 0)
    message, _ = raised_message(RE, bp.count([detector], num=2))
    assert "exists and this capture did not create it" in message
    assert os.readlink(full.path) == "/dev/full"  # nothing was written in its place


def test_existing_file_mid_run_keeps_the_frames_written(RE, sim, tmp_path):
    detector = configured(
        SingleFileAreaDetector("SIM:det1:", name="det1", write_path_template=f"{tmp_path}/")
    )
    full = FullDiskAt(detector.hdf1, 2)
    message, documents = raised_message(RE, bp.count([detector], num=5))
    assert "exists and this capture did not create it" in message
    assert os.readlink(full.path) == "/dev/full"
    events = [doc for name, doc in documents if name == "event"]
    assert len(events) == 2
    for index in range(2):
        path = full.path.replace("_000002.h5", f"_{index:06d}.h5")
        with h5py.File(path, "r") as file:
            assert file["/entry/data/data"].shape == SHAPE
            assert (
                float(np.sum(file["/entry/data/data"][()]))
                == events[index]["data"]["det1_stats1_total"]
            )


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")
def test_file_size_limit_mid_stream_keeps_the_frames_written(RE, sim, ca_ports, tmp_path):
    port = ca_ports["a"]
    command = ["prlimit", "--fsize=150000", *ioc_command("detector", "FS:det1:", "--no-noise")]
    with running_ioc(
        command, port=port, client_ports=[ca_ports["sim"]], ready_pv="FS:det1:cam1:Acquire"
    ):
        detector = stream_detector(tmp_path, prefix="FS:det1:")
        message, documents = raised_message(RE, bp.count([detector], num=100))
        assert "File too large" in message
        events = [doc for name, doc in documents if name == "event"]
        (resource,) = [doc for name, doc in documents if name == "resource"]
        path = os.path.join(resource["root"], resource["resource_path"])
        assert 5 < len(events) < 100
        assert readable_frames(path) == len(events)  # the file holds what the events say
        assert detector.hdf1.num_captured.get(use_monitor=False) == len(events)
