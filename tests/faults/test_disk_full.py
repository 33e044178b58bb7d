"""A full disk under the NXstxm directory: nothing raised into the RunEngine, nothing
half-published, the journal intact, and the next scan refused with a clear message.

A 120 × 120 line image goes into a 300 kB tmpfs (we run as root; where mounting is
refused the test says so and injects ENOSPC into the journal's and writer's writes).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import pytest
from bluesky import RunEngine

import plans
from nxstxm import DiskSpaceError, NXstxmAssembler, load_jsonl, space_guard
from nxstxm import assembler as assembler_module
from nxstxm import journal as journal_module
from stxm_devices import make_beamline
from stxm_devices.testing import running_ioc, sim_command

pytestmark = pytest.mark.faults

PREFIX = "DSK:"
SIZE = "300k"


class _FullDisk:
    """``os`` for the journal, whose writes fail with ENOSPC past a byte budget."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def __getattr__(self, name):
        return getattr(os, name)

    def write(self, fd, data) -> int:
        if len(data) > self.budget:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.budget -= len(data)
        return os.write(fd, data)


@pytest.fixture
def small_disk(tmp_path, monkeypatch):
    """A 300 kB tmpfs (unmounted afterwards), or a directory with ENOSPC injected."""
    mount = tmp_path / "full"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        print(f"tmpfs refused ({result.stderr.strip()}): ENOSPC injected instead")
        monkeypatch.setattr(journal_module, "os", _FullDisk(300_000))

        def no_room(*args):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(assembler_module, "write_model", no_room)
        yield mount
        return
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture(scope="module")
def beamline(ca_ports):
    port = ca_ports["b"]
    with running_ioc(sim_command(port, PREFIX), port=port, ready_pv=f"{PREFIX}counter0:Noise"):
        yield make_beamline(PREFIX)


def image(beamline, n: int = 120):
    return plans.stxm_image(
        beamline, x_center_um=0, x_range_um=20, nx=n, y_center_um=0, y_range_um=20, ny=n
    )


def test_full_disk_reaches_no_callback_and_publishes_nothing(beamline, small_disk, tmp_path):
    RE = RunEngine({}, call_returns_result=True)  # noqa: N806 - the usual name
    assembler = NXstxmAssembler(small_disk)
    RE.subscribe(assembler.journal)
    RE.subscribe(assembler)
    later: list[str] = []
    RE.subscribe(lambda name, doc: later.append(name))

    result = RE(image(beamline))  # must not raise

    assert result.exit_status == "success"
    assert later[0] == "start" and later[-1] == "stop"  # a later callback saw every document
    assert assembler.written == []
    assert any("No space left" in str(err) or "MB free" in str(err) for err in assembler.errors)
    assert not list(small_disk.glob("*.nxs")) and not list(small_disk.glob(".*.tmp"))
    [journal] = small_disk.glob("*.jsonl")
    kept = load_jsonl(journal, tolerate_torn_end=False)  # every line whole, none torn
    assert [name for name, _ in kept][:2] == ["start", "descriptor"]
    assert any("not written" in error for error in assembler.journal.errors)

    # The next scan is refused before it starts, saying why.
    RE.preprocessors.append(space_guard(small_disk, 1_000_000))
    before = journal.read_bytes()
    with pytest.raises(DiskSpaceError, match=r"MB free, a scan .* needs 1\.00 MB"):
        RE(image(beamline, 4))
    assert journal.read_bytes() == before and list(small_disk.glob("*.jsonl")) == [journal]

    # With room again, the journal still builds the file from what it holds.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(journal, elsewhere)
    [path] = assembler_module.assemble_file(elsewhere / journal.name, elsewhere)
    with h5py.File(path) as h5:
        rows, width = h5["entry0/counter0/data"].shape  # the rows the journal kept
        assert 0 < rows <= 120 and width == 120
        assert h5["entry0/status/data"].asstr()[()] == "incomplete"  # its stop was not kept
    assert Path(path).name == f"{journal.stem}.nxs"
