"""Where each acquired value sits on its run's grid; with the layout, the one place that reshapes.

A run's events are placed in a 2-D grid (outer, inner): one event per row (a line
waveform, pyStxm's fly scans) or one event per point (step scans, filled row by row);
odd rows run backwards if the plan said so (``snaking``: a bidirectional fly scan).
The metadata give the intended grid; the arrays are sized by the events received
(:func:`received_grid`), so metadata alone allocate no more than their ROIs'
positions, and an aborted run's arrays end where its events did. Points of a row not
completed stay NaN.
The layout of the run's scan type gives the grid (:class:`Geometry`) and arranges the
placed runs (:class:`PlacedRun`) into NXdata arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .collector import Run
from .errors import NXstxmError
from .metadata import StxmMetadata
from .model import Axis, FrameSet
from .streams import Field


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
    """True for a waveform (one event = one row), False for a single value or a datum id.

    Plain numbers, what a step scan's events hold, are answered without numpy: this runs
    once per event.
    """
    return not isinstance(value, (str, float, int)) and np.ndim(value) > 0


def events_are_rows(values: Sequence, shape: tuple[int, int], *, where: str) -> bool:
    """Whether each event is a row; a GridError if more arrived than the ROIs ask for."""
    n_outer, n_inner = shape
    rows = len(values) > 0 and is_row(values[0])
    limit = n_outer if rows else n_outer * n_inner
    if len(values) > limit:
        unit = "rows" if rows else "points"
        raise GridError(f"{where}: {len(values)} events of {unit} but the ROIs ask for {limit}")
    return rows


def received_grid(values: Sequence, intended: tuple[int, int], *, where: str) -> tuple[int, int]:
    """The part of the ``intended`` (outer, inner) grid the events reach, at least one row.

    Rows: as many as events, as wide as the widest (up to the intended width). Points:
    the rows they start, each the intended width (a row's remaining points are NaN).
    """
    n_outer, n_inner = intended
    rows = events_are_rows(values, (n_outer, n_inner), where=where)
    count = len(values)
    if rows:
        return count, min(n_inner, max(np.size(value) for value in values))
    return max(1, -(-count // n_inner)), n_inner


def place(values: Sequence, shape: tuple[int, int], *, snake: bool, where: str) -> Placed:
    """Put per-event values on a (outer, inner) grid; NaN where nothing was acquired.

    Rows longer than the grid are cut to it (the descriptor of a line detector may declare,
    and its waveform may carry, a few more values than the ROI's NPOINTS). With ``snake``
    every odd row (a row event, or a row of point events) was acquired from the last
    column back to the first, as a bidirectional fly scan flies it.
    """
    n_outer, n_inner = shape
    grid = np.full(shape, np.nan)
    rows = events_are_rows(values, (n_outer, n_inner), where=where)
    count = len(values)
    if rows:
        order: list[int] = []
        for i, value in enumerate(values):
            row = np.asarray(value, dtype=float).ravel()[:n_inner]
            columns = np.arange(row.size)
            if snake and i % 2:
                columns = n_inner - 1 - columns
            grid[i, columns] = row
            order.extend(i * n_inner + columns)
        return Placed(grid, np.asarray(order, dtype=int))
    outer, inner = np.divmod(np.arange(count), n_inner)
    if snake:
        inner = np.where(outer % 2 == 1, n_inner - 1 - inner, inner)
    flat = outer * n_inner + inner
    grid.flat[flat] = _scalars(values)
    return Placed(grid, flat)


def _scalars(values: Sequence) -> np.ndarray:
    """One float per event, NaN for a datum id; as one array when the values are numbers.

    A step scan's thousands of points convert in one call; anything else (datum ids, odd
    types) goes value by value, which raises as ``float`` does for what is not a number.
    """
    try:
        array = np.asarray(values)
    except ValueError:  # ragged: a row among points
        array = None
    if array is not None and array.ndim == 1 and array.dtype.kind in "biuf":
        return array.astype(float)
    return np.array([np.nan if isinstance(v, str) else float(v) for v in values], dtype=float)


def expand_like(values: Sequence, per_event: Sequence) -> Sequence:
    """Per-event scalars shaped like ``values`` (a row's scalar repeated along the row).

    Events of points need nothing done: as :func:`place`, the first event tells.
    """
    if len(values) == 0 or not is_row(values[0]):
        return per_event
    return [
        np.full(np.size(template), scalar) if is_row(template) else scalar
        for template, scalar in zip(values, per_event, strict=True)
    ]


def line_positions(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance along a line scan from its first point (µm), the line's own axis."""
    return np.hypot(x - x[0], y - y[0])


@dataclass(frozen=True)
class Position:
    """An instrument position over a run's grid: along one grid dimension, or held still."""

    values: np.ndarray
    #: The grid dimension the values run along (0 outer, 1 inner); None: ``values[0]`` everywhere.
    dim: int | None = None

    def at(self, flat: np.ndarray, width: int) -> np.ndarray:
        """The position at flat grid indices of a grid ``width`` points wide."""
        if self.dim is None:
            return np.full(flat.shape, self.values[0])
        return self.values[flat // width if self.dim == 0 else flat % width]


@dataclass(frozen=True)
class Geometry:
    """One run's grid and the coordinates of its grid points.

    ``grid`` is the intended (outer, inner) shape events are placed on; ``positions``
    maps each instrument position (sample_x, sample_y, zoneplate_z, energy) to its value
    over the grid; ``axes``/``coordinates`` describe the NXdata, ``along`` names the
    coordinates that run along a grid dimension (cut with it to what was received).
    """

    grid: tuple[int, int]
    axes: tuple[str, ...]
    coordinates: list[Axis]
    positions: dict[str, Position]
    along: dict[str, int]

    @property
    def npoints(self) -> int:
        return self.grid[0] * self.grid[1]

    def coordinates_on(self, shape: tuple[int, int]) -> list[Axis]:
        """The NXdata coordinates of the ``shape`` part of the grid that events reached."""
        return [
            replace(c, values=c.values[: shape[self.along[c.name]]]) if c.name in self.along else c
            for c in self.coordinates
        ]


@dataclass
class PlacedRun:
    """One run on its grid: every detector's values, the ring current, measured positions."""

    run: Run
    md: StxmMetadata
    geo: Geometry
    fields: list[Field]
    values: dict[str, Placed] = field(default_factory=dict)
    frames: dict[str, FrameSet] = field(default_factory=dict)
    monitor: Placed | None = None
    measured: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def order(self) -> np.ndarray:
        return self.monitor.order

    @property
    def shape(self) -> tuple[int, int]:
        """The part of the intended grid the run's events reached."""
        return self.monitor.grid.shape

    def positions(self, name: str) -> np.ndarray:
        """An instrument position at every acquired point: measured if read, else requested."""
        if name in self.measured:
            return self.measured[name]
        return self.geo.positions[name].at(self.order, self.shape[1])
