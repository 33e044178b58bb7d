"""``check_file`` and ``stxm check``/``stxm assemble`` on good and broken files."""

from __future__ import annotations

from pathlib import Path

import h5py

from nxstxm import assemble_scan, check_file, dump_jsonl
from stxm_devices.cli import main

from .factory import image_scan, stack_scan


def test_a_good_file_checks_ok(tmp_path):
    report = check_file(assemble_scan(image_scan(), tmp_path))
    assert report.ok and report.validation == {"entry0": (0, 0)}
    assert "OK" in report.text()


def test_missing_required_field_is_a_validation_problem(tmp_path):
    path = assemble_scan(image_scan(), tmp_path)
    with h5py.File(path, "a") as h5:
        del h5["entry0/instrument/monochromator"]
    report = check_file(path)
    assert not report.ok and report.validation_errors >= 1
    assert any("NXstxm validation" in problem for problem in report.problems)


def test_a_broken_default_chain_is_a_problem(tmp_path):
    path = assemble_scan(image_scan(), tmp_path)
    with h5py.File(path, "a") as h5:
        h5["entry0"].attrs["default"] = "nothing"
    assert "does not lead to an NXdata" in check_file(path).text()


def test_a_file_that_is_not_hdf5_is_reported(tmp_path):
    path = tmp_path / "C190712001.nxs"
    path.write_text("not hdf5")
    report = check_file(path)
    assert not report.ok and "cannot open as HDF5" in report.problems[0]


def test_cli_assemble_prints_the_paths_and_check_exits_zero(tmp_path, capsys):
    scans = stack_scan([700.0, 710.0]) + stack_scan([700.0], group_uid="g2", t0=1_699_964_000.0)
    source = dump_jsonl(scans, tmp_path / "docs.jsonl")
    assert main(["assemble", str(source), "--data-dir", str(tmp_path / "data")]) == 0
    lines = capsys.readouterr().out.split()
    assert [Path(line).name for line in lines] == ["C231114001.nxs", "C231114002.nxs"]
    assert main(["check", *lines]) == 0


def test_cli_assemble_reports_a_bad_file_and_exits_nonzero(tmp_path, capsys):
    (tmp_path / "bad.jsonl").write_text("nonsense\n")
    assert main(["assemble", str(tmp_path / "bad.jsonl"), "--data-dir", str(tmp_path)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
