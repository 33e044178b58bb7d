"""Sample image stack (scan type 7): an image per energy, polarization and region."""

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
from .checks import PlanArgumentError, check_count
from .metadata import ScanGroup
from .regions import Region


def image_stack(
    beamline: Beamline,
    *,
    regions: Sequence[Region],
    energy_regions: Sequence[tuple[float, float, int]],
    polarizations: Sequence[str] = ("CircLeft",),
    dwell_ms: float = 1.0,
    mode: str = "line",
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Images of every region at every energy (eV regions ``(start, stop, n)``) and polarization.

    One run per image, all sharing one scan group; a region × polarization is one NXentry
    and each run says where its image goes (img_idx_map), as pyStxm's stacks do.
    """
    plan_args = {
        "regions": [vars(r) for r in regions],
        "energy_regions": [list(e) for e in energy_regions],
        "polarizations": list(polarizations),
        "dwell_ms": dwell_ms,
        "mode": mode,
        "detectors": list(detectors),
    }
    row_mode = RowMode(mode)
    if not regions:
        raise PlanArgumentError("regions: give at least one Region")
    for i, (_, _, n) in enumerate(energy_regions):
        check_count(n, f"energy_regions[{i}] npoints")
    energies = energy_points(list(energy_regions))
    grids = [Grid("SampleFineX", r.x_points, "SampleFineY", r.y_points) for r in regions]
    select_detectors(beamline, detectors, row_mode)
    for grid in grids:
        check_grid(beamline, grid, row_mode, dwell_ms)
    check_energies(beamline, energies, "energy_regions")
    check_polarizations(beamline, polarizations)
    images = [
        Image(grid, entry=sp * len(polarizations) + p, e_idx=e, pol_idx=p, sp_id=sp)
        for sp, grid in enumerate(grids)
        for e in range(energies.size)
        for p in range(len(polarizations))
    ]
    label = ScanLabel(
        ScanType.SAMPLE_IMAGE_STACK, "image_stack", plan_args, dwell_ms, ScanGroup(len(images))
    )
    return image_series(
        beamline,
        label,
        images,
        grids=grids,
        energies=energies,
        polarizations=polarizations,
        mode=row_mode,
        detector_names=detectors,
        md=md,
    )
