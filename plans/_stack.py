"""Multi-image scans: one run per image, all in one scan group (as pyStxm does).

Image stacks (regions × polarizations × energies) and tomography (angles × polarizations
× energies) differ only in what changes between entries; :func:`image_series` runs the
images and labels each with its entry, energy index, polarization and region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from stxm_devices import Beamline

from ._image import Grid, grid_rois, image_run
from ._runs import ScanLabel
from .acquisition import RowMode
from .checks import PlanArgumentError, check_choice, check_within_limits
from .metadata import PolarizationSetting, image_index, roi


@dataclass(frozen=True)
class Image:
    """One image of a series: where it goes and what to set before it."""

    grid: Grid
    entry: int
    e_idx: int
    pol_idx: int
    sp_id: int
    angle_deg: float | None = None


def check_energies(beamline: Beamline, energies: np.ndarray, argument: str) -> None:
    """Mono range, and zone-plate Z range for keeping focus at every energy."""
    if energies.size == 0:
        raise PlanArgumentError(f"{argument}: no energies")
    check_within_limits(beamline.energy.mono, energies, argument)
    focus = [beamline.energy.focus_z(float(e)) for e in (energies.min(), energies.max())]
    check_within_limits(beamline.zoneplate.z, focus, f"{argument} (zone-plate Z keeping focus)")


def check_polarizations(beamline: Beamline, polarizations: Sequence[str]) -> None:
    """Every polarization is a mode the EPU can do (its Polarization PV's choices)."""
    if not polarizations:
        raise PlanArgumentError("polarizations: give at least one")
    for polarization in polarizations:
        check_choice(polarization, beamline.epu.polarization.enum_strs, "polarizations")


def image_series(
    beamline: Beamline,
    label: ScanLabel,
    images: Sequence[Image],
    *,
    grids: Sequence[Grid],
    energies: np.ndarray,
    polarizations: Sequence[str],
    mode: RowMode,
    detector_names: Sequence[str],
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Set energy, polarization (and angle), then measure, for each image in order."""
    settings = [PolarizationSetting(p) for p in polarizations]
    angles = sorted({i.angle_deg for i in images if i.angle_deg is not None})
    goni = {"T": roi("GoniTheta", "GoniTheta", angles)} if angles else None
    rois = {
        sp_id: grid_rois(grid, energies, label.dwell_ms, settings, goni=goni)
        for sp_id, grid in enumerate(grids)
    }
    for index, image in enumerate(images):
        moves: list[Any] = [beamline.energy, float(energies[image.e_idx])]
        if image.angle_deg is not None:
            moves += [beamline.goniometer.theta, image.angle_deg]
        yield from bps.mv(*moves)
        yield from bps.mv(beamline.epu.polarization, polarizations[image.pol_idx])
        place = image_index(
            f"entry{image.entry}",
            e_idx=image.e_idx,
            pol_idx=image.pol_idx,
            sp_id=image.sp_id,
            sp_idx=image.sp_id,
        )
        yield from image_run(
            beamline,
            label,
            image.grid,
            mode=mode,
            detector_names=detector_names,
            energies=energies,
            polarizations=settings,
            index=index,
            image_index=place,
            rois=rois,
            md=md,
        )
