"""The area detector whatever another client left set, and its default write path."""

from __future__ import annotations

from pathlib import Path

import bluesky.plans as bp
import h5py
import hdf5plugin  # noqa: F401 - registers the compression filters for reading

from stxm_devices.detector import DEFAULT_WRITE_PATH, AreaDetector


def count_resource(RE, detector, num: int = 2) -> tuple[dict, list[dict]]:
    documents = []
    RE(bp.count([detector], num=num), lambda name, doc: documents.append((name, doc)))
    [resource] = [doc for name, doc in documents if name == "resource"]
    return resource, [doc for name, doc in documents if name == "datum"]


def test_lazy_open_left_on_by_another_client_still_links_the_written_file(RE, beamline, tmp_path):
    detector = beamline.detector
    hdf1 = detector.hdf1
    previous = hdf1.write_path_template, hdf1.lazy_open.get()
    hdf1.write_path_template = f"{tmp_path}/"
    hdf1.lazy_open.put("Yes", wait=True)  # as ophyd-async leaves it
    try:
        resource, datums = count_resource(RE, detector)
        left = hdf1.lazy_open.get()
    finally:  # the session sim as this test found it, for the tests after it
        hdf1.write_path_template = previous[0]
        hdf1.lazy_open.put(previous[1], wait=True)
    file = Path(resource["root"]) / resource["resource_path"]
    assert file.is_file(), f"the resource names {file}, which the IOC never wrote"
    with h5py.File(file, "r") as h5:
        assert h5["entry/data/data"].shape[0] == len(datums) == 2
    assert left == "Yes"  # put back as it was found


def test_write_path_levels_below_the_top_directory_are_created(RE, beamline, tmp_path):
    """As on a fresh machine: only the top directory exists (the default needs only /tmp)."""
    detector = beamline.detector
    hdf1 = detector.hdf1
    assert hdf1.directory_depth(DEFAULT_WRITE_PATH) == -5  # stxm/det1/Y/m/d under /tmp
    previous = hdf1.write_path_template
    hdf1.write_path_template = f"{tmp_path}/fresh/det1/%Y/%m/%d/"
    try:
        resource, _ = count_resource(RE, detector, num=1)
    finally:
        hdf1.write_path_template = previous
    file = Path(resource["root"]) / resource["resource_path"]
    assert file.is_file() and file.is_relative_to(tmp_path / "fresh" / "det1")


def test_make_beamline_default_path_counts(RE, beamline):
    """``make_beamline("SIM:")`` + ``bp.count([beamline.detector])`` with nothing made first."""
    assert beamline.detector.hdf1.write_path_template == DEFAULT_WRITE_PATH.rstrip("/")
    assert isinstance(beamline.detector, AreaDetector)
    resource, _ = count_resource(RE, beamline.detector, num=1)
    assert (Path(resource["root"]) / resource["resource_path"]).is_file()
