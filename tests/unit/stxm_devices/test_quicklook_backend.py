"""Importing the quick-looks leaves matplotlib's backend to the session (live plots)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json
import matplotlib
import stxm_devices.quicklook
print(json.dumps(matplotlib.rcParams._get_backend_or_none()))
"""


def test_import_chooses_no_backend():
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) is None  # still "auto"


def test_quicklook_renders_without_pyplot(tmp_path):
    import h5py
    import numpy as np

    from stxm_devices.quicklook import quicklook

    nxs = tmp_path / "image.nxs"
    with h5py.File(nxs, "w") as h5:
        h5.attrs["default"] = "entry0"
        entry = h5.create_group("entry0")
        entry.attrs["default"] = "counter0"
        nxdata = entry.create_group("counter0")
        nxdata.attrs["axes"] = ["sample_y", "sample_x"]
        nxdata["data"] = np.arange(12.0).reshape(3, 4)
        nxdata["sample_x"], nxdata["sample_y"] = np.arange(4.0), np.arange(3.0)
        nxdata["stxm_scan_type"] = [b"sample image"]
    png = quicklook(nxs)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
