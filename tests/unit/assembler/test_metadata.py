"""The standard metadata parse from pyStxm's JSON strings and from structured values alike."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nxstxm import MetadataError, ScanType, parse_metadata

from .factory import metadata, region


def _start(md: dict, *, encoded: bool) -> dict:
    if not encoded:
        return {"uid": "run-1", "time": 0.0, **md}
    md = {**md, "wdg_com": json.dumps(md["wdg_com"]), "img_idx_map": json.dumps(md["img_idx_map"])}
    return {"uid": "run-1", "time": 0.0, "metadata": json.dumps(md)}


@pytest.mark.parametrize("encoded", [True, False], ids=["pystxm-json-string", "structured"])
def test_metadata_parses_either_form(encoded):
    md = metadata(ScanType.SAMPLE_IMAGE_STACK, {"0": region(4, 3, [700.0, 710.0])}, e_idx=1)
    parsed = parse_metadata(_start(md, encoded=encoded))
    assert parsed.scan_type is ScanType.SAMPLE_IMAGE_STACK
    assert parsed.img_idx.e_idx == 1 and parsed.img_idx.entry == "entry0"
    region0 = parsed.region(0)
    np.testing.assert_array_equal(region0.energies, [700.0, 710.0])
    assert region0.roi("X").npoints == 4 and region0.roi("OSA.Y").setpoints[0] == 2.0
    assert parsed.pv("SampleFineX") == "SIM:stage:FineX" and parsed.pv("Other") == "Other"


def test_float_npoints_and_missing_setpoints_give_a_linspace():
    rois = {"0": region(2, 2, [700.0])}
    rois["0"]["EV_ROIS"][0].update({"NPOINTS": 3.0, "START": 700.0, "STOP": 720.0})
    del rois["0"]["EV_ROIS"][0]["SETPOINTS"]
    parsed = parse_metadata(_start(metadata(ScanType.SAMPLE_IMAGE, rois), encoded=True))
    np.testing.assert_array_equal(parsed.region(0).energies, [700.0, 710.0, 720.0])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda md: md.pop("primary_det"), "metadata key 'primary_det' is missing"),
        (lambda md: md.update(scan_type=42), "metadata key 'scan_type' is not a known scan type"),
        (lambda md: md.update(rois={"5": md["rois"]["0"]}), "metadata key 'rois.0' is missing"),
        (
            lambda md: md.update(img_idx_map="{not json"),
            "metadata key 'img_idx_map' is not valid JSON",
        ),
        (lambda md: md["img_idx_map"].pop("e_idx"), "metadata key 'img_idx_map.e_idx' is missing"),
    ],
)
def test_bad_metadata_is_an_error_naming_key_and_run(change, message):
    md = metadata(ScanType.SAMPLE_IMAGE, {"0": region(2, 2, [700.0])})
    change(md)
    with pytest.raises(MetadataError, match=f"run run-1: {message}"):
        parse_metadata(_start(md, encoded=False))
