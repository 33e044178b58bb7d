"""Sample image (scan type 6): the fine stage rastered under the focused beam."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bluesky.utils import MsgGenerator

from nxstxm.contract import ScanType
from stxm_devices import Beamline

from ._image import Grid, single_image
from ._runs import ScanRequest
from .acquisition import RowMode, select_detectors
from .checks import check_dwell
from .regions import Region


def stxm_image(
    beamline: Beamline,
    *,
    x_center_um: float,
    x_range_um: float,
    nx: int,
    y_center_um: float,
    y_range_um: float,
    ny: int,
    dwell_ms: float = 1.0,
    mode: str = "line",
    bidirectional: bool = False,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Image the sample at the current energy: ``ny`` rows of ``nx`` points.

    ``mode='line'`` (default) flies fine X with the counter in line mode, one event per
    row; ``mode='step'`` keeps the stage still in each dwell: hardware-timed rows (the
    counter's StepLine, one event per row) with the counter alone, point by point with
    the area detector; ``mode='point'`` always point by point from bluesky.
    ``bidirectional=True`` (line mode) flies odd rows back (serpentine): no retrace.
    Everything is checked before anything moves.
    """
    plan_args = {k: v for k, v in locals().items() if k != "beamline"}
    region = Region(x_center_um, x_range_um, nx, y_center_um, y_range_um, ny)
    row_mode = RowMode(mode)
    select_detectors(beamline, detectors, row_mode)
    request = ScanRequest(
        ScanType.SAMPLE_IMAGE,
        "stxm_image",
        plan_args,
        check_dwell(dwell_ms),
        mode=row_mode,
        bidirectional=bool(bidirectional),
        detector_names=tuple(detectors),
        md=md or {},
    )
    grid = Grid("SampleFineX", region.x_points, "SampleFineY", region.y_points)
    return single_image(beamline, request, grid)
