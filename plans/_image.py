"""What every image-like scan shares: its grid, its metadata, and one run of rows.

Sample images, stacks, tomography, OSA/detector/coarse/goniometer images and the
pattern generator all measure a 2-D grid of points over two positioners; this module
turns a grid into one bluesky run with the standard metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.scan_types import ScanType
from stxm_devices import Beamline

from ._runs import ScanLabel, labelled_run
from .acquisition import (
    RowMode,
    check_fly_line,
    counting,
    fly_rows,
    select_detectors,
    step_path,
)
from .checks import PlanArgumentError, check_dwell, check_within_limits
from .metadata import (
    DESCRIPTIVE_NAMES,
    PolarizationSetting,
    ScanGroup,
    energy_roi,
    region_rois,
    resolve,
    roi,
)
from .metadata import (
    image_index as make_image_index,
)


@dataclass(frozen=True)
class Grid:
    """Two positioners (by descriptive name, see metadata.DESCRIPTIVE_NAMES) and their points."""

    x_name: str
    x_points: np.ndarray
    y_name: str
    y_points: np.ndarray

    def motors(self, beamline: Beamline) -> tuple[Any, Any]:
        return _positioner(beamline, self.x_name), _positioner(beamline, self.y_name)

    def rois(self, resolution: str) -> dict[str, dict]:
        return {
            "x": roi(self.x_name, self.x_name, self.x_points, resolution=resolution),
            "y": roi(self.y_name, self.y_name, self.y_points, resolution=resolution),
        }


def _positioner(beamline: Beamline, name: str) -> Any:
    return resolve(beamline, DESCRIPTIVE_NAMES[name])


def check_grid(beamline: Beamline, grid: Grid, mode: RowMode, dwell_ms: float) -> None:
    """Every point of ``grid`` reachable, the dwell positive, a fly line flyable."""
    check_dwell(dwell_ms)
    x_motor, y_motor = grid.motors(beamline)
    check_within_limits(y_motor, grid.y_points, f"y ({grid.y_name})")
    if mode is RowMode.LINE:
        if x_motor is not beamline.stage.fine_x:
            raise PlanArgumentError(f"mode='line' flies the fine X stage, not {grid.x_name}")
        check_fly_line(beamline, grid.x_points, dwell_ms, f"x ({grid.x_name})")
    else:
        check_within_limits(x_motor, grid.x_points, f"x ({grid.x_name})")


def grid_rois(
    grid: Grid,
    energies: np.ndarray,
    dwell_ms: float,
    polarizations: Sequence[PolarizationSetting],
    resolution: str = "FINE",
    **extra: Any,
) -> dict:
    """The ``rois[sp_id]`` entry of one grid: its X/Y ROIs and one energy region."""
    return region_rois(
        **grid.rois(resolution),
        ev_rois=[energy_roi(energies, dwell_ms, polarizations)],
        **extra,
    )


def image_rows(
    beamline: Beamline,
    grid: Grid,
    detectors: Sequence[Any],
    mode: RowMode,
    dwell_ms: float,
) -> MsgGenerator:
    """The events of one image: a row per event (line) or a point per event (step)."""
    x_motor, y_motor = grid.motors(beamline)
    readables = [beamline.ring_current]
    if mode is RowMode.LINE:
        return (
            yield from fly_rows(
                beamline,
                grid.x_points,
                [y_motor],
                grid.y_points[:, None],
                dwell_ms,
                readables=readables,
            )
        )
    ys, xs = np.meshgrid(grid.y_points, grid.x_points, indexing="ij")
    path = np.column_stack([ys.ravel(), xs.ravel()])
    plan = step_path([*detectors, *readables], [y_motor, x_motor], path)
    return (yield from counting(beamline, detectors, dwell_ms, plan))


def image_run(
    beamline: Beamline,
    label: ScanLabel,
    grid: Grid,
    *,
    mode: RowMode,
    detector_names: Sequence[str],
    energies: np.ndarray,
    polarizations: Sequence[PolarizationSetting],
    index: int,
    image_index: Mapping[str, Any] | None = None,
    rois: Mapping[int, dict] | None = None,
    resolution: str = "FINE",
    body: MsgGenerator | None = None,
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """One run measuring ``grid``, labelled for its place in the scan.

    ``rois`` is the whole scan request (every region); by default just this grid.
    ``body`` replaces the standard rows (a plan with its own way of visiting the grid).
    """
    detectors = select_detectors(beamline, detector_names, mode)
    place = dict(image_index or make_image_index("entry0"))
    if rois is None:
        rois = {
            place["sp_id"]: grid_rois(grid, energies, label.dwell_ms, polarizations, resolution)
        }
    x_motor, y_motor = grid.motors(beamline)
    return (
        yield from labelled_run(
            beamline,
            label,
            index=index,
            detectors=detectors,
            motors=[y_motor, x_motor],
            rois=rois,
            image_index=place,
            shape=(grid.y_points.size, grid.x_points.size),
            extents=(
                (grid.y_points[0], grid.y_points[-1]),
                (grid.x_points[0], grid.x_points[-1]),
            ),
            extra={"row_mode": mode.value},
            body=body or image_rows(beamline, grid, detectors, mode, label.dwell_ms),
            md=md,
        )
    )


def current_energy(beamline: Beamline) -> MsgGenerator:
    """Plan stub: the mono energy now, as a one-point energy axis."""
    energy = yield from bps.rd(beamline.energy.mono)
    return np.array([float(energy)])


def single_image(
    beamline: Beamline,
    scan_type: ScanType,
    plan_name: str,
    plan_args: Mapping[str, Any],
    grid: Grid,
    *,
    mode: RowMode,
    detector_names: Sequence[str],
    dwell_ms: float,
    resolution: str = "FINE",
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Check ``grid`` now (before anything moves); the returned plan is one image run."""
    select_detectors(beamline, detector_names, mode)
    check_grid(beamline, grid, mode, dwell_ms)
    label = ScanLabel(scan_type, plan_name, plan_args, dwell_ms, ScanGroup(1))

    def plan():
        energies = yield from current_energy(beamline)
        return (
            yield from image_run(
                beamline,
                label,
                grid,
                mode=mode,
                detector_names=detector_names,
                energies=energies,
                polarizations=[PolarizationSetting()],
                index=0,
                resolution=resolution,
                md=md,
            )
        )

    return plan()
