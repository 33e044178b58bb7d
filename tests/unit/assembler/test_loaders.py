"""Document files: pyStxm's double-encoded JSON and JSONL, detected and read back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nxstxm import (
    detect_format,
    dump_jsonl,
    load_documents,
    load_jsonl,
    load_pystxm_json,
)
from nxstxm.loaders import DocumentFileError

from .factory import image_scan


def test_pystxm_json_is_decoded_twice_and_keeps_every_run(tmp_path):
    documents = image_scan() + image_scan()
    runs: dict[str, list] = {}
    for name, doc in documents:
        uid = doc.get("run_start", doc["uid"]) if name != "event" else None
        runs.setdefault(uid or list(runs)[-1], []).append([name, doc])
    path = tmp_path / "SCAN.json"
    path.write_text(json.dumps(json.dumps(runs, default=lambda a: a.tolist())))
    loaded = load_pystxm_json(path)
    assert [name for name, _ in loaded] == [name for name, _ in documents]
    assert detect_format(path) == "pystxm"


def test_jsonl_round_trip_writes_numpy_values_as_lists(tmp_path):
    documents = image_scan()
    path = dump_jsonl(documents, tmp_path / "scan.txt")
    assert detect_format(path) == "jsonl"
    loaded = load_documents(path)
    assert [name for name, _ in loaded] == [name for name, _ in documents]
    event = next(doc for name, doc in loaded if name == "event" and "counter0" in doc["data"])
    np.testing.assert_array_equal(event["data"]["counter0"], np.arange(4.0))


def test_bad_lines_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('["start", {"uid": "a"}]\n{"not": "a pair"}\n')
    with pytest.raises(DocumentFileError, match=r"bad.jsonl:2: not a \[name, doc\] line"):
        load_jsonl(path)


def test_unknown_format_and_unreadable_files_are_errors(tmp_path):
    with pytest.raises(DocumentFileError, match="unknown format 'csv'"):
        load_documents(tmp_path / "x", "csv")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(DocumentFileError, match="broken.json: not a pyStxm JSON recording"):
        load_pystxm_json(tmp_path / "broken.json")
