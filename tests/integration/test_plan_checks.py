"""Bad plan arguments are refused before anything moves; pause resumes, abort stops."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from bluesky.utils import RunEngineInterrupted

import plans
from plans import PlanArgumentError, Region


def positions(beamline):
    motors = [
        beamline.stage.fine_x,
        beamline.stage.fine_y,
        beamline.stage.coarse_x,
        beamline.osa.x,
        beamline.zoneplate.z,
        beamline.energy.mono,
        beamline.goniometer.theta,
    ]
    return np.array([m.user_readback.get(use_monitor=False) for m in motors])


BAD_CALLS = {
    "x range beyond the fine stage": (
        lambda b: plans.stxm_image(
            b, x_center_um=40, x_range_um=30, nx=5, y_center_um=0, y_range_um=2, ny=2
        ),
        "reaches outside the limits of stage_fine_x",
    ),
    "nx < 1": (
        lambda b: plans.stxm_image(
            b, x_center_um=0, x_range_um=3, nx=0, y_center_um=0, y_range_um=2, ny=2
        ),
        "nx must be a whole number",
    ),
    "dwell <= 0": (
        lambda b: plans.stxm_image(
            b, x_center_um=0, x_range_um=3, nx=3, y_center_um=0, y_range_um=2, ny=2, dwell_ms=0
        ),
        "dwell_ms must be > 0",
    ),
    "energy beyond the mono": (
        lambda b: plans.image_stack(
            b, regions=[Region(0, 2, 3, 0, 2, 2)], energy_regions=[(150.0, 160.0, 3)]
        ),
        "energy_regions: 150…160 eV reaches outside the limits of energy_mono",
    ),
    "polarization the EPU cannot do": (
        lambda b: plans.image_stack(
            b,
            regions=[Region(0, 2, 3, 0, 2, 2)],
            energy_regions=[(700.0, 710.0, 2)],
            polarizations=["Sideways"],
        ),
        "polarizations='Sideways' is not one of CircLeft",
    ),
    "area detector in line mode": (
        lambda b: plans.stxm_image(
            b,
            x_center_um=0,
            x_range_um=3,
            nx=3,
            y_center_um=0,
            y_range_um=2,
            ny=2,
            detectors=("detector",),
        ),
        "mode='line' flies the counter only",
    ),
    "goniometer angle beyond its range": (
        lambda b: plans.tomography(
            b,
            angles_deg=[0, 120],
            region=Region(0, 2, 3, 0, 2, 2),
            energy_regions=[(700.0, 700.0, 1)],
        ),
        "angles_deg: 0…120 deg reaches outside the limits of goniometer_theta",
    ),
    "a diagonal line cannot be flown": (
        lambda b: plans.line_spectrum(
            b, start_um=(0, 0), stop_um=(2, 1), n_points=5, energy_regions=[(700.0, 710.0, 2)]
        ),
        "mode='line' flies a horizontal line of the fine stage",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_argument_raises_naming_it_before_anything_moves(RE, beamline, case):
    make_plan, message = BAD_CALLS[case]
    before = positions(beamline)
    with pytest.raises(PlanArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        RE(make_plan(beamline))
    assert np.array_equal(positions(beamline), before)


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_a_rehearsal_raises_what_the_run_would_with_nothing_moved(beamline, case):
    """``plans.rehearse``: the refusal at queue time, without a RunEngine."""
    make_plan, message = BAD_CALLS[case]
    before = positions(beamline)
    with pytest.raises(PlanArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plans.rehearse(make_plan(beamline))
    assert np.array_equal(positions(beamline), before)


def test_a_good_plan_rehearses_without_acting(beamline):
    before = positions(beamline)
    plans.rehearse(
        plans.stxm_image(
            beamline, x_center_um=1, x_range_um=3, nx=4, y_center_um=-1, y_range_um=2, ny=3
        )
    )
    assert np.array_equal(positions(beamline), before)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_pause_and_resume_finishes_the_image(RE, beamline, bidirectional):
    plan = plans.stxm_image(
        beamline,
        x_center_um=0,
        x_range_um=4,
        nx=10,
        y_center_um=0,
        y_range_um=4,
        ny=6,
        bidirectional=bidirectional,
    )
    rows = []
    measured_x = {}

    def pause_after_two_rows(name, doc):
        if name == "event" and "counter0_line_counts" in doc["data"]:
            rows.append(doc["seq_num"])
            measured_x[doc["seq_num"]] = np.asarray(doc["data"]["counter0_line_positions"])
            if len(rows) == 2:  # from another thread, as a user's Ctrl-C would
                threading.Thread(target=RE.request_pause, kwargs={"defer": False}).start()

    token = RE.subscribe(pause_after_two_rows)
    try:
        with pytest.raises(RunEngineInterrupted):
            RE(plan)
        assert RE.state == "paused"
        RE.resume()
    finally:
        RE.unsubscribe(token)
    assert rows[-1] >= 6 and len(set(rows)) == 6  # every row, numbered on, after the resume
    # Every row flown whole in its own direction, also the one the pause cut short.
    points = np.linspace(-2, 2, 10)
    for seq, measured in measured_x.items():
        reversed_row = bidirectional and (seq - 1) % 2
        assert measured == pytest.approx(points[::-1] if reversed_row else points, abs=0.05)
    assert not beamline.stage.fine_x.moving


def test_abort_stops_runs_and_motors(RE, beamline):
    plan = plans.image_stack(
        beamline, regions=[Region(0, 4, 8, 0, 4, 4)], energy_regions=[(700.0, 705.0, 6)]
    )
    stops = []
    runs = 0

    def abort_in_third_run(name, doc):
        nonlocal runs
        if name == "start":
            runs += 1
        if name == "stop":
            stops.append(doc)
        if name == "event" and runs == 3 and "counter0_line_counts" in doc["data"]:
            threading.Thread(target=RE.request_pause, kwargs={"defer": False}).start()

    token = RE.subscribe(abort_in_third_run)
    try:
        with pytest.raises(RunEngineInterrupted):
            RE(plan)
        RE.abort("test abort")
    finally:
        RE.unsubscribe(token)
        beamline.energy.move(700.0, wait=True)
    assert [s["exit_status"] for s in stops] == ["success", "success", "abort"]
    assert not beamline.stage.fine_x.moving and not beamline.energy.mono.moving
