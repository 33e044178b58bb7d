"""apstools' ``ad_creator`` with its stock plugin classes connects to every signal it declares.

SimDetectorCam_V34, ImagePlugin_V34, HDF5FileWriterPlugin, StatsPlugin_V34 and
ROIPlugin_V34 declare some 640 signals; all connect (``all_signals=True``), and
Stats1's total, max, mean and sigma — and, with ComputeCentroid, the centroid and sigma
X/Y — equal numpy's on the frame image1 serves.
"""

from __future__ import annotations

import epics
import numpy as np
import pytest

PREFIX = "SIM:det1:"


def test_stock_classes_connect_and_stats_match_numpy(sim, tmp_path):
    from apstools.devices import (
        HDF5FileWriterPlugin,
        SimDetectorCam_V34,
        ad_creator,
    )
    from ophyd.areadetector.plugins import ImagePlugin_V34, ROIPlugin_V34, StatsPlugin_V34

    detector = ad_creator(
        PREFIX,
        name="stock",
        plugins=[
            {"cam": {"class": SimDetectorCam_V34}},
            {"image": {"class": ImagePlugin_V34}},
            {"hdf1": {"class": HDF5FileWriterPlugin, "write_path_template": f"{tmp_path}/"}},
            {"stats1": {"class": StatsPlugin_V34}},
            {"roi1": {"class": ROIPlugin_V34}},
        ],
    )
    try:
        detector.wait_for_connection(all_signals=True, timeout=30)
        cam, stats = detector.cam, detector.stats1
        cam.image_mode.set("Single").wait(5)
        cam.acquire_time.set(0.005).wait(5)
        stats.enable.set(1).wait(5)
        detector.image.enable.set(1).wait(5)
        stats.nd_array_port.set(cam.port_name.get()).wait(5)
        stats.compute_centroid.set("Yes").wait(5)
        stats.centroid_threshold.set(0).wait(5)
        # Acquire's put completes when the frame is out (Acquire_RBV rises before that).
        epics.caput(PREFIX + "cam1:Acquire", 1, wait=True, timeout=10)
        counter = detector.image.array_counter.get(use_monitor=False)
        assert counter > 0
        columns = detector.image.array_size.width.get(use_monitor=False)
        rows = detector.image.array_size.height.get(use_monitor=False)
        frame = np.asarray(detector.image.array_data.get(use_monitor=False))[: rows * columns]
        frame = frame.reshape(rows, columns).astype(np.float64)
        assert stats.total.get(use_monitor=False) == pytest.approx(frame.sum())
        assert stats.max_value.get(use_monitor=False) == pytest.approx(frame.max())
        assert stats.mean_value.get(use_monitor=False) == pytest.approx(frame.mean())
        # StatsPlugin_V34.sigma is Sigma X/Y (centroid); the frame's sigma is Sigma_RBV.
        sigma = epics.caget(stats.prefix + "Sigma_RBV", use_monitor=False)
        assert sigma == pytest.approx(frame.std())
        x, y = np.arange(columns), np.arange(rows)
        weight = frame.sum()
        cx, cy = frame.sum(axis=0) @ x / weight, frame.sum(axis=1) @ y / weight
        sx = np.sqrt(frame.sum(axis=0) @ (x - cx) ** 2 / weight)
        sy = np.sqrt(frame.sum(axis=1) @ (y - cy) ** 2 / weight)
        assert stats.centroid.x.get(use_monitor=False) == pytest.approx(cx)
        assert stats.centroid.y.get(use_monitor=False) == pytest.approx(cy)
        assert stats.sigma.x.get(use_monitor=False) == pytest.approx(sx)
        assert stats.sigma.y.get(use_monitor=False) == pytest.approx(sy)
    finally:
        # Destroying it clears the channels only it holds; devices made later on these
        # names connect afresh (tests/integration/test_destroyed_device.py).
        detector.destroy()
