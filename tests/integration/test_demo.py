"""``stxm demo`` end to end at small sizes: files that pass the check, real quick-looks."""

from __future__ import annotations

import subprocess
import sys

import h5py
import hdf5plugin  # noqa: F401  (the IOC's frames may be compressed)
import numpy as np
import pytest
from PIL import Image

from iocs.physics import ZONE_PLATES, Phantom
from stxm_devices.demo import PTYCHO
from stxm_devices.quicklook import focus_from_edges


@pytest.mark.timeout(300)  # five scans on a shared 2-core machine: margin over its ~90 s
def test_demo_writes_checked_files_and_quicklooks(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stxm_devices.cli",
            "demo",
            "--data-dir",
            str(tmp_path),
            "--points",
            "16",
            "--stack-points",
            "10",
            "--energies",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=270,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # Quiet: the table, the geometry line and progress bars, nothing of Channel Access's.
    for noise in ("cannot connect", "CA.Client.Exception", "caRepeater", "CA repeater", "Virtual"):
        assert noise not in result.stdout + result.stderr, noise
    files = sorted(tmp_path.glob("C*.nxs"))
    assert len(files) == 5
    for nxs in files:
        assert nxs.name in result.stdout  # the table lists it
        png = nxs.with_suffix(".png")
        pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 300
        assert pixels.std() > 10, f"{png.name} looks blank"
    assert PTYCHO.describe() in result.stdout  # the scan geometry: step, probe, overlap
    _ptycho_frames_map_the_particle(files[-1])
    _focus_within_a_depth_of_focus(files[2])
    check = subprocess.run(
        [sys.executable, "-m", "stxm_devices.cli", "check", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def _ptycho_frames_map_the_particle(nxs):
    """Bright-field pixels ≥ 10³ counts; frame totals correlate > 0.9 with exp(−OD)."""
    with h5py.File(nxs) as h5:
        frames = h5["entry0/instrument/det1_image/data"]
        totals = np.array([float(frames[k].sum()) for k in range(frames.shape[0])])
        brightest = frames[int(np.argmax(totals))]
        x = h5["entry0/instrument/sample_x/data"][()]
        y = h5["entry0/instrument/sample_y/data"][()]
        energy = float(h5["entry0/instrument/monochromator/energy"][0])
    assert totals.size == PTYCHO.positions_um()[0].size
    assert np.median(brightest[brightest > 0.2 * brightest.max()]) >= 1e3
    transmission = np.exp(-Phantom().optical_density(x, y, energy))
    assert transmission.min() < 0.5 < transmission.max()  # over the particle's edge
    assert np.corrcoef(totals, transmission)[0, 1] > 0.9


def _focus_within_a_depth_of_focus(nxs):
    """The quick-look's focus (an edge fit per line) lies within λ/NA² of A1·E."""
    with h5py.File(nxs) as h5:
        nxdata = h5["entry0/counter0"]
        z, position = nxdata["zoneplate_z"][()], nxdata["line_position"][()]
        found, _, _, _ = focus_from_edges(z, position, nxdata["data"][()])
        a1 = -h5["entry0/instrument/zone_plate/focus_parameters"][1]  # stored as |A1|
        energy = float(h5["entry0/instrument/monochromator/energy"][0])
    depth = float(ZONE_PLATES[7].depth_of_focus_um(energy))
    assert abs(found - a1 * energy) < depth, (found, a1 * energy, depth)
