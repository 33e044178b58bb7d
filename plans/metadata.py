"""The standard STXM metadata every run carries (seed 000's contract), built in one place.

A run's start document holds pyStxm's keys — entry_name, scan_type, sp_id_lst, rois,
dwell, primary_det, zp_def, wdg_com, img_idx_map, rev_lu_dct — as structured values,
plus ``scan_group`` (which scan this run belongs to and how many runs it has) and
bluesky's plan metadata and hints.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps

from nxstxm.scan_types import ScanType
from stxm_devices import Beamline

#: Descriptive device names (rev_lu_dct keys, ROI POSITIONERs) → attribute path in a Beamline.
DESCRIPTIVE_NAMES: dict[str, str] = {
    "SampleFineX": "stage.fine_x",
    "SampleFineY": "stage.fine_y",
    "CoarseX": "stage.coarse_x",
    "CoarseY": "stage.coarse_y",
    "SampleZ": "stage.z",
    "GoniX": "goniometer.x",
    "GoniY": "goniometer.y",
    "GoniZ": "goniometer.z",
    "GoniTheta": "goniometer.theta",
    "OSAX": "osa.x",
    "OSAY": "osa.y",
    "OSAZ": "osa.z",
    "ZonePlateZ": "zoneplate.z",
    "Energy": "energy.mono",
    "EPUPolarization": "epu.polarization",
    "EPUOffset": "epu.offset",
    "EPUAngle": "epu.angle",
    "StorageRingCurrent": "ring_current",
    "DetectorX": "counter.x",
    "DetectorY": "counter.y",
}


def resolve(beamline: Beamline, path: str) -> Any:
    """The device at a dotted attribute path of the beamline (``"stage.fine_x"``)."""
    obj: Any = beamline
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def rev_lu_dct(beamline: Beamline) -> dict[str, str]:
    """Descriptive name → control-system name (motor record or PV) for every known device."""
    names = {}
    for descriptive, path in DESCRIPTIVE_NAMES.items():
        try:
            device = resolve(beamline, path)
        except AttributeError:
            continue
        names[descriptive] = getattr(device, "pvname", None) or device.prefix
    return names


def roi(name: str, positioner: str, points: Sequence[float], *, resolution: str = "FINE") -> dict:
    """One axis of a region of interest, with the fields pyStxm's exporter reads."""
    values = np.asarray(points, dtype=float).ravel()
    n = int(values.size)
    start, stop = (float(values[0]), float(values[-1])) if n else (0.0, 0.0)
    return {
        "NAME": name,
        "ID": "BASE_ROI",
        "ID_VAL": -1,
        "CENTER": (start + stop) / 2.0,
        "RANGE": abs(stop - start),
        "NPOINTS": n,
        "STEP": float(values[1] - values[0]) if n > 1 else 0.0,
        "START": start,
        "STOP": stop,
        "SETPOINTS": values.tolist(),
        "POSITIONER": positioner,
        "ENABLED": True,
        "IS_POINT": n == 1,
        "OFFSET": 0.0,
        "SRC": None,
        "TOP_LEVEL": False,
        "DATA_LEVEL": False,
        "SCAN_RES": resolution,
    }


@dataclass(frozen=True)
class PolarizationSetting:
    """One EPU setting of a scan: mode, offset (eV) and linear angle (deg)."""

    polarization: str = "CircLeft"
    offset_ev: float = 0.0
    angle_deg: float = 0.0

    def roi(self, index: int) -> dict:
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


def energy_roi(
    energies: Sequence[float],
    dwell_ms: float,
    polarizations: Sequence[PolarizationSetting],
    index: int = 0,
) -> dict:
    """One energy region (EV_ROIS entry) with its dwell and polarizations."""
    ev = roi("EV", "Energy", energies)
    ev.update(
        ID="EV_ROI",
        ID_VAL=index,
        DWELL=float(dwell_ms),
        POL_ROIS=[p.roi(i) for i, p in enumerate(polarizations)],
        EPU_POL_PNTS=[p.polarization for p in polarizations],
        EPU_OFF_PNTS=[p.offset_ev for p in polarizations],
        EPU_ANG_PNTS=[p.angle_deg for p in polarizations],
        XMCD_EN=False,
    )
    return ev


def region_rois(
    *,
    x: dict,
    y: dict,
    ev_rois: Sequence[dict],
    z: dict | None = None,
    zp: Mapping[str, dict] | None = None,
    osa: Mapping[str, dict] | None = None,
    goni: Mapping[str, dict] | None = None,
) -> dict:
    """``rois[sp_id]``: the X/Y/Z, ZP, OSA, GONI ROIs and the energy regions of one region."""
    empty = roi("", "", [])
    return {
        "X": x,
        "Y": y,
        "Z": z or empty,
        "ZP": dict(zp or {}),
        "OSA": dict(osa or {}),
        "GONI": dict(goni or {}),
        "EV_ROIS": list(ev_rois),
    }


@dataclass(frozen=True)
class ScanGroup:
    """The runs of one scan: they share a uid and know how many they are."""

    num_runs: int
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def member(self, index: int) -> dict:
        return {"uid": self.uid, "index": index, "num_runs": self.num_runs}


def image_index(
    entry: str, *, e_idx: int = 0, pol_idx: int = 0, sp_id: int = 0, sp_idx: int = 0
) -> dict:
    """Where a run's data go: entry, energy index, polarization index, spatial region."""
    return {"entry": entry, "e_idx": e_idx, "pol_idx": pol_idx, "sp_id": sp_id, "sp_idx": sp_idx}


def wdg_com(rois: Mapping[int, dict]) -> dict:
    """pyStxm's scan request ("widget communication") dict, structured."""
    first = next(iter(rois.values()))
    ev_rois = first["EV_ROIS"]
    return {
        "CMND": 0,
        "SINGLE_LST": {
            "SP_ROIS": [{k: v for k, v in r.items() if k != "EV_ROIS"} for r in rois.values()],
            "POL_ROIS": ev_rois[0]["POL_ROIS"] if ev_rois else [],
            "DWELL": [ev["DWELL"] for ev in ev_rois for _ in ev["SETPOINTS"]],
            "EV_ROIS": [e for ev in ev_rois for e in ev["SETPOINTS"]],
        },
    }


def read_zp_def(beamline: Beamline):
    """Plan stub: the installed zone plate as pyStxm's zp_def dict (read through the RE)."""
    zoneplate = beamline.zoneplate
    values = {}
    for key, signal in (
        ("focal_length", zoneplate.focal_length),
        ("zpD", zoneplate.diameter),
        ("zpCStop", zoneplate.central_stop),
        ("zpOZone", zoneplate.outer_zone),
        ("zpA1", zoneplate.a1),
        ("zp_idx", zoneplate.index),
    ):
        values[key] = yield from bps.rd(signal)
    focal = float(values.pop("focal_length"))
    return {
        "fl": -focal,
        **{k: float(v) for k, v in values.items() if k != "zp_idx"},
        "zp_idx": int(values["zp_idx"]),
    }


def standard_metadata(
    *,
    scan_type: ScanType,
    entry_name: str,
    rois: Mapping[int, dict],
    dwell_ms: float,
    primary_det: str,
    zp_def: dict,
    img_idx_map: dict,
    rev_lu: dict[str, str],
    group: ScanGroup,
    index: int,
) -> dict:
    """The seed-000 metadata of one run, plus its place in the scan group."""
    return {
        "entry_name": entry_name,
        "scan_type": int(scan_type),
        "scan_type_name": scan_type.name,
        "sp_id_lst": [int(sp) for sp in rois],
        "rois": {str(sp): region for sp, region in rois.items()},
        "dwell": float(dwell_ms),
        "primary_det": primary_det,
        "zp_def": dict(zp_def),
        "wdg_com": wdg_com(rois),
        "img_idx_map": dict(img_idx_map),
        "rev_lu_dct": dict(rev_lu),
        "scan_group": group.member(index),
    }


def plan_metadata(
    *,
    plan_name: str,
    plan_args: Mapping[str, Any],
    detectors: Sequence[Any],
    motors: Sequence[Any],
    num_points: int,
    shape: Sequence[int],
    extents: Sequence[Sequence[float]] | None = None,
    snaking: Sequence[bool] | None = None,
) -> dict:
    """bluesky's usual plan metadata and hints (BestEffortCallback / LiveGrid)."""
    motor_names = [m.name for m in motors]
    dims = [([f], "primary") for motor in motors for f in motor.hints.get("fields", [])][
        : len(shape)
    ]
    md = {
        "plan_name": plan_name,
        "plan_args": {k: _jsonable(v) for k, v in plan_args.items()},
        "detectors": [d.name for d in detectors],
        "motors": motor_names,
        "num_points": int(num_points),
        "num_intervals": max(int(num_points) - 1, 0),
        "shape": [int(s) for s in shape],
        "hints": {"dimensions": dims, "gridding": "rectilinear"},
    }
    if extents is not None:
        md["extents"] = [[float(a), float(b)] for a, b in extents]
    if snaking is not None:
        md["snaking"] = [bool(s) for s in snaking]
    return md


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)
