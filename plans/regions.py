"""A spatial region of interest, in the units users think in (µm)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._patterns import axis_points
from .checks import check_count


@dataclass(frozen=True)
class Region:
    """A rectangle of ``nx`` × ``ny`` points centred on (x_center_um, y_center_um)."""

    x_center_um: float
    x_range_um: float
    nx: int
    y_center_um: float
    y_range_um: float
    ny: int

    def __post_init__(self) -> None:
        check_count(self.nx, "nx")
        check_count(self.ny, "ny")

    @property
    def x_points(self) -> np.ndarray:
        return axis_points(self.x_center_um, self.x_range_um, self.nx)

    @property
    def y_points(self) -> np.ndarray:
        return axis_points(self.y_center_um, self.y_range_um, self.ny)
