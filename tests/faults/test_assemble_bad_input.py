"""``stxm assemble``/``check`` on bad input: one line naming file, line and key; exit 2.

One test per bad input found by trying it as a new user would. Most run the command in
this process (``main``), a few as the real ``stxm`` process to see its whole stderr.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from nxstxm import check_file, dump_jsonl
from stxm_devices.cli import main
from tests.unit.assembler.factory import AreaDetector, image_scan

pytestmark = pytest.mark.faults


def stxm(args, capsys) -> tuple[int, list[str]]:
    """Run ``stxm ARGS`` here: (exit status, stderr lines)."""
    status = main([str(arg) for arg in args])
    return status, capsys.readouterr().err.splitlines()


def stxm_process(args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stxm_devices.cli", *map(str, args)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused(status: int, lines: list[str], *fragments: str) -> None:
    assert status == 2 and len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def with_start(change) -> list:
    documents = image_scan()
    change(documents[0][1])
    return documents


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "out"


def test_binary_input(tmp_path, out):
    bad = tmp_path / "scan.jsonl"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n\x00\xff\xfe" * 10)
    result = stxm_process(["assemble", bad, "--data-dir", out])
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"{bad}:1: not a [name, doc] line (not UTF-8 text)" in result.stderr


def test_binary_input_with_debug_shows_the_traceback(tmp_path, out):
    bad = tmp_path / "scan.jsonl"
    bad.write_bytes(b"\x00\xff\xfe")
    result = stxm_process(["--debug", "assemble", bad, "--data-dir", out])
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_missing_file(tmp_path, out, capsys):
    refused(*stxm(["assemble", tmp_path / "nope.jsonl", "--data-dir", out], capsys), "nope.jsonl")


def test_empty_input_is_an_error(tmp_path, out, capsys):
    (tmp_path / "empty.jsonl").touch()
    refused(
        *stxm(["assemble", tmp_path / "empty.jsonl", "--data-dir", out], capsys),
        "empty.jsonl: holds no documents",
    )


def test_events_without_a_start(tmp_path, out, capsys):
    path = dump_jsonl([doc for doc in image_scan() if doc[0] != "start"], tmp_path / "x.jsonl")
    refused(
        *stxm(["assemble", path, "--data-dir", out], capsys),
        "x.jsonl: line 1:",
        "refers to unknown run start",
    )


def test_uncreatable_data_dir(tmp_path, capsys):
    path = dump_jsonl(image_scan(), tmp_path / "x.jsonl")
    (tmp_path / "file").touch()
    refused(
        *stxm(["assemble", path, "--data-dir", tmp_path / "file" / "sub"], capsys),
        "data directory",
    )


def test_no_data_dir_at_all(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("STXM_DATA_DIR", raising=False)
    path = dump_jsonl(image_scan(), tmp_path / "x.jsonl")
    refused(*stxm(["assemble", path], capsys), "--data-dir", "STXM_DATA_DIR")


def test_stxm_data_dir_is_honoured(tmp_path):
    path = dump_jsonl(image_scan(), tmp_path / "x.jsonl")
    result = stxm_process(["assemble", path], STXM_DATA_DIR=str(tmp_path / "env"))
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).parent == tmp_path / "env"


@pytest.mark.parametrize("key", ["START", "STOP"])
def test_infinite_x_start_or_stop_refuses_the_scan(tmp_path, out, capsys, key):
    def change(start):
        start["rois"]["0"]["X"].update(SETPOINTS=None, **{key: float("inf")})

    path = dump_jsonl(with_start(change), tmp_path / "x.jsonl")
    refused(
        *stxm(["assemble", path, "--data-dir", out], capsys),
        "x.jsonl: line 1:",
        f"metadata key 'rois.0.X.{key}' is inf",
    )
    assert not list(out.glob("*.nxs"))


def test_infinite_energy_refuses_the_scan(tmp_path, out, capsys):
    def change(start):
        start["rois"]["0"]["EV_ROIS"][0]["SETPOINTS"] = [float("-inf")]

    path = dump_jsonl(with_start(change), tmp_path / "x.jsonl")
    refused(
        *stxm(["assemble", path, "--data-dir", out], capsys),
        "metadata key 'rois.0.EV_ROIS.0.SETPOINTS' is not finite",
    )


def test_huge_npoints_allocates_nothing(tmp_path, out):
    def change(start):
        start["rois"]["0"]["X"].update(SETPOINTS=None, NPOINTS=2**28)

    path = dump_jsonl(with_start(change), tmp_path / "x.jsonl")
    limit = 1536 * 2**20  # 1.5 GiB of address space: 2^28 float64 positions are 2 GiB

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "stxm_devices.cli", "assemble", str(path), "--data-dir", str(out)],
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limited,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "metadata key 'rois.0.X.NPOINTS' is 268435456" in result.stderr


def test_entry_name_with_dots_and_slashes_becomes_a_nexus_name(tmp_path, out, capsys):
    def change(start):
        start["img_idx_map"]["entry"] = start["entry_name"] = "../../x"

    path = dump_jsonl(with_start(change), tmp_path / "x.jsonl")
    status, _ = stxm(["assemble", path, "--data-dir", out], capsys)
    assert status == 0
    [written] = out.glob("*.nxs")
    with h5py.File(written) as h5:
        assert list(h5) == ["______x"]
    assert check_file(written).ok


def test_run_truncated_at_a_line_boundary_passes_check_marked_incomplete(tmp_path, out, capsys):
    documents = image_scan()
    path = dump_jsonl(documents[:-3], tmp_path / "x.jsonl")  # no stop, two events short
    status, _ = stxm(["assemble", path, "--data-dir", out], capsys)
    assert status == 0
    [written] = out.glob("*.nxs")
    report = check_file(written)
    assert report.ok, report.text()
    assert "no stop document" in report.text()


def test_torn_last_line_is_tolerated(tmp_path, out, capsys):
    path = dump_jsonl(image_scan(), tmp_path / "x.jsonl")
    path.write_bytes(path.read_bytes() + b'["event", {"descriptor": "ab')
    status, _ = stxm(["assemble", path, "--data-dir", out], capsys)
    assert status == 0 and len(list(out.glob("*.nxs"))) == 1


def test_a_bad_line_inside_is_not_tolerated(tmp_path, out, capsys):
    path = dump_jsonl(image_scan(), tmp_path / "x.jsonl")
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = lines[3][:20] + "\n"
    path.write_text("".join(lines))
    refused(*stxm(["assemble", path, "--data-dir", out], capsys), "x.jsonl:4: not a [name, doc]")


def _pointing_at(tmp_path, target: str) -> Path:
    documents = image_scan(detector=AreaDetector(tmp_path / "frames", single=False))
    for name, doc in documents:
        if name == "resource":
            doc["root"], doc["resource_path"] = os.path.split(target)
    return dump_jsonl(documents, tmp_path / f"{Path(target).name}.jsonl")


def test_resources_outside_the_data_directory_are_refused_saying_nothing_about_them(
    tmp_path, out, capsys
):
    messages = []
    for target in ("/etc/shadow", "/etc/no-such-file-here"):
        status, lines = stxm(
            ["assemble", _pointing_at(tmp_path, target), "--data-dir", out], capsys
        )
        refused(status, lines, "outside the data directory", "--allow-outside")
        messages.append(lines[0].replace(Path(target).name, "NAME"))
    assert messages[0] == messages[1]  # whether the file exists is not said
    assert not list(out.glob("*.nxs"))


def test_allow_outside_links_frames_from_that_directory(tmp_path, out, capsys):
    path = dump_jsonl(
        image_scan(detector=AreaDetector(tmp_path / "ioc", single=False)), tmp_path / "x.jsonl"
    )
    refused(*stxm(["assemble", path, "--data-dir", out], capsys), "outside the data directory")
    status, _ = stxm(
        ["assemble", path, "--data-dir", out, "--allow-outside", tmp_path / "ioc"], capsys
    )
    assert status == 0 and check_file(next(out.glob("*.nxs"))).ok


def test_check_of_a_missing_or_non_hdf5_file(tmp_path, capsys):
    refused(*stxm(["check", tmp_path / "nope.nxs"], capsys), "nope.nxs: no such file")
    (tmp_path / "text.nxs").write_text("not hdf5")
    refused(*stxm(["check", tmp_path / "text.nxs"], capsys), "text.nxs: not an HDF5 file")
