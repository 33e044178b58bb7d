"""The motor sim's position record and the probe shifted to the beam's sub-pixel offset."""

from __future__ import annotations

import numpy as np

from iocs.motion import Trajectory
from iocs.motor_record import SimMotor
from iocs.physics import StxmModel
from iocs.physics.diffraction import _probe


def test_a_motor_answers_for_past_times_after_a_new_move_began():
    motor = SimMotor(prefix="X:", clock=lambda: 0.0)
    motor.trajectory = Trajectory(0.0, 10.0, t0=1.0, velocity=10.0)
    motor.trajectory = Trajectory(float(motor.position_at(1.5)), 0.0, t0=1.5, velocity=10.0)
    np.testing.assert_allclose(motor.position_at([0.5, 1.25, 1.5, 1.75, 3.0]), [0, 2.5, 5, 2.5, 0])
    assert float(motor.position_at(1.25)) == 2.5  # the move under way then, not the current


def test_a_probe_shifted_by_one_pixel_is_the_centred_probe_moved_one_pixel():
    zone_plate = StxmModel().zone_plate(7)
    dx = 0.02
    centred = _probe(zone_plate, 700.0, 0.0, (64, 64), dx)
    shifted = _probe(zone_plate, 700.0, 0.0, (64, 64), dx, (0.0, dx))
    np.testing.assert_allclose(shifted, np.roll(centred, 1, axis=1), atol=1e-6)
    assert np.isclose(np.sum(np.abs(shifted) ** 2), 1.0, rtol=1e-5)  # unit power
    # Centred on the array's centre, as the fftshifted inverse FFT of the pupil was.
    assert np.unravel_index(np.argmax(np.abs(centred)), centred.shape) == (32, 32)
