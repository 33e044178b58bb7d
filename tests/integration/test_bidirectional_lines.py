"""Bidirectional (serpentine) fly lines give the image unidirectional lines give.

Both images of the same phantom go through the real plan over Channel Access and the
NXstxm assembler; the files are read back with h5py. Odd rows fly from +X to -X, so a
row placed the wrong way round, or binned half a step off by the stage's ramp, shows as
a low correlation or as a shift of the odd rows against the unidirectional image.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import plans
from iocs.physics import Phantom
from nxstxm import NXstxmAssembler

ENERGY = 709.6  # Fe L3: the iron-oxide particles stand out
SHAPE = (10, 40)  # rows, points per row


@pytest.fixture
def noiseless_at_iron_edge(noiseless):
    noiseless.energy.move(ENERGY, wait=True)
    yield noiseless
    noiseless.energy.move(700.0, wait=True)


def assembled_image(RE, beamline, data_dir, *, bidirectional: bool):
    """The image, measured X per point (grid order) and start document of one stxm_image."""
    disk = next(d for d in Phantom().disks if d.material == "iron_oxide" and abs(d.x_um) < 35)
    plan = plans.stxm_image(
        beamline,
        x_center_um=disk.x_um + 2.0,  # the particle off-centre: a mirrored row differs
        x_range_um=8,
        nx=SHAPE[1],
        y_center_um=disk.y_um,
        y_range_um=6,
        ny=SHAPE[0],
        dwell_ms=1.0,
        mode="line",
        bidirectional=bidirectional,
    )
    assembler = NXstxmAssembler(data_dir)
    documents = []
    RE(plan, [assembler, lambda name, doc: documents.append((name, doc))])
    assert assembler.errors == []
    [path] = assembler.written
    with h5py.File(path, "r") as f:
        image = f["entry0/counter0/data"][()].astype(float)
        measured_x = f["entry0/instrument/sample_x/data"][()]
    start = next(doc for name, doc in documents if name == "start")
    rows = [
        doc for name, doc in documents if name == "event" and "counter0_line_counts" in doc["data"]
    ]
    return image, measured_x, start, rows


def shift_px(rows: np.ndarray, reference: np.ndarray) -> float:
    """Sub-pixel shift of ``rows`` against ``reference`` (same shape) along X, in pixels.

    The shift s that makes reference(x - s) match rows best, searched in 0.02-pixel
    steps over ±3 pixels, away from the rows' ends.
    """
    columns = np.arange(rows.shape[1], dtype=float)
    inner = slice(4, -4)
    shifts = np.arange(-3.0, 3.0 + 1e-9, 0.02)
    errors = [
        sum(
            np.sum((row[inner] - np.interp(columns - s, columns, ref)[inner]) ** 2)
            for row, ref in zip(rows, reference, strict=True)
        )
        for s in shifts
    ]
    return float(shifts[int(np.argmin(errors))])


def test_a_bidirectional_image_equals_a_unidirectional_one(RE, noiseless_at_iron_edge, tmp_path):
    beamline = noiseless_at_iron_edge
    uni, uni_x, uni_start, _ = assembled_image(RE, beamline, tmp_path / "uni", bidirectional=False)
    bi, bi_x, bi_start, bi_rows = assembled_image(RE, beamline, tmp_path / "bi", bidirectional=True)
    assert uni.shape == bi.shape == SHAPE
    assert uni_start["snaking"] == [False, False] and bi_start["snaking"] == [False, True]

    # Odd rows were flown (and recorded in their events) from +X to -X.
    for index, event in enumerate(bi_rows):
        steps = np.diff(event["data"]["counter0_line_positions"])
        assert np.all(steps < 0) if index % 2 else np.all(steps > 0), index

    # Measured X, per point in acquisition order, lands on the same grid both ways.
    step = 8 / (SHAPE[1] - 1)
    bi_grid = bi_x.reshape(SHAPE).copy()
    bi_grid[1::2] = bi_grid[1::2, ::-1]
    assert np.abs(bi_grid - uni_x.reshape(SHAPE)).max() < 0.1 * step

    assert uni.std() > 0.05 * uni.mean()  # the particle is in the image: there is contrast
    correlation = np.corrcoef(uni.ravel(), bi.ravel())[0, 1]
    assert correlation > 0.95, correlation
    odd_shift = shift_px(bi[1::2], uni[1::2])
    even_shift = shift_px(bi[0::2], uni[0::2])
    assert abs(odd_shift) <= 0.5 and abs(even_shift) <= 0.5, (odd_shift, even_shift)
