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
from plans import Region, acquisition

ENERGY = 709.6  # Fe L3: the iron-oxide particles stand out
SHAPE = (10, 40)  # rows, points per row


@pytest.fixture
def noiseless_at_iron_edge(noiseless):
    noiseless.energy.move(ENERGY, wait=True)
    yield noiseless
    noiseless.energy.move(700.0, wait=True)


def particle_region() -> Region:
    """An iron-oxide particle off-centre in X: a row placed mirrored would differ."""
    disk = next(d for d in Phantom().disks if d.material == "iron_oxide" and abs(d.x_um) < 35)
    return Region(disk.x_um + 2.0, 8, SHAPE[1], disk.y_um, 6, SHAPE[0])


def assembled(RE, plan, data_dir):
    """The counter data, measured X (acquisition order), start and row events of ``plan``."""
    assembler = NXstxmAssembler(data_dir)
    documents = []
    RE(plan, [assembler, lambda name, doc: documents.append((name, doc))])
    assert assembler.errors == []
    [path] = assembler.written
    with h5py.File(path, "r") as f:
        data = f["entry0/counter0/data"][()].astype(float)
        measured_x = f["entry0/instrument/sample_x/data"][()]
    start = next(doc for name, doc in documents if name == "start")
    rows = [d for n, d in documents if n == "event" and "counter0_line_counts" in d["data"]]
    return data, measured_x, start, rows


def image_plan(beamline, *, bidirectional: bool):
    r = particle_region()
    return plans.stxm_image(
        beamline,
        x_center_um=r.x_center_um,
        x_range_um=r.x_range_um,
        nx=r.nx,
        y_center_um=r.y_center_um,
        y_range_um=r.y_range_um,
        ny=r.ny,
        dwell_ms=1.0,
        mode="line",
        bidirectional=bidirectional,
    )


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
    uni, uni_x, uni_start, _ = assembled(
        RE, image_plan(beamline, bidirectional=False), tmp_path / "uni"
    )
    bi, bi_x, bi_start, bi_rows = assembled(
        RE, image_plan(beamline, bidirectional=True), tmp_path / "bi"
    )
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


def test_a_bidirectional_stack_equals_a_unidirectional_one(RE, noiseless_at_iron_edge, tmp_path):
    beamline = noiseless_at_iron_edge
    stacks = {}
    for bidirectional in (False, True):
        plan = plans.image_stack(
            beamline,
            regions=[particle_region()],
            energy_regions=[(ENERGY - 0.6, ENERGY, 2)],
            bidirectional=bidirectional,
        )
        data, _, start, rows = assembled(RE, plan, tmp_path / str(bidirectional))
        assert start["snaking"] == [False, bidirectional]
        assert len(rows) == 2 * SHAPE[0]
        stacks[bidirectional] = data
    uni, bi = stacks[False], stacks[True]
    assert uni.shape == bi.shape == (2, *SHAPE)
    for energy in range(2):
        correlation = np.corrcoef(uni[energy].ravel(), bi[energy].ravel())[0, 1]
        assert correlation > 0.95, (energy, correlation)
        assert abs(shift_px(bi[energy, 1::2], uni[energy, 1::2])) <= 0.5


#: What the whole-image and row-by-row files must agree on: counts, measured X and Y.
MEASURED = (
    "counter0/data",
    "counter0/sample_y",
    "instrument/sample_x/data",
    "instrument/sample_y/data",
)


def one_row_at_a_time(*_):
    """In place of ``acquisition.flies_whole_images``: the per-row path."""
    yield from ()
    return False


@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_whole_image_path_gives_the_row_by_row_image(
    RE, noiseless_at_iron_edge, tmp_path, monkeypatch, bidirectional, ring_current_spread
):
    """The controller flying the whole image (FlyImage) and the plan flying row by row
    (Line mode) give the same counts, measured X and Y, and the same event keys."""
    beamline = noiseless_at_iron_edge
    images = {}
    for whole in (True, False):
        if not whole:
            monkeypatch.setattr(acquisition, "flies_whole_images", one_row_at_a_time)
        documents: list = []
        assembler = NXstxmAssembler(tmp_path / str(whole))
        plan = image_plan(beamline, bidirectional=bidirectional)
        RE(plan, [assembler, lambda name, doc, documents=documents: documents.append((name, doc))])
        assert assembler.errors == []
        [path] = assembler.written
        with h5py.File(path, "r") as f:
            image = {name: f[f"entry0/{name}"][()] for name in MEASURED}
        descriptor = next(d for n, d in documents if n == "descriptor" and d["name"] == "primary")
        image["mode"] = descriptor["configuration"]["counter0"]["data"]["counter0_mode"]
        image["keys"] = sorted(descriptor["data_keys"])
        images[whole] = image
    whole, rows = images[True], images[False]
    assert (whole["mode"], rows["mode"]) == ("FlyImage", "Line")
    assert whole["keys"] == rows["keys"]
    counts = whole["counter0/data"].astype(float)
    assert counts.shape == rows["counter0/data"].shape == SHAPE
    assert counts.std() > 0.05 * counts.mean()  # the particle is in the image
    # Noiseless counts: whole numbers of a smooth model, so one count of rounding; and the
    # flux (the ring current) of the two images, taken seconds apart, moved meanwhile.
    flux = counts.max() * ring_current_spread.relative()
    np.testing.assert_allclose(counts, rows["counter0/data"], atol=1.5 + flux)
    step = 8 / (SHAPE[1] - 1)
    for name in ("instrument/sample_x/data", "instrument/sample_y/data", "counter0/sample_y"):
        np.testing.assert_allclose(whole[name], rows[name], atol=0.01 * step, err_msg=name)
