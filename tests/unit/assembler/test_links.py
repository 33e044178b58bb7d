"""Area-detector frames are linked (virtual datasets), checked, and survive a move."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (what a reader of compressed IOC files imports)
import numpy as np
import pytest

from nxstxm import AssemblyError, assemble_scan, check_file
from nxstxm.links import link_problems
from stxm_devices.cli import main

from .factory import AreaDetector, frame_of, image_scan, stack_scan


def _frames(path: Path) -> h5py.Dataset:
    return h5py.File(path, "r")["entry0/instrument/det_image/data"]


def _ioc_frames(files: list[Path]) -> np.ndarray:
    frames = []
    for file in files:
        with h5py.File(file) as h5:
            frames.extend(h5["entry/instrument/detector/data"][()])
    return np.array(frames)


def test_one_stream_file_becomes_a_one_mapping_virtual_dataset(tmp_path):
    """Not an external link: through one, readers see the IOC file's group and attributes."""
    detector = AreaDetector(tmp_path, single=False)
    path = assemble_scan(image_scan(detector=detector), tmp_path)
    with h5py.File(path) as h5:
        data = h5["entry0/instrument/det_image/data"]
        assert data.is_virtual
        sources = data.virtual_sources()
        assert len(sources) == 1
        assert sources[0].file_name == "ioc/run1_000000.h5"
        assert sources[0].dset_name == "/entry/data/data"
        assert set(data.attrs) == set() and data.parent.name == "/entry0/instrument/det_image"
        np.testing.assert_array_equal(data[()], _ioc_frames(detector.files))


@pytest.mark.parametrize("single", [False, True], ids=["stream-files", "file-per-frame"])
def test_several_files_become_a_virtual_dataset_reading_back_identical(tmp_path, single):
    detector = AreaDetector(tmp_path, single=single)
    path = assemble_scan(stack_scan([700.0, 710.0], detector=detector), tmp_path)
    with h5py.File(path) as h5:
        data = h5["entry0/instrument/det_image/data"]
        assert data.is_virtual and data.shape == (24, 8, 6) and data.dtype == np.uint16
        assert {Path(s.file_name).is_absolute() for s in data.virtual_sources()} == {False}
        np.testing.assert_array_equal(data[()], _ioc_frames(detector.files))
        np.testing.assert_array_equal(data[13], frame_of(13))


def test_nxstxm_file_holds_no_frame_data(tmp_path):
    sizes = []
    for shape in ((8, 6), (128, 128)):
        folder = tmp_path / f"{shape[0]}"
        path = assemble_scan(
            stack_scan([700.0, 710.0], detector=AreaDetector(folder, single=True, shape=shape)),
            folder,
        )
        sizes.append(path.stat().st_size)
    frame_bytes = 24 * 128 * 128 * 2
    assert sizes[0] == sizes[1] and sizes[1] < frame_bytes / 10


@pytest.mark.parametrize("single", [False, True], ids=["stream-files", "file-per-frame"])
def test_file_still_reads_after_the_data_directory_moves(tmp_path, monkeypatch, single):
    data_dir = tmp_path / "beamtime"
    detector = AreaDetector(data_dir, single=single)
    path = assemble_scan(stack_scan([700.0, 710.0], detector=detector), data_dir)
    expected = _ioc_frames(detector.files)
    moved = Path(shutil.move(data_dir, tmp_path / "archive" / "beamtime"))
    monkeypatch.chdir(tmp_path)
    np.testing.assert_array_equal(_frames(moved / path.name)[()], expected)
    assert check_file(moved / path.name).ok


def test_missing_frame_file_before_assembly_is_an_error_naming_it(tmp_path):
    detector = AreaDetector(tmp_path, single=True)
    documents = stack_scan([700.0, 710.0], detector=detector)
    missing = detector.files[7]
    missing.unlink()
    with pytest.raises(AssemblyError, match=str(missing)) as failure:
        assemble_scan(documents, tmp_path)
    assert not list(tmp_path.glob("*.nxs")) and not list(tmp_path.glob("*.tmp"))
    assert failure.value.journal is None  # the caller holds the documents; nothing kept


def test_deleted_frame_file_after_assembly_fails_stxm_check(tmp_path, capsys):
    detector = AreaDetector(tmp_path, single=True)
    path = assemble_scan(stack_scan([700.0, 710.0], detector=detector), tmp_path)
    assert main(["check", str(path)]) == 0
    detector.files[3].unlink()
    assert main(["check", str(path)]) != 0
    assert detector.files[3].name in capsys.readouterr().out


def test_link_problems_reports_a_missing_frame_file(tmp_path):
    detector = AreaDetector(tmp_path, single=False)
    path = assemble_scan(image_scan(detector=detector), tmp_path)
    detector.files[0].unlink()
    problems = link_problems(path)
    assert len(problems) == 1
    assert "virtual dataset" in problems[0] and "run1_000000.h5" in problems[0]


def test_link_problems_reports_a_broken_external_link_of_an_older_file(tmp_path):
    path = tmp_path / "older.nxs"
    with h5py.File(path, "w") as h5:
        h5["data"] = h5py.ExternalLink("ioc/gone.h5", "/entry/data/data")
    problems = link_problems(path)
    assert len(problems) == 1 and "external link" in problems[0] and "gone.h5" in problems[0]


def test_consecutive_frames_of_a_file_map_as_one_virtual_source_range():
    from nxstxm.links import _contiguous
    from nxstxm.model import FrameSet

    a, b = Path("a.h5"), Path("b.h5")
    source, index = np.array([0, 0, 0, 0, 0, 1, 1]), np.array([0, 1, 2, 5, 6, 0, 1])
    runs = _contiguous(FrameSet(((a, "/d"), (b, "/d")), source, index, 1))
    assert runs == [((a, "/d"), 0, 0, 3), ((a, "/d"), 3, 5, 2), ((b, "/d"), 5, 0, 2)]


def test_stream_resource_and_stream_datum_link_the_same_frames(tmp_path):
    """As a Tiled catalog gives a run back: StreamResource/StreamDatum, no datum in events."""
    detector = AreaDetector(tmp_path, single=False)
    documents = []
    for name, doc in image_scan(detector=detector):
        if name == "resource":
            uri = f"file://localhost{tmp_path}/{doc['resource_path']}"
            documents.append(
                (
                    "stream_resource",
                    {
                        "uid": "sr",
                        "run_start": doc["run_start"],
                        "uri": uri,
                        "data_key": "det_image",
                        "mimetype": "application/x-hdf5",
                        "parameters": {"dataset": "/entry/data/data"},
                    },
                )
            )
        elif name == "event" and "det_image" in doc["data"]:
            del doc["data"]["det_image"]
            documents.append((name, doc))
            descriptor = doc["descriptor"]
        elif name == "stop":
            documents.append(
                (
                    "stream_datum",
                    {
                        "uid": "sd",
                        "stream_resource": "sr",
                        "descriptor": descriptor,
                        "indices": {"start": 0, "stop": 12},
                        "seq_nums": {"start": 1, "stop": 13},
                    },
                )
            )
            documents.append((name, doc))
        elif name != "datum":
            documents.append((name, doc))
    with h5py.File(assemble_scan(documents, tmp_path)) as h5:
        np.testing.assert_array_equal(
            h5["entry0/instrument/det_image/data"][()], _ioc_frames(detector.files)
        )
