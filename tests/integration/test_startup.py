"""The IPython profile: ``from stxm_devices.startup import *`` then ``RE(stxm_image(...))``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

SESSION = textwrap.dedent(
    """
    import json, h5py, numpy as np
    from stxm_devices.startup import *

    bec.disable_plots()
    (image_uid,) = RE(stxm_image(x_center_um=-3, x_range_um=16, nx=8, y_center_um=3,
                                 y_range_um=10, ny=5, dwell_ms=1))
    (ptycho_uid,) = RE(ptycho_scan(region=Region(0, 1, 3, 0, 1, 2), dwell_ms=2,
                                   detectors=("detector", "counter")))
    primary = cat[image_uid]["primary"]
    image = np.asarray(primary["counter0_line_counts"].read(), dtype=float)
    from iocs.physics import BeamState, StxmModel
    expected = StxmModel(noise=False).expected_counts(BeamState(
        energy_ev=float(beamline.energy.mono.position), zp_z_um=beamline.zoneplate.z.position,
        sample_x_um=np.asarray(primary["counter0_line_positions"].read()),
        sample_y_um=np.asarray(primary["stage_fine_y"].read())[:, None],
        ring_current_ma=float(beamline.ring_current.get())), 1.0)
    correlation = float(np.corrcoef(image.ravel(), expected.ravel())[0, 1])
    frames = np.asarray(cat[ptycho_uid]["primary"]["det1_image"].read())
    counts = cat[ptycho_uid]["primary"]["counter0_counts"].read()
    files = sorted(str(p) for p in (config.data_dir / "det1").rglob("*.h5"))
    with h5py.File(files[0], "r") as f:
        on_disk = f["entry/data/data"][()]
    print(json.dumps({
        "image_shape": list(np.shape(image)),
        "correlation": correlation,
        "frames_shape": list(frames.shape),
        "frames_match_ioc_file": bool(np.array_equal(frames.reshape(on_disk.shape), on_disk)),
        "counts": len(counts),
        "detector_files": len(files),
        "nxs": [str(p) for p in assembler.written],
        "plans": sorted(name for name in dir() if name.endswith(("_image", "_scan", "_focus"))),
    }))
    """
)


def test_profile_gives_RE_plans_and_a_catalog_with_frames(sim, tmp_path):
    env = {**os.environ, "STXM_PREFIX": "SIM:", "STXM_DATA_DIR": str(tmp_path), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", SESSION], env=env, capture_output=True, text=True, timeout=110
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["image_shape"] == [5, 8]
    assert report["correlation"] > 0.9  # the image is the phantom at those positions
    assert report["frames_shape"][0] == 6
    assert report["frames_match_ioc_file"]
    assert report["detector_files"] == 1  # one stream file per run, no empty extra
    assert report["counts"] == 6
    assert {"stxm_image", "osa_image", "ptycho_scan", "sample_focus"} <= set(report["plans"])
    assert report["nxs"], "the assembler wrote no NXstxm file"
