"""Pattern generator (scan type 12): expose a pads × pads pattern, each pad its own dwell.

Used to write a dose ladder into a sample (radiation-damage tests, lithography): the
fine stage steps over the whole pattern; points in pad (i, j) dwell ``dwells_ms[i·pads+j]``,
points between pads only ``gap_dwell_ms``.  The recorded image shows the pattern.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.contract import ScanType
from stxm_devices import Beamline

from ._image import Grid, single_image
from ._patterns import axis_points, pad_dwell_map
from ._runs import ScanRequest
from .acquisition import RowMode, configured, select_detectors, step_path
from .checks import PlanArgumentError, check_count, check_dwell


def pattern_gen(
    beamline: Beamline,
    *,
    x_center_um: float,
    y_center_um: float,
    pads: int = 3,
    pad_points: int = 5,
    gap_points: int = 2,
    step_um: float = 0.2,
    dwells_ms: Sequence[float] | None = None,
    gap_dwell_ms: float = 0.1,
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Write (and record) the pattern centred on (x, y) µm; dwells default to 1, 2, … ms."""
    plan_args = {k: v for k, v in locals().items() if k != "beamline"}
    for value, name in (
        (pads, "pads"),
        (pad_points, "pad_points"),
        (gap_points + 1, "gap_points+1"),
    ):
        check_count(value, name)
    dwell_list = np.arange(1.0, pads * pads + 1.0) if dwells_ms is None else np.asarray(dwells_ms)
    if dwell_list.size != pads * pads:
        raise PlanArgumentError(
            f"dwells_ms needs pads² = {pads * pads} values, got {dwell_list.size}"
        )
    for value in (*dwell_list, gap_dwell_ms):
        check_dwell(float(value), "dwells_ms/gap_dwell_ms")
    dwell_map = pad_dwell_map(pads, pad_points, gap_points, dwell_list, gap_dwell_ms)
    npoints = dwell_map.shape[0]  # along each axis
    grid = Grid(
        "SampleFineX",
        axis_points(x_center_um, step_um * (npoints - 1), npoints),
        "SampleFineY",
        axis_points(y_center_um, step_um * (npoints - 1), npoints),
    )
    select_detectors(beamline, ["counter"], RowMode.STEP)
    request = ScanRequest(
        ScanType.PATTERN_GEN_SCAN,
        "pattern_gen",
        plan_args,
        float(dwell_list.max()),
        md={"dwell_map_ms": dwell_map.tolist(), **dict(md or {})},
    )
    counter = beamline.counter
    flat_dwells = dwell_map.ravel()

    def set_dwell(index: int):
        if index == 0 or flat_dwells[index] != flat_dwells[index - 1]:
            yield from bps.mv(counter.dwell, float(flat_dwells[index]))

    def rows():
        motors = list(reversed(grid.motors(beamline)))
        plan = step_path(
            [counter, beamline.ring_current], motors, grid.path(), before_trigger=set_dwell
        )
        return (yield from configured({counter.mode: "Single", counter.dwell: 1.0}, plan))

    return single_image(beamline, request, grid, body=rows())
