"""Sample image stack (scan type 7): an image per energy, polarization and region."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bluesky.utils import MsgGenerator

from nxstxm.contract import ScanType
from stxm_devices import Beamline

from ._image import Grid
from ._stack import Image, check_stack, check_stack_arguments, image_series, stack_request
from .acquisition import RowMode
from .checks import PlanArgumentError
from .regions import Region


def image_stack(
    beamline: Beamline,
    *,
    regions: Sequence[Region],
    energy_regions: Sequence[tuple[float, float, int]],
    polarizations: Sequence[str] = ("CircLeft",),
    dwell_ms: float = 1.0,
    mode: str = "line",
    bidirectional: bool = False,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Images of every region at every energy (eV regions ``(start, stop, n)``) and polarization.

    One run per image, all sharing one scan group; a region × polarization is one NXentry
    and each run says where its image goes (img_idx_map), as pyStxm's stacks do.
    ``bidirectional=True`` (line mode) flies odd rows back (serpentine): no retrace.
    """
    plan_args = {
        "regions": [vars(r) for r in regions],
        "energy_regions": [list(e) for e in energy_regions],
        "polarizations": list(polarizations),
        "dwell_ms": dwell_ms,
        "mode": mode,
        "bidirectional": bool(bidirectional),
        "detectors": list(detectors),
    }
    if not regions:
        raise PlanArgumentError("regions: give at least one Region")
    energies = check_stack_arguments(beamline, energy_regions, dwell_ms, RowMode(mode), detectors)
    grids = [Grid("SampleFineX", r.x_points, "SampleFineY", r.y_points) for r in regions]
    images = [
        Image(grid, entry=sp * len(polarizations) + p, e_idx=e, pol_idx=p, sp_id=sp)
        for sp, grid in enumerate(grids)
        for e in range(energies.size)
        for p in range(len(polarizations))
    ]
    request = stack_request(ScanType.SAMPLE_IMAGE_STACK, "image_stack", plan_args, len(images), md)

    def plan():
        yield from check_stack(beamline, request, grids, energies, polarizations)
        yield from image_series(
            beamline, request, images, grids=grids, energies=energies, polarizations=polarizations
        )

    return plan()
