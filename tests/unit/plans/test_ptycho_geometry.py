"""ptycho_scan states the detector geometry the .ptyd needs: the sim's own, else given."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ophyd import Signal

from iocs.physics import SIM_CAMERA_MODEL, FarFieldDetector
from plans.checks import PlanArgumentError
from plans.ptycho_scan import detector_geometry


def _beamline(model: str, size_x: int = 256) -> SimpleNamespace:
    """Just the camera signals detector_geometry reads (ophyd Signals, no IOC)."""
    cam = SimpleNamespace(
        model=Signal(name="cam_model", value=model),
        size=SimpleNamespace(size_x=Signal(name="cam_size_x", value=size_x)),
    )
    return SimpleNamespace(detector=SimpleNamespace(cam=cam))


def test_the_simulated_camera_states_its_own_pixel_and_distance():
    sim = FarFieldDetector()
    assert detector_geometry(_beamline(SIM_CAMERA_MODEL), None, None) == (55.0, sim.distance_mm)
    assert detector_geometry(_beamline(SIM_CAMERA_MODEL, 128), None, None)[0] == 110.0  # binned


def test_another_camera_needs_its_geometry_given():
    with pytest.raises(PlanArgumentError, match="detector_pixel_um and detector_distance_mm"):
        detector_geometry(_beamline("Pilatus 300K"), None, None)
    assert detector_geometry(_beamline("Pilatus 300K"), 172.0, 2500.0) == (172.0, 2500.0)


@pytest.mark.parametrize("pixel, distance", [(0.0, 100.0), (55.0, float("nan")), (-1.0, 1.0)])
def test_geometry_must_be_positive_and_finite(pixel, distance):
    with pytest.raises(PlanArgumentError, match="must be a positive number"):
        detector_geometry(_beamline("Pilatus 300K"), pixel, distance)
