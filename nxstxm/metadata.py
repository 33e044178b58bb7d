"""The standard STXM metadata of a start document, parsed into typed values.

pyStxm puts the dict under ``start["metadata"]`` as a JSON string (with ``wdg_com`` and
``img_idx_map`` JSON strings inside it); our plans put the same keys as structured values.
Both arrive here and leave as one :class:`StxmMetadata`; every error names the key and
the run uid, because a bad key in one run of a 100-run stack must be findable.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import NXstxmError
from .scan_types import ScanType


class MetadataError(NXstxmError, ValueError):
    """Missing or malformed standard metadata (the message names the key and the run uid)."""


#: The most points one ROI may request (a 1 M-point spiral or line is already unusual).
MAX_ROI_POINTS = 1 << 20


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


@dataclass(frozen=True)
class Roi:
    """One axis of a region of interest: its positioner and the positions requested (µm, eV)."""

    name: str
    positioner: str | None
    setpoints: np.ndarray
    enabled: bool = True

    @property
    def npoints(self) -> int:
        return int(self.setpoints.size)

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
        )


@dataclass(frozen=True)
class ImageIndex:
    """Where one run's image goes: which entry, which energy, polarization and region."""

    entry: str
    e_idx: int
    pol_idx: int
    sp_id: int
    sp_idx: int

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
class Region:
    """One spatial region of interest (``rois[sp_id]``): spatial ROIs, energies, dwell."""

    sp_id: int
    axes: dict[str, Roi]
    energies: np.ndarray
    dwell_ms: np.ndarray
    polarizations: list[dict] = field(default_factory=list)

    def roi(self, name: str) -> Roi | None:
        """A ROI by path: ``"X"``, ``"Y"``, ``"Z"``, ``"ZP.Z"``, ``"OSA.X"``, ``"GONI.T"``..."""
        return self.axes.get(name)

    @classmethod
    def parse(cls, raw: Any, sp_id: int, default_dwell: float, uid: str) -> Region:
        key = f"rois.{sp_id}"
        if not isinstance(raw, Mapping):
            raise _fail(uid, key, "should be a dict of ROIs")
        axes: dict[str, Roi] = {}
        for name in ("X", "Y", "Z"):
            if name in raw:
                axes[name] = Roi.parse(raw[name], f"{key}.{name}", uid)
        for group in ("ZP", "OSA", "GONI"):
            for name, sub in (raw.get(group) or {}).items():
                axes[f"{group}.{name}"] = Roi.parse(sub, f"{key}.{group}.{name}", uid)
        ev_rois = raw.get("EV_ROIS")
        if not ev_rois:
            raise _fail(uid, f"{key}.EV_ROIS", "is missing or empty")
        energies, dwell = [], []
        for i, ev in enumerate(ev_rois):
            roi = Roi.parse(ev, f"{key}.EV_ROIS.{i}", uid)
            energies.append(roi.setpoints)
            where = f"{key}.EV_ROIS.{i}"
            dwell_ms = _number({"DWELL": ev.get("DWELL", default_dwell)}, "DWELL", where, uid)
            if not math.isfinite(dwell_ms) or dwell_ms < 0:
                raise _fail(uid, f"{where}.DWELL", f"is {dwell_ms!r}, not a dwell time")
            dwell.append(np.full(roi.npoints, dwell_ms))
        return cls(
            sp_id=sp_id,
            axes=axes,
            energies=np.concatenate(energies),
            dwell_ms=np.concatenate(dwell),
            polarizations=list(ev_rois[0].get("POL_ROIS") or []),
        )


@dataclass(frozen=True)
class StxmMetadata:
    """pyStxm's standard metadata of one run (seed 000), typed."""

    run_uid: str
    entry_name: str
    scan_type: ScanType
    sp_id_lst: list[int]
    regions: dict[int, Region]
    dwell_ms: float
    primary_det: str
    zp_def: dict
    wdg_com: dict
    img_idx: ImageIndex
    rev_lu_dct: dict[str, str]
    raw: dict

    def region(self, sp_id: int) -> Region:
        """The region of interest ``sp_id``; an error naming it if the rois lack it."""
        try:
            return self.regions[sp_id]
        except KeyError:
            raise _fail(self.run_uid, f"rois.{sp_id}", "is missing (named by sp_id)") from None

    def pv(self, device: str) -> str:
        """The control-system name of a descriptive device name (rev_lu_dct), else itself."""
        return self.rev_lu_dct.get(device, device)


def _standard_dict(start: Mapping, uid: str) -> dict:
    if "metadata" in start:
        return _mapping(start["metadata"], "metadata", uid)
    return dict(start)


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
    regions = {sp: Region.parse(by_id[sp], sp, dwell, uid) for sp in sp_ids if sp in by_id}
    img_idx = ImageIndex.parse(need("img_idx_map"), uid)
    if img_idx.sp_id not in by_id:
        raise _fail(uid, f"rois.{img_idx.sp_id}", "is missing (named by img_idx_map.sp_id)")
    regions.setdefault(img_idx.sp_id, Region.parse(by_id[img_idx.sp_id], img_idx.sp_id, dwell, uid))
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
        raw=md,
    )
