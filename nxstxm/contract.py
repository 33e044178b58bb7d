"""The scan-metadata contract between plans and the assembler, written once.

Every run's start document carries pyStxm's standard metadata (seed 000): entry_name,
scan_type, sp_id_lst, rois, dwell, primary_det, zp_def, wdg_com, img_idx_map,
rev_lu_dct, and our ``scan_group``. Plans build it as :class:`StxmMetadata` and
serialise it (:meth:`StxmMetadata.to_start`); the assembler parses it back
(:func:`parse_metadata`), from our structured form or from pyStxm's recordings (the
dict JSON-encoded under ``start["metadata"]``, ``wdg_com`` and ``img_idx_map`` JSON
strings inside it). :func:`json_schema` is generated from the same dataclasses.

A leaf module: stdlib and numpy only (plans import it without h5py or event-model).
Every parse error names the key and the run uid: a bad key in one run of a 100-run
stack must be findable.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from .errors import NXstxmError


class ScanType(IntEnum):
    """pyStxm's ``scan_types`` enum; the value is what a start document's metadata carries."""

    DETECTOR_IMAGE = 0
    OSA_IMAGE = 1
    OSA_FOCUS = 2
    SAMPLE_FOCUS = 3
    SAMPLE_POINT_SPECTRA = 4
    SAMPLE_LINE_SPECTRA = 5
    SAMPLE_IMAGE = 6
    SAMPLE_IMAGE_STACK = 7
    GENERIC_SCAN = 8
    COARSE_IMAGE_SCAN = 9
    COARSE_GONI_SCAN = 10
    TOMOGRAPHY_SCAN = 11
    PATTERN_GEN_SCAN = 12
    PTYCHOGRAPHY_SCAN = 13


class MetadataError(NXstxmError, ValueError):
    """Missing or malformed standard metadata (the message names the key and the run uid)."""


#: The most points one ROI may request (a 1 M-point spiral or line is already unusual).
MAX_ROI_POINTS = 1 << 20


@dataclass(frozen=True)
class ZonePlateKey:
    """One zp_def key: the zone-plate device signal it is read from, its NeXus field."""

    key: str
    signal: str
    nexus_field: str | None
    units: str


#: pyStxm's zp_def keys, in the order a start document lists them: where plans read each
#: (``stxm_devices.ZonePlate`` attribute) and which NXfresnel_zone_plate field it fills.
#: ``fl`` is signed as pyStxm's (negative: upstream of the sample); zpA1 becomes
#: focus_parameters [0, |A1|] (f[µm] = |A1|·E[eV]).
ZONE_PLATE_KEYS: tuple[ZonePlateKey, ...] = (
    ZonePlateKey("fl", "focal_length", "focal_length", "um"),
    ZonePlateKey("zpD", "diameter", "outer_diameter", "um"),
    ZonePlateKey("zpCStop", "central_stop", "central_stop_diameter", "um"),
    ZonePlateKey("zpOZone", "outer_zone", "outermost_zone_width", "nm"),
    ZonePlateKey("zpA1", "a1", None, ""),
    ZonePlateKey("zp_idx", "index", None, ""),
)


def zp_def_of(readings: Mapping[str, float]) -> dict[str, float | int]:
    """pyStxm's zp_def from the zone-plate signals' values (by :data:`ZONE_PLATE_KEYS` signal)."""
    zp_def: dict[str, float | int] = {
        k.key: float(readings[k.signal]) for k in ZONE_PLATE_KEYS if k.key != "zp_idx"
    }
    zp_def["fl"] = -zp_def["fl"]
    zp_def["zp_idx"] = int(readings["index"])
    return zp_def


def nexus_name(text: str) -> str:
    """A valid NeXus group name for any text: ``../../x`` → ``______x`` (letters, digits, _)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)[:64]
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def _fail(uid: str, key: str, problem: str) -> MetadataError:
    return MetadataError(f"run {uid}: metadata key {key!r} {problem}")


def decode_json(value: Any, key: str, uid: str) -> Any:
    """Decode a value that pyStxm may have stored as a JSON string (possibly twice)."""
    while isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise _fail(uid, key, f"is not valid JSON ({err})") from err
    return value


def _mapping(value: Any, key: str, uid: str) -> dict:
    value = decode_json(value, key, uid)
    if not isinstance(value, Mapping):
        raise _fail(uid, key, f"should be a dict, got {type(value).__name__}")
    return dict(value)


def _number(raw: Mapping, name: str, key: str, uid: str) -> float:
    try:
        return float(raw[name])
    except KeyError:
        raise _fail(uid, f"{key}.{name}", "is missing") from None
    except (TypeError, ValueError):
        raise _fail(uid, f"{key}.{name}", f"is not a number ({raw[name]!r})") from None


_NUMBER = {"type": "number"}
_OPTIONAL_NUMBER = {"type": ["number", "null"]}  # pyStxm leaves unused ROI fields None
_JSON_STRING = {"type": "string", "contentMediaType": "application/json"}


@dataclass(frozen=True)
class Roi:
    """One axis of a region of interest: its positioner and the positions requested (µm, eV)."""

    name: str
    positioner: str | None
    setpoints: np.ndarray
    enabled: bool = True
    resolution: str = "FINE"

    #: The ROI keys the assembler reads (a ROI dict carries more, as pyStxm's exporter's).
    SCHEMA: typing.ClassVar[dict] = {
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

    @classmethod
    def of(cls, name: str, points: Sequence[float], *, resolution: str = "FINE") -> Roi:
        """The ROI of positioner ``name`` (a descriptive name) over ``points``."""
        return cls(name, name, np.asarray(points, dtype=float).ravel(), resolution=resolution)

    @property
    def npoints(self) -> int:
        return int(self.setpoints.size)

    def to_dict(self) -> dict:
        """The ROI dict with the fields pyStxm's exporter reads."""
        values, count = self.setpoints, self.npoints
        start, stop = (float(values[0]), float(values[-1])) if count else (0.0, 0.0)
        return {
            "NAME": self.name,
            "ID": "BASE_ROI",
            "ID_VAL": -1,
            "CENTER": (start + stop) / 2.0,
            "RANGE": abs(stop - start),
            "NPOINTS": count,
            "STEP": float(values[1] - values[0]) if count > 1 else 0.0,
            "START": start,
            "STOP": stop,
            "SETPOINTS": values.tolist(),
            "POSITIONER": self.positioner,
            "ENABLED": self.enabled,
            "IS_POINT": count == 1,
            "OFFSET": 0.0,
            "SRC": None,
            "TOP_LEVEL": False,
            "DATA_LEVEL": False,
            "SCAN_RES": self.resolution,
        }

    @classmethod
    def parse(cls, raw: Any, key: str, uid: str) -> Roi:
        """Read a pyStxm ROI dict; NPOINTS may be a float, SETPOINTS may be absent.

        Positions must be finite and NPOINTS at most :data:`MAX_ROI_POINTS`: metadata
        alone must not make the assembler allocate what no scan could have acquired.
        """
        if not isinstance(raw, Mapping):
            raise _fail(uid, key, f"should be a ROI dict, got {type(raw).__name__}")
        count = _number(raw, "NPOINTS", key, uid)
        if not (math.isfinite(count) and 0 <= count <= MAX_ROI_POINTS):
            raise _fail(uid, f"{key}.NPOINTS", f"is {count!r}, outside 0 … {MAX_ROI_POINTS}")
        npoints = int(count)
        setpoints = raw.get("SETPOINTS")
        if isinstance(setpoints, list) and len(setpoints) == npoints:
            try:
                values = np.asarray(setpoints, dtype=float)
            except (TypeError, ValueError):
                raise _fail(uid, f"{key}.SETPOINTS", "holds a value that is not a number") from None
            where = "SETPOINTS"
        elif npoints > 0 and raw.get("START") is not None and raw.get("STOP") is not None:
            start, stop = _number(raw, "START", key, uid), _number(raw, "STOP", key, uid)
            for name, value in (("START", start), ("STOP", stop)):
                if not math.isfinite(value):
                    raise _fail(uid, f"{key}.{name}", f"is {value}: no axis can be made")
            values = np.linspace(start, stop, npoints)
            where = ""
        else:
            values = np.empty(0)
            where = ""
        if not np.isfinite(values).all():
            raise _fail(uid, f"{key}.{where}", "is not finite (NaN or ±inf): no axis can be made")
        return cls(
            name=str(raw.get("NAME") or key),
            positioner=raw.get("POSITIONER"),
            setpoints=values,
            enabled=bool(raw.get("ENABLED", True)),
            resolution=str(raw.get("SCAN_RES") or "FINE"),
        )


#: A ROI of no points (the Z of a scan that does not move Z).
NO_ROI = Roi("", "", np.empty(0))


@dataclass(frozen=True)
class Polarization:
    """One EPU setting of a scan: mode, offset (eV) and linear angle (deg)."""

    polarization: str = "CircLeft"
    offset_ev: float = 0.0
    angle_deg: float = 0.0

    def to_dict(self, index: int) -> dict:
        """The POL_ROIS entry pyStxm writes for this setting."""
        return {
            "ID": "EPU_POL",
            "ID_VAL": index,
            "NAME": self.polarization,
            "POL": self.polarization,
            "OFF": self.offset_ev,
            "ANGLE": self.angle_deg,
            "POL_POSITIONER": "EPUPolarization",
            "OFF_POSITIONER": "EPUOffset",
        }


@dataclass(frozen=True)
class EnergyRegion:
    """One energy region (an EV_ROIS entry): its energies, dwell and EPU settings (POL_ROIS)."""

    roi: Roi
    dwell_ms: float
    polarizations: tuple[dict, ...] = ()

    SCHEMA: typing.ClassVar[dict] = {
        "allOf": [
            Roi.SCHEMA,
            {
                "type": "object",
                "required": ["DWELL", "POL_ROIS"],
                "properties": {"DWELL": _NUMBER, "POL_ROIS": {"type": "array"}},
            },
        ]
    }

    @classmethod
    def of(
        cls, energies: Sequence[float], dwell_ms: float, polarizations: Sequence[Polarization]
    ) -> EnergyRegion:
        """The region of ``energies`` (eV) at ``dwell_ms`` for each EPU setting."""
        return cls(
            Roi.of("Energy", energies),
            float(dwell_ms),
            tuple(p.to_dict(i) for i, p in enumerate(polarizations)),
        )

    def to_dict(self, index: int = 0) -> dict:
        roi = self.roi.to_dict()
        roi.update(
            NAME="EV",
            ID="EV_ROI",
            ID_VAL=index,
            DWELL=self.dwell_ms,
            POL_ROIS=list(self.polarizations),
            EPU_POL_PNTS=[p["POL"] for p in self.polarizations],
            EPU_OFF_PNTS=[p["OFF"] for p in self.polarizations],
            EPU_ANG_PNTS=[p["ANGLE"] for p in self.polarizations],
            XMCD_EN=False,
        )
        return roi

    @classmethod
    def parse(cls, raw: Any, key: str, default_dwell: float, uid: str) -> EnergyRegion:
        roi = Roi.parse(raw, key, uid)
        dwell_ms = _number({"DWELL": raw.get("DWELL", default_dwell)}, "DWELL", key, uid)
        if not math.isfinite(dwell_ms) or dwell_ms < 0:
            raise _fail(uid, f"{key}.DWELL", f"is {dwell_ms!r}, not a dwell time")
        return cls(roi, dwell_ms, tuple(raw.get("POL_ROIS") or ()))


@dataclass(frozen=True)
class SpatialRegion:
    """One spatial region of interest (``rois[sp_id]``): spatial ROIs and energy regions.

    ``axes`` by path: ``"X"``, ``"Y"``, ``"Z"``, ``"ZP.Z"``, ``"OSA.X"``, ``"GONI.T"``...
    """

    sp_id: int
    axes: dict[str, Roi]
    energy_regions: tuple[EnergyRegion, ...]

    SCHEMA: typing.ClassVar[dict] = {
        "type": "object",
        "required": ["X", "Y", "EV_ROIS"],
        "properties": {
            "X": Roi.SCHEMA,
            "Y": Roi.SCHEMA,
            "Z": Roi.SCHEMA,
            "ZP": {"type": "object", "additionalProperties": Roi.SCHEMA},
            "OSA": {"type": "object", "additionalProperties": Roi.SCHEMA},
            "GONI": {"type": "object", "additionalProperties": Roi.SCHEMA},
            "EV_ROIS": {"type": "array", "minItems": 1, "items": EnergyRegion.SCHEMA},
        },
    }
    _GROUPS: typing.ClassVar[tuple[str, ...]] = ("ZP", "OSA", "GONI")

    @property
    def energies(self) -> np.ndarray:
        """Every energy of the region, in order (eV)."""
        return np.concatenate([ev.roi.setpoints for ev in self.energy_regions])

    @property
    def dwell_ms(self) -> np.ndarray:
        """The dwell of each energy (ms)."""
        return np.concatenate([np.full(ev.roi.npoints, ev.dwell_ms) for ev in self.energy_regions])

    @property
    def polarizations(self) -> list[dict]:
        """The EPU settings (POL_ROIS) of the first energy region."""
        return list(self.energy_regions[0].polarizations) if self.energy_regions else []

    def roi(self, name: str) -> Roi | None:
        """A ROI by path: ``"X"``, ``"Y"``, ``"Z"``, ``"ZP.Z"``, ``"OSA.X"``, ``"GONI.T"``..."""
        return self.axes.get(name)

    def to_dict(self) -> dict:
        """``rois[sp_id]``: X, Y, Z, the ZP/OSA/GONI groups and EV_ROIS."""
        region = {name: self.axes.get(name, NO_ROI).to_dict() for name in ("X", "Y", "Z")}
        for group in self._GROUPS:
            region[group] = {
                path.split(".", 1)[1]: roi.to_dict()
                for path, roi in self.axes.items()
                if path.startswith(f"{group}.")
            }
        region["EV_ROIS"] = [ev.to_dict(i) for i, ev in enumerate(self.energy_regions)]
        return region

    @classmethod
    def parse(cls, raw: Any, sp_id: int, default_dwell: float, uid: str) -> SpatialRegion:
        key = f"rois.{sp_id}"
        if not isinstance(raw, Mapping):
            raise _fail(uid, key, "should be a dict of ROIs")
        axes: dict[str, Roi] = {}
        for name in ("X", "Y", "Z"):
            if name in raw:
                axes[name] = Roi.parse(raw[name], f"{key}.{name}", uid)
        for group in cls._GROUPS:
            for name, sub in (raw.get(group) or {}).items():
                axes[f"{group}.{name}"] = Roi.parse(sub, f"{key}.{group}.{name}", uid)
        ev_rois = raw.get("EV_ROIS")
        if not ev_rois:
            raise _fail(uid, f"{key}.EV_ROIS", "is missing or empty")
        return cls(
            sp_id=sp_id,
            axes=axes,
            energy_regions=tuple(
                EnergyRegion.parse(ev, f"{key}.EV_ROIS.{i}", default_dwell, uid)
                for i, ev in enumerate(ev_rois)
            ),
        )


@dataclass(frozen=True)
class ImageIndex:
    """Where one run's image goes: which entry, which energy, polarization and region."""

    entry: str
    e_idx: int = 0
    pol_idx: int = 0
    sp_id: int = 0
    sp_idx: int = 0

    SCHEMA: typing.ClassVar[dict] = {
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

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def parse(cls, raw: Any, uid: str) -> ImageIndex:
        raw = _mapping(raw, "img_idx_map", uid)
        try:
            return cls(
                entry=nexus_name(str(raw["entry"])),
                e_idx=int(raw["e_idx"]),
                pol_idx=int(raw.get("pol_idx", 0)),
                sp_id=int(raw["sp_id"]),
                sp_idx=int(raw.get("sp_idx", 0)),
            )
        except KeyError as err:
            raise _fail(uid, f"img_idx_map.{err.args[0]}", "is missing") from None
        except (TypeError, ValueError) as err:
            raise _fail(uid, "img_idx_map", f"has a bad value ({err})") from None


@dataclass(frozen=True)
class GroupMember:
    """A run's place in its scan: the runs of one scan share a uid and know how many they are."""

    uid: str
    index: int
    num_runs: int

    SCHEMA: typing.ClassVar[dict] = {
        "type": "object",
        "required": ["uid", "index", "num_runs"],
        "properties": {
            "uid": {"type": "string"},
            "index": {"type": "integer", "minimum": 0},
            "num_runs": {"type": "integer", "minimum": 1},
        },
    }

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def wdg_com(regions: Sequence[SpatialRegion]) -> dict:
    """pyStxm's scan request ("widget communication") dict of ``regions``, structured."""
    rois = [region.to_dict() for region in regions]
    ev_rois = rois[0]["EV_ROIS"]
    return {
        "CMND": 0,
        "SINGLE_LST": {
            "SP_ROIS": [{k: v for k, v in r.items() if k != "EV_ROIS"} for r in rois],
            "POL_ROIS": ev_rois[0]["POL_ROIS"] if ev_rois else [],
            "DWELL": [ev["DWELL"] for ev in ev_rois for _ in ev["SETPOINTS"]],
            "EV_ROIS": [e for ev in ev_rois for e in ev["SETPOINTS"]],
        },
    }


def _document(key: str | None = None, legacy_json: bool = False, **schema: Any) -> dict:
    """Field metadata: the start-document key, its extra schema, a legacy JSON-string form."""
    return {"document": True, "key": key, "legacy_json": legacy_json, "schema": schema}


@dataclass(frozen=True)
class StxmMetadata:
    """pyStxm's standard metadata of one run (seed 000), typed.

    Fields marked as document fields are the start document's keys (their key, schema
    and legacy form in the field metadata); ``run_uid`` and ``raw`` say where a parsed
    one came from.
    """

    entry_name: str = field(metadata=_document())
    scan_type: ScanType = field(metadata=_document())
    sp_id_lst: list[int] = field(metadata=_document(minItems=1))
    regions: dict[int, SpatialRegion] = field(metadata=_document("rois", minProperties=1))
    dwell_ms: float = field(metadata=_document("dwell", exclusiveMinimum=0))
    primary_det: str = field(metadata=_document(minLength=1))
    zp_def: dict = field(
        metadata=_document(
            required=["zpD", "zpOZone", "zpA1", "zp_idx"],
            properties={
                k.key: {"type": "integer"} if k.key == "zp_idx" else _NUMBER
                for k in ZONE_PLATE_KEYS
            },
        )
    )
    wdg_com: dict = field(metadata=_document(legacy_json=True, required=["SINGLE_LST"]))
    img_idx: ImageIndex = field(metadata=_document("img_idx_map", legacy_json=True))
    rev_lu_dct: dict[str, str] = field(metadata=_document())
    scan_group: GroupMember | None = field(default=None, metadata=_document())
    run_uid: str = ""
    raw: dict = field(default_factory=dict)

    def region(self, sp_id: int) -> SpatialRegion:
        """The region of interest ``sp_id``; an error naming it if the rois lack it."""
        try:
            return self.regions[sp_id]
        except KeyError:
            raise _fail(self.run_uid, f"rois.{sp_id}", "is missing (named by sp_id)") from None

    def pv(self, device: str) -> str:
        """The control-system name of a descriptive device name (rev_lu_dct), else itself."""
        return self.rev_lu_dct.get(device, device)

    def to_start(self) -> dict:
        """The start-document keys, structured (``scan_type_name`` beside the number)."""
        start = {
            "entry_name": self.entry_name,
            "scan_type": int(self.scan_type),
            "scan_type_name": self.scan_type.name,
            "sp_id_lst": [int(sp) for sp in self.sp_id_lst],
            "rois": {str(sp): region.to_dict() for sp, region in self.regions.items()},
            "dwell": float(self.dwell_ms),
            "primary_det": self.primary_det,
            "zp_def": dict(self.zp_def),
            "wdg_com": self.wdg_com,
            "img_idx_map": self.img_idx.to_dict(),
            "rev_lu_dct": dict(self.rev_lu_dct),
        }
        if self.scan_group is not None:
            start["scan_group"] = self.scan_group.to_dict()
        return start


def _standard_dict(start: Mapping, uid: str) -> dict:
    if "metadata" in start:
        return _mapping(start["metadata"], "metadata", uid)
    return dict(start)


def _group_member(raw: Any, uid: str) -> GroupMember | None:
    """Our ``scan_group`` key (pyStxm's runs have none)."""
    if raw is None:
        return None
    try:
        return GroupMember(str(raw["uid"]), int(raw["index"]), int(raw["num_runs"]))
    except (KeyError, TypeError, ValueError) as err:
        raise _fail(uid, "scan_group", f"has a bad value ({err!r})") from None


def parse_metadata(start: Mapping) -> StxmMetadata:
    """Parse the standard metadata of a start document (pyStxm's JSON string or our dict)."""
    uid = str(start.get("uid", "<no uid>"))
    md = _standard_dict(start, uid)

    def need(key: str) -> Any:
        if key not in md:
            raise _fail(uid, key, "is missing from the start document")
        return md[key]

    try:
        scan_type = ScanType(int(need("scan_type")))
    except (TypeError, ValueError):
        raise _fail(uid, "scan_type", f"is not a known scan type ({md['scan_type']!r})") from None
    try:
        dwell = float(need("dwell"))
        sp_ids = [int(sp) for sp in need("sp_id_lst")]
    except (TypeError, ValueError) as err:
        raise _fail(uid, "dwell/sp_id_lst", f"has a bad value ({err})") from None
    rois = _mapping(need("rois"), "rois", uid)
    by_id = {int(key): value for key, value in rois.items()}
    regions = {sp: SpatialRegion.parse(by_id[sp], sp, dwell, uid) for sp in sp_ids if sp in by_id}
    img_idx = ImageIndex.parse(need("img_idx_map"), uid)
    if img_idx.sp_id not in by_id:
        raise _fail(uid, f"rois.{img_idx.sp_id}", "is missing (named by img_idx_map.sp_id)")
    regions.setdefault(
        img_idx.sp_id, SpatialRegion.parse(by_id[img_idx.sp_id], img_idx.sp_id, dwell, uid)
    )
    return StxmMetadata(
        run_uid=uid,
        entry_name=nexus_name(str(md.get("entry_name", img_idx.entry))),
        scan_type=scan_type,
        sp_id_lst=sp_ids,
        regions=regions,
        dwell_ms=dwell,
        primary_det=str(need("primary_det")),
        zp_def=_mapping(md.get("zp_def") or {}, "zp_def", uid),
        wdg_com=_mapping(md.get("wdg_com") or {}, "wdg_com", uid),
        img_idx=img_idx,
        rev_lu_dct={
            str(k): str(v)
            for k, v in _mapping(md.get("rev_lu_dct") or {}, "rev_lu_dct", uid).items()
        },
        scan_group=_group_member(md.get("scan_group"), uid),
        raw=md,
    )


def _type_schema(hint: Any) -> dict:
    """The JSON schema of a field's type: scalars, lists, dicts, enums, contract classes."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _type_schema(next(arg for arg in args if arg is not type(None)))
    if isinstance(hint, type) and issubclass(hint, IntEnum):
        values = [int(member) for member in hint]
        return {"type": "integer", "minimum": min(values), "maximum": max(values)}
    if hasattr(hint, "SCHEMA"):
        return hint.SCHEMA
    if origin is list:
        return {"type": "array", "items": _type_schema(args[0])}
    if origin is dict:
        schema: dict[str, Any] = {"type": "object", "additionalProperties": _type_schema(args[1])}
        if args[0] is int:
            schema["propertyNames"] = {"pattern": "^[0-9]+$"}
        return schema
    scalars = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object"}
    return {"type": scalars[hint]}


def json_schema() -> dict[str, Any]:
    """The JSON schema of the standard metadata, generated from :class:`StxmMetadata`."""
    hints = typing.get_type_hints(StxmMetadata)
    properties: dict[str, Any] = {"scan_type_name": {"type": "string"}}
    required = []
    for item in dataclasses.fields(StxmMetadata):
        if not item.metadata.get("document"):
            continue
        key = item.metadata["key"] or item.name
        schema = {**_type_schema(hints[item.name]), **item.metadata["schema"]}
        if item.metadata["legacy_json"]:
            schema = {"oneOf": [schema, _JSON_STRING]}
        properties[key] = schema
        if item.default is dataclasses.MISSING:
            required.append(key)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "STXM standard scan metadata",
        "type": "object",
        "required": required,
        "properties": properties,
    }


def standard_metadata_of(start: Mapping[str, Any]) -> dict:
    """The standard metadata dict of a start document (ours, or pyStxm's JSON string)."""
    if isinstance(start.get("metadata"), str):
        return json.loads(start["metadata"])
    return dict(start)


def validate_start(start: Mapping[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` naming the key if the metadata do not conform.

    The legacy JSON strings (pyStxm's ``wdg_com``, ``img_idx_map``) must decode, and the
    decoded image map conform too.
    """
    import jsonschema  # only a validating caller needs it

    metadata = standard_metadata_of(start)
    jsonschema.validate(metadata, json_schema())
    for key in ("img_idx_map", "wdg_com"):
        if isinstance(metadata[key], str):
            json.loads(metadata[key])
    if isinstance(metadata["img_idx_map"], str):
        jsonschema.validate(json.loads(metadata["img_idx_map"]), ImageIndex.SCHEMA)
