"""``stxm demo`` end to end at small sizes: files that pass the check, real quick-looks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from PIL import Image


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
    check = subprocess.run(
        [sys.executable, "-m", "stxm_devices.cli", "check", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
