"""The area detector counts through ophyd and bluesky; the IOC's files read back as written."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import bluesky.plans as bp
import epics
import h5py
import hdf5plugin  # noqa: F401 - registers the compression filters for reading
import numpy as np
import pytest
from area_detector_handlers.handlers import (
    AreaDetectorHDF5Handler,
    AreaDetectorHDF5SingleHandler,
)
from ophyd import ADComponent as ADCpt
from ophyd import EpicsSignalWithRBV

from iocs.physics import Phantom
from stxm_devices import AreaDetector, SingleFileAreaDetector
from stxm_devices.detector import DetectorCam

#: These tests change the shared sim's camera; it is put back after each.
pytestmark = pytest.mark.usefixtures("camera_restored")

PREFIX = "SIM:det1:"
SHAPE = (64, 64)


def make_detector(cls, directory, name="det1"):
    detector = cls(PREFIX, name=name, write_path_template=f"{directory}/")
    detector.wait_for_connection(timeout=10)
    detector.cam.size.size_x.set(SHAPE[1]).wait(5)
    detector.cam.size.size_y.set(SHAPE[0]).wait(5)
    detector.cam.acquire_time.set(0.005).wait(5)
    return detector


@pytest.fixture
def stream_detector(sim, tmp_path):
    return make_detector(AreaDetector, tmp_path)


@pytest.fixture
def single_detector(sim, tmp_path):
    return make_detector(SingleFileAreaDetector, tmp_path)


def run_documents(RE, plan):  # noqa: N803 - bluesky's name for the RunEngine
    documents = []
    RE(plan, lambda name, doc: documents.append((name, doc)))
    return documents


def of_kind(documents, kind):
    return [doc for name, doc in documents if name == kind]


def frames_via_handler(documents, detector):
    """Each event's frame, read back the way databroker would (area-detector-handlers)."""
    (resource,) = of_kind(documents, "resource")
    data = {datum["datum_id"]: datum["datum_kwargs"] for datum in of_kind(documents, "datum")}
    path = os.path.join(resource["root"], resource["resource_path"])
    if resource["spec"] == "AD_HDF5":
        handler = AreaDetectorHDF5Handler(path, **resource["resource_kwargs"])
    else:
        handler = AreaDetectorHDF5SingleHandler(path, **resource["resource_kwargs"])
    key = f"{detector.name}_image"
    frames = [
        np.asarray(handler(**data[event["data"][key]])) for event in of_kind(documents, "event")
    ]
    return resource, frames


def test_stream_count_resource_datum_and_frames(RE, stream_detector):
    documents = run_documents(RE, bp.count([stream_detector], num=5))
    resource, frames = frames_via_handler(documents, stream_detector)
    assert resource["spec"] == "AD_HDF5"
    assert resource["resource_kwargs"] == {"frame_per_point": 1}
    datums = of_kind(documents, "datum")
    assert [d["datum_kwargs"] for d in datums] == [{"point_number": i} for i in range(5)]
    assert all(d["resource"] == resource["uid"] for d in datums)
    events = of_kind(documents, "event")
    assert [frame.shape for frame in frames] == [(1, *SHAPE)] * 5
    totals = [event["data"]["det1_stats1_total"] for event in events]
    assert [float(frame.sum()) for frame in frames] == totals  # Stats1 saw these very frames
    last = epics.caget(PREFIX + "image1:ArrayData", count=SHAPE[0] * SHAPE[1])
    assert np.array_equal(frames[-1][0], last.reshape(SHAPE))
    assert len(of_kind(documents, "resource")) == 1


def test_single_count_writes_one_file_per_frame(RE, single_detector):
    documents = run_documents(RE, bp.count([single_detector], num=5))
    resource, frames = frames_via_handler(documents, single_detector)
    assert resource["spec"] == "AD_HDF5_SINGLE"
    assert resource["resource_kwargs"]["template"] == "%s%s_%6.6d.h5"
    assert resource["resource_kwargs"]["frame_per_point"] == 1
    directory = os.path.join(resource["root"], resource["resource_path"])
    name = resource["resource_kwargs"]["filename"]
    files = sorted(f for f in os.listdir(directory) if f.startswith(name))
    assert files == [f"{name}_{i:06d}.h5" for i in range(5)]
    totals = [event["data"]["det1_stats1_total"] for event in of_kind(documents, "event")]
    assert [float(frame.sum()) for frame in frames] == totals


def test_frames_follow_the_stage(RE, noiseless, stream_detector):
    stage = noiseless.stage
    disk = next(d for d in Phantom().disks if abs(d.x_um) < 40 and abs(d.y_um) < 40)
    edge = disk.x_um + disk.radius_um
    start = stage.fine_x.position, stage.fine_y.position
    try:
        stage.fine_y.move(disk.y_um, wait=True)
        positions = [edge - 0.2, edge, edge + 0.2]
        documents = run_documents(RE, bp.list_scan([stream_detector], stage.fine_x, positions))
        _, moved = frames_via_handler(documents, stream_detector)
        documents = run_documents(RE, bp.count([stream_detector], num=2))
        resource, still = frames_via_handler(documents, stream_detector)
    finally:
        stage.fine_x.move(start[0], wait=True)
        stage.fine_y.move(start[1], wait=True)
    assert not np.array_equal(moved[0], moved[1])
    assert not np.array_equal(moved[1], moved[2])
    # No noise, no motion: the same frame, but for the ring current, which scales the flux
    # and is posted every second (a top-up adds 0.33 %, a few hundred pixels' rounding).
    with h5py.File(os.path.join(resource["root"], resource["resource_path"]), "r") as file:
        ring_ma = file["/entry/instrument/NDAttributes/RingCurrent"][()]
    if ring_ma[0] == ring_ma[1]:
        assert np.array_equal(still[0], still[1])
    else:  # each pixel is its expected photons rounded: at most half a count off
        ratio = ring_ma[1] / ring_ma[0]
        off = np.abs(still[1].astype(float) - still[0].astype(float) * ratio)
        assert off.max() <= 0.5 * (1 + ratio), (ring_ma, off.max())


def adcore_frames(path):
    with h5py.File(path, "r") as file:
        data = file["/entry/instrument/detector/data"]
        assert file["/entry/data/data"].id == data.id  # the hard link
        assert data.attrs["units"] == "counts"
        ids = file["/entry/instrument/NDAttributes/NDArrayUniqueId"][()]
        stamps = file["/entry/instrument/NDAttributes/NDArrayTimeStamp"][()]
        assert np.all(np.diff(ids) == 1) and np.all(np.diff(stamps) > 0)
        assert "SampleX" in file["/entry/instrument/NDAttributes"]
        return data[()]


@pytest.mark.parametrize("compression", ["zlib", "Blosc", "LZ4", "BSLZ4"])
def test_every_compression_gives_the_same_pixels(RE, noiseless, stream_detector, compression):
    """Each file holds exactly the frames the IOC made: their totals are Stats1's, the last
    is image1's. (Not the uncompressed file's pixels: the ring current, which scales the
    flux, moves between two acquisitions, by 0.33 % at a top-up, and rounds pixels.)"""
    hdf1 = stream_detector.hdf1
    for setting in ("None", compression):
        hdf1.stage_sigs["compression"] = setting
        documents = run_documents(RE, bp.count([stream_detector], num=2))
        (resource,) = of_kind(documents, "resource")
        written = adcore_frames(os.path.join(resource["root"], resource["resource_path"]))
        served = epics.caget(PREFIX + "image1:ArrayData", count=SHAPE[0] * SHAPE[1])
        totals = [event["data"]["det1_stats1_total"] for event in of_kind(documents, "event")]
        assert written.dtype == np.uint16, setting
        assert [float(frame.sum()) for frame in written] == totals, setting
        assert np.array_equal(written[-1], served.reshape(SHAPE)), setting


def test_swmr_reader_sees_the_stream_grow(stream_detector):
    detector = stream_detector
    detector.cam.stage_sigs["num_images"] = 40
    detector.stage()
    try:
        path = detector.hdf1.full_file_name.get(use_monitor=False)
        detector.cam.acquire.put(1)
        seen = []
        with h5py.File(path, "r", swmr=True) as reader:
            data = reader["/entry/data/data"]
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (not seen or seen[-1] < 40):
                data.refresh()
                if not seen or data.shape[0] != seen[-1]:
                    seen.append(data.shape[0])
        assert seen[-1] == 40
        assert len(seen) > 2  # the reader watched it grow, not just the end
    finally:
        detector.unstage()


def test_ad_creator_connects_primes_and_counts(RE, sim, tmp_path):
    from apstools.devices import ad_creator, ensure_AD_plugin_primed
    from ophyd.areadetector.filestore_mixins import FileStoreHDF5IterativeWrite
    from ophyd.areadetector.plugins import HDF5Plugin_V34

    class Hdf5(FileStoreHDF5IterativeWrite, HDF5Plugin_V34):
        pass

    detector = ad_creator(
        PREFIX,
        name="adsim",
        plugins=[
            "cam",
            {"hdf1": {"class": Hdf5, "write_path_template": f"{tmp_path}/"}},
            "image",
            "stats1",
            "roi1",
        ],
    )
    detector.wait_for_connection(timeout=10)
    assert detector.missing_plugins() == []
    detector.hdf1.create_directory.put(-3)
    detector.read_attrs.append("hdf1")
    ensure_AD_plugin_primed(detector.hdf1, True)
    documents = run_documents(RE, bp.count([detector], num=3))
    resource, frames = frames_via_handler(documents, detector)
    assert resource["spec"] == "AD_HDF5"
    assert len(frames) == 3 and frames[0].shape[1:] == tuple(
        int(v)
        for v in (
            detector.cam.array_size.array_size_y.get(),
            detector.cam.array_size.array_size_x.get(),
        )
    )


def test_caproto_control_layer_counts(sim, tmp_path):
    """ophyd.set_cl is global: the caproto layer runs in an interpreter of its own."""
    script = textwrap.dedent(
        f"""
        import ophyd
        ophyd.set_cl("caproto")
        import bluesky.plans as bp
        from bluesky import RunEngine
        from stxm_devices import AreaDetector
        path = {str(tmp_path)!r} + "/"
        detector = AreaDetector({PREFIX!r}, name="det1", write_path_template=path)
        detector.wait_for_connection(timeout=10)
        detector.cam.size.size_x.set(32).wait(5)
        detector.cam.size.size_y.set(32).wait(5)
        names = []
        RunEngine()(bp.count([detector], num=5), lambda name, doc: names.append(name))
        assert names.count("event") == 5 and names.count("datum") == 5, names
        print("caproto layer counted")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "caproto layer counted" in result.stdout


class CamWithoutNumTriggers(DetectorCam):
    """A real ADSimDetector's camera: no NumTriggers record (the sim's is ADEiger's)."""

    num_triggers = ADCpt(EpicsSignalWithRBV, "NoSuchRecordNumTriggers", lazy=True)


class DetectorOfARealCamera(AreaDetector):
    cam = ADCpt(CamWithoutNumTriggers, "cam1:")


def test_a_camera_without_num_triggers_connects_stages_and_counts(RE, sim, tmp_path):
    detector = make_detector(DetectorOfARealCamera, tmp_path)
    documents = run_documents(RE, bp.count([detector], num=2))
    assert len(of_kind(documents, "event")) == 2
    assert not detector.cam.num_triggers.connected
