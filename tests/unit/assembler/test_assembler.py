"""Assembling scans: every scan type, live as a callback, aborted scans, safe names, failures."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nxstxm import (
    LAYOUTS,
    AssemblyError,
    NXstxmAssembler,
    ScanType,
    Shape,
    assemble_scan,
    check_file,
    load_jsonl,
)

from .factory import image_rows, image_scan, metadata, region, run_documents, stack_scan

ENERGIES = [700.0, 705.0, 710.0, 715.0]


def _scan(scan_type: ScanType) -> tuple[list, tuple[int, ...]]:
    """Documents of a small scan of any type, and the NXdata shape it must give."""
    shape = LAYOUTS[scan_type].shape
    if shape is Shape.STACK:
        docs = []
        for e_idx in (1, 0):
            group = {"uid": "g", "index": 1 - e_idx, "num_runs": 2}
            md = metadata(scan_type, {"0": region(4, 3, ENERGIES[:2])}, e_idx=e_idx, group=group)
            docs += run_documents(md, image_rows(4, 3, e_idx), t0=1e9 + 100 * (1 - e_idx))
        return docs, (2, 3, 4)
    if shape is Shape.IMAGE:
        return run_documents(metadata(scan_type, {"0": region(4, 3, [700.0])}), image_rows(4, 3)), (
            3,
            4,
        )
    if shape is Shape.LINE:
        md = metadata(scan_type, {"0": region(5, 5, ENERGIES)})
        return run_documents(md, image_rows(5, 4)), (4, 5)
    if shape is Shape.FOCUS:
        md = metadata(scan_type, {"0": region(5, 5, [700.0], zp_z=[-10.0, -5.0, 0.0])})
        return run_documents(md, image_rows(5, 3)), (3, 5)
    if shape is Shape.GENERIC:
        md = metadata(scan_type, {"0": region(6, 1, [700.0])})
        return run_documents(md, [float(i) for i in range(6)]), (6,)
    if shape is Shape.SCATTER:  # a spiral: X and Y pair point by point
        md = {**metadata(scan_type, {"0": region(5, 5, [700.0])}), "num_points": 5}
        return run_documents(md, [float(i) for i in range(5)]), (5,)
    rois = {"0": region(1, 1, ENERGIES), "1": region(1, 1, ENERGIES)}
    md = metadata(scan_type, rois, sp_ids=(0, 1))
    return run_documents(md, [float(i) for i in range(8)]), (4, 1, 1)


@pytest.mark.parametrize("scan_type", list(ScanType), ids=lambda t: t.name)
def test_every_scan_type_assembles_a_valid_file(tmp_path, scan_type):
    documents, shape = _scan(scan_type)
    path = assemble_scan(documents, tmp_path)
    report = check_file(path)
    assert report.ok, report.text()
    with h5py.File(path) as h5:
        for entry in (h5[name] for name in h5):
            nxdata = entry["counter0"]  # the first NXdata: what MANTiS reads
            assert nxdata["data"].shape == shape
            label = "generic scan" if shape == (5,) else LAYOUTS[scan_type].label  # a spiral
            assert nxdata["stxm_scan_type"][0].decode() == label
            assert entry["control/data"].shape == shape
            spectrum = shape[1:] == (1, 1)  # a point spectrum's default: energy only
            default = entry[entry.attrs["default"]]
            assert default.name.endswith("counter0_spectrum" if spectrum else "counter0")
            assert default["data"].shape == (shape[:1] if spectrum else shape)


def test_point_spectra_give_one_entry_per_point_with_interleaved_events(tmp_path):
    documents, _ = _scan(ScanType.SAMPLE_POINT_SPECTRA)
    with h5py.File(assemble_scan(documents, tmp_path)) as h5:
        assert sorted(h5) == ["entry0_sp0", "entry0_sp1"]
        np.testing.assert_array_equal(h5["entry0_sp1/counter0/data"][:, 0, 0], [1, 3, 5, 7])
        np.testing.assert_array_equal(h5["entry0_sp1/counter0/energy"][()], ENERGIES)


def test_stack_places_each_run_at_its_energy_index(tmp_path):
    documents = stack_scan(ENERGIES, order=[2, 0, 3, 1])
    with h5py.File(assemble_scan(documents, tmp_path)) as h5:
        data = h5["entry0/counter0/data"][()]
        np.testing.assert_array_equal(h5["entry0/counter0/energy"][()], ENERGIES)
        np.testing.assert_array_equal(
            h5["entry0/instrument/monochromator/energy"][::12], [710, 700, 715, 705]
        )
    for e_idx in range(4):
        np.testing.assert_array_equal(data[e_idx], image_rows(4, 3, e_idx))


def test_callback_writes_one_file_when_the_groups_last_run_stops(tmp_path):
    assembler = NXstxmAssembler(tmp_path)
    documents = stack_scan(ENERGIES)
    stops = [i for i, (name, _) in enumerate(documents) if name == "stop"]
    for name, doc in documents[: stops[-1]]:
        assembler(name, doc)
    assert assembler.written == [] and not list(tmp_path.glob("*.nxs"))
    assert [p.name for p in tmp_path.iterdir()] == ["C231114001.jsonl"]  # the scan's journal
    for name, doc in documents[stops[-1] :]:
        assembler(name, doc)
    assert len(assembler.written) == 1 and assembler.errors == []
    with h5py.File(assembler.written[0]) as h5:
        assert h5["entry0/counter0/data"].shape == (4, 3, 4)
        assert h5["entry0/status/data"].asstr()[()] == "complete"


def test_aborted_stack_keeps_the_images_acquired_and_says_it_is_incomplete(tmp_path):
    energies = [700.0 + i for i in range(6)]
    documents = stack_scan(energies, acquired=3, abort_last=True)
    assembler = NXstxmAssembler(tmp_path)
    for name, doc in documents:
        assembler(name, doc)
    [path] = assembler.written
    with h5py.File(path) as h5:
        data = h5["entry0/counter0/data"][()]
        assert data.shape == (3, 3, 4)
        np.testing.assert_array_equal(data[:2], [image_rows(4, 3, 0), image_rows(4, 3, 1)])
        assert np.isnan(data[2, 2:]).all() and not np.isnan(data[2, :1]).any()
        np.testing.assert_array_equal(h5["entry0/counter0/energy"][()], energies[:3])
        assert h5["entry0/status/data"].asstr()[()] == "incomplete"
        why = h5["entry0/status/description"].asstr()[()]
    assert "abort" in why and "3 of 6 runs" in why
    assert "incomplete" in check_file(path).text()


def test_a_second_assembly_never_overwrites(tmp_path):
    documents = image_scan()
    first = assemble_scan(documents, tmp_path)
    before = first.read_bytes()
    second = assemble_scan(documents, tmp_path)
    assert first.name == "C231114001.nxs" and second.name == "C231114002.nxs"
    assert first.read_bytes() == before
    with pytest.raises(AssemblyError, match="never overwrites"):
        assemble_scan(documents, tmp_path, name=first.name)


def test_name_pattern_is_configurable(tmp_path):
    path = assemble_scan(image_scan(), tmp_path, pattern="scan_{date:%Y}_{seq:04d}.h5")
    assert path.name == "scan_2023_0001.h5"


def test_bad_metadata_names_key_and_run_and_the_journal_keeps_the_documents(tmp_path):
    documents = image_scan()
    start = documents[0][1]
    del start["primary_det"]
    assembler = NXstxmAssembler(tmp_path)
    for name, doc in documents:
        assembler(name, doc)
    [failure] = assembler.errors
    assert f"run {start['uid']}: metadata key 'primary_det'" in str(failure)
    assert failure.journal.name == "C231114001.jsonl" and not list(tmp_path.glob("*.nxs"))
    kept = load_jsonl(failure.journal)
    assert [name for name, _ in kept] == [name for name, _ in documents]
    assert assemble_scan(image_scan(), tmp_path).name == "C231114002.nxs"


def test_callback_logs_failures_instead_of_raising_into_the_run_engine(tmp_path):
    documents = image_scan()
    documents[0][1]["scan_type"] = 99
    assembler = NXstxmAssembler(tmp_path)
    for name, doc in documents:
        assembler(name, doc)
    assert assembler.written == [] and "scan_type" in str(assembler.errors[0])


def test_a_scan_stopped_between_runs_is_written_when_the_next_scan_starts(tmp_path):
    energies = [700.0 + i for i in range(4)]
    assembler = NXstxmAssembler(tmp_path)
    for name, doc in stack_scan(energies, acquired=2):  # no stop says the plan ended early
        assembler(name, doc)
    assert assembler.written == []
    for name, doc in image_scan(t0=2e9):
        assembler(name, doc)
    assert len(assembler.written) == 2 and assembler.errors == []
    with h5py.File(assembler.written[0]) as h5:
        assert h5["entry0/counter0/data"].shape == (2, 3, 4)
        assert "2 of 4 runs" in h5["entry0/status/description"].asstr()[()]


def test_flush_writes_a_scan_still_waiting_for_runs(tmp_path):
    assembler = NXstxmAssembler(tmp_path)
    for name, doc in stack_scan([700.0, 701.0, 702.0], acquired=1):
        assembler(name, doc)
    assembler.flush()
    [path] = assembler.written
    with h5py.File(path) as h5:
        assert h5["entry0/status/data"].asstr()[()] == "incomplete"


def test_non_finite_measured_positions_mark_the_entry_incomplete(tmp_path):
    documents = image_scan()
    for name, doc in documents:
        if name == "descriptor" and doc["name"] == "primary":
            doc["data_keys"]["fine_y"] = {
                "source": "PV:SIM:stage:FineY.RBV",
                "dtype": "number",
                "shape": [],
            }
            doc["object_keys"]["fine_y"] = ["fine_y"]
            primary = doc["uid"]
    rows = [doc for name, doc in documents if name == "event" and doc["descriptor"] == primary]
    for k, event in enumerate(rows):
        event["data"]["fine_y"] = float("nan") if k == 1 else 20.0 + 0.5 * k
    with h5py.File(assemble_scan(documents, tmp_path)) as h5:
        assert h5["entry0/status/data"].asstr()[()] == "incomplete"
        why = h5["entry0/status/description"].asstr()[()]
    assert "measured sample_y position(s) not finite" in why and "'fine_y'" in why
