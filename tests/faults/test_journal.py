"""The write-ahead journal: a RunEngine process interrupted mid stack loses nothing.

A script running ``image_stack`` gets SIGINT (Ctrl-C, in the startup profile) or SIGKILL
during its third image: the journal beside the NXstxm files holds every document up to
then, and ``stxm assemble`` of it gives the two complete images and the third, marked
incomplete. After SIGINT the profile session also ends cleanly (no SIGABRT in pyarrow)
and writes the scan itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from nxstxm import check_file, load_jsonl
from stxm_devices.channel_access import loopback_client_environment
from stxm_devices.testing import running_ioc, sim_command, wait_until

pytestmark = pytest.mark.faults

PREFIX = "JRN:"
NX, NY, ENERGIES = 4, 3, 6
#: Long enough (12 points: ~2.4 s an image) that Ctrl-C, pressed while the third image is
#: under way, pauses it before it ends, even on a loaded machine.
DWELL_MS = 200
STACK_PLAN = (
    f"image_stack(regions=[Region(0, 3, {NX}, 0, 2, {NY})], "
    f"energy_regions=[(700, 705, {ENERGIES})], dwell_ms={DWELL_MS})"
)
#: A beamline session as the startup profile makes it (catalog, progress bars, ...).
PROFILE = textwrap.dedent(
    """
    from stxm_devices.startup import *

    bec.disable_plots()
    RE({plan})
    """
)
#: A lean session: the RunEngine, the beamline, the assembler and its journal.
LEAN = textwrap.dedent(
    """
    import functools
    import os
    from bluesky import RunEngine
    from plans import PLANS, Region
    from stxm_devices import make_beamline
    from nxstxm import NXstxmAssembler

    data_dir = os.environ["STXM_DATA_DIR"]
    beamline = make_beamline(os.environ["STXM_PREFIX"], detector_write_path=data_dir + "/det1/")
    RE = RunEngine({{}})
    assembler = NXstxmAssembler(data_dir)
    RE.subscribe(assembler.journal)
    RE.subscribe(assembler)
    globals().update((name, functools.partial(plan, beamline)) for name, plan in PLANS.items())
    RE({plan})
    """
)


@pytest.fixture(scope="module")
def own_sim(ca_ports):
    """A sim of our own (a port of its own) for processes that are interrupted or killed."""
    port = ca_ports["b"]
    command = sim_command(port, PREFIX)
    with running_ioc(command, port=port, ready_pv=f"{PREFIX}counter0:Noise") as process:
        yield process


def profile_env(port: int, data_dir) -> dict[str, str]:
    """The environment of a profile session on the sim at ``port``, data in ``data_dir``."""
    return {
        **os.environ,
        **loopback_client_environment([port]),
        "STXM_PREFIX": PREFIX,
        "STXM_DATA_DIR": str(data_dir),
        "MPLBACKEND": "Agg",
    }


def _documents(journal):
    return load_jsonl(journal) if journal.exists() and journal.stat().st_size else []


def primary_events(documents) -> int:
    """How many events of primary streams the documents hold."""
    primary = {
        doc["uid"] for name, doc in documents if name == "descriptor" and doc["name"] == "primary"
    }
    return sum(1 for name, doc in documents if name == "event" and doc["descriptor"] in primary)


def interrupted_stack(
    port: int, data_dir: Path, signum: int, session: str = LEAN
) -> tuple[Path, str, int]:
    """Run the stack in a profile session, send ``signum`` during its third image.

    SIGINT is Ctrl-C as a user presses it: once (bluesky then waits for a checkpoint),
    then again until the RunEngine says it pauses at once. Returns the scan's journal,
    the session's output and its exit status.
    """
    data_dir.mkdir(parents=True)
    log = data_dir.parent / "session.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", session.format(plan=STACK_PLAN)],
            env=profile_env(port, data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    journals: list[Path] = []

    def third_image_under_way() -> bool:
        journals[:] = sorted(data_dir.glob("*.jsonl"))
        if not journals:
            return process.poll() is not None
        documents = _documents(journals[0])
        names = [name for name, _ in documents]
        return (
            names.count("stop") == 2
            and names.count("start") == 3
            and primary_events(documents[len(names) - names[::-1].index("start") - 1 :])
        )

    def pausing() -> bool:
        if process.poll() is None and "'hard pause'" not in log.read_text():
            process.send_signal(signal.SIGINT)  # bluesky counts those 100 ms apart
            return False
        return True

    try:
        assert wait_until(third_image_under_way, timeout=90, poll_s=0.05)
        assert process.poll() is None and journals, log.read_text()[-3000:]
        if signum == signal.SIGINT:
            assert wait_until(pausing, timeout=20, poll_s=0.3), log.read_text()[-3000:]
        else:
            process.send_signal(signum)
        process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return journals[0], log.read_text(), process.returncode


def assemble(journal: Path) -> Path:
    """``stxm assemble JOURNAL`` in a process of its own (data directory: STXM_DATA_DIR)."""
    result = subprocess.run(
        [sys.executable, "-m", "stxm_devices.cli", "assemble", str(journal)],
        env={**os.environ, "STXM_DATA_DIR": str(journal.parent)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.split()
    return Path(line)


def two_images_and_a_part(path: Path) -> str:
    """Assert the stack holds 2 complete images and part of a third; return the status text."""
    with h5py.File(path) as h5:
        data = h5["entry0/counter0/data"][()]
        assert h5["entry0/status/data"].asstr()[()] == "incomplete"
        why = h5["entry0/status/description"].asstr()[()]
    assert data.shape == (3, NY, NX)
    assert not np.isnan(data[:2]).any()  # two complete images
    assert np.isnan(data[2]).any() and not np.isnan(data[2]).all()  # the third, in part
    assert f"3 of {ENERGIES} runs" in why
    report = check_file(path)
    assert report.ok, report.text()
    return why


def test_sigint_mid_stack_ends_the_session_cleanly_and_writes_the_scan(own_sim, tmp_path):
    data_dir = tmp_path / "data"
    journal, output, status = interrupted_stack(own_sim.port, data_dir, signal.SIGINT, PROFILE)
    assert status in (0, 1), f"the session died of signal {-status}: {output[-3000:]}"
    assert "pyarrow" not in output and "Check failed" not in output
    names = [name for name, _ in load_jsonl(journal)]
    assert names.count("start") == 3 and names.count("stop") == 3
    # The profile aborted the paused run at exit: the live assembler wrote the scan ...
    live = data_dir / f"{journal.stem}.nxs"
    assert live.exists(), f"{sorted(p.name for p in data_dir.iterdir())}: {output[-3000:]}"
    assert "abort" in two_images_and_a_part(live)
    # ... and the journal builds it again, under a new name.
    again = assemble(journal)
    assert again != live and "abort" in two_images_and_a_part(again)


def test_sigkill_mid_stack_leaves_a_journal_that_assembles(own_sim, tmp_path):
    data_dir = tmp_path / "data"
    journal, _, status = interrupted_stack(own_sim.port, data_dir, signal.SIGKILL)
    assert status == -signal.SIGKILL
    assert not list(data_dir.glob("*.nxs"))  # no stop came: nothing was published
    names = [name for name, _ in load_jsonl(journal)]
    assert names.count("start") == 3 and names.count("stop") == 2
    path = assemble(journal)
    assert path.name == f"{journal.stem}.nxs"  # the name the journal reserved
    assert "no stop document" in two_images_and_a_part(path)
