"""Step images over a stage other than the fine one: OSA, detector, coarse, goniometer.

Scan types 1 (OSA image: the pinhole shows as a disk), 0 (detector image: the detector's
active area in the transmitted beam), 9 (coarse image: a large area of the sample) and
10 (coarse goniometer image).  They differ only in the two positioners they raster and
their default region, so each plan is one call to :func:`stage_image`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bluesky import preprocessors as bpp
from bluesky.utils import MsgGenerator

from nxstxm.scan_types import ScanType
from stxm_devices import Beamline

from ._image import Grid, single_image
from .acquisition import RowMode
from .regions import Region


def stage_image(
    beamline: Beamline,
    scan_type: ScanType,
    plan_name: str,
    positioners: tuple[str, str],
    *,
    region: Region,
    dwell_ms: float,
    detectors: Sequence[str],
    md: Mapping[str, Any] | None,
) -> MsgGenerator:
    """Step ``positioners`` (descriptive names, x then y) over ``region`` and count.

    The stage goes back where it was afterwards: an OSA or detector left off the beam
    would darken every later scan.
    """
    plan_args = {"region": vars(region), "dwell_ms": dwell_ms, "detectors": list(detectors)}
    grid = Grid(positioners[0], region.x_points, positioners[1], region.y_points)
    plan = single_image(
        beamline,
        scan_type,
        plan_name,
        plan_args,
        grid,
        mode=RowMode.STEP,
        detector_names=detectors,
        dwell_ms=dwell_ms,
        resolution="COARSE",
        md=md,
    )
    return bpp.reset_positions_wrapper(plan, list(grid.motors(beamline)))


def osa_image(
    beamline: Beamline,
    *,
    region: Region = Region(0.0, 100.0, 41, 0.0, 100.0, 41),
    dwell_ms: float = 1.0,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """OSA image: step the OSA (µm) across the beam; its 50 µm pinhole shows as a disk."""
    return stage_image(
        beamline,
        ScanType.OSA_IMAGE,
        "osa_image",
        ("OSAX", "OSAY"),
        region=region,
        dwell_ms=dwell_ms,
        detectors=detectors,
        md=md,
    )


def detector_image(
    beamline: Beamline,
    *,
    region: Region = Region(0.0, 2000.0, 41, 0.0, 2000.0, 41),
    dwell_ms: float = 1.0,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Detector image: step the point detector's stage (µm) through the transmitted beam."""
    return stage_image(
        beamline,
        ScanType.DETECTOR_IMAGE,
        "detector_image",
        ("DetectorX", "DetectorY"),
        region=region,
        dwell_ms=dwell_ms,
        detectors=detectors,
        md=md,
    )


def coarse_image(
    beamline: Beamline,
    *,
    region: Region = Region(0.0, 200.0, 41, 0.0, 200.0, 41),
    dwell_ms: float = 1.0,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Coarse image: step the coarse stage (µm) to map a large area of the sample."""
    return stage_image(
        beamline,
        ScanType.COARSE_IMAGE_SCAN,
        "coarse_image",
        ("CoarseX", "CoarseY"),
        region=region,
        dwell_ms=dwell_ms,
        detectors=detectors,
        md=md,
    )


def goni_image(
    beamline: Beamline,
    *,
    region: Region = Region(0.0, 100.0, 41, 0.0, 100.0, 41),
    dwell_ms: float = 1.0,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Coarse goniometer image: step the goniometer's X/Y (µm) at its current angle."""
    return stage_image(
        beamline,
        ScanType.COARSE_GONI_SCAN,
        "goni_image",
        ("GoniX", "GoniY"),
        region=region,
        dwell_ms=dwell_ms,
        detectors=detectors,
        md=md,
    )
