"""Step images over a stage other than the fine one: OSA, detector, coarse, goniometer.

Scan types 1 (OSA image: the pinhole shows as a disk), 0 (detector image: the detector's
active area in the transmitted beam), 9 (coarse image: a large area of the sample) and
10 (coarse goniometer image).  They differ only in the two positioners they raster and
their default region, so each plan is made by :func:`_stage_image_plan`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bluesky.utils import MsgGenerator

from nxstxm.contract import ScanType
from stxm_devices import Beamline

from ._image import Grid, single_image
from ._runs import ScanRequest
from .acquisition import RowMode, returning, select_detectors
from .checks import check_dwell
from .regions import Region


def _stage_image_plan(
    scan_type: ScanType, name: str, positioners: tuple[str, str], default: Region, doc: str
) -> Callable[..., MsgGenerator]:
    """The plan stepping ``positioners`` (descriptive names, x then y) over a region.

    The stage goes back where it was afterwards: an OSA or detector left off the beam
    would darken every later scan.
    """

    def plan(
        beamline: Beamline,
        *,
        region: Region = default,
        dwell_ms: float = 1.0,
        detectors: Sequence[str] = ("counter",),
        md: Mapping[str, Any] | None = None,
    ) -> MsgGenerator:
        plan_args = {"region": vars(region), "dwell_ms": dwell_ms, "detectors": list(detectors)}
        select_detectors(beamline, detectors, RowMode.STEP)
        request = ScanRequest(
            scan_type,
            name,
            plan_args,
            check_dwell(dwell_ms),
            detector_names=tuple(detectors),
            resolution="COARSE",
            md=md or {},
        )
        grid = Grid(positioners[0], region.x_points, positioners[1], region.y_points)
        image = single_image(beamline, request, grid)
        return returning(image, list(grid.motors(beamline)))

    plan.__name__ = plan.__qualname__ = name
    plan.__doc__ = doc
    return plan


osa_image = _stage_image_plan(
    ScanType.OSA_IMAGE,
    "osa_image",
    ("OSAX", "OSAY"),
    Region(0.0, 100.0, 41, 0.0, 100.0, 41),
    "OSA image: step the OSA (µm) across the beam; its 50 µm pinhole shows as a disk.",
)
detector_image = _stage_image_plan(
    ScanType.DETECTOR_IMAGE,
    "detector_image",
    ("DetectorX", "DetectorY"),
    Region(0.0, 2000.0, 41, 0.0, 2000.0, 41),
    "Detector image: step the point detector's stage (µm) through the transmitted beam.",
)
coarse_image = _stage_image_plan(
    ScanType.COARSE_IMAGE_SCAN,
    "coarse_image",
    ("CoarseX", "CoarseY"),
    Region(0.0, 200.0, 41, 0.0, 200.0, 41),
    "Coarse image: step the coarse stage (µm) to map a large area of the sample.",
)
goni_image = _stage_image_plan(
    ScanType.COARSE_GONI_SCAN,
    "goni_image",
    ("GoniX", "GoniY"),
    Region(0.0, 100.0, 41, 0.0, 100.0, 41),
    "Coarse goniometer image: step the goniometer's X/Y (µm) at its current angle.",
)
