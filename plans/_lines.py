"""Scans of one line repeated over a second axis: focus scans and line spectra.

A sample/OSA focus scan repeats a line at each zone-plate Z; a line spectrum repeats
it at each energy.  Both are one run of ``rows × points``: flown (one event per row,
fine X only, horizontal lines) or stepped: hardware-timed rows (one event per row,
horizontal lines of fine X with the counter alone) or point by point (any line).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from bluesky.utils import MsgGenerator

from nxstxm.contract import EnergyRegion, Polarization, Roi, SpatialRegion
from stxm_devices import Beamline

from ._runs import RunSpec, ScanRequest, scan_run
from .acquisition import RowMode, check_fly_line, measured_rows, row_timing, select_detectors
from .checks import PlanArgumentError, check_within_limits
from .metadata import positioner


@dataclass(frozen=True)
class Line:
    """Points along a segment over two positioners (descriptive names)."""

    x_name: str
    xs: np.ndarray
    y_name: str
    ys: np.ndarray

    @property
    def horizontal(self) -> bool:
        return bool(np.all(self.ys == self.ys[0]))

    def path(self, values: np.ndarray) -> np.ndarray:
        """Every point, line by line: (row value, x, y), the line repeated at each value."""
        values = np.asarray(values, dtype=float)
        return np.column_stack(
            [
                np.repeat(values, self.xs.size),
                np.tile(np.asarray(self.xs, dtype=float), values.size),
                np.tile(np.asarray(self.ys, dtype=float), values.size),
            ]
        )


@dataclass(frozen=True)
class Rows:
    """What changes between lines: a positioner and its values.

    ``limits`` is the motor whose limits bound the values (the mono for an energy row,
    which moves the pseudo-positioner ``motor``).
    """

    motor: Any
    values: np.ndarray
    argument: str
    limits: Any = None


def check_line_scan(
    beamline: Beamline, line: Line, rows: Rows, mode: RowMode, dwell_ms: float
) -> MsgGenerator:
    """Plan stub: everything reachable; a fly line must be horizontal fine X."""
    x_motor, y_motor = positioner(beamline, line.x_name), positioner(beamline, line.y_name)
    check_within_limits(rows.limits or rows.motor, rows.values, rows.argument)
    check_within_limits(y_motor, line.ys, "line y")
    if mode is RowMode.LINE:
        if x_motor is not beamline.stage.fine_x or not line.horizontal:
            raise PlanArgumentError(
                "mode='line' flies a horizontal line of the fine stage; use mode='step'"
            )
        yield from check_fly_line(beamline, line.xs, dwell_ms, "line x")
    else:
        check_within_limits(x_motor, line.xs, "line x")


def line_run(
    beamline: Beamline,
    request: ScanRequest,
    line: Line,
    rows: Rows,
    *,
    energies: np.ndarray,
    polarizations: Sequence[Polarization],
    zp: Roi | None = None,
) -> MsgGenerator:
    """One run measuring the line at each row value (checked by :func:`check_line_scan`)."""
    detectors = select_detectors(beamline, request.detector_names, request.mode)
    x_motor, y_motor = positioner(beamline, line.x_name), positioner(beamline, line.y_name)
    timing = row_timing(beamline, request.mode, detectors, x_motor, horizontal=line.horizontal)
    body = measured_rows(
        beamline,
        timing,
        detectors,
        request.dwell_ms,
        rows=(
            line.xs,
            [rows.motor, y_motor],
            np.column_stack([rows.values, np.full(rows.values.size, line.ys[0])]),
        ),
        points=([rows.motor, x_motor, y_motor], lambda: line.path(rows.values)),
    )
    axes = {"X": Roi.of(line.x_name, line.xs), "Y": Roi.of(line.y_name, line.ys)}
    if zp is not None:
        axes["ZP.Z"] = zp
    region = SpatialRegion(0, axes, (EnergyRegion.of(energies, request.dwell_ms, polarizations),))
    spec = RunSpec(
        detectors=detectors,
        motors=[rows.motor, x_motor],
        regions={0: region},
        shape=(rows.values.size, line.xs.size),
        body=body,
        row_mode=timing,
    )
    return (yield from scan_run(beamline, request, spec))
