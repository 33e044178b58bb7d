"""Every plan as a message list, on unconnected devices (no IOC, no RunEngine).

A plan is built, then driven by hand: each ``read`` answered from a table of values
(anything else gets None, as when a plan is list-ified). What the plan asks for shows
in the messages: its start document, the order of set/trigger/read, and that nothing
is read off the hardware while it is built.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from bluesky import plan_stubs as bps
from ophyd.signal import EpicsSignalBase, Signal

import plans
from nxstxm.contract import Polarization, ScanType, parse_metadata, validate_start
from plans._image import Grid
from plans._lines import Line
from plans._runs import RunSpec, ScanRequest, scan_run
from plans.acquisition import RowMode
from stxm_devices import make_beamline
from stxm_devices.motor import StxmMotor
from tests.integration.plan_table import PLAN_CASES

#: What the unconnected beamline "reads" (by reading key).
READINGS = {
    "energy_mono": 710.0,
    "energy_a1": -5.0,
    "energy_focus_offset": 0.0,
    "stage_fine_x_acceleration": 0.01,
    "stage_fine_x_velocity": 500.0,
    "zoneplate_focal_length": 3550.0,
    "zoneplate_diameter": 250.0,
    "zoneplate_central_stop": 100.0,
    "zoneplate_outer_zone": 25.0,
    "zoneplate_a1": -5.0,
    "zoneplate_index": 7,
    "epu_polarization": "CircLeft",
    "det1_cam1_model": "Far-field diffraction",
    "det1_cam1_array_size_array_size_x": 256,
}


#: Every plan of the shared table; ptycho_scan given its geometry here (the camera's own
#: is read from ophyd's lazily made signals, which connect as they are made: see
#: test_ptycho_geometry.py).
MAKE = {name: case.make for name, case in PLAN_CASES.items()} | {
    "ptycho_scan": lambda b: plans.ptycho_scan(
        b,
        spiral_center_um=(0, 0),
        spiral_radius_um=0.5,
        spiral_step_um=0.25,
        dwell_ms=2,
        detector_pixel_um=55.0,
        detector_distance_mm=100.0,
    )
}


@pytest.fixture(scope="module")
def beamline():
    """Every device, never connected (a prefix no IOC here serves)."""
    return make_beamline("UNITPLANS:", connect=False)


def messages(plan, readings=READINGS) -> list:
    """Drive ``plan`` to its end; each ``read`` of a known key answered from ``readings``."""
    sent, reply = [], None
    try:
        while True:
            msg = plan.send(reply)
            sent.append(msg)
            reply = None
            if msg.command == "read" and msg.obj.name in readings:
                reply = {msg.obj.name: {"value": readings[msg.obj.name], "timestamp": 0.0}}
    except StopIteration:
        return sent


def starts(sent) -> list[dict]:
    return [msg.kwargs for msg in sent if msg.command == "open_run"]


@pytest.fixture
def no_hardware_reads(monkeypatch):
    """Any get() of a signal fails the test (plans read through the RunEngine only)."""

    def refuse_get(self, *args, **kwargs):
        raise AssertionError(f"{self.name} read off the hardware while the plan was built")

    monkeypatch.setattr(EpicsSignalBase, "get", refuse_get)
    monkeypatch.setattr(Signal, "get", refuse_get)


@pytest.mark.parametrize("name", sorted(MAKE))
def test_building_a_plan_reads_no_hardware(beamline, no_hardware_reads, name):
    plan = MAKE[name](beamline)
    assert hasattr(plan, "send")


@pytest.mark.parametrize("name", sorted(MAKE))
def test_every_run_opens_with_metadata_the_schema_accepts(beamline, name):
    sent = messages(MAKE[name](beamline))
    runs = starts(sent)
    assert runs
    for index, start in enumerate(runs):
        validate_start(start)
        assert start["plan_name"] == name
        assert start["scan_group"]["index"] == index and start["scan_group"]["num_runs"] == len(
            runs
        )
        assert parse_metadata({"uid": "u", **start}).scan_type == ScanType(start["scan_type"])
    assert [m.command for m in sent].count("open_run") == [m.command for m in sent].count(
        "close_run"
    )


@pytest.mark.parametrize(
    "name", ["stxm_image", "image_stack", "line_spectrum", "sample_focus", "tomography"]
)
def test_a_fly_lines_margins_are_read_before_anything_is_set(beamline, name):
    sent = messages(MAKE[name](beamline))
    first_set = next(i for i, m in enumerate(sent) if m.command == "set")
    reads = {m.obj.name for m in sent[:first_set] if m.command == "read"}
    assert "stage_fine_x_acceleration" in reads  # the half-step margins grow with it


def test_a_plan_built_early_uses_the_energy_when_it_runs(beamline):
    plan = plans.sample_focus(
        beamline, x_start_um=-1, x_stop_um=1, y_um=0, n_points=10, zp_range_um=4, n_zp=3
    )
    [start] = starts(messages(plan, {**READINGS, "energy_mono": 750.0}))
    zp = start["rois"]["0"]["ZP"]["Z"]["SETPOINTS"]
    assert zp == pytest.approx([-3752.0, -3750.0, -3748.0])  # around A1·E at 750 eV
    assert start["rois"]["0"]["EV_ROIS"][0]["SETPOINTS"] == [750.0]


def test_an_image_records_the_energy_and_zone_plate_read_when_it_runs(beamline):
    plan = MAKE["stxm_image"](beamline)
    [start] = starts(messages(plan, {**READINGS, "energy_mono": 285.1}))
    assert start["rois"]["0"]["EV_ROIS"][0]["SETPOINTS"] == [285.1]
    assert start["zp_def"] == {
        "fl": -3550.0,
        "zpD": 250.0,
        "zpCStop": 100.0,
        "zpOZone": 25.0,
        "zpA1": -5.0,
        "zp_idx": 7,
    }


def fly_rows_of(sent, fine_x, counter) -> list[dict]:
    """Per row: where fine X flew to, the velocity it flew at, and the message indices."""
    velocity = None
    rows = []
    for i, m in enumerate(sent):
        if m.command == "set" and m.obj is fine_x.velocity:
            velocity = m.args[0]
        if m.command == "trigger" and m.obj is counter:
            fly = next(j for j in range(i, len(sent)) if sent[j].obj is fine_x)
            rows.append({"trigger": i, "fly": fly, "stop": sent[fly].args[0], "v": velocity})
    return rows


def test_a_fly_row_arms_the_counter_before_fine_x_flies(beamline):
    sent = messages(MAKE["stxm_image"](beamline))
    fine_x, counter = beamline.stage.fine_x, beamline.counter
    rows = fly_rows_of(sent, fine_x, counter)
    assert len(rows) == 3
    for row in rows:
        fly, wait = sent[row["fly"]], sent[row["fly"] + 1]
        assert fly.command == "set" and fly.kwargs["group"] == "line"
        assert wait.command == "wait" and wait.kwargs["group"] == "line"
        assert row["v"] == pytest.approx(0.8 / 0.001)  # 0.8 µm per 1 ms dwell, set before
        event = [m.command for m in sent[row["fly"] + 2 :] if m.command in ("create", "save")]
        assert event[:2] == ["create", "save"]
    # Each retrace goes back at the travel velocity, put as the row's event is made.
    retraces = [m for m in sent if m.command == "set" and m.obj is fine_x.velocity]
    assert [m.args[0] for m in retraces[1:]].count(500.0) >= 3


def test_a_bidirectional_image_flies_odd_rows_back_at_one_velocity(beamline):
    plan = plans.stxm_image(
        beamline,
        x_center_um=0,
        x_range_um=4,
        nx=6,
        y_center_um=0,
        y_range_um=4,
        ny=3,
        bidirectional=True,
    )
    sent = messages(plan)
    rows = fly_rows_of(sent, beamline.stage.fine_x, beamline.counter)
    [start] = starts(sent)
    assert start["snaking"] == [False, True]
    half, lag = 0.4, 800.0 * 0.01 / 2  # half a step; v·accel/2 at READINGS' acceleration
    assert [row["stop"] for row in rows] == pytest.approx(
        [2 + half + lag, -2 - half - lag, 2 + half + lag]
    )
    assert [row["v"] for row in rows] == pytest.approx([800.0] * 3)
    first_row, last_row = rows[0]["trigger"], rows[-1]["fly"]
    velocity_sets = [
        m
        for m in sent[first_row:last_row]
        if m.command == "set" and m.obj is beamline.stage.fine_x.velocity
    ]
    assert velocity_sets == []  # no velocity change between rows


def test_bidirectional_needs_line_mode(beamline):
    with pytest.raises(plans.PlanArgumentError, match="bidirectional=True .* needs mode='line'"):
        plans.stxm_image(
            beamline,
            x_center_um=0,
            x_range_um=4,
            nx=6,
            y_center_um=0,
            y_range_um=4,
            ny=3,
            mode="step",
            bidirectional=True,
        )


def test_a_step_point_moves_then_triggers_then_reads(beamline):
    sent = messages(MAKE["osa_image"](beamline))
    events = [
        i for i, m in enumerate(sent) if m.command == "create" and m.kwargs["name"] == "primary"
    ]
    assert len(events) == 12  # 3 rows of 4 points
    previous = 0
    for i in events:
        commands = [m.command for m in sent[previous:i]]
        assert "trigger" in commands and commands[-1] == "wait"
        if "set" in commands:  # the slow axis stays put along a row
            last_set = max(k for k, c in enumerate(commands) if c == "set")
            assert last_set < max(k for k, c in enumerate(commands) if c == "trigger")
        previous = next(k for k in range(i, len(sent)) if sent[k].command == "save")
        read = {m.obj.name for m in sent[i:previous] if m.command == "read"}
        assert {"counter0", "osa_x", "osa_y"} <= read
    assert any(m.command == "set" and m.obj is beamline.osa.x for m in sent[: events[0]])


def _primary_events(sent) -> list[int]:
    return [
        i for i, m in enumerate(sent) if m.command == "create" and m.kwargs["name"] == "primary"
    ]


def test_a_step_image_with_the_counter_is_one_step_line_trigger_per_row(beamline):
    plan = plans.stxm_image(
        beamline, x_center_um=0, x_range_um=4, nx=6, y_center_um=0, y_range_um=4, ny=3, mode="step"
    )
    sent = messages(plan)
    counter = beamline.counter
    configured = {}  # the first value set (the last ones put the settings back)
    for m in sent:
        if m.command == "set":
            configured.setdefault(m.obj.name, m.args[0])
    assert configured[counter.mode.name] == "StepLine"
    assert configured[counter.line_points.name] == 6
    assert configured[counter.line_step.name] == pytest.approx(0.8)
    triggers = [i for i, m in enumerate(sent) if m.command == "trigger" and m.obj is counter]
    assert len(triggers) == len(_primary_events(sent)) == 3  # a row per trigger and event
    assert sum(m.command == "checkpoint" for m in sent) == 3
    assert not any(m.command == "set" and m.obj is beamline.stage.fine_x for m in sent)
    assert starts(sent)[0]["row_mode"] == "step"


def test_per_point_steps_checkpoint_once_per_row_and_trigger_no_motor(beamline):
    sent = messages(MAKE["osa_image"](beamline))  # 3 rows of 4 points, stepped from bluesky
    assert len(_primary_events(sent)) == 12
    assert sum(m.command == "checkpoint" for m in sent) == 3
    motors = {beamline.osa.x, beamline.osa.y}
    assert not any(m.command == "trigger" and m.obj in motors for m in sent)
    assert starts(sent)[0]["row_mode"] == "point"


def test_stage_images_put_the_stage_back_only_once_it_moved(beamline):
    sent = messages(MAKE["osa_image"](beamline), {**READINGS, "osa_x": 12.5})
    last_sets = [m for m in sent if m.command == "set"][-2:]
    assert {m.obj.name for m in last_sets} == {"osa_x", "osa_y"}
    assert [m.args[0] for m in last_sets if m.obj.name == "osa_x"] == [12.5]


@pytest.fixture
def limited_motors(monkeypatch):
    """Every motor connected with limits ±50 (as a connected IOC would report)."""
    monkeypatch.setattr(StxmMotor, "connected", property(lambda self: True))
    monkeypatch.setattr(StxmMotor, "limits", property(lambda self: (-50.0, 50.0)))
    monkeypatch.setattr(StxmMotor, "egu", property(lambda self: "um"))


def test_a_region_beyond_the_limits_is_refused_before_anything_moves(beamline, limited_motors):
    plan = plans.stxm_image(
        beamline, x_center_um=40, x_range_um=30, nx=5, y_center_um=0, y_range_um=2, ny=2
    )
    sent = []
    with pytest.raises(plans.PlanArgumentError, match="outside the limits of stage_fine_x"):
        sent.extend(messages(plan))
    assert not sent


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda b: plans.stxm_image(
                b, x_center_um=0, x_range_um=3, nx=0, y_center_um=0, y_range_um=2, ny=2
            ),
            "nx must be a whole number",
        ),
        (
            lambda b: plans.stxm_image(
                b, x_center_um=0, x_range_um=3, nx=3, y_center_um=0, y_range_um=2, ny=2, dwell_ms=0
            ),
            "dwell_ms must be > 0",
        ),
        (
            lambda b: plans.image_stack(b, regions=[], energy_regions=[(700, 710, 2)]),
            "regions: give at least one",
        ),
        (
            lambda b: plans.line_spectrum(
                b, start_um=(0, 0), stop_um=(2, 0), n_points=5, energy_regions=[(700, 710, 0)]
            ),
            r"energy_regions\[0\] npoints",
        ),
        (
            lambda b: plans.osa_image(b, detectors=("detector",), dwell_ms=-1),
            "dwell_ms must be > 0",
        ),
        (
            lambda b: plans.ptycho_scan(b, dwell_ms=2),
            "give exactly one of region",
        ),
    ],
)
def test_bad_arguments_are_refused_when_the_plan_is_called(beamline, make, message):
    with pytest.raises(plans.PlanArgumentError, match=message):
        make(beamline)


def test_pattern_gen_sets_each_pads_dwell_before_its_points(beamline):
    sent = messages(MAKE["pattern_gen"](beamline))
    dwells = [m.args[0] for m in sent if m.command == "set" and m.obj is beamline.counter.dwell]
    assert dwells[0] == 1.0 and set(dwells) >= {1.0, 2.0, 3.0, 4.0, 0.1}
    [start] = starts(sent)
    assert np.asarray(start["dwell_map_ms"]).shape == (5, 5)


@pytest.mark.parametrize(("stop_y", "row_mode"), [(0.0, "step"), (1.0, "point")])
def test_a_stepped_line_spectrum_is_hardware_timed_when_horizontal(beamline, stop_y, row_mode):
    plan = plans.line_spectrum(
        beamline,
        start_um=(-2, 0),
        stop_um=(2, stop_y),
        n_points=8,
        energy_regions=[(700.0, 710.0, 2)],
        mode="step",
    )
    sent = messages(plan)
    counter = beamline.counter
    triggers = sum(m.command == "trigger" and m.obj is counter for m in sent)
    assert starts(sent)[0]["row_mode"] == row_mode
    assert triggers == len(_primary_events(sent)) == (2 if row_mode == "step" else 16)


#: Row-event scans as large as the counter flies (4096 points a row): their point path,
#: had it been built, would be far larger than anything else the plan holds.
ROW_EVENT_SCANS = {
    "image_line": lambda b: plans.stxm_image(
        b, x_center_um=0, x_range_um=40, nx=4096, y_center_um=0, y_range_um=40, ny=128
    ),
    "image_step": lambda b: plans.stxm_image(
        b, x_center_um=0, x_range_um=40, nx=4096, y_center_um=0, y_range_um=40, ny=128, mode="step"
    ),
    "line_spectrum_line": lambda b: plans.line_spectrum(
        b, start_um=(-20, 0), stop_um=(20, 0), n_points=4096, energy_regions=[(700, 710, 96)]
    ),
    "line_spectrum_step": lambda b: plans.line_spectrum(
        b,
        start_um=(-20, 0),
        stop_um=(20, 0),
        n_points=4096,
        energy_regions=[(700, 710, 96)],
        mode="step",
    ),
}


@pytest.mark.parametrize("name", sorted(ROW_EVENT_SCANS))
def test_row_events_never_build_the_point_path(beamline, name):
    """One event per row needs no per-point path: driving the plan never allocates one."""
    plan = ROW_EVENT_SCANS[name](beamline)
    tracemalloc.start()
    try:
        sent = messages(plan)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [start] = starts(sent)
    assert start["row_mode"] in ("line", "step")
    n_points, n_axes = int(np.prod(start["shape"])), len(start["shape"])
    path_bytes = n_points * n_axes * 8  # (y, x) per point, float64; a line's (value, x, y) more
    assert len(_primary_events(sent)) == start["shape"][0]  # a row per event
    # Built, the path alone is path_bytes (meshgrid's temporaries as much again); the
    # plan's own peak, messages kept included, is a fifth of it (1.7 of 8.4 MB).
    assert peak < path_bytes / 2, f"peak {peak} B: the {path_bytes} B point path was built"


@pytest.fixture
def path_builds(monkeypatch) -> list[str]:
    """The point paths built while the test runs (Grid.path, Line.path), by class."""
    built: list[str] = []
    for cls in (Grid, Line):

        def spy(self, *args, _original=cls.path):
            built.append(type(self).__name__)
            return _original(self, *args)

        monkeypatch.setattr(cls, "path", spy)
    return built


@pytest.mark.parametrize(
    ("name", "built"),
    [("osa_image", ["Grid"]), ("stxm_image", []), ("line_spectrum", []), ("sample_focus", [])],
)
def test_only_point_events_build_the_point_path(beamline, path_builds, name, built):
    sent = messages(MAKE[name](beamline))
    assert path_builds == built
    assert (starts(sent)[0]["row_mode"] == "point") == bool(built)


def test_a_slanted_stepped_line_builds_its_point_path_once(beamline, path_builds):
    plan = plans.line_spectrum(
        beamline,
        start_um=(-2, 0),
        stop_um=(2, 1),
        n_points=8,
        energy_regions=[(700.0, 710.0, 2)],
        mode="step",
    )
    sent = messages(plan)
    assert path_builds == ["Line"]
    assert len(_primary_events(sent)) == 16


#: Every plan, and the image and line scans in each row mode.
ROW_MODE_PLANS = MAKE | {
    f"{name}_{mode}": lambda b, make=make, mode=mode: make(b, mode)
    for name, make in {
        "image": lambda b, mode: plans.stxm_image(
            b, x_center_um=0, x_range_um=4, nx=6, y_center_um=0, y_range_um=4, ny=3, mode=mode
        ),
        "slanted_line": lambda b, mode: plans.line_spectrum(
            b,
            start_um=(-2, 0),
            stop_um=(2, 1),
            n_points=8,
            energy_regions=[(700, 710, 2)],
            mode=mode,
        ),
    }.items()
    for mode in ("step", "point")
}


@pytest.mark.parametrize("name", sorted(ROW_MODE_PLANS))
def test_the_plot_hints_follow_the_start_documents_row_mode(beamline, name):
    """A row per event (line, step): the events run along the slow axis only, no grid."""
    for start in starts(messages(ROW_MODE_PLANS[name](beamline))):
        rows = start.get("row_mode") in ("line", "step")
        assert ("gridding" in start["hints"]) is not rows
        if rows:
            assert len(start["hints"]["dimensions"]) == 1


@pytest.mark.parametrize(
    ("row_mode", "written", "gridded"),
    [(RowMode.LINE, "line", False), (RowMode.STEP, "step", False), (RowMode.POINT, "point", True)]
    + [(None, None, True)],
)
def test_a_run_specs_row_mode_makes_the_start_row_mode_and_hints(
    beamline, row_mode, written, gridded
):
    grid = Grid("SampleFineX", np.linspace(0, 1, 3), "SampleFineY", np.linspace(0, 1, 2))
    spec = RunSpec(
        detectors=[beamline.counter],
        motors=list(reversed(grid.motors(beamline))),
        regions={0: grid.region(np.array([700.0]), 1.0, [Polarization()])},
        shape=grid.shape,
        body=bps.null(),
        row_mode=row_mode,
    )
    assert spec.row_events is not gridded
    request = ScanRequest(ScanType.SAMPLE_IMAGE, "stxm_image", {}, 1.0)
    [start] = starts(messages(scan_run(beamline, request, spec)))
    assert start.get("row_mode") == written
    assert ("gridding" in start["hints"]) is gridded
    assert len(start["hints"]["dimensions"]) == (2 if gridded else 1)
