"""``stxm demo`` end to end at small sizes: files that pass the check, real quick-looks."""

from __future__ import annotations

import subprocess
import sys

import h5py
import hdf5plugin  # noqa: F401  (the IOC's frames may be compressed)
import numpy as np
from PIL import Image

from iocs.physics import Phantom
from stxm_devices.demo import PTYCHO


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
        timeout=115,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
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
