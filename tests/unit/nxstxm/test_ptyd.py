"""A ptychography scan gets a ptypy .ptyd beside its NXstxm file, its chunks linking the frames."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from stxm_devices.nxstxm import ScanType, assemble_scan, check_file
from stxm_devices.nxstxm import ptyd as ptyd_module
from stxm_devices.nxstxm.links import link_problems

from .factory import AreaDetector, frame_of, metadata, region, run_documents

N_POINTS = 5


def _ptycho_scan(tmp_path, *, single: bool = False):
    """A spiral of 5 points (X and Y ROIs pair point by point), a frame at each."""
    detector = AreaDetector(tmp_path, single=single)
    md = {
        **metadata(ScanType.PTYCHOGRAPHY_SCAN, {"0": region(N_POINTS, N_POINTS, [700.0])}),
        "num_points": N_POINTS,
        "primary_det": "det",
    }
    values = [float(i) for i in range(N_POINTS)]
    return run_documents(md, values, detector=detector), detector


@pytest.mark.parametrize("frames_per_chunk", [1024, 2], ids=["one-chunk", "three-chunks"])
def test_ptyd_has_ptypy_meta_and_chunks_linking_the_frames(tmp_path, monkeypatch, frames_per_chunk):
    monkeypatch.setattr(ptyd_module, "FRAMES_PER_CHUNK", frames_per_chunk)
    documents, _ = _ptycho_scan(tmp_path)
    nexus = assemble_scan(documents, tmp_path)
    path = nexus.with_suffix(".ptyd")
    assert path.exists() and link_problems(path) == []
    with h5py.File(path, "r") as h5:
        assert h5["meta/num_frames"][()] == N_POINTS
        assert list(h5["meta/shape"][()]) == [8, 6]
        assert h5["meta/energy"][()] == pytest.approx(0.7)  # keV
        assert h5["meta/propagation"].asstr()[()] == "farfield"
        chunks = [h5[f"chunks/{k}"] for k in sorted(h5["chunks"], key=int)]
        assert len(chunks) == -(-N_POINTS // frames_per_chunk)
        frames = np.concatenate([chunk["data"][()] for chunk in chunks])
        np.testing.assert_array_equal(frames, [frame_of(i) for i in range(N_POINTS)])
        for chunk in chunks:
            link = chunk.get("data", getlink=True)
            assert isinstance(link, h5py.ExternalLink) or chunk["data"].is_virtual
            assert chunk["weights"].shape == chunk["data"].shape and chunk["weights"][()].all()
            assert chunk["positions"].shape == (chunk["data"].shape[0], 2)
        positions = np.concatenate([chunk["positions"][()] for chunk in chunks])
        indices = np.concatenate([chunk["indices"][()] for chunk in chunks])
    x_um = 10.0 + np.arange(N_POINTS)  # the factory's X ROI; its Y ROI starts at 20, step 0.5
    np.testing.assert_allclose(positions[:, 1], x_um * 1e-6)
    np.testing.assert_allclose(positions[:, 0], (20.0 + 0.5 * np.arange(N_POINTS)) * 1e-6)
    np.testing.assert_array_equal(indices, np.arange(N_POINTS))
    assert path.stat().st_size < 64 * 1024  # links and positions only


def test_ptyd_of_one_file_per_frame_is_a_virtual_dataset(tmp_path):
    documents, detector = _ptycho_scan(tmp_path, single=True)
    path = assemble_scan(documents, tmp_path).with_suffix(".ptyd")
    with h5py.File(path, "r") as h5:
        assert h5["chunks/0/data"].is_virtual
        np.testing.assert_array_equal(h5["chunks/0/data"][3], frame_of(3))
    assert check_file(path).ok
    detector.files[3].unlink()
    assert any(detector.files[3].name in problem for problem in link_problems(path))
    assert not check_file(path).ok


def test_other_scan_types_get_no_ptyd(tmp_path):
    documents, _ = _ptycho_scan(tmp_path)
    for name, doc in documents:
        if name == "start":
            doc["scan_type"] = int(ScanType.SAMPLE_IMAGE)
    nexus = assemble_scan(documents, tmp_path)
    assert not nexus.with_suffix(".ptyd").exists()
