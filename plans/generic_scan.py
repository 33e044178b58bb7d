"""Generic scan (scan type 8): any positioner stepped from start to stop, counting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.scan_types import ScanType
from stxm_devices import Beamline

from ._runs import ScanLabel, labelled_run
from .acquisition import RowMode, counting, select_detectors, step_path
from .checks import check_count, check_dwell, check_within_limits
from .metadata import PolarizationSetting, ScanGroup, energy_roi, image_index, region_rois, roi


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
    check_count(npoints, "npoints")
    check_dwell(dwell_ms)
    points = np.linspace(start, stop, int(npoints))
    check_within_limits(positioner, points, f"start/stop ({positioner.name})")
    detector_devices = select_detectors(beamline, detectors, RowMode.STEP)
    label = ScanLabel(ScanType.GENERIC_SCAN, "generic_scan", plan_args, dwell_ms, ScanGroup(1))
    control_name = getattr(positioner, "prefix", "") or positioner.name

    def plan():
        energy = yield from bps.rd(beamline.energy.mono)
        y = yield from bps.rd(beamline.stage.fine_y)
        rois = {
            0: region_rois(
                x=roi(positioner.name, positioner.name, points),
                y=roi("SampleFineY", "SampleFineY", [y]),
                ev_rois=[energy_roi([energy], dwell_ms, [PolarizationSetting()])],
            )
        }
        body = counting(
            beamline,
            detector_devices,
            dwell_ms,
            step_path([*detector_devices, beamline.ring_current], [positioner], points[:, None]),
        )
        return (
            yield from labelled_run(
                beamline,
                label,
                index=0,
                detectors=detector_devices,
                motors=[positioner],
                rois=rois,
                image_index=image_index("entry0"),
                shape=(points.size,),
                body=body,
                extra={"generic_positioner": {positioner.name: control_name}},
                md=md,
            )
        )

    return plan()
