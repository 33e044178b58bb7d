"""Array sizes follow the events received; metadata give only the intended grid.

A start document may claim any grid: the assembler allocates what the events fill (at
most one ROI's positions beyond them), and says how much of the claimed grid is missing.
"""

from __future__ import annotations

import tracemalloc

import h5py
import numpy as np

from nxstxm import ScanType, assemble_scan

from .factory import image_rows, metadata, region, run_documents

HUGE = 1_000_000  # points per ROI: a 10^6 × 10^6 grid, 8 TB of float64


def _claiming_a_huge_grid() -> dict:
    md = metadata(ScanType.SAMPLE_IMAGE, {"0": region(4, 3, [700.0])})
    for axis in ("X", "Y"):  # no SETPOINTS: the positions are a linspace of NPOINTS
        md["rois"]["0"][axis].update(SETPOINTS=None, NPOINTS=HUGE, START=0.0, STOP=100.0)
    return md


def _assemble_measuring_peak(documents, tmp_path) -> tuple:
    tracemalloc.start()
    try:
        path = assemble_scan(documents, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return path, peak


def test_a_huge_claimed_grid_with_five_rows_allocates_only_what_arrived(tmp_path):
    documents = run_documents(_claiming_a_huge_grid(), image_rows(4, 5))
    path, peak = _assemble_measuring_peak(documents, tmp_path)
    assert peak < 128 * 2**20  # the two ROIs' 10^6 positions, not the 8 TB grid
    with h5py.File(path) as h5:
        nxdata = h5["entry0/counter0"]
        assert nxdata["data"].shape == (5, 4) and h5["entry0/control/data"].shape == (5, 4)
        np.testing.assert_array_equal(nxdata["data"][()], image_rows(4, 5))
        assert nxdata["sample_y"].shape == (5,) and nxdata["sample_x"].shape == (4,)
        assert h5["entry0/status/data"].asstr()[()] == "incomplete"
        why = h5["entry0/status/description"].asstr()[()]
    assert f"of {HUGE * HUGE} points not acquired" in why


def test_a_huge_claimed_grid_with_five_points_allocates_one_row(tmp_path):
    documents = run_documents(_claiming_a_huge_grid(), [float(p) for p in range(5)])
    path, peak = _assemble_measuring_peak(documents, tmp_path)
    assert peak < 256 * 2**20  # one row of 10^6 points per array, not 10^6 rows
    with h5py.File(path) as h5:
        data = h5["entry0/counter0/data"][()]
        assert data.shape == (1, HUGE) and h5["entry0/counter0/sample_y"].shape == (1,)
        np.testing.assert_array_equal(data[0, :5], range(5))
        assert np.isnan(data[0, 5:]).all()
        np.testing.assert_array_equal(h5["entry0/instrument/counter0/data"][()], range(5))


def test_an_aborted_image_is_sized_by_the_rows_that_arrived(tmp_path):
    md = metadata(ScanType.SAMPLE_IMAGE, {"0": region(4, 3, [700.0])})
    documents = run_documents(md, image_rows(4, 3)[:2], exit_status="abort")
    with h5py.File(assemble_scan(documents, tmp_path)) as h5:
        np.testing.assert_array_equal(h5["entry0/counter0/data"][()], image_rows(4, 2))
        np.testing.assert_array_equal(h5["entry0/counter0/sample_y"][()], [20.0, 20.5])
        assert h5["entry0/status/data"].asstr()[()] == "incomplete"


def test_an_aborted_line_spectrum_keeps_the_energies_it_reached(tmp_path):
    md = metadata(ScanType.SAMPLE_LINE_SPECTRA, {"0": region(5, 5, [700.0, 701.0, 702.0])})
    documents = run_documents(md, image_rows(5, 3)[:2], exit_status="abort")
    with h5py.File(assemble_scan(documents, tmp_path)) as h5:
        nxdata = h5["entry0/counter0"]
        assert nxdata["data"].shape == (2, 5)
        np.testing.assert_array_equal(nxdata["energy"][()], [700.0, 701.0])
        assert nxdata["count_time"].shape == (2,)


def test_an_aborted_generic_scan_holds_the_points_that_arrived(tmp_path):
    md = metadata(ScanType.GENERIC_SCAN, {"0": region(6, 1, [700.0])})
    documents = run_documents(md, [1.0, 2.0, 3.0], exit_status="abort")
    with h5py.File(assemble_scan(documents, tmp_path)) as h5:
        np.testing.assert_array_equal(h5["entry0/counter0/data"][()], [1.0, 2.0, 3.0])
        np.testing.assert_array_equal(h5["entry0/counter0/sample_x"][()], [10.0, 11.0, 12.0])
