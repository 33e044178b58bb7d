"""Scans of one line repeated over a second axis: focus scans and line spectra.

A sample/OSA focus scan repeats a line at each zone-plate Z; a line spectrum repeats
it at each energy.  Both are one run of ``rows × points``: flown (one event per row,
fine X only, horizontal lines) or stepped (one event per point, any line).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from bluesky.utils import MsgGenerator

from stxm_devices import Beamline

from ._runs import ScanLabel, labelled_run
from .acquisition import RowMode, check_fly_line, counting, fly_rows, select_detectors, step_path
from .checks import PlanArgumentError, check_dwell, check_within_limits
from .metadata import (
    DESCRIPTIVE_NAMES,
    PolarizationSetting,
    energy_roi,
    image_index,
    region_rois,
    resolve,
    roi,
)


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


@dataclass(frozen=True)
class Rows:
    """What changes between lines: a positioner and its values."""

    motor: Any
    values: np.ndarray
    argument: str


def check_line_scan(
    beamline: Beamline, line: Line, rows: Rows, mode: RowMode, dwell_ms: float
) -> None:
    """Everything reachable before anything moves; a fly line must be horizontal fine X."""
    check_dwell(dwell_ms)
    x_motor = resolve(beamline, DESCRIPTIVE_NAMES[line.x_name])
    y_motor = resolve(beamline, DESCRIPTIVE_NAMES[line.y_name])
    check_within_limits(rows.motor, rows.values, rows.argument)
    check_within_limits(y_motor, line.ys, "line y")
    if mode is RowMode.LINE:
        if x_motor is not beamline.stage.fine_x or not line.horizontal:
            raise PlanArgumentError(
                "mode='line' flies a horizontal line of the fine stage; use mode='step'"
            )
        check_fly_line(beamline, line.xs, dwell_ms, "line x")
    else:
        check_within_limits(x_motor, line.xs, "line x")


def line_run(
    beamline: Beamline,
    label: ScanLabel,
    line: Line,
    rows: Rows,
    *,
    mode: RowMode,
    detector_names: Sequence[str],
    energies: np.ndarray,
    polarizations: Sequence[PolarizationSetting],
    zp: Mapping[str, dict] | None = None,
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """One run: for each row value, measure the line."""
    detectors = select_detectors(beamline, detector_names, mode)
    x_motor = resolve(beamline, DESCRIPTIVE_NAMES[line.x_name])
    y_motor = resolve(beamline, DESCRIPTIVE_NAMES[line.y_name])
    readables = [beamline.ring_current]
    if mode is RowMode.LINE:
        body = fly_rows(
            beamline,
            line.xs,
            [rows.motor, y_motor],
            np.column_stack([rows.values, np.full(rows.values.size, line.ys[0])]),
            label.dwell_ms,
            readables=readables,
        )
    else:
        path = np.array(
            [(r, x, y) for r in rows.values for x, y in zip(line.xs, line.ys, strict=True)]
        )
        body = counting(
            beamline,
            detectors,
            label.dwell_ms,
            step_path([*detectors, *readables], [rows.motor, x_motor, y_motor], path),
        )
    rois = {
        0: region_rois(
            x=roi(line.x_name, line.x_name, line.xs),
            y=roi(line.y_name, line.y_name, line.ys),
            ev_rois=[energy_roi(energies, label.dwell_ms, polarizations)],
            zp=zp,
        )
    }
    return (
        yield from labelled_run(
            beamline,
            label,
            index=0,
            detectors=detectors,
            motors=[rows.motor, x_motor],
            rois=rois,
            image_index=image_index("entry0"),
            shape=(rows.values.size, line.xs.size),
            extra={"row_mode": mode.value},
            body=body,
            md=md,
        )
    )
