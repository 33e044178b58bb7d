"""Trajectory maths for STXM scans: pure numpy, no devices, no bluesky."""

from __future__ import annotations

import numpy as np


def axis_points(center: float, range_: float, npoints: int) -> np.ndarray:
    """``npoints`` evenly spaced positions spanning ``range_`` around ``center``."""
    if npoints == 1:
        return np.array([float(center)])
    return np.linspace(center - range_ / 2.0, center + range_ / 2.0, int(npoints))


def step_of(points: np.ndarray) -> float:
    """Spacing of evenly spaced points (0 for a single point)."""
    return float(points[1] - points[0]) if points.size > 1 else 0.0


def fly_extent(
    points: np.ndarray, dwell_ms: float = 1.0, accel_s: float = 0.0
) -> tuple[float, float]:
    """Where a fly line starts and stops so each dwell bin is centred on a point.

    The counter bins ``len(points)`` equal dwells from the start of the move: the move
    spans half a step before the first point to half a step after the last, shifted
    forward (in the direction of travel) by the distance the stage lags while it
    accelerates (v·accel/2), so bins stay centred on the points and the deceleration
    comes after the last bin.  Points in decreasing order give the reversed line.
    """
    step = step_of(points)
    half = step / 2.0
    lag = np.sign(step) * fly_velocity(points, dwell_ms) * accel_s / 2.0
    return float(points[0] - half + lag), float(points[-1] + half + lag)


def fly_velocity(points: np.ndarray, dwell_ms: float) -> float:
    """Velocity (units/s) that crosses one step per dwell."""
    return abs(step_of(points)) / (dwell_ms / 1000.0)


def energy_points(regions: list[tuple[float, float, int]]) -> np.ndarray:
    """Concatenated energy regions, each (start eV, stop eV, npoints)."""
    return np.concatenate([np.linspace(start, stop, int(n)) for start, stop, n in regions])


def line_points(
    start: tuple[float, float], stop: tuple[float, float], npoints: int
) -> tuple[np.ndarray, np.ndarray]:
    """x and y of ``npoints`` on the segment from ``start`` to ``stop``."""
    return np.linspace(start[0], stop[0], npoints), np.linspace(start[1], stop[1], npoints)


def spiral_points(
    center: tuple[float, float], radius_um: float, step_um: float
) -> tuple[np.ndarray, np.ndarray]:
    """A Fermat spiral filling a disk with roughly ``step_um`` between neighbours.

    Ptychography prefers it to a raster: no periodic grid artefacts, uniform overlap.
    """
    npoints = max(1, int(np.pi * radius_um**2 / step_um**2))
    index = np.arange(npoints)
    radius = step_um * np.sqrt(index / np.pi)
    angle = index * np.pi * (3.0 - np.sqrt(5.0))
    return center[0] + radius * np.cos(angle), center[1] + radius * np.sin(angle)


def pad_columns(pads: int, pad_points: int, gap_points: int) -> np.ndarray:
    """For each column of a pad pattern, the pad it belongs to (-1 in a gap)."""
    columns = []
    for pad in range(pads):
        columns += [pad] * pad_points
        if pad < pads - 1:
            columns += [-1] * gap_points
    return np.asarray(columns)


def pad_dwell_map(
    pads: int, pad_points: int, gap_points: int, dwells_ms: np.ndarray, gap_dwell_ms: float
) -> np.ndarray:
    """Dwell (ms) of each point of a pads × pads pattern; pad (i, j) gets dwells_ms[i·pads + j]."""
    columns = pad_columns(pads, pad_points, gap_points)
    rows, cols = np.meshgrid(columns, columns, indexing="ij")
    in_pad = (rows >= 0) & (cols >= 0)
    return np.where(
        in_pad, np.asarray(dwells_ms)[np.clip(rows * pads + cols, 0, None)], gap_dwell_ms
    )
