"""Where each acquired value sits in the regular NXdata array: the one place that reshapes.

A run's events are placed in a 2-D grid (outer, inner): one event per row (a line
waveform, pyStxm's fly scans) or one event per point (step scans, filled row by row,
snaking if the plan said so). Missing points stay NaN, so an aborted run keeps its shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import NXstxmError


class GridError(NXstxmError, ValueError):
    """Events that do not fit the grid their metadata requested."""


@dataclass(frozen=True)
class Placed:
    """A run's values on its grid, and the flat grid index of every value in acquisition order."""

    grid: np.ndarray
    order: np.ndarray

    def in_order(self) -> np.ndarray:
        """The placed values in acquisition order ([nP], for NXdetector data)."""
        return self.grid.ravel()[self.order]


def is_row(value: object) -> bool:
    """True for a waveform (one event = one row), False for a single value or a datum id."""
    return not isinstance(value, str) and np.ndim(value) > 0


def place(values: Sequence, shape: tuple[int, int], *, snake: bool, where: str) -> Placed:
    """Put per-event values on a (outer, inner) grid; NaN where nothing was acquired.

    Rows longer than the grid are cut to it (the descriptor of a line detector may declare,
    and its waveform may carry, a few more values than the ROI's NPOINTS).
    """
    n_outer, n_inner = shape
    grid = np.full(shape, np.nan)
    order: list[int] = []
    rows = bool(values) and is_row(values[0])
    count = len(values)
    limit = n_outer if rows else n_outer * n_inner
    if count > limit:
        unit = "rows" if rows else "points"
        raise GridError(f"{where}: {count} events of {unit} but the ROIs ask for {limit}")
    for i, value in enumerate(values):
        if rows:
            row = np.asarray(value, dtype=float).ravel()[:n_inner]
            grid[i, : row.size] = row
            order.extend(range(i * n_inner, i * n_inner + row.size))
            continue
        outer, inner = divmod(i, n_inner)
        if snake and outer % 2:
            inner = n_inner - 1 - inner
        grid[outer, inner] = np.nan if isinstance(value, str) else float(value)
        order.append(outer * n_inner + inner)
    return Placed(grid, np.asarray(order, dtype=int))


def expand_like(values: Sequence, per_event: Sequence) -> list:
    """Per-event scalars shaped like ``values`` (a row's scalar repeated along the row)."""
    return [
        np.full(np.size(template), scalar) if is_row(template) else scalar
        for template, scalar in zip(values, per_event, strict=True)
    ]


def line_positions(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance along a line scan from its first point (µm), the line's own axis."""
    return np.hypot(x - x[0], y - y[0])
