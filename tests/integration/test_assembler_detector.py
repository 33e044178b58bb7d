"""A live area-detector scan: frames linked into the IOC's files, never copied, and movable."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (reads the IOC's files whatever their compression)
import numpy as np
import pytest

import plans
from nxstxm import NXstxmAssembler, check_file

FRAMES = "entry0/instrument/det1_image/data"


@pytest.fixture
def detector_under(beamline, tmp_path):
    """The detector IOC writing into ``<tmp_path>/data/ioc``, beside the NXstxm files."""
    hdf1 = beamline.detector.hdf1
    previous = hdf1.write_path_template
    hdf1.write_path_template = f"{tmp_path}/data/ioc/"
    yield beamline
    hdf1.write_path_template = previous


@pytest.fixture
def step_scan(RE, detector_under, tmp_path):
    """A 2 × 3 step image with the counter and the area detector: (NXstxm file, documents)."""
    assembler = NXstxmAssembler(tmp_path / "data")
    documents = []
    plan = plans.stxm_image(
        detector_under,
        x_center_um=0,
        x_range_um=2,
        nx=3,
        y_center_um=0,
        y_range_um=1,
        ny=2,
        mode="step",
        detectors=("counter", "detector"),
    )
    RE(plan, [assembler, lambda name, doc: documents.append((name, doc))])
    assert assembler.errors == []
    [path] = assembler.written
    return path, documents


def _ioc_frames(documents) -> tuple[Path, np.ndarray]:
    """The stream file the IOC wrote (from the resource document) and its frames."""
    [resource] = [doc for name, doc in documents if name == "resource"]
    file = Path(resource["root"]) / resource["resource_path"]
    with h5py.File(file, "r") as h5:
        return file, h5["entry/data/data"][()]


def test_frames_are_a_one_mapping_virtual_dataset_reading_back_identical(step_scan):
    path, documents = step_scan
    file, frames = _ioc_frames(documents)
    assert frames.shape[0] == 6
    with h5py.File(path) as h5:
        [source] = h5[FRAMES].virtual_sources()
        assert not Path(source.file_name).is_absolute() and Path(source.file_name).name == file.name
        assert set(h5[FRAMES].attrs) == set()  # nothing of the IOC file's /entry/data
        np.testing.assert_array_equal(h5[FRAMES][()], frames)
    assert path.stat().st_size < frames.nbytes / 4  # metadata only, no frame inside


def test_stats_totals_are_an_nxdata_image_of_the_frames(step_scan):
    path, documents = step_scan
    _, frames = _ioc_frames(documents)
    with h5py.File(path) as h5:
        totals = h5["entry0/det1_stats1_total"]
        assert totals.attrs["NX_class"] == "NXdata"
        assert [a.decode() for a in totals.attrs["axes"]] == ["sample_y", "sample_x"]
        np.testing.assert_allclose(totals["data"][()], frames.sum(axis=(1, 2)).reshape(2, 3))
        assert h5["entry0/counter0/data"].shape == (2, 3)


def test_file_still_reads_after_the_data_directory_moves(step_scan, tmp_path):
    path, documents = step_scan
    _, frames = _ioc_frames(documents)
    moved = tmp_path / "elsewhere" / "data"
    moved.parent.mkdir()
    shutil.move(tmp_path / "data", moved)
    new_path = moved / path.name
    with h5py.File(new_path) as h5:
        np.testing.assert_array_equal(h5[FRAMES][()], frames)
    assert check_file(new_path).ok


def test_check_reports_the_ioc_file_once_it_is_gone(step_scan):
    path, documents = step_scan
    file, _ = _ioc_frames(documents)
    assert check_file(path).ok
    file.unlink()
    report = check_file(path)
    assert not report.ok and str(file.name) in report.text()


def test_ptycho_scan_gets_a_ptyd_whose_chunks_link_the_ioc_frames(RE, detector_under, tmp_path):
    assembler = NXstxmAssembler(tmp_path / "data")
    documents = []
    plan = plans.ptycho_scan(detector_under, region=plans.Region(0, 1, 3, 0, 1, 2), dwell_ms=2)
    RE(plan, [assembler, lambda name, doc: documents.append((name, doc))])
    [path] = assembler.written
    _, frames = _ioc_frames(documents)
    with h5py.File(path.with_suffix(".ptyd"), "r") as h5:
        data = h5["chunks/0/data"]
        assert data.is_virtual and data.attrs["type"] == "array"
        np.testing.assert_array_equal(data[()], frames)
        assert h5["meta/num_frames"][()] == 6 and h5["chunks/0/positions"].shape == (6, 2)
        with h5py.File(path) as nexus:
            measured_x = nexus["entry0/instrument/sample_x/data"][()]
        np.testing.assert_allclose(h5["chunks/0/positions"][:, 1], measured_x * 1e-6)
