"""ptycho_scan states the detector geometry the .ptyd needs: the sim's own, else given."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from bluesky import RunEngine
from ophyd import Signal

from iocs.physics import SIM_CAMERA_MODEL, FarFieldDetector
from plans.checks import PlanArgumentError
from plans.ptycho_scan import check_geometry, detector_geometry


@pytest.fixture(scope="module")
def RE():
    return RunEngine({}, call_returns_result=True)


def _ophyd_camera(model: str, width: int = 256) -> SimpleNamespace:
    """Just the camera signals detector_geometry reads (ophyd Signals, no IOC)."""
    size = SimpleNamespace(array_size_x=Signal(name="cam_array_size_x", value=width))
    return SimpleNamespace(
        cam=SimpleNamespace(model=Signal(name="cam_model", value=model), array_size=size)
    )


def _geometry(RE, detector, pixel=None, distance=None):
    return RE(detector_geometry(detector, pixel, distance)).plan_result


def test_the_simulated_camera_states_its_own_pixel_and_distance(RE):
    sim = FarFieldDetector()
    assert _geometry(RE, _ophyd_camera(SIM_CAMERA_MODEL)) == (55.0, sim.distance_mm)
    assert _geometry(RE, _ophyd_camera(SIM_CAMERA_MODEL, 128))[0] == 110.0  # binned


def test_an_ophyd_async_driver_is_read_alike(RE):
    driver = SimpleNamespace(
        model=Signal(name="driver_model", value=SIM_CAMERA_MODEL),
        array_size_x=Signal(name="driver_array_size_x", value=64),
    )
    assert _geometry(RE, SimpleNamespace(driver=driver))[0] == 220.0


def test_another_camera_needs_its_geometry_given(RE):
    with pytest.raises(PlanArgumentError, match="detector_pixel_um and detector_distance_mm"):
        _geometry(RE, _ophyd_camera("Pilatus 300K"))
    assert _geometry(RE, _ophyd_camera("Pilatus 300K"), 172.0, 2500.0) == (172.0, 2500.0)


@pytest.mark.parametrize("pixel, distance", [(0.0, 100.0), (55.0, float("nan")), (-1.0, None)])
def test_geometry_must_be_positive_and_finite(pixel, distance):
    with pytest.raises(PlanArgumentError, match="must be a positive number"):
        check_geometry(pixel, distance)


def test_the_known_sim_camera_is_the_simulated_one():
    from stxm_devices.cameras import SIM_CAMERA

    sim = FarFieldDetector()
    assert SIM_CAMERA.model == SIM_CAMERA_MODEL
    assert (SIM_CAMERA.width_mm, SIM_CAMERA.distance_mm) == (sim.width_mm, sim.distance_mm)
