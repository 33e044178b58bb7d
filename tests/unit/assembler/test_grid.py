"""Placing events on the regular grid: rows, points, snaking, NaN for what was not acquired."""

from __future__ import annotations

import numpy as np
import pytest

from nxstxm.grid import GridError, expand_like, line_positions, place, received_grid


def test_rows_fill_the_grid_and_long_waveforms_are_cut_to_npoints():
    placed = place([np.arange(6.0), np.arange(6.0) + 10], (3, 4), snake=False, where="run r")
    np.testing.assert_array_equal(placed.grid[:2], [[0, 1, 2, 3], [10, 11, 12, 13]])
    assert np.isnan(placed.grid[2]).all()
    np.testing.assert_array_equal(placed.in_order(), [0, 1, 2, 3, 10, 11, 12, 13])


def test_points_fill_row_by_row_and_snake_when_asked():
    straight = place([0.0, 1.0, 2.0, 3.0, 4.0], (2, 3), snake=False, where="run r")
    snaked = place([0.0, 1.0, 2.0, 3.0, 4.0], (2, 3), snake=True, where="run r")
    np.testing.assert_array_equal(straight.grid[1, :2], [3, 4])
    np.testing.assert_array_equal(snaked.grid[1, 1:], [4, 3])
    np.testing.assert_array_equal(snaked.order, [0, 1, 2, 5, 4])


def test_odd_rows_of_a_bidirectional_fly_scan_are_placed_reversed():
    rows = [np.arange(3.0), np.arange(3.0) + 10, np.arange(3.0) + 20]
    placed = place(rows, (3, 3), snake=True, where="run r")
    np.testing.assert_array_equal(placed.grid, [[0, 1, 2], [12, 11, 10], [20, 21, 22]])
    np.testing.assert_array_equal(placed.order, [0, 1, 2, 5, 4, 3, 6, 7, 8])
    np.testing.assert_array_equal(placed.in_order(), np.concatenate(rows))  # as acquired


def test_more_events_than_the_rois_ask_for_is_an_error_naming_the_run():
    with pytest.raises(GridError, match="run r key 'c': 3 events of rows but the ROIs ask for 2"):
        place([np.zeros(2)] * 3, (2, 2), snake=False, where="run r key 'c'")


def test_datum_ids_take_a_point_each_and_leave_the_grid_empty():
    placed = place(["datum/0", "datum/1"], (1, 2), snake=False, where="r")
    assert np.isnan(placed.grid).all() and list(placed.order) == [0, 1]


def test_expand_like_repeats_a_scalar_along_each_row():
    expanded = expand_like([np.zeros(3), 5.0], [1.0, 2.0])
    np.testing.assert_array_equal(expanded[0], [1.0, 1.0, 1.0])
    assert expanded[1] == 2.0


def test_line_positions_are_distances_from_the_first_point():
    np.testing.assert_allclose(line_positions(np.array([0.0, 3.0]), np.array([0.0, 4.0])), [0, 5])


def test_the_received_grid_is_what_the_events_reach_not_what_the_metadata_claim():
    claimed = (10**6, 10**6)
    assert received_grid([np.arange(4.0)] * 5, claimed, where="r") == (5, 4)  # rows
    assert received_grid([np.arange(9.0)] * 2, (3, 6), where="r") == (2, 6)  # cut to NPOINTS
    assert received_grid([0.0] * 5, claimed, where="r") == (1, 10**6)  # a row begun
    assert received_grid([0.0] * 7, (3, 3), where="r") == (3, 3)
    assert received_grid([], (3, 3), where="r") == (1, 3)  # nothing yet: one empty row


def test_the_received_grid_refuses_more_events_than_the_rois_ask_for():
    with pytest.raises(GridError, match="run r: 7 events of points but the ROIs ask for 6"):
        received_grid([0.0] * 7, (2, 3), where="run r")
