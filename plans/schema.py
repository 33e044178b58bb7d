"""JSON schema of the standard STXM metadata (seed 000's contract) in a start document.

Our plans put the keys at the top level of the start document as structured values;
pyStxm's recordings put the same dict, JSON-encoded, under ``start["metadata"]``, with
``wdg_com`` and ``img_idx_map`` themselves JSON strings — the schema accepts that legacy
form too (:func:`standard_metadata_of` unwraps it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_NUMBER = {"type": "number"}
_OPTIONAL_NUMBER = {"type": ["number", "null"]}  # pyStxm leaves unused ROI fields None
_JSON_STRING = {"type": "string", "contentMediaType": "application/json"}

_ROI = {
    "type": "object",
    "required": ["NPOINTS"],
    "properties": {
        "NAME": {"type": ["string", "null"]},
        "POSITIONER": {"type": ["string", "null"]},
        "CENTER": _OPTIONAL_NUMBER,
        "RANGE": _OPTIONAL_NUMBER,
        "NPOINTS": {"type": "number", "minimum": 0},
        "STEP": _OPTIONAL_NUMBER,
        "START": _OPTIONAL_NUMBER,
        "STOP": _OPTIONAL_NUMBER,
        "SETPOINTS": {"type": "array", "items": _NUMBER},
        "ENABLED": {"type": "boolean"},
    },
}

_EV_ROI = {
    "allOf": [
        _ROI,
        {
            "type": "object",
            "required": ["DWELL", "POL_ROIS"],
            "properties": {"DWELL": _NUMBER, "POL_ROIS": {"type": "array"}},
        },
    ]
}

_REGION = {
    "type": "object",
    "required": ["X", "Y", "EV_ROIS"],
    "properties": {
        "X": _ROI,
        "Y": _ROI,
        "Z": _ROI,
        "ZP": {"type": "object", "additionalProperties": _ROI},
        "OSA": {"type": "object", "additionalProperties": _ROI},
        "GONI": {"type": "object", "additionalProperties": _ROI},
        "EV_ROIS": {"type": "array", "minItems": 1, "items": _EV_ROI},
    },
}

_IMG_IDX = {
    "type": "object",
    "required": ["entry", "e_idx", "pol_idx", "sp_id", "sp_idx"],
    "properties": {
        "entry": {"type": "string", "pattern": "^entry[0-9]+"},
        "e_idx": {"type": "integer", "minimum": 0},
        "pol_idx": {"type": "integer", "minimum": 0},
        "sp_id": {"type": "integer", "minimum": 0},
        "sp_idx": {"type": "integer", "minimum": 0},
    },
}

STANDARD_METADATA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "STXM standard scan metadata",
    "type": "object",
    "required": [
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
    ],
    "properties": {
        "entry_name": {"type": "string"},
        "scan_type": {"type": "integer", "minimum": 0, "maximum": 13},
        "scan_type_name": {"type": "string"},
        "sp_id_lst": {"type": "array", "minItems": 1, "items": {"type": "integer"}},
        "rois": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[0-9]+$"},
            "additionalProperties": _REGION,
        },
        "dwell": {"type": "number", "exclusiveMinimum": 0},
        "primary_det": {"type": "string", "minLength": 1},
        "zp_def": {
            "type": "object",
            "required": ["zpD", "zpOZone", "zpA1", "zp_idx"],
            "properties": {
                "fl": _NUMBER,
                "zpD": _NUMBER,
                "zpCStop": _NUMBER,
                "zpOZone": _NUMBER,
                "zpA1": _NUMBER,
                "zp_idx": {"type": "integer"},
            },
        },
        "wdg_com": {"oneOf": [{"type": "object", "required": ["SINGLE_LST"]}, _JSON_STRING]},
        "img_idx_map": {"oneOf": [_IMG_IDX, _JSON_STRING]},
        "rev_lu_dct": {"type": "object", "additionalProperties": {"type": "string"}},
        "scan_group": {
            "type": "object",
            "required": ["uid", "index", "num_runs"],
            "properties": {
                "uid": {"type": "string"},
                "index": {"type": "integer", "minimum": 0},
                "num_runs": {"type": "integer", "minimum": 1},
            },
        },
    },
}


def standard_metadata_of(start: Mapping[str, Any]) -> dict:
    """The standard metadata dict of a start document (ours, or pyStxm's JSON string)."""
    if isinstance(start.get("metadata"), str):
        return json.loads(start["metadata"])
    return dict(start)


def validate_start(start: Mapping[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` naming the key if the metadata do not conform."""
    import jsonschema

    metadata = standard_metadata_of(start)
    jsonschema.validate(metadata, STANDARD_METADATA_SCHEMA)
    for key in ("img_idx_map", "wdg_com"):
        if isinstance(metadata[key], str):  # legacy: a JSON string, which must decode
            json.loads(metadata[key])
    if isinstance(metadata["img_idx_map"], str):
        jsonschema.validate(json.loads(metadata["img_idx_map"]), _IMG_IDX)
