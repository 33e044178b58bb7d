"""File names: C<yymmdd><nnn>.nxs, the next free number, never an overwrite."""

from __future__ import annotations

from datetime import datetime

import pytest

from nxstxm.files import next_free_name, write_new

DAY = datetime(2019, 7, 12, 15, 0)


def test_next_free_name_skips_every_stem_in_use(tmp_path):
    assert next_free_name(tmp_path, DAY) == "C190712001.nxs"
    for used in ("C190712001.nxs", "C190712002.nxs.tmp", "C190712003.failed.jsonl"):
        (tmp_path / used).touch()
    assert next_free_name(tmp_path, DAY) == "C190712004.nxs"


def test_pattern_without_sequence_is_refused(tmp_path):
    with pytest.raises(ValueError, match="needs a {seq} field"):
        next_free_name(tmp_path, DAY, "scan.nxs")


def test_write_new_publishes_and_removes_the_temporary_file(tmp_path):
    seen = []
    path = write_new(tmp_path, lambda tmp: (seen.append(tmp.name), tmp.write_text("x")), when=DAY)
    assert seen[0].startswith(".C190712001.nxs.") and seen[0].endswith(".tmp")
    assert path.read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["C190712001.nxs"]


def test_a_file_taken_while_writing_moves_to_the_next_number(tmp_path):
    def write(tmp):
        tmp.write_text("mine")
        (tmp_path / "C190712001.nxs").write_text("theirs")

    path = write_new(tmp_path, write, when=DAY)
    assert path.name == "C190712002.nxs" and path.read_text() == "mine"
    assert (tmp_path / "C190712001.nxs").read_text() == "theirs"


def test_failed_write_leaves_no_temporary_file(tmp_path):
    def write(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_new(tmp_path, write, when=DAY)
    assert list(tmp_path.iterdir()) == []
