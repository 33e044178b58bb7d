"""Tomography (scan type 11): a stack at each goniometer angle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bluesky.utils import MsgGenerator

from nxstxm.contract import ScanType
from stxm_devices import Beamline

from ._image import Grid
from ._stack import Image, check_stack, check_stack_arguments, image_series, stack_request
from .acquisition import RowMode
from .checks import PlanArgumentError, check_within_limits
from .regions import Region


def tomography(
    beamline: Beamline,
    *,
    angles_deg: Sequence[float],
    region: Region,
    energy_regions: Sequence[tuple[float, float, int]],
    polarizations: Sequence[str] = ("CircLeft",),
    dwell_ms: float = 1.0,
    mode: str = "line",
    bidirectional: bool = False,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """At each angle (deg) image ``region`` at every energy and polarization.

    One NXentry per angle × polarization; one run per image, all in one scan group.
    ``bidirectional=True`` (line mode) flies odd rows back (serpentine): no retrace.
    """
    plan_args = {
        "angles_deg": list(angles_deg),
        "region": vars(region),
        "energy_regions": [list(e) for e in energy_regions],
        "polarizations": list(polarizations),
        "dwell_ms": dwell_ms,
        "mode": mode,
        "bidirectional": bool(bidirectional),
        "detectors": list(detectors),
    }
    if not angles_deg:
        raise PlanArgumentError("angles_deg: give at least one angle")
    energies = check_stack_arguments(beamline, energy_regions, dwell_ms, RowMode(mode), detectors)
    grid = Grid("SampleFineX", region.x_points, "SampleFineY", region.y_points)
    npol = len(polarizations)
    images = [
        Image(grid, entry=a * npol + p, e_idx=e, pol_idx=p, sp_id=0, angle_deg=float(angle))
        for a, angle in enumerate(angles_deg)
        for e in range(energies.size)
        for p in range(npol)
    ]
    request = stack_request(ScanType.TOMOGRAPHY_SCAN, "tomography", plan_args, len(images), md)

    def plan():
        check_within_limits(beamline.goniometer.theta, angles_deg, "angles_deg")
        yield from check_stack(beamline, request, [grid], energies, polarizations)
        yield from image_series(
            beamline, request, images, grids=[grid], energies=energies, polarizations=polarizations
        )

    return plan()
