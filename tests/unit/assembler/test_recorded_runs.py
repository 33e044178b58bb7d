"""Every recorded pyStxm run assembles into a valid NXstxm file that the readers open."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (compressed data readable, as HyperSpy users have it)
import numpy as np
import pytest
from rsciio.nexus import file_reader
from silx.io.nxdata import is_valid_nxdata

from nxstxm import assemble_file, check_file, load_pystxm_json
from nxstxm.check import validate_entries

from .readers import pynx_validate_cli, pynxtools_findings

RECORDED = [
    "DETECTOR_IMAGE",
    "GENERIC_SCAN",
    "OSA_FOCUS",
    "OSA_IMAGE",
    "SAMPLE_FOCUS",
    "SAMPLE_IMAGE",
    "SAMPLE_IMAGE_STACK",
    "SAMPLE_LINE_SPECTRA",
]
#: name → (stxm_scan_type, NXdata @axes, data shape)
EXPECTED = {
    "DETECTOR_IMAGE": ("detector image", ["sample_y", "sample_x"], (5, 5)),
    "GENERIC_SCAN": ("generic scan", ["sample_x"], (20,)),
    "OSA_FOCUS": ("osa focus", ["zoneplate_z", "line_position"], (6, 5)),
    "OSA_IMAGE": ("osa image", ["sample_y", "sample_x"], (5, 5)),
    "SAMPLE_FOCUS": ("sample focus", ["zoneplate_z", "line_position"], (5, 20)),
    "SAMPLE_IMAGE": ("sample image", ["sample_y", "sample_x"], (50, 50)),
    "SAMPLE_IMAGE_STACK": ("sample image stack", ["energy", "sample_y", "sample_x"], (3, 25, 25)),
    "SAMPLE_LINE_SPECTRA": ("sample line spectrum", ["energy", "line_position"], (10, 25)),
}
UNITS = {
    "energy": "eV",
    "sample_x": "um",
    "sample_y": "um",
    "zoneplate_z": "um",
    "line_position": "um",
}


@pytest.fixture(scope="module")
def assembled(pystxm_runs: Path, tmp_path_factory) -> dict[str, Path]:
    """Each recorded file assembled once (module scope keeps the tests fast)."""
    out = tmp_path_factory.mktemp("nxstxm")
    return {name: assemble_file(pystxm_runs / f"{name}.json", out)[0] for name in RECORDED}


def test_every_recorded_file_is_in_the_expectations(pystxm_runs):
    assert sorted(path.stem for path in pystxm_runs.glob("*.json")) == sorted(RECORDED)


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_run_validates_with_no_nexusformat_errors(assembled, name):
    counts, messages = validate_entries(assembled[name])
    assert counts and all(found == (0, 0) for found in counts.values()), (counts, messages)


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_run_passes_stxm_check(assembled, name):
    report = check_file(assembled[name])
    assert report.ok, report.text()


@pytest.mark.parametrize("name", RECORDED)
def test_default_nxdata_is_valid_for_silx_and_follows_the_default_chain(assembled, name):
    with h5py.File(assembled[name]) as h5:
        entry = h5[h5.attrs["default"]]
        nxdata = entry[entry.attrs["default"]]
        assert nxdata.attrs["NX_class"] == "NXdata"
        assert nxdata.name == "/entry0/counter0"
        assert is_valid_nxdata(nxdata)


@pytest.mark.parametrize("name", RECORDED)
def test_mantis_facts_hold(assembled, name):
    """MANTiS reads definition[0], stxm_scan_type[0] and iterates @axes as byte strings."""
    label, axes, shape = EXPECTED[name]
    with h5py.File(assembled[name]) as h5:
        entry = h5["entry0"]
        assert entry["definition"].shape == (1,) and entry["definition"][0] == b"NXstxm"
        nxdata = entry["counter0"]
        assert nxdata["stxm_scan_type"].shape == (1,)
        assert nxdata["stxm_scan_type"][0].decode() == label
        assert nxdata.attrs["axes"].dtype.kind == "S"
        assert [axis.decode("UTF-8") for axis in nxdata.attrs["axes"]] == axes
        for field in ("energy", "sample_y", "sample_x", "count_time"):
            assert field in nxdata
        assert nxdata["data"].shape == shape
        assert entry["control/data"].shape == shape
        n_points = entry["instrument/counter0/data"].shape[0]
        assert entry["instrument/monochromator/energy"].shape == (n_points,)
        assert entry["instrument/sample_x/data"].shape == (n_points,)
        assert {"type", "name", "probe"} <= set(entry["instrument/source"])


@pytest.mark.parametrize("name", RECORDED)
def test_rosettasciio_reads_axes_names_units_and_shape(assembled, name):
    _, axes, shape = EXPECTED[name]
    signal = file_reader(str(assembled[name]), use_default=True, lazy=True)[0]
    assert tuple(signal["data"].shape) == shape
    assert [axis["name"] for axis in signal["axes"]] == axes
    assert [axis["units"] for axis in signal["axes"]] == [UNITS[a] for a in axes]
    assert [axis["size"] for axis in signal["axes"]] == list(shape)


def test_stack_runs_are_placed_by_e_idx_not_by_file_order(assembled, pystxm_runs):
    documents = load_pystxm_json(pystxm_runs / "SAMPLE_IMAGE_STACK.json")
    starts = {doc["uid"]: doc for name, doc in documents if name == "start"}
    by_descriptor = {
        doc["uid"]: doc["run_start"] for name, doc in documents if name == "descriptor"
    }
    rows: dict[str, list] = {}
    for name, doc in documents:
        if name == "event" and "counter0_waveform_rbv" in doc["data"]:
            rows.setdefault(by_descriptor[doc["descriptor"]], []).append(doc)
    e_idx = {
        uid: json.loads(json.loads(start["metadata"])["img_idx_map"])["e_idx"]
        for uid, start in starts.items()
    }
    assert list(e_idx.values()) != sorted(e_idx.values())  # the file's order is not e_idx order
    energies = json.loads(starts[next(iter(starts))]["metadata"])["rois"]["0"]["EV_ROIS"][0]
    with h5py.File(assembled["SAMPLE_IMAGE_STACK"]) as h5:
        data = h5["entry0/counter0/data"][()]
        np.testing.assert_allclose(h5["entry0/counter0/energy"][()], sorted(energies["SETPOINTS"]))
    assert data.shape == (3, 25, 25)
    for uid, events in rows.items():
        image = np.array(
            [
                ev["data"]["counter0_waveform_rbv"]
                for ev in sorted(events, key=lambda e: e["seq_num"])
            ]
        )
        np.testing.assert_array_equal(data[e_idx[uid]], image)


def test_baseline_energy_agrees_with_the_energy_axis(assembled):
    """The run recorded with a baseline (e_idx 0) read 720 eV: that is energy[0]."""
    with h5py.File(assembled["SAMPLE_IMAGE_STACK"]) as h5:
        baseline = h5["entry0/baseline"]
        readings = next(ds for ds in baseline.values() if ds.attrs["key"] == "BL1610-I10:ENERGY")
        assert readings[0] == pytest.approx(h5["entry0/counter0/energy"][0])


def test_ring_current_monitor_comes_from_baseline_or_events(assembled):
    with h5py.File(assembled["SAMPLE_IMAGE"]) as h5:
        current = h5["entry0/control/data"][()]
    assert np.all((current > 100) & (current < 500))
    with h5py.File(assembled["OSA_IMAGE"]) as h5:
        assert np.all(np.isfinite(h5["entry0/control/data"][()]))


def test_recorded_files_are_marked_complete(assembled):
    for path in assembled.values():
        with h5py.File(path) as h5:
            assert h5["entry0/status/data"].asstr()[()] == "complete"


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_run_has_no_pynxtools_errors_and_pynx_validate_exits_0(assembled, name):
    errors, _ = pynxtools_findings(assembled[name])
    assert errors == [], errors
    cli = pynx_validate_cli(assembled[name])
    assert cli.returncode == 0 and "Traceback" not in cli.stderr, cli.stderr[-2000:]


@pytest.mark.parametrize("name", RECORDED)
def test_hyperspy_loads_the_default_signal_with_its_axes(assembled, name):
    """Evenly spaced axes keep values and units; others become index axes (docs say so)."""
    import hyperspy.api as hs

    _, axes, shape = EXPECTED[name]
    signal = hs.load(str(assembled[name]), lazy=True, use_default=True)
    assert signal._lazy and signal.data.shape == shape
    read = sorted(signal.axes_manager._axes, key=lambda axis: axis.index_in_array)
    assert [axis.name for axis in read] == axes
    with h5py.File(assembled[name]) as h5:
        for axis in read:
            values = h5[f"entry0/counter0/{axis.name}"][()]
            steps = np.diff(values)
            if values.size > 1 and np.allclose(steps, steps[0], rtol=1e-3):
                np.testing.assert_allclose(axis.axis, values, rtol=1e-6, atol=1e-9)
                assert axis.units == UNITS[axis.name]
            else:
                np.testing.assert_array_equal(axis.axis, np.arange(values.size))
