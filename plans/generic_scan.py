"""Generic scan (scan type 8): any positioner stepped from start to stop, counting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.contract import EnergyRegion, Polarization, Roi, ScanType, SpatialRegion
from stxm_devices import Beamline

from ._runs import RunSpec, ScanRequest, scan_run
from .acquisition import RowMode, counting, select_detectors, step_path
from .checks import check_count, check_dwell, check_within_limits


def generic_scan(
    beamline: Beamline,
    positioner: Any,
    *,
    start: float,
    stop: float,
    npoints: int,
    dwell_ms: float = 1.0,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Step ``positioner`` (any movable, e.g. ``beamline.osa.z``) over ``npoints`` and count."""
    plan_args = {k: v for k, v in locals().items() if k not in ("beamline", "positioner")}
    plan_args["positioner"] = positioner.name
    points = np.linspace(start, stop, check_count(npoints, "npoints"))
    detector_devices = select_detectors(beamline, detectors, RowMode.STEP)
    request = ScanRequest(
        ScanType.GENERIC_SCAN,
        "generic_scan",
        plan_args,
        check_dwell(dwell_ms),
        detector_names=tuple(detectors),
        md=md or {},
    )
    control_name = getattr(positioner, "prefix", "") or positioner.name

    def plan():
        check_within_limits(positioner, points, f"start/stop ({positioner.name})")
        energy = yield from bps.rd(beamline.energy.mono)
        y = yield from bps.rd(beamline.stage.fine_y)
        region = SpatialRegion(
            0,
            {"X": Roi.of(positioner.name, points), "Y": Roi.of("SampleFineY", [y])},
            (EnergyRegion.of([energy], dwell_ms, [Polarization()]),),
        )
        body = counting(
            beamline,
            detector_devices,
            dwell_ms,
            step_path([*detector_devices, beamline.ring_current], [positioner], points[:, None]),
        )
        spec = RunSpec(
            detectors=detector_devices,
            motors=[positioner],
            regions={0: region},
            shape=(points.size,),
            body=body,
            extra={"generic_positioner": {positioner.name: control_name}},
        )
        return (yield from scan_run(beamline, request, spec))

    return plan()
