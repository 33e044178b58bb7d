"""Multi-image scans: one run per image, all in one scan group (as pyStxm does).

Image stacks (regions × polarizations × energies) and tomography (angles × polarizations
× energies) differ only in what changes between entries; they share their checks
(:func:`check_stack_arguments` when called, :func:`check_stack` when run) and
:func:`image_series`, which runs the images and labels each with its entry, energy
index, polarization and region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.contract import ImageIndex, Polarization, Roi, ScanType
from stxm_devices import Beamline

from ._image import Grid, check_grid, image_spec
from ._runs import ScanRequest, scan_run
from .acquisition import RowMode, select_detectors
from .checks import check_dwell, check_energies, check_energy_regions, check_polarizations


@dataclass(frozen=True)
class Image:
    """One image of a series: where it goes and what to set before it."""

    grid: Grid
    entry: int
    e_idx: int
    pol_idx: int
    sp_id: int
    angle_deg: float | None = None


def check_stack_arguments(
    beamline: Beamline,
    energy_regions: Sequence[tuple[float, float, int]],
    dwell_ms: float,
    mode: RowMode,
    detectors: Sequence[str],
) -> np.ndarray:
    """What a stack's arguments must be on their own; its energies (eV)."""
    check_dwell(dwell_ms)
    select_detectors(beamline, detectors, mode)
    return check_energy_regions(energy_regions)


def stack_request(
    scan_type: ScanType, plan_name: str, plan_args: dict, num_runs: int, md: dict | None
) -> ScanRequest:
    """The request of a multi-image plan, from its arguments as recorded (``plan_args``)."""
    return ScanRequest(
        scan_type,
        plan_name,
        plan_args,
        float(plan_args["dwell_ms"]),
        mode=RowMode(plan_args["mode"]),
        bidirectional=plan_args["bidirectional"],
        detector_names=tuple(plan_args["detectors"]),
        num_runs=num_runs,
        md=md or {},
    )


def check_stack(
    beamline: Beamline,
    request: ScanRequest,
    grids: Sequence[Grid],
    energies: np.ndarray,
    polarizations: Sequence[str],
) -> MsgGenerator:
    """Plan stub: every grid, energy and polarization reachable, before anything moves."""
    for grid in grids:
        yield from check_grid(
            beamline, grid, request.mode, request.dwell_ms, bidirectional=request.bidirectional
        )
    yield from check_energies(beamline, energies, "energy_regions")
    check_polarizations(beamline.epu.polarization, polarizations)


def image_series(
    beamline: Beamline,
    request: ScanRequest,
    images: Sequence[Image],
    *,
    grids: Sequence[Grid],
    energies: np.ndarray,
    polarizations: Sequence[str],
) -> MsgGenerator:
    """Set energy, polarization (and angle), then measure, for each image in order."""
    settings = [Polarization(p) for p in polarizations]
    angles = sorted({i.angle_deg for i in images if i.angle_deg is not None})
    goni = Roi.of("GoniTheta", angles) if angles else None
    regions = {
        sp_id: grid.region(energies, request.dwell_ms, settings, sp_id=sp_id, goni=goni)
        for sp_id, grid in enumerate(grids)
    }
    for index, image in enumerate(images):
        moves: list = [beamline.energy, float(energies[image.e_idx])]
        if image.angle_deg is not None:
            moves += [beamline.goniometer.theta, image.angle_deg]
        yield from bps.mv(*moves)
        yield from bps.mv(beamline.epu.polarization, polarizations[image.pol_idx])
        place = ImageIndex(
            f"entry{image.entry}",
            e_idx=image.e_idx,
            pol_idx=image.pol_idx,
            sp_id=image.sp_id,
            sp_idx=image.sp_id,
        )
        spec = image_spec(beamline, request, image.grid, regions, place=place, index=index)
        yield from scan_run(beamline, request, spec)
