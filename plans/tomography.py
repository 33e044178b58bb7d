"""Tomography (scan type 11): a stack at each goniometer angle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bluesky.utils import MsgGenerator

from nxstxm.scan_types import ScanType
from stxm_devices import Beamline

from ._image import Grid, check_grid
from ._patterns import energy_points
from ._runs import ScanLabel
from ._stack import Image, check_energies, check_polarizations, image_series
from .acquisition import RowMode, select_detectors
from .checks import PlanArgumentError, check_within_limits
from .metadata import ScanGroup
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
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """At each angle (deg) image ``region`` at every energy and polarization.

    One NXentry per angle × polarization; one run per image, all in one scan group.
    """
    plan_args = {
        "angles_deg": list(angles_deg),
        "region": vars(region),
        "energy_regions": [list(e) for e in energy_regions],
        "polarizations": list(polarizations),
        "dwell_ms": dwell_ms,
        "mode": mode,
        "detectors": list(detectors),
    }
    row_mode = RowMode(mode)
    if not angles_deg:
        raise PlanArgumentError("angles_deg: give at least one angle")
    energies = energy_points(list(energy_regions))
    grid = Grid("SampleFineX", region.x_points, "SampleFineY", region.y_points)
    select_detectors(beamline, detectors, row_mode)
    check_grid(beamline, grid, row_mode, dwell_ms)
    check_within_limits(beamline.goniometer.theta, angles_deg, "angles_deg")
    check_energies(beamline, energies, "energy_regions")
    check_polarizations(beamline, polarizations)
    npol = len(polarizations)
    images = [
        Image(grid, entry=a * npol + p, e_idx=e, pol_idx=p, sp_id=0, angle_deg=float(angle))
        for a, angle in enumerate(angles_deg)
        for e in range(energies.size)
        for p in range(npol)
    ]
    label = ScanLabel(
        ScanType.TOMOGRAPHY_SCAN, "tomography", plan_args, dwell_ms, ScanGroup(len(images))
    )
    return image_series(
        beamline,
        label,
        images,
        grids=[grid],
        energies=energies,
        polarizations=polarizations,
        mode=row_mode,
        detector_names=detectors,
        md=md,
    )
