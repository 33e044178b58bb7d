import json

import pytest

from nxstxm.scan_types import ScanType
from plans.metadata import PolarizationSetting, ScanGroup, energy_roi, region_rois, roi, wdg_com
from plans.schema import STANDARD_METADATA_SCHEMA, validate_start


def structured_start():
    rois = {
        0: region_rois(
            x=roi("SampleFineX", "SampleFineX", [0, 1, 2]),
            y=roi("SampleFineY", "SampleFineY", [5, 6]),
            ev_rois=[energy_roi([700.0, 710.0], 1.0, [PolarizationSetting()])],
        )
    }
    return {
        "uid": "u1",
        "entry_name": "entry0",
        "scan_type": int(ScanType.SAMPLE_IMAGE),
        "sp_id_lst": [0],
        "rois": {"0": rois[0]},
        "dwell": 1.0,
        "primary_det": "counter0",
        "zp_def": {
            "fl": -3528.7,
            "zpD": 250.0,
            "zpCStop": 100.0,
            "zpOZone": 25.0,
            "zpA1": -5.04,
            "zp_idx": 7,
        },
        "wdg_com": wdg_com(rois),
        "img_idx_map": {"entry": "entry0", "e_idx": 0, "pol_idx": 0, "sp_id": 0, "sp_idx": 0},
        "rev_lu_dct": {"SampleFineX": "SIM:stage:FineX"},
        "scan_group": ScanGroup(1).member(0),
    }


def test_roi_has_pystxm_fields():
    axis = roi("SampleFineX", "SampleFineX", [1.0, 2.0, 3.0])
    assert axis["NPOINTS"] == 3 and axis["STEP"] == 1.0 and axis["CENTER"] == 2.0
    assert axis["START"] == 1.0 and axis["STOP"] == 3.0 and axis["SETPOINTS"] == [1, 2, 3]


def test_structured_metadata_validates_and_is_json():
    start = structured_start()
    validate_start(start)
    json.dumps(start)


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


def test_recorded_pystxm_metadata_validates_in_its_legacy_form(pystxm_runs):
    files = sorted(pystxm_runs.glob("*.json"))
    assert files
    for path in files:
        for documents in json.loads(json.load(open(path))).values():
            start = next(doc for name, doc in documents if name == "start")
            assert isinstance(start["metadata"], str), path  # the legacy JSON string
            validate_start(start)


def test_schema_requires_the_seed_keys():
    assert set(STANDARD_METADATA_SCHEMA["required"]) == {
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
