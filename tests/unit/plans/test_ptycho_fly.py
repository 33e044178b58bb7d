"""Fly ptychography's arguments and row geometry (no IOC): refused before anything moves."""

from __future__ import annotations

import numpy as np
import pytest

import plans
from plans.checks import PlanArgumentError
from plans.ptycho_scan import _row, _row_extent
from stxm_devices import make_beamline

REGION = plans.Region(0, 1, 5, 0, 1, 3)


@pytest.fixture(scope="module")
def beamline():
    return make_beamline("UNITFLY:", connect=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "glide"}, "mode='glide' is not one of step, fly"),
        ({"region": None, "spiral_center_um": (0, 0)}, "flies the rows of a grid"),
        ({"detectors": ("detector", "counter")}, "reads the area detector alone"),
    ],
)
def test_fly_arguments_are_refused_when_the_plan_is_made(beamline, changes, message):
    arguments = {"region": REGION, "dwell_ms": 2.0, "mode": "fly", **changes}
    with pytest.raises(PlanArgumentError, match=message):
        plans.ptycho_scan(beamline, **arguments)


def test_serpentine_rows_fly_there_and_back_centring_each_dwell_on_its_point():
    points = np.linspace(0.0, 0.4, 5)
    accel_s, dwell_ms = 0.0005, 2.0
    lag = 0.1 / (dwell_ms / 1000) * accel_s / 2  # the distance the ramp loses
    assert np.array_equal(_row(points, 1), points[::-1])
    np.testing.assert_allclose(_row_extent(points, dwell_ms, accel_s), (-0.05 + lag, 0.45 + lag))
    np.testing.assert_allclose(
        _row_extent(points[::-1], dwell_ms, accel_s), (0.45 - lag, -0.05 - lag)
    )
