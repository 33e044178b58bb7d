"""Frames of a dead IOC are still linked: SIGKILL of the sim mid ptychography scan.

The detector IOC dies with its stream file open in SWMR mode, so the file keeps its
"open for write" flags and HDF5 refuses an ordinary open. ``stxm assemble`` of the
scan's journal still gives a file, marked incomplete, linking every frame the datums
name, all readable by a reader that knows nothing of SWMR, and ``stxm check`` passes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import h5py
import hdf5plugin  # noqa: F401  (the IOC's files may be compressed)
import pytest

from nxstxm import check_file, load_jsonl
from stxm_devices.testing import running_ioc, sim_command, wait_until

from .test_journal import LEAN, PREFIX, assemble, primary_events, profile_env

pytestmark = pytest.mark.faults

FRAMES = "entry0/instrument/det1_image/data"
PTYCHO = (
    'ptycho_scan(region=Region(0, 4, 8, 0, 4, 8), dwell_ms=20, detectors=("detector", "counter"))'
)


def test_sim_killed_mid_ptycho_scan_frames_linked_and_readable(ca_ports, tmp_path):
    data_dir = tmp_path / "data"
    port = ca_ports["b"]
    with (
        running_ioc(
            sim_command(port, PREFIX), port=port, ready_pv=f"{PREFIX}counter0:Noise"
        ) as sim,
        (tmp_path / "session.log").open("w") as log,
    ):
        session = subprocess.Popen(
            [sys.executable, "-c", LEAN.format(plan=PTYCHO)],
            env=profile_env(port, data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:

            def frames_arriving() -> bool:
                journals = list(data_dir.glob("*.jsonl")) if data_dir.is_dir() else []
                return session.poll() is not None or (
                    bool(journals) and primary_events(load_jsonl(journals[0])) >= 10
                )

            assert wait_until(frames_arriving, timeout=90, poll_s=0.1)
            assert session.poll() is None, "the scan ended before the sim was killed"
            sim.kill()
            # Whether the session fails the scan or waits for ever is the devices' concern;
            # what it acquired is in the journal either way.
            if not wait_until(lambda: session.poll() is not None, timeout=10):
                session.kill()
        finally:
            if session.poll() is None:
                session.kill()
            session.wait(10)
    [journal] = data_dir.glob("*.jsonl")
    documents = load_jsonl(journal)
    acquired = primary_events(documents)
    [resource] = [doc for name, doc in documents if name == "resource"]
    frame_file = os.path.join(resource["root"], resource["resource_path"])
    try:
        h5py.File(frame_file, "r").close()
    except OSError as err:  # the dead IOC left its file flagged; nothing cleared it yet
        assert "already open for write" in str(err)
    else:  # the session's own assembler got the failed stop and cleared the flags
        assert "left flagged open for write" in (tmp_path / "session.log").read_text()
    paths = [assemble(journal), *data_dir.glob("*.nxs")]  # the journal's, and a live one
    for path in set(paths):
        with h5py.File(path) as h5:  # an ordinary reader, following the links
            assert h5["entry0/status/data"].asstr()[()] == "incomplete"
            frames = h5[FRAMES][()]
        assert frames.shape[0] == acquired >= 10
        assert frames.any(axis=(1, 2)).all()  # every linked frame holds an image
        report = check_file(path)  # what stxm check runs
        assert report.ok, report.text()
