"""Every plan runs end to end on the sim and labels its runs with the standard metadata."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

import plans
from nxstxm.contract import ScanType, validate_start
from tests.integration.plan_table import PLAN_CASES


def collect(RE, plan):
    """Run ``plan``; its documents grouped per run, in order."""
    runs = []
    current = {}

    def store(name, doc):
        nonlocal current
        if name == "start":
            current = {"start": doc, "descriptors": {}, "events": defaultdict(list)}
            runs.append(current)
        elif name == "descriptor":
            current["descriptors"][doc["uid"]] = doc
        elif name == "event":
            stream = current["descriptors"][doc["descriptor"]]["name"]
            current["events"][stream].append(doc)
        elif name == "stop":
            current["stop"] = doc

    token = RE.subscribe(store)
    try:
        RE(plan)
    finally:
        RE.unsubscribe(token)
    return runs


@pytest.fixture
def restore_energy(beamline):
    yield
    beamline.energy.move(700.0, wait=True)
    beamline.epu.polarization.set("CircLeft").wait(5)
    beamline.goniometer.theta.move(0.0, wait=True)


@pytest.mark.parametrize("name", sorted(set(plans.PLANS) - {"ptycho_scan"}))
def test_every_plan_runs_and_carries_the_standard_metadata(RE, beamline, restore_energy, name):
    runs = collect(RE, PLAN_CASES[name].make(beamline))
    assert runs, "no run"
    group_uid = runs[0]["start"]["scan_group"]["uid"]
    for index, run in enumerate(runs):
        start = run["start"]
        validate_start(start)
        assert start["plan_name"] == name
        assert start["scan_group"] == {"uid": group_uid, "index": index, "num_runs": len(runs)}
        assert start["hints"]["dimensions"]
        assert run["stop"]["exit_status"] == "success"
        assert run["events"]["primary"], "no primary events"
        assert len(run["events"]["baseline"]) == 2  # at start and at stop
        baseline = run["events"]["baseline"][0]["data"]
        for key in ("ring_current", "energy_energy", "zoneplate_z", "osa_x", "stage_fine_x"):
            assert key in baseline


def test_plans_cover_every_scan_type_but_ptychography():
    names = {
        "DETECTOR_IMAGE": "detector_image",
        "OSA_IMAGE": "osa_image",
        "OSA_FOCUS": "osa_focus",
        "SAMPLE_FOCUS": "sample_focus",
        "SAMPLE_POINT_SPECTRA": "point_spectra",
        "SAMPLE_LINE_SPECTRA": "line_spectrum",
        "SAMPLE_IMAGE": "stxm_image",
        "SAMPLE_IMAGE_STACK": "image_stack",
        "GENERIC_SCAN": "generic_scan",
        "COARSE_IMAGE_SCAN": "coarse_image",
        "COARSE_GONI_SCAN": "goni_image",
        "TOMOGRAPHY_SCAN": "tomography",
        "PATTERN_GEN_SCAN": "pattern_gen",
    }
    assert {t.name for t in ScanType} - set(names) == {"PTYCHOGRAPHY_SCAN"}
    assert set(names.values()) | {"ptycho_scan"} == set(plans.PLANS)


def test_stack_of_3_energies_2_polarizations_2_regions_is_12_runs(RE, beamline, restore_energy):
    regions = [plans.Region(-10, 3, 4, -10, 3, 3), plans.Region(10, 3, 4, 10, 3, 3)]
    runs = collect(
        RE,
        plans.image_stack(
            beamline,
            regions=regions,
            energy_regions=[(705.0, 715.0, 3)],
            polarizations=("CircLeft", "CircRight"),
        ),
    )
    assert len(runs) == 12
    assert len({run["start"]["scan_group"]["uid"] for run in runs}) == 1
    places = [
        (r["start"]["img_idx_map"]["entry"], r["start"]["img_idx_map"]["e_idx"]) for r in runs
    ]
    assert sorted(places) == sorted({(f"entry{e}", i) for e in range(4) for i in range(3)})
    for run in runs:
        place = run["start"]["img_idx_map"]
        energy = run["events"]["baseline"][0]["data"]["energy_mono"]
        assert energy == pytest.approx([705.0, 710.0, 715.0][place["e_idx"]], abs=0.01)
        polarization = run["events"]["baseline"][0]["data"]["epu_polarization"]
        assert polarization == ("CircLeft", "CircRight")[place["pol_idx"]]


def test_tomography_turns_the_goniometer_between_images(RE, beamline, restore_energy):
    angles = [-20.0, 0.0, 25.0]
    runs = collect(
        RE,
        plans.tomography(
            beamline,
            angles_deg=angles,
            region=plans.Region(0, 2, 3, 0, 2, 2),
            energy_regions=[(700, 700, 1)],
        ),
    )
    seen = [run["events"]["baseline"][0]["data"]["goniometer_theta"] for run in runs]
    assert seen == pytest.approx(angles, abs=1e-3)
    assert [r["start"]["img_idx_map"]["entry"] for r in runs] == ["entry0", "entry1", "entry2"]


def test_point_spectra_visit_every_point_at_every_energy(RE, beamline, restore_energy):
    points = [(-5.0, 3.0), (0.0, 0.0), (6.0, -2.0)]
    runs = collect(
        RE, plans.point_spectra(beamline, points_um=points, energy_regions=[(700, 720, 4)])
    )
    events = runs[0]["events"]["primary"]
    visited = {
        (
            round(e["data"]["energy_energy"], 2),
            round(e["data"]["stage_fine_x"], 3),
            round(e["data"]["stage_fine_y"], 3),
        )
        for e in events
    }
    expected = {(round(en, 2), x, y) for en in np.linspace(700, 720, 4) for x, y in points}
    assert visited == expected
    assert runs[0]["start"]["sp_id_lst"] == [0, 1, 2]


@pytest.fixture
def detector_in(beamline, tmp_path):
    """The area detector writing its files under tmp_path for this test."""
    hdf1 = beamline.detector.hdf1
    previous = hdf1.write_path_template
    hdf1.write_path_template = f"{tmp_path}/"
    yield beamline
    hdf1.write_path_template = previous


@pytest.mark.parametrize("pattern", ["grid", "spiral"])
def test_ptycho_scan_records_a_frame_per_point(RE, detector_in, tmp_path, pattern):
    beamline = detector_in
    if pattern == "grid":
        plan = plans.ptycho_scan(beamline, region=plans.Region(0, 1, 3, 0, 1, 2), dwell_ms=2)
        points = 6
    else:
        plan = plans.ptycho_scan(
            beamline, spiral_center_um=(0, 0), spiral_radius_um=0.5, spiral_step_um=0.2, dwell_ms=2
        )
        points = len(plans._patterns.spiral_points((0, 0), 0.5, 0.2)[0])
    documents = []
    token = RE.subscribe(lambda name, doc: documents.append((name, doc)))
    try:
        RE(plan)
    finally:
        RE.unsubscribe(token)
    start = next(doc for name, doc in documents if name == "start")
    validate_start(start)
    assert start["scan_type"] == 13 and start["ptycho_pattern"] == pattern
    assert len(start["scan_positions"]) == points
    events = [doc for name, doc in documents if name == "event" and "det1_image" in doc["data"]]
    assert len(events) == points
    resources = [doc for name, doc in documents if name == "resource"]
    assert resources and resources[0]["spec"] == "AD_HDF5"
    assert list(tmp_path.rglob("*.h5"))


def test_stage_images_and_focus_scans_put_their_stages_back(RE, beamline):
    detector_stage = (beamline.counter.x, beamline.counter.y, beamline.osa.x)
    before = [m.position for m in detector_stage]
    RE(plans.detector_image(beamline, region=plans.Region(0, 1500, 3, 0, 1500, 2)))
    RE(plans.osa_focus(beamline, n_points=3, zp_range_um=10, n_zp=2))
    assert [m.position for m in detector_stage] == pytest.approx(before)


@pytest.mark.parametrize("mode", ["line", "step", "point"])
def test_the_best_effort_callback_follows_line_and_step_images(RE, beamline, monkeypatch, mode):
    """A line or step-row event holds a whole row: no LiveGrid pixel per event.

    (LiveGrid failed at each such event.)  ``point`` (an event per point) keeps the grid.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from bluesky.callbacks.best_effort import BestEffortCallback

    monkeypatch.setenv("BLUESKY_DEBUG_CALLBACKS", "1")  # a callback's error stops the plan
    RE.subscribe(BestEffortCallback())
    try:
        region = dict(x_center_um=0, x_range_um=6, nx=4, y_center_um=0, y_range_um=4, ny=3)
        (start,) = [
            run["start"] for run in collect(RE, plans.stxm_image(beamline, mode=mode, **region))
        ]
    finally:
        plt.close("all")
    dimensions = [fields for fields, _ in start["hints"]["dimensions"]]
    assert dimensions == (
        [["stage_fine_y"]] if mode != "point" else [["stage_fine_y"], ["stage_fine_x"]]
    )
