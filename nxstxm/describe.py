"""The descriptive parts of an entry: source, zone plate, OSA, EPU, angle, scan request.

All of it comes from the start documents and baselines; a value the metadata do not
give is left out rather than invented.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from .collector import Run
from .contract import ZONE_PLATE_KEYS, StxmMetadata, decode_json
from .model import Quantity
from .streams import find_key

#: The NXsource fields the definition requires, when a start document gives no ``source``.
DEFAULT_SOURCE = {"type": "Synchrotron X-ray Source", "name": "unknown", "probe": "x-ray"}


def source(start: dict) -> dict[str, str]:
    """NXsource type/name/probe: ``start["source"]`` where given, defaults otherwise."""
    given = start.get("source") if isinstance(start.get("source"), dict) else {}
    return {key: str(given.get(key, value)) for key, value in DEFAULT_SOURCE.items()}


def title(start: dict, label: str) -> str:
    """A human title: the start's title, else its plan name, else the scan type."""
    return str(start.get("title") or start.get("plan_name") or label)


def zone_plate(md: StxmMetadata) -> dict[str, Quantity]:
    """The installed zone plate; focus_parameters [0, |A1|] give f[µm] = |A1|·E[eV]."""
    found: dict[str, Quantity] = {
        k.nexus_field: (float(md.zp_def[k.key]), k.units)
        for k in ZONE_PLATE_KEYS
        if k.nexus_field is not None and isinstance(md.zp_def.get(k.key), (int, float))
    }
    if isinstance(md.zp_def.get("zpA1"), (int, float)):
        found["focus_parameters"] = ([0.0, abs(float(md.zp_def["zpA1"]))], "")
    return found


def osa(md: StxmMetadata) -> dict[str, Quantity]:
    """The OSA position requested for the entry's region (µm)."""
    region = md.region(md.img_idx.sp_id)
    return {
        axis.lower(): (float(roi.setpoints[0]), "um")
        for axis in ("X", "Y", "Z")
        if (roi := region.roi(f"OSA.{axis}")) is not None and roi.npoints
    }


def epu(md: StxmMetadata) -> dict[str, Quantity]:
    """The EPU polarization setting of the entry (pyStxm's POL_ROIS of its pol_idx)."""
    pols = md.region(md.img_idx.sp_id).polarizations
    if not 0 <= md.img_idx.pol_idx < len(pols):
        return {}
    pol = pols[md.img_idx.pol_idx]
    names = {"POL": ("polarization", ""), "OFF": ("offset", ""), "ANGLE": ("angle", "degrees")}
    return {
        name: (float(pol[key]), units)
        for key, (name, units) in names.items()
        if isinstance(pol.get(key), (int, float))
    }


def rotation_angle(run: Run, md: StxmMetadata) -> float:
    """The goniometer angle of a run: its baseline reading, else the GONI.T request, else 0."""
    key = find_key(run.descriptor("baseline"), "GoniTheta", md)
    readings = run.stream("baseline")
    if key is not None and readings and key in readings[0]["data"]:
        return float(readings[0]["data"][key])
    roi = md.region(md.img_idx.sp_id).roi("GONI.T")
    return float(roi.setpoints[0]) if roi is not None and roi.npoints else 0.0


def baseline(readings: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Baseline values by key (each reading of the entry's runs, in time order)."""
    return {key: values for key, (_, values) in readings.items()}


def scan_request(members: Sequence[tuple[Run, StxmMetadata]]) -> dict[str, str]:
    """What was asked for, as JSON texts: widget command, ROIs, image map, zone plate."""
    run, md = members[0]
    text = {
        "wdg_com": md.wdg_com,
        "rois": decode_json(md.raw.get("rois"), "rois", md.run_uid),
        "img_idx_map": {r.uid: asdict(m.img_idx) for r, m in members},
        "zp_def": md.zp_def,
        "rev_lu_dct": md.rev_lu_dct,
        "plan_args": run.start.get("plan_args", {}),
    }
    request = {key: json.dumps(value, default=str, sort_keys=True) for key, value in text.items()}
    request["plan_name"] = str(run.start.get("plan_name", ""))
    return request
