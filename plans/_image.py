"""What every image-like scan shares: its grid, its region, its checks and its rows.

Sample images, stacks, tomography, OSA/detector/coarse/goniometer images, the pattern
generator and ptychography grids all measure a 2-D grid of points over two
positioners; this module turns a grid into the contract's region and one run's spec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.contract import EnergyRegion, ImageIndex, Polarization, Roi, SpatialRegion
from stxm_devices import Beamline

from ._runs import FIRST_ENTRY, RunSpec, ScanRequest, scan_run
from .acquisition import RowMode, check_fly_line, measured_rows, row_timing, select_detectors
from .checks import PlanArgumentError, check_within_limits
from .metadata import positioner


@dataclass(frozen=True)
class Grid:
    """Two positioners (by descriptive name, see metadata.DESCRIPTIVE_NAMES) and their points."""

    x_name: str
    x_points: np.ndarray
    y_name: str
    y_points: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.y_points.size, self.x_points.size

    def motors(self, beamline: Beamline) -> tuple[Any, Any]:
        return positioner(beamline, self.x_name), positioner(beamline, self.y_name)

    def path(self) -> np.ndarray:
        """Every point, row by row: (y, x) pairs."""
        ys, xs = np.meshgrid(self.y_points, self.x_points, indexing="ij")
        return np.column_stack([ys.ravel(), xs.ravel()])

    def region(
        self,
        energies: np.ndarray,
        dwell_ms: float,
        polarizations: Sequence[Polarization],
        *,
        sp_id: int = 0,
        resolution: str = "FINE",
        goni: Roi | None = None,
    ) -> SpatialRegion:
        """The contract's ``rois[sp_id]`` of this grid: its X/Y ROIs and one energy region."""
        axes = {
            "X": Roi.of(self.x_name, self.x_points, resolution=resolution),
            "Y": Roi.of(self.y_name, self.y_points, resolution=resolution),
        }
        if goni is not None:
            axes["GONI.T"] = goni
        return SpatialRegion(sp_id, axes, (EnergyRegion.of(energies, dwell_ms, polarizations),))


def check_grid(
    beamline: Beamline, grid: Grid, mode: RowMode, dwell_ms: float, *, bidirectional: bool = False
) -> MsgGenerator:
    """Plan stub: every point of ``grid`` reachable, a fly line flyable (both ways if asked)."""
    x_motor, y_motor = grid.motors(beamline)
    check_within_limits(y_motor, grid.y_points, f"y ({grid.y_name})")
    if mode is RowMode.LINE:
        if x_motor is not beamline.stage.fine_x:
            raise PlanArgumentError(f"mode='line' flies the fine X stage, not {grid.x_name}")
        yield from check_fly_line(
            beamline, grid.x_points, dwell_ms, f"x ({grid.x_name})", bidirectional=bidirectional
        )
    else:
        check_within_limits(x_motor, grid.x_points, f"x ({grid.x_name})")


def image_rows(
    beamline: Beamline, request: ScanRequest, grid: Grid, detectors: Sequence[Any]
) -> MsgGenerator:
    """The events of one image: a row per event (line, step) or a point per event (point)."""
    x_motor, y_motor = grid.motors(beamline)
    timing = row_timing(beamline, request.mode, detectors, x_motor, horizontal=True)
    return (
        yield from measured_rows(
            beamline,
            timing,
            detectors,
            request.dwell_ms,
            rows=(grid.x_points, [y_motor], grid.y_points[:, None]),
            points=([y_motor, x_motor], grid.path),
            bidirectional=request.bidirectional,
        )
    )


def image_spec(
    beamline: Beamline,
    request: ScanRequest,
    grid: Grid,
    regions: Mapping[int, SpatialRegion],
    *,
    place: ImageIndex = FIRST_ENTRY,
    index: int = 0,
    body: MsgGenerator | None = None,
) -> RunSpec:
    """The run measuring ``grid``; ``body`` (a plan's own point path) replaces the rows."""
    detectors = select_detectors(beamline, request.detector_names, request.mode)
    x_motor, y_motor = grid.motors(beamline)
    timing = (
        RowMode.POINT
        if body is not None
        else row_timing(beamline, request.mode, detectors, x_motor, horizontal=True)
    )
    return RunSpec(
        detectors=detectors,
        motors=[y_motor, x_motor],
        regions=regions,
        shape=grid.shape,
        body=body or image_rows(beamline, request, grid, detectors),
        place=place,
        index=index,
        extents=(
            (grid.y_points[0], grid.y_points[-1]),
            (grid.x_points[0], grid.x_points[-1]),
        ),
        row_mode=timing,
        # bluesky's own key for serpentine rows: the assembler places odd rows reversed.
        extra={"snaking": [False, request.bidirectional]},
    )


def current_energy(beamline: Beamline) -> MsgGenerator[np.ndarray]:
    """Plan stub: the mono energy now, as a one-point energy axis."""
    energy = yield from bps.rd(beamline.energy.mono)
    return np.array([float(energy)])


def single_image(
    beamline: Beamline,
    request: ScanRequest,
    grid: Grid,
    *,
    body: MsgGenerator | None = None,
) -> MsgGenerator:
    """One image at the current energy: check ``grid`` (before anything moves), measure it."""
    yield from check_grid(
        beamline, grid, request.mode, request.dwell_ms, bidirectional=request.bidirectional
    )
    energies = yield from current_energy(beamline)
    region = grid.region(
        energies, request.dwell_ms, [Polarization()], resolution=request.resolution
    )
    spec = image_spec(beamline, request, grid, {0: region}, body=body)
    return (yield from scan_run(beamline, request, spec))
