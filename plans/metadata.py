"""What plans add to the metadata contract (:mod:`nxstxm.contract`): names and readings.

The contract's dataclasses hold the standard metadata; this module knows the beamline:
which device each descriptive name (rev_lu_dct key, ROI POSITIONER) is, the zone plate
read through the RunEngine, and bluesky's usual plan metadata and hints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.contract import ZONE_PLATE_KEYS, zp_def_of
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


def positioner(beamline: Beamline, name: str) -> Any:
    """The device of a descriptive name (``"SampleFineX"`` → ``beamline.stage.fine_x``)."""
    return resolve(beamline, DESCRIPTIVE_NAMES[name])


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


def read_zp_def(beamline: Beamline) -> MsgGenerator[dict]:
    """Plan stub: the installed zone plate as pyStxm's zp_def dict (read through the RE)."""
    readings = {}
    for key in ZONE_PLATE_KEYS:
        readings[key.signal] = yield from bps.rd(getattr(beamline.zoneplate, key.signal))
    return zp_def_of(readings)


def plan_metadata(
    *,
    plan_name: str,
    plan_args: Mapping[str, Any],
    detectors: Sequence[Any],
    motors: Sequence[Any],
    shape: Sequence[int],
    extents: Sequence[Sequence[float]] | None = None,
    row_events: bool = False,
) -> dict:
    """bluesky's usual plan metadata and hints (BestEffortCallback / LiveGrid).

    ``row_events``: each event holds a whole row (line mode, hardware-timed step rows:
    the counts are an array), so the events run along the first (slow) axis only.
    Hinting the grid then would have the BestEffortCallback's LiveGrid put a row into
    one pixel, which fails at every event ("only 0-dimensional arrays can be converted
    to Python scalars").
    """
    dims = [([f], "primary") for motor in motors for f in motor.hints.get("fields", [])][
        : 1 if row_events else len(shape)
    ]
    npoints = int(np.prod(shape))
    md = {
        "plan_name": plan_name,
        "plan_args": {k: _jsonable(v) for k, v in plan_args.items()},
        "detectors": [d.name for d in detectors],
        "motors": [m.name for m in motors],
        "num_points": npoints,
        "num_intervals": max(npoints - 1, 0),
        "shape": [int(s) for s in shape],
        "hints": {"dimensions": dims, **({} if row_events else {"gridding": "rectilinear"})},
    }
    if extents is not None:
        md["extents"] = [[float(a), float(b)] for a, b in extents]
    md["snaking"] = [False] * len(shape)
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
