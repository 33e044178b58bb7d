"""A ptychography scan gets a ptypy .ptyd beside its NXstxm file, its chunks linking the frames.

ptypy is not on the package index, so the layout rules its reader relies on
(``ptypy.io.h5rw``, ``ptypy.core.data.PtydScan``) are checked here directly.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nxstxm import AssemblyError, ScanType, assemble_scan, check_file
from nxstxm import ptyd as ptyd_module
from nxstxm.links import link_problems

from .factory import AreaDetector, frame_of, metadata, region, run_documents

N_POINTS = 5
GEOMETRY = {"detector_pixel_um": 55.0, "detector_distance_mm": 100.0}
#: ptypy's h5rw type tag of each kind of node, and the meta keys PtyScan writes.
TYPE_TAGS = {"dict", "array", "arraylist", "scalar", "string"}
META = {"version", "num_frames", "label", "shape", "psize", "energy", "center", "distance"}


def _ptycho_scan(tmp_path, *, single: bool = False, plan_args: dict | None = None, shape=(8, 6)):
    """A spiral of 5 points (X and Y ROIs pair point by point), a frame at each."""
    detector = AreaDetector(tmp_path, single=single, shape=shape)
    md = {
        **metadata(ScanType.PTYCHOGRAPHY_SCAN, {"0": region(N_POINTS, N_POINTS, [700.0])}),
        "num_points": N_POINTS,
        "primary_det": "det",
        "plan_args": GEOMETRY if plan_args is None else plan_args,
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
        chunks = [h5[f"chunks/{k}"] for k in sorted(h5["chunks"], key=int)]
        assert len(chunks) == -(-N_POINTS // frames_per_chunk)
        frames = np.concatenate([chunk["data"][()] for chunk in chunks])
        np.testing.assert_array_equal(frames, [frame_of(i) for i in range(N_POINTS)])
        for chunk in chunks:
            link = chunk.get("data", getlink=True)
            assert isinstance(link, h5py.ExternalLink) or chunk["data"].is_virtual
            weights = chunk["weights"]
            assert weights.shape == chunk["data"].shape and weights.dtype.kind == "f"
            assert np.all(weights[()] == 1.0)
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


def _untyped(h5: h5py.File) -> list[str]:
    """Nodes without one of ptypy's type tags (h5read would hand them back raw)."""
    found = []

    def visit(name, node):
        tag = node.attrs.get("type")
        if tag not in TYPE_TAGS:
            found.append(f"{name}: {tag!r}")

    h5.visititems(visit)
    return found


def test_ptyd_follows_ptypy_layout_rules(tmp_path):
    """Type tags on every node; meta keys, types and units as PtyScan writes them."""
    documents, _ = _ptycho_scan(tmp_path)
    nexus = assemble_scan(documents, tmp_path)
    path = nexus.with_suffix(".ptyd")
    with h5py.File(nexus, "r") as h5:  # the NXstxm file states the same geometry
        detector = h5["entry0/instrument/det_image"]
        assert detector["distance"][()] == pytest.approx(0.1)
        assert detector["x_pixel_size"][()] == pytest.approx(55e-6)
        assert detector["x_pixel_size"].attrs["units"] == "m"
    with h5py.File(path, "r") as h5:
        assert _untyped(h5) == []
        assert h5.attrs["h5rw_version"] == "0.1"
        meta = h5["meta"]
        assert set(meta) == META
        tags = {key: meta[key].attrs["type"] for key in meta}
        assert tags == {
            "version": "scalar",
            "num_frames": "scalar",
            "label": "string",
            "shape": "array",
            "psize": "array",
            "energy": "scalar",
            "center": "array",
            "distance": "scalar",
        }
        for key in ("version", "num_frames", "energy", "distance"):
            assert meta[key].shape == ()  # h5read's _load_scalar: .item() of a 0-d array
        assert meta["version"].dtype.kind == "f"
        assert meta["label"].dtype == h5py.string_dtype()  # vlen str, as _store_string
        assert meta["distance"][()] == pytest.approx(0.1)  # m
        np.testing.assert_allclose(meta["psize"][()], [55e-6, 55e-6])  # m
        np.testing.assert_allclose(meta["center"][()], [4.0, 3.0])  # the 8 × 6 frame's middle
        for chunk in h5["chunks"].values():
            assert chunk["indices"].attrs["type"] == "arraylist"
            assert chunk["positions"].dtype.kind == "f"
            assert np.all(np.abs(chunk["positions"][()]) < 1e-3)  # metres, not µm


def test_ptycho_scan_without_detector_geometry_gets_no_ptyd_and_says_why(tmp_path):
    """ptypy would silently assume 172 µm pixels at 7.19 m: refused instead."""
    documents, _ = _ptycho_scan(tmp_path, plan_args={"dwell_ms": 2.0})
    with pytest.raises(AssemblyError, match="detector_pixel_um and detector_distance_mm"):
        assemble_scan(documents, tmp_path)
    assert list(tmp_path.glob("*.ptyd")) == []
