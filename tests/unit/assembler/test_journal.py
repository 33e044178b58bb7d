"""The write-ahead journal, the frame files of a dead writer, and frames kept in the data dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from nxstxm import Journal, NXstxmAssembler, assemble_scan, load_jsonl
from nxstxm.confine import OutsideError
from nxstxm.frames import clear_write_flags, open_frames
from stxm_devices.testing import wait_until

from .factory import AreaDetector, image_scan, stack_scan


def test_one_journal_per_scan_named_as_its_file_will_be(tmp_path):
    journal = Journal(tmp_path)
    first, second = stack_scan([700.0, 701.0]), image_scan(t0=2e9)
    for name, doc in first + second:
        journal(name, doc)
    journal.close()
    paths = sorted(tmp_path.glob("*.jsonl"))
    assert [p.name for p in paths] == ["C231114001.jsonl", "C330518001.jsonl"]
    assert len(load_jsonl(paths[0])) == len(first) and len(load_jsonl(paths[1])) == len(second)


def test_the_same_document_handed_twice_is_written_once(tmp_path):
    assembler = NXstxmAssembler(tmp_path)
    for name, doc in image_scan():
        assembler.journal(name, doc)  # subscribed first ...
        assembler(name, doc)  # ... and called again by the assembler
    [journal] = tmp_path.glob("*.jsonl")
    assert len(load_jsonl(journal)) == len(image_scan())
    assert [p.name for p in assembler.written] == ["C231114001.nxs"]


def test_documents_outside_any_scan_are_not_journaled(tmp_path):
    journal = Journal(tmp_path)
    journal("stop", {"uid": "x", "run_start": "nobody", "time": 0.0})
    assert not list(tmp_path.iterdir()) and journal.errors == []


def test_a_journal_is_taken_up_after_its_writer_died(tmp_path):
    documents = image_scan()
    first = Journal(tmp_path)
    for name, doc in documents[:5]:
        first(name, doc)
    [path] = tmp_path.glob("*.jsonl")
    path.write_bytes(path.read_bytes() + b'["event", {"desc')  # torn mid-line
    first.close()
    assembler = NXstxmAssembler(tmp_path)
    assembler.resume(path)
    for name, doc in documents[5:]:
        assembler(name, doc)
    assert [p.name for p in assembler.written] == ["C231114001.nxs"]
    assert len(load_jsonl(path, tolerate_torn_end=False)) == len(documents)


def test_a_journal_a_live_process_holds_is_left_alone(tmp_path):
    holder = Journal(tmp_path)
    for name, doc in image_scan()[:3]:
        holder(name, doc)
    [path] = tmp_path.glob("*.jsonl")
    with pytest.raises(BlockingIOError):
        NXstxmAssembler(tmp_path).resume(path)


WRITER = textwrap.dedent(
    """
    import sys, time, h5py
    f = h5py.File(sys.argv[1], "w", libver="latest")
    d = f.create_dataset("entry/data/data", shape=(0, 4, 3), maxshape=(None, 4, 3),
                         chunks=(1, 4, 3), dtype="u2")
    f.swmr_mode = True
    for i in range(5):
        d.resize(i + 1, axis=0); d[i] = i + 1; f.flush()
    print("written", flush=True)
    time.sleep(600)
    """
)


@pytest.fixture
def flagged_file(tmp_path):
    """A SWMR frame file whose writer was SIGKILLed with it open (5 frames of i + 1)."""
    path = tmp_path / "frames.h5"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "written"
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
    assert wait_until(lambda: writer.poll() is not None, timeout=10)
    return path


def test_a_dead_writers_flags_are_cleared_as_h5clear_would(flagged_file):
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(flagged_file, "r").close()
    with pytest.raises(OSError, match="already open for write"):
        open_frames(flagged_file, repair=False).close()  # what stxm check does: only look
    with open_frames(flagged_file) as h5:
        frames = h5["entry/data/data"][()]
    np.testing.assert_array_equal(frames[:, 0, 0], [1, 2, 3, 4, 5])
    with h5py.File(flagged_file, "r") as h5:  # anyone can open it now
        assert h5["entry/data/data"].shape == (5, 4, 3)
    assert clear_write_flags(flagged_file) is False  # nothing left to clear


def test_frames_outside_the_data_directory_even_through_a_symlink_are_refused(tmp_path):
    outside = tmp_path / "outside"
    detector = AreaDetector(outside, single=False)
    documents = image_scan(detector=detector)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "link").symlink_to(outside)
    for name, doc in documents:
        if name == "resource":
            doc["root"] = str(data_dir / "link")
    with pytest.raises(Exception, match="outside the data directory") as refusal:
        assemble_scan(documents, data_dir)
    assert isinstance(refusal.value.__cause__, OutsideError)
    assert assemble_scan(documents, data_dir, allow_outside=[outside]).exists()
