import numpy as np
import pytest

from iocs.motion import Axis, StepProfile, Trajectory, fly_raster


def test_long_move_is_trapezoidal():
    move = Trajectory(start=0.0, target=10.0, t0=1.0, velocity=5.0, accel_time=0.1)
    assert move.duration == pytest.approx(2.1)
    assert move.position_at(1.0) == pytest.approx(0.0)
    assert move.position_at(move.end_time) == pytest.approx(10.0)
    assert move.position_at(1.0 + 1.05) == pytest.approx(5.0)  # midpoint by symmetry
    samples = move.position_at(np.linspace(0.0, 4.0, 400))
    assert np.all(np.diff(samples) >= -1e-12)
    assert np.max(np.diff(samples) / (4.0 / 399)) <= 5.0 + 1e-9


def test_short_move_is_a_triangle_and_short():
    move = Trajectory(start=0.0, target=-0.01, t0=0.0, velocity=5.0, accel_time=0.1)
    assert move.duration < 0.1
    assert move.position_at(move.duration) == pytest.approx(-0.01)
    assert move.position_at(move.duration / 2) == pytest.approx(-0.005)


def test_positions_outside_the_move_are_its_ends():
    move = Trajectory(start=2.0, target=4.0, t0=10.0, velocity=1.0)
    assert move.position_at([0.0, 100.0]) == pytest.approx([2.0, 4.0])


def test_at_rest_never_moves():
    rest = Trajectory.at_rest(3.0, t0=5.0)
    assert rest.duration == 0.0
    assert rest.position_at([0.0, 5.0, 9.0]) == pytest.approx([3.0] * 3)


def test_a_step_profile_holds_at_each_target_for_the_hold_time():
    motion = {"velocity": 100.0, "accel_time": 0.01}
    profile = StepProfile.through(0.0, np.array([1.0, 2.0, 3.0]), t0=5.0, hold=0.5, **motion)
    single = Trajectory(start=0.0, target=1.0, t0=0.0, **motion).duration
    np.testing.assert_allclose(np.diff(profile.arrivals), single + 0.5)  # move, hold, next
    assert profile.arrivals[0] == pytest.approx(5.0 + single)
    np.testing.assert_allclose(profile.position_at(profile.arrivals + 0.25), [1.0, 2.0, 3.0])
    assert profile.position_at(4.0) == pytest.approx(0.0)  # before it starts: the start
    assert (profile.start, profile.target, profile.direction) == (0.0, 3.0, 1)
    assert profile.end_time == pytest.approx(profile.arrivals[-1])
    samples = profile.position_at(np.linspace(4.0, profile.end_time + 1, 2000))
    assert np.all(np.diff(samples) >= -1e-12) and samples[-1] == pytest.approx(3.0)


def test_a_fly_raster_flies_each_row_from_rest_and_triggers_only_at_the_flies():
    x = Axis(position=0.0, velocity=1000.0, accel_time=0.001)
    y = Axis(position=5.0, velocity=1000.0, accel_time=0.001)
    starts, stops, ys = np.array([1.0, 3.0]), np.array([3.0, 1.0]), np.array([6.0, 7.0])
    x_profile, y_profile = fly_raster(x, y, starts, stops, ys, 50.0, t0=10.0)
    flies = [x_profile.moves[1], x_profile.moves[3]]
    assert x_profile.trigger_times == tuple(fly.t0 for fly in flies)
    assert y_profile.trigger_times == ()
    for fly, start, stop, row_y in zip(flies, starts, stops, ys, strict=True):
        alone = Trajectory(start, stop, fly.t0, 50.0, 0.001)
        mid = fly.t0 + np.linspace(0.0, fly.duration, 7)
        np.testing.assert_array_equal(x_profile.position_at(mid), alone.position_at(mid))
        np.testing.assert_allclose(y_profile.position_at(mid), row_y)  # Y still meanwhile
    # The next row starts once the last one is flown and both axes are at its start.
    assert flies[1].t0 >= flies[0].end_time
    assert x_profile.end_time == flies[1].end_time and x_profile.target == 1.0
