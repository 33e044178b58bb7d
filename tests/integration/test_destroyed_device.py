"""Devices made after another on the same PV names was destroyed connect, read and count.

ophyd's ``destroy`` (and the finalizer of a device garbage-collected) releases its
signals' pyepics PVs; the last release of a PV clears its libca channel.  ophyd's
signals of one name share one PV, counted, so a device still holding a name keeps its
channel; a device made afterwards, or a lazy signal of the session's beamline made
afterwards, creates new channels of the same names.  The reconnect watcher
(``stxm_devices/reconnect.py``) used to remember servers by PV name: it took those new,
still-connecting channels for channels of a restarted IOC and renewed them while they
connected, and the replaced channel's connection event reached the PV with the new,
unconnected channel (field type -1), so its next read asked for DBR_STS_DOUBLE
(-1 + 14): "Get failed; unknown type: 13", or ECA_INTERNAL (142) from the IOC for a
string PV — CI's failure after ``test_apstools_ad`` destroyed its device.  The sim
never restarts here, so the watcher must renew nothing.
"""

from __future__ import annotations

import logging

import bluesky.plans as bp
import pytest
from apstools.devices import SimDetectorCam_V34
from ophyd import Component as Cpt
from ophyd import Device
from ophyd.areadetector.plugins import ImagePlugin_V34, StatsPlugin_V34
from ophyd.signal import EpicsSignalBase

PREFIX = "SIM:det1:"


class StockDetector(Device):
    """Stock classes (apstools' V34 camera, ophyd's plugins) on the sim's detector."""

    cam = Cpt(SimDetectorCam_V34, "cam1:", lazy=False)
    image = Cpt(ImagePlugin_V34, "image1:", lazy=False)
    stats1 = Cpt(StatsPlugin_V34, "Stats1:", lazy=False)


def connected_stock_detector(name: str) -> StockDetector:
    detector = StockDetector(PREFIX, name=name)
    detector.wait_for_connection(all_signals=True, timeout=60)
    return detector


@pytest.mark.usefixtures("camera_restored")
def test_devices_on_the_names_of_a_destroyed_one_connect_read_and_count(
    beamline, RE, caplog, tmp_path
):
    caplog.set_level(logging.INFO, logger="stxm_devices.reconnect")
    first = connected_stock_detector("first")
    assert first.cam.port_name.get(use_monitor=False) == "SIM1"
    first.destroy()

    again = connected_stock_detector("again")
    try:
        for walk in again.walk_signals():
            if isinstance(walk.item, EpicsSignalBase):
                walk.item.get(use_monitor=False)  # each channel reads with its own type
        assert again.cam.port_name.get(use_monitor=False) == "SIM1"
        again.cam.acquire_time.set(0.004).wait(5)
        assert beamline.detector.cam.acquire_time.get(use_monitor=False) == pytest.approx(0.004)

        detector = beamline.detector
        detector.wait_for_connection(all_signals=True, timeout=60)
        assert detector.cam.port_name.get(use_monitor=False) == "SIM1"
        previous = detector.hdf1.write_path_template
        detector.hdf1.write_path_template = f"{tmp_path}/"
        try:
            documents = []
            RE(bp.count([detector]), lambda name, doc: documents.append(name))
        finally:
            detector.hdf1.write_path_template = previous
        assert documents.count("event") == 1
    finally:
        again.destroy()
    renewed = [r.getMessage() for r in caplog.records if "searched afresh" in r.getMessage()]
    assert renewed == [], "the watcher renewed channels of an IOC that never restarted"
