import numpy as np
import pytest

from plans._patterns import (
    axis_points,
    energy_points,
    fly_extent,
    fly_velocity,
    pad_dwell_map,
    spiral_points,
)


def test_axis_points_span_the_range_around_the_center():
    points = axis_points(10.0, 4.0, 5)
    assert points == pytest.approx([8, 9, 10, 11, 12])
    assert axis_points(3.0, 4.0, 1) == pytest.approx([3.0])


def test_fly_line_bins_are_centred_on_the_points():
    points = np.linspace(-4, 4, 16)
    dwell_ms, accel_s = 1.0, 0.0005
    start, stop = fly_extent(points, dwell_ms, accel_s)
    velocity = fly_velocity(points, dwell_ms)
    assert velocity == pytest.approx((points[1] - points[0]) / 1e-3)
    # A trapezoid from start: ramp of accel_s, then cruise; bin i centred at (i + ½)·dwell.
    t = (np.arange(points.size) + 0.5) * dwell_ms / 1000
    position = start + velocity * (t - accel_s / 2)
    assert position == pytest.approx(points)
    assert stop - start == pytest.approx(points.size * (points[1] - points[0]) + 0.0)


def test_a_reversed_fly_line_mirrors_its_extent_so_its_bins_fall_on_the_same_points():
    points = np.linspace(-4, 4, 16)
    dwell_ms, accel_s = 1.0, 0.0005
    forward = fly_extent(points, dwell_ms, accel_s)
    start, stop = fly_extent(points[::-1], dwell_ms, accel_s)
    assert (start, stop) == pytest.approx((-forward[0], -forward[1]))  # mirrored about 0
    velocity = fly_velocity(points, dwell_ms)
    t = (np.arange(points.size) + 0.5) * dwell_ms / 1000
    position = start - velocity * (t - accel_s / 2)  # travelling towards -X
    assert position == pytest.approx(points[::-1])


def test_energy_regions_concatenate():
    assert energy_points([(280, 284, 3), (285, 286, 2)]) == pytest.approx([280, 282, 284, 285, 286])


def test_spiral_fills_a_disk_with_the_requested_spacing():
    x, y = spiral_points((1.0, 2.0), radius_um=2.0, step_um=0.2)
    radius = np.hypot(x - 1.0, y - 2.0)
    assert radius.max() <= 2.0 + 1e-9
    nearest = [np.sort(np.hypot(x - xi, y - yi))[1] for xi, yi in zip(x, y, strict=True)]
    assert 0.1 < np.median(nearest) < 0.3


def test_pad_dwell_map_gives_each_pad_its_dwell_and_gaps_the_gap_dwell():
    dwell = pad_dwell_map(2, 2, 1, np.array([1.0, 2.0, 3.0, 4.0]), 0.1)
    assert dwell.shape == (5, 5)
    assert dwell[0, 0] == 1.0 and dwell[0, 4] == 2.0 and dwell[4, 0] == 3.0 and dwell[4, 4] == 4.0
    assert dwell[2, 2] == 0.1 and dwell[0, 2] == 0.1
