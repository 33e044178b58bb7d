"""The metadata contract: what plans write validates against the generated schema and
parses back to the same values; pyStxm's recorded runs validate in their legacy form."""

import json

import numpy as np
import pytest

from nxstxm.contract import (
    ZONE_PLATE_KEYS,
    EnergyRegion,
    GroupMember,
    ImageIndex,
    Polarization,
    Roi,
    ScanType,
    SpatialRegion,
    StxmMetadata,
    json_schema,
    parse_metadata,
    validate_start,
    wdg_com,
    zp_def_of,
)


def built_metadata() -> StxmMetadata:
    region = SpatialRegion(
        0,
        {"X": Roi.of("SampleFineX", [0, 1, 2]), "Y": Roi.of("SampleFineY", [5, 6])},
        (EnergyRegion.of([700.0, 710.0], 1.0, [Polarization()]),),
    )
    readings = {
        "focal_length": 3528.7,
        "diameter": 250.0,
        "central_stop": 100.0,
        "outer_zone": 25.0,
        "a1": -5.04,
        "index": 7,
    }
    return StxmMetadata(
        entry_name="entry0",
        scan_type=ScanType.SAMPLE_IMAGE,
        sp_id_lst=[0],
        regions={0: region},
        dwell_ms=1.0,
        primary_det="counter0",
        zp_def=zp_def_of(readings),
        wdg_com=wdg_com([region]),
        img_idx=ImageIndex("entry0"),
        rev_lu_dct={"SampleFineX": "SIM:stage:FineX"},
        scan_group=GroupMember("g1", 0, 1),
    )


def structured_start() -> dict:
    return {"uid": "u1", **built_metadata().to_start()}


def test_roi_has_pystxm_fields():
    axis = Roi.of("SampleFineX", [1.0, 2.0, 3.0]).to_dict()
    assert axis["NPOINTS"] == 3 and axis["STEP"] == 1.0 and axis["CENTER"] == 2.0
    assert axis["START"] == 1.0 and axis["STOP"] == 3.0 and axis["SETPOINTS"] == [1, 2, 3]


def test_structured_metadata_validates_and_is_json():
    start = structured_start()
    validate_start(start)
    json.dumps(start)


def test_what_plans_write_parses_back_to_the_same_values():
    built, start = built_metadata(), structured_start()
    parsed = parse_metadata(start)
    assert parsed.scan_type is ScanType.SAMPLE_IMAGE and parsed.run_uid == "u1"
    assert parsed.img_idx == built.img_idx and parsed.scan_group == built.scan_group
    assert parsed.zp_def == built.zp_def and parsed.zp_def["fl"] == -3528.7
    region = parsed.region(0)
    assert np.array_equal(region.roi("X").setpoints, [0, 1, 2])
    assert np.array_equal(region.energies, [700.0, 710.0])
    assert np.array_equal(region.dwell_ms, [1.0, 1.0])
    assert region.polarizations[0]["POL"] == "CircLeft"
    again = parsed.to_start()["rois"]["0"]
    for key in ("X", "Y", "EV_ROIS"):  # an unnamed ROI (Z) comes back named by its key
        assert again[key] == start["rois"]["0"][key]


def test_zp_def_lists_every_key_the_schema_requires():
    required = json_schema()["properties"]["zp_def"]["required"]
    assert set(required) <= {key.key for key in ZONE_PLATE_KEYS}


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [("dwell", 0, "dwell"), ("scan_type", 99, "scan_type"), ("rois", {"0": {"X": {}}}, "rois")],
)
def test_bad_metadata_is_named(key, value, path):
    import jsonschema

    start = structured_start()
    start[key] = value
    with pytest.raises(jsonschema.ValidationError) as error:
        validate_start(start)
    assert path in str(list(error.value.absolute_path)) + error.value.message


def test_missing_key_is_named():
    import jsonschema

    start = structured_start()
    del start["primary_det"]
    with pytest.raises(jsonschema.ValidationError, match="primary_det"):
        validate_start(start)


def test_the_schema_takes_the_scan_types_from_the_enum():
    scan_type = json_schema()["properties"]["scan_type"]
    assert scan_type["minimum"] == min(ScanType) and scan_type["maximum"] == max(ScanType)


def test_recorded_pystxm_metadata_validates_in_its_legacy_form(pystxm_runs):
    files = sorted(pystxm_runs.glob("*.json"))
    for path in files:
        for documents in json.loads(json.load(open(path))).values():
            start = next(doc for name, doc in documents if name == "start")
            assert isinstance(start["metadata"], str), path  # the legacy JSON string
            validate_start(start)


def test_schema_requires_the_seed_keys():
    assert set(json_schema()["required"]) == {
        "entry_name",
        "scan_type",
        "sp_id_lst",
        "rois",
        "dwell",
        "primary_det",
        "zp_def",
        "wdg_com",
        "img_idx_map",
        "rev_lu_dct",
    }


def test_the_contract_loads_without_the_assembler_or_the_device_stack():
    import subprocess
    import sys

    heavy = ("h5py", "event_model", "ophyd", "bluesky", "nxstxm.build")
    code = f"import sys, nxstxm.contract; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
