"""The assembler as a RunEngine callback on live runs of every plan: valid files readers open."""

from __future__ import annotations

import h5py
import hdf5plugin  # noqa: F401  (what HyperSpy users import for compressed data)
import numpy as np
import pytest
from bluesky import Msg
from bluesky.preprocessors import plan_mutator
from bluesky.utils import RunEngineInterrupted
from rsciio.nexus import file_reader
from silx.io.nxdata import is_valid_nxdata

import plans
from iocs.physics import Phantom
from nxstxm import NXstxmAssembler, assemble_scan, check_file
from nxstxm.check import validate_entries
from tests.integration.plan_table import PLAN_CASES
from tests.unit.assembler.readers import (
    hyperspy_signals,
    pynx_validate_cli,
    pynxtools_findings,
    signal_titled,
)

UNITS = {"energy": "eV"}  # every other axis is a position in µm


@pytest.fixture
def at_home(beamline, tmp_path):
    """Every positioner a plan may leave elsewhere is put back; frames go under tmp_path."""
    motors = [
        beamline.counter.x,
        beamline.counter.y,
        beamline.osa.x,
        beamline.osa.y,
        beamline.osa.z,
        beamline.stage.coarse_x,
        beamline.stage.coarse_y,
        beamline.goniometer.x,
        beamline.goniometer.y,
        beamline.goniometer.theta,
    ]
    positions = [motor.position for motor in motors]
    hdf1 = beamline.detector.hdf1
    previous_path = hdf1.write_path_template
    hdf1.write_path_template = f"{tmp_path}/ioc/"
    yield beamline
    hdf1.write_path_template = previous_path
    for motor, position in zip(motors, positions, strict=True):
        motor.move(position, wait=True)
    beamline.energy.move(700.0, wait=True)
    beamline.epu.polarization.set("CircLeft").wait(5)


def assemble_live(RE, plan, data_dir):
    """Run ``plan`` with the assembler subscribed; its documents and the files it wrote."""
    assembler = NXstxmAssembler(data_dir)
    documents = []
    RE(plan, [assembler, lambda name, doc: documents.append((name, doc))])
    assert assembler.errors == []
    return assembler.written, documents


def test_every_plan_is_in_the_table():
    assert set(plans.PLANS) == set(PLAN_CASES)


@pytest.mark.parametrize("name", sorted(plans.PLANS))
def test_live_run_of_every_plan_gives_a_valid_file_readers_open(RE, at_home, tmp_path, name):
    case = PLAN_CASES[name]
    [path], documents = assemble_live(RE, case.make(at_home), tmp_path)
    axes, shape = case.axes, case.shape
    if shape is None:  # as many values as the plan visited points
        shape = (len(next(doc for n, doc in documents if n == "start")["scan_positions"]),)
    counts, messages = validate_entries(path)
    assert all(found == (0, 0) for found in counts.values()), (counts, messages)  # nor warnings
    report = check_file(path)
    assert report.ok, report.text()
    with h5py.File(path) as h5:
        entry = h5[h5.attrs["default"]]
        nxdata = entry[entry.attrs["default"]]
        assert is_valid_nxdata(nxdata)
        assert [a.decode() for a in nxdata.attrs["axes"]] == axes
        data = nxdata["data"][()]
        assert data.shape == shape and not np.isnan(data).any() and data.max() > 0
        ring = entry["control/data"][()]
        assert ring.size == data.size and np.all((ring > 100) & (ring < 1000))  # mA, every point
        assert entry["status/data"].asstr()[()] == "complete"
    [signal, *_] = file_reader(str(path), use_default=True, lazy=True)
    assert tuple(signal["data"].shape) == shape
    read_axes = sorted(signal["axes"], key=lambda axis: axis["index_in_array"])
    assert [axis["name"] for axis in read_axes] == axes
    assert [axis["size"] for axis in read_axes] == list(shape)
    units = [UNITS.get(a, "um") for a in axes]
    if name == "ptycho_scan":  # rosettasciio keeps units of evenly spaced axes only
        units = [None]
    assert [axis.get("units") for axis in read_axes] == units
    errors, _ = pynxtools_findings(path)
    assert errors == [], errors
    cli = pynx_validate_cli(path)
    assert cli.returncode == 0 and "Traceback" not in cli.stderr, cli.stderr[-2000:]


def test_hyperspy_loads_the_linked_frames_of_an_area_detector_scan_lazily(
    RE, at_home, tmp_path, monkeypatch
):
    """The frames (a virtual dataset) and their totals, from any working directory."""
    plan = plans.ptycho_scan(
        at_home,
        region=plans.Region(0.0, 0.4, 3, 0.0, 0.2, 2),
        dwell_ms=2,
        detectors=("detector", "counter"),
    )
    [path], _ = assemble_live(RE, plan, tmp_path)
    monkeypatch.chdir("/")  # the virtual dataset's paths are relative to the file, not here
    signals = hyperspy_signals(path)
    frames = signal_titled(signals, "entry0_instrument_det1_image_data")
    assert frames._lazy and frames.data.shape == (6, 256, 256)
    with h5py.File(path) as h5:
        expected = h5["entry0/instrument/det1_image/data"][4]
    np.testing.assert_array_equal(np.asarray(frames.data[4]), expected)
    totals = signal_titled(signals, "entry0_instrument_det1_stats1_total_data")
    np.testing.assert_allclose(
        np.asarray(totals.data), np.asarray(frames.data.sum(axis=(1, 2))), rtol=1e-6
    )


def test_fly_lines_record_the_measured_x_of_every_point(RE, at_home, tmp_path):
    plan = plans.stxm_image(
        at_home, x_center_um=0, x_range_um=4, nx=6, y_center_um=1, y_range_um=2, ny=3
    )
    [path], documents = assemble_live(RE, plan, tmp_path)
    events = [d for n, d in documents if n == "event" and "counter0_line_positions" in d["data"]]
    measured_x = np.concatenate([e["data"]["counter0_line_positions"] for e in events])
    measured_y = np.repeat([e["data"]["stage_fine_y"] for e in events], 6)
    with h5py.File(path) as h5:
        np.testing.assert_array_equal(h5["entry0/instrument/sample_x/data"][()], measured_x)
        np.testing.assert_array_equal(h5["entry0/instrument/sample_y/data"][()], measured_y)


def test_stack_spectrum_at_an_iron_oxide_particle_shows_the_fe_l3_edge(RE, at_home, tmp_path):
    disk = next(d for d in Phantom().disks if d.material == "iron_oxide" and d.radius_um > 1.5)
    plan = plans.image_stack(
        at_home,
        regions=[plans.Region(disk.x_um, 8, 5, disk.y_um, 8, 5)],
        energy_regions=[(700, 706, 3), (708, 710, 5), (712, 720, 3)],
    )
    [path], _ = assemble_live(RE, plan, tmp_path)
    with h5py.File(path) as h5:
        stack = h5["entry0/counter0/data"][()]
        energy = h5["entry0/counter0/energy"][()]
    i0 = stack[:, [0, 0, -1, -1], [0, -1, 0, -1]].mean(axis=1)  # the corners: film only
    od = -np.log(stack[:, 2, 2] / i0)  # the particle's centre
    pre_edge = od[energy < 707].mean()
    l3 = od[(energy >= 708) & (energy <= 710)].max()
    assert pre_edge < 0.4 and l3 > pre_edge + 0.5, dict(zip(energy, od.round(3), strict=True))


def _pause_as_run_opens(plan, run_number: int):
    """``plan``, pausing (as Ctrl+C would) just after its ``run_number``-th run opens."""
    opened = 0

    def pause(msg):
        nonlocal opened
        if msg.command != "open_run":
            return None, None
        opened += 1
        if opened != run_number:
            return None, None

        def tail():
            yield Msg("pause", defer=False)

        return None, tail()

    return plan_mutator(plan, pause)


def test_stack_aborted_after_2_of_6_runs_keeps_2_images_marked_incomplete(RE, at_home, tmp_path):
    plan = plans.image_stack(
        at_home, regions=[plans.Region(0, 4, 4, 0, 4, 3)], energy_regions=[(700, 710, 6)]
    )
    assembler = NXstxmAssembler(tmp_path)
    documents = []
    with pytest.raises(RunEngineInterrupted):
        RE(_pause_as_run_opens(plan, 3), [assembler, lambda n, d: documents.append((n, d))])
    RE.abort("stopped by the test")
    [path] = assembler.written
    with h5py.File(path) as h5:
        data = h5["entry0/counter0/data"][()]
        assert data.shape == (2, 3, 4) and not np.isnan(data).any()
        np.testing.assert_allclose(h5["entry0/counter0/energy"][()], [700, 702])
        assert h5["entry0/status/data"].asstr()[()] == "incomplete"
        why = h5["entry0/status/description"].asstr()[()]
    assert "abort" in why and "2 of 6 runs" in why
    again = assemble_scan(documents, tmp_path)
    assert again != path and again.parent == path.parent
