"""A step image with hardware-timed rows is the per-point step image, row for row.

``stxm_image(mode='step')`` with the counter alone runs each row in the counter's
StepLine mode (the sim's controller moves fine X, settles and counts every point with
the stage still; one event per row).  Assembled into NXstxm, it must equal the image
counted point by point from bluesky (``mode='point'``) on the noiseless phantom, each
point counted within the settle tolerance of its target; a pause in the middle of a
row resumes at that row, with no row lost or repeated.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from bluesky import Msg
from bluesky.preprocessors import plan_mutator
from bluesky.utils import RunEngineInterrupted

import plans
from iocs.physics import StxmModel
from nxstxm import NXstxmAssembler, check_file
from nxstxm.check import validate_entries

SHAPE = (6, 10)  # rows, points per row


@pytest.fixture
def disk_image(noiseless):
    """The arguments of an image across a polymer disk's edge; fine X/Y put back after."""
    beamline = noiseless
    disk = StxmModel().phantom.disks[1]
    stage = beamline.stage
    start = stage.fine_x.position, stage.fine_y.position
    yield (
        beamline,
        {
            "x_center_um": disk.x_um,
            "x_range_um": 3 * disk.radius_um,
            "nx": SHAPE[1],
            "y_center_um": disk.y_um,
            "y_range_um": 3 * disk.radius_um,
            "ny": SHAPE[0],
            "dwell_ms": 1.0,
        },
    )
    stage.fine_x.move(start[0], wait=True)
    stage.fine_y.move(start[1], wait=True)


def assembled(RE, plan, data_dir, *, subscribed=()):
    """Run ``plan`` with the assembler: the NXstxm file's image, sample X/Y and the events."""
    assembler = NXstxmAssembler(data_dir)
    documents = []
    RE(plan, [assembler, lambda name, doc: documents.append((name, doc)), *subscribed])
    assert assembler.errors == []
    [path] = assembler.written
    counts, messages = validate_entries(path)  # what `stxm check` reports
    assert all(found == (0, 0) for found in counts.values()), (counts, messages)
    report = check_file(path)
    assert report.ok, report.text()
    with h5py.File(path) as h5:
        image = h5["entry0/counter0/data"][()].astype(float).reshape(SHAPE)
        x = h5["entry0/instrument/sample_x/data"][()]
        y = h5["entry0/instrument/sample_y/data"][()]
    [start] = [doc for name, doc in documents if name == "start"]
    events = [
        doc for name, doc in documents if name == "event" and "counter0_counts" in doc["data"]
    ]
    return image, x, y, start, events


def chi2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a - b) ** 2 / np.maximum(b, 1.0)))


def per_500_ma(image: np.ndarray, events: list[dict]) -> np.ndarray:
    """``image``'s rows as counted at 500 mA, by the ring current read with each row's event.

    The sim's ring is topped up every 120 s (+0.33 %): at 40 ms dwells that is several
    times the counts' Poisson width, so two runs a top-up apart differ by more than noise.
    """
    ring_ma = np.array([event["data"]["ring_current"] for event in events], dtype=float)
    return image * (500.0 / ring_ma)[:, None]


def test_hardware_timed_step_image_equals_the_per_point_step_image(RE, disk_image, tmp_path):
    beamline, region = disk_image
    hardware, x, y, start, events = assembled(
        RE, plans.stxm_image(beamline, mode="step", **region), tmp_path / "hw"
    )
    per_point, _, _, point_start, point_events = assembled(
        RE, plans.stxm_image(beamline, mode="point", **region), tmp_path / "point"
    )

    assert start["row_mode"] == "step" and point_start["row_mode"] == "point"
    assert len(events) == SHAPE[0] and len(point_events) == SHAPE[0] * SHAPE[1]
    assert all(len(e["data"]["counter0_line_counts"]) == SHAPE[1] for e in events)
    assert per_point.max() > 1.02 * per_point.min(), "the image should cross the disk's edge"
    assert chi2(hardware, per_point) < 2
    targets = plans.Region(
        region["x_center_um"], region["x_range_um"], SHAPE[1],
        region["y_center_um"], region["y_range_um"], SHAPE[0],
    )  # fmt: skip
    tolerance = float(beamline.counter.settle_tolerance.get())
    np.testing.assert_allclose(
        x.reshape(SHAPE), np.tile(targets.x_points, (SHAPE[0], 1)), rtol=0, atol=tolerance
    )
    np.testing.assert_allclose(
        y.reshape(SHAPE), np.repeat(targets.y_points[:, None], SHAPE[1], axis=1), atol=1e-3
    )


def _pause_after_trigger(plan, number: int, *, counted: bool = True):
    """``plan``, pausing (as a second Ctrl+C would) at the counter's ``number``-th trigger
    (from 0: a row in step mode, a point in point mode), once counted or while counting."""
    triggers = 0

    def pause(msg):
        nonlocal triggers
        if msg.command != "trigger" or msg.obj.name != "counter0":
            return None, None
        triggers += 1
        if triggers != number + 1:
            return None, None

        def then_pause():
            yield msg
            if counted:
                yield Msg("wait", None, group=msg.kwargs.get("group"))
            yield Msg("pause", defer=False)

        return then_pause(), None

    return plan_mutator(plan, pause)


@pytest.mark.parametrize("counted", [True, False], ids=["row-counted", "row-in-flight"])
def test_a_pause_in_a_row_resumes_at_that_row(RE, disk_image, tmp_path, counted):
    beamline, region = disk_image
    # Long dwells when pausing in flight: the row is still being counted at the resume.
    region = region | ({} if counted else {"dwell_ms": 40.0})
    reference, *_, reference_events = assembled(
        RE, plans.stxm_image(beamline, mode="step", **region), tmp_path / "a"
    )
    assembler = NXstxmAssembler(tmp_path / "b")
    documents = []
    paused = _pause_after_trigger(
        plans.stxm_image(beamline, mode="step", **region), 2, counted=counted
    )
    with pytest.raises(RunEngineInterrupted):
        RE(paused, [assembler, lambda name, doc: documents.append((name, doc))])
    counted_rows = [d for n, d in documents if n == "event" and "counter0_counts" in d["data"]]
    assert len(counted_rows) == 2  # rows 0 and 1; row 2 is measured again on resuming
    RE.resume()

    assert assembler.errors == []
    events = [d for n, d in documents if n == "event" and "counter0_counts" in d["data"]]
    ys = plans.Region(0, 1, 1, region["y_center_um"], region["y_range_um"], SHAPE[0]).y_points
    assert [e["seq_num"] for e in events] == list(range(1, SHAPE[0] + 1))
    np.testing.assert_allclose([e["data"]["stage_fine_y"] for e in events], ys, atol=1e-3)
    [path] = assembler.written
    with h5py.File(path) as h5:
        image = h5["entry0/counter0/data"][()].astype(float).reshape(SHAPE)
        assert h5["entry0/status/data"].asstr()[()] != "incomplete"
    assert chi2(per_500_ma(image, events), per_500_ma(reference, reference_events)) < 2


def test_points_redone_after_a_pause_mid_row_are_placed_once(RE, disk_image, tmp_path):
    beamline, region = disk_image
    reference, *_ = assembled(RE, plans.stxm_image(beamline, mode="step", **region), tmp_path / "a")
    assembler = NXstxmAssembler(tmp_path / "b")
    documents = []
    third_of_row_2 = 2 * SHAPE[1] + 3
    paused = _pause_after_trigger(
        plans.stxm_image(beamline, mode="point", **region), third_of_row_2
    )
    with pytest.raises(RunEngineInterrupted):
        RE(paused, [assembler, lambda name, doc: documents.append((name, doc))])
    RE.resume()

    assert assembler.errors == []
    events = [d for n, d in documents if n == "event" and "counter0_counts" in d["data"]]
    seq_nums = [e["seq_num"] for e in events]
    assert len(seq_nums) > SHAPE[0] * SHAPE[1]  # row 2's first points were measured again
    assert sorted(set(seq_nums)) == list(range(1, SHAPE[0] * SHAPE[1] + 1))
    [path] = assembler.written
    with h5py.File(path) as h5:
        image = h5["entry0/counter0/data"][()].astype(float).reshape(SHAPE)
        y = h5["entry0/instrument/sample_y/data"][()].reshape(SHAPE)
    assert np.ptp(y, axis=1).max() < 1e-3  # every row at one Y
    assert chi2(image, reference) < 2


def test_a_stepped_line_spectrum_is_hardware_timed_and_equals_the_per_point_one(
    RE, disk_image, tmp_path
):
    beamline, region = disk_image
    half = region["x_range_um"] / 2
    files = {}
    for mode in ("step", "point"):
        plan = plans.line_spectrum(
            beamline,
            start_um=(region["x_center_um"] - half, region["y_center_um"]),
            stop_um=(region["x_center_um"] + half, region["y_center_um"]),
            n_points=SHAPE[1],
            energy_regions=[(700.0, 705.0, 2)],
            mode=mode,
        )
        assembler = NXstxmAssembler(tmp_path / mode)
        RE(plan, assembler)
        assert assembler.errors == []
        [files[mode]] = assembler.written
    images = {}
    for mode, path in files.items():
        assert check_file(path).ok
        with h5py.File(path) as h5:
            images[mode] = h5["entry0/counter0/data"][()].astype(float)
    assert images["step"].shape == images["point"].shape
    assert images["point"].max() > 1.02 * images["point"].min()
    assert chi2(images["step"], images["point"]) < 2
