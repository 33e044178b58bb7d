"""Fly ptychography over Channel Access: each frame sits where the stage was mid-exposure.

The sim (one process, noise off) flies fine X along each row while its camera free-runs;
the frame positions the detector IOC recorded are compared with the motion profile the
stage executes (its VELO/ACCL/VBAS, read over Channel Access) at each frame's
mid-exposure, the frames in the IOC's file with the physics model's frames at those
positions, and the assembled NXstxm file and ``.ptyd`` with what was recorded.  No
timing is asserted.
"""

from __future__ import annotations

from pathlib import Path

import epics
import h5py
import hdf5plugin  # noqa: F401  (reads the IOC's files whatever their compression)
import numpy as np
import pytest
from event_model import unpack_event_page

import plans
from iocs.motion import Trajectory
from iocs.physics import FarFieldDetector, StxmModel
from iocs.positions import MOTOR_AXES, SETTINGS, beam_state
from iocs.prefixes import SUBSYSTEM_PREFIXES
from nxstxm import NXstxmAssembler, check_file
from plans.ptycho_scan import _row, _row_extent

from .conftest import SIM_PREFIX

#: Across the right edge of the phantom's particle at (-4.05, 2.05), radius 3.9 µm.
REGION = plans.Region(-0.13, 0.6, 7, 2.05, 0.4, 3)
DWELL_MS = 4.0
SIZE = 64


def caget(name: str, **kwargs):
    return epics.caget(SIM_PREFIX + name, use_monitor=False, timeout=5, **kwargs)


class PositionsAt:
    """A frame's beam-state inputs: over Channel Access, but fine X/Y where it was recorded
    and the ring current its file's NDAttribute gives (the current drifts with time)."""

    def __init__(self, fine_x: float, fine_y: float, ring_current: float) -> None:
        self.fine = {"fine_x": fine_x, "fine_y": fine_y}
        self.ring_current = ring_current

    def position(self, axis: str, times):
        if axis in self.fine:
            return np.full(np.shape(times), self.fine[axis])
        ioc, _, suffix = MOTOR_AXES[axis]
        return np.full(np.shape(times), caget(f"{SUBSYSTEM_PREFIXES[ioc]}{suffix}.RBV"))

    def setting(self, name: str):
        if name == "ring_current":
            return self.ring_current
        ioc, _, suffix = SETTINGS[name]
        return caget(f"{SUBSYSTEM_PREFIXES[ioc]}{suffix}", as_string=name == "polarization")


@pytest.fixture
def fly_scan(RE, noiseless, camera_restored, tmp_path):
    """A fly ptycho scan of REGION into ``tmp_path``: (NXstxm file, documents)."""
    beamline = noiseless
    detector = beamline.detector
    previous = detector.hdf1.write_path_template
    detector.hdf1.write_path_template = f"{tmp_path}/data/ioc/"
    for axis in ("SizeX", "SizeY"):
        epics.caput(f"{detector.cam.prefix}{axis}", SIZE, wait=True, timeout=10)
    assembler = NXstxmAssembler(tmp_path / "data")
    documents = []
    try:
        plan = plans.ptycho_scan(beamline, region=REGION, dwell_ms=DWELL_MS, mode="fly")
        RE(plan, [assembler, lambda name, doc: documents.append((name, doc))])
    finally:
        detector.hdf1.write_path_template = previous
    assert assembler.errors == []
    [path] = assembler.written
    return path, documents


def _expected_positions(beamline) -> tuple[np.ndarray, np.ndarray]:
    """Fine X and Y at each frame's mid-exposure on the stage's motion profile, in order.

    Each row's series starts when fine X starts moving (TriggerMode External), so frame
    k's mid-exposure is (k + ½)·dwell into the move.
    """
    fine_x = beamline.stage.fine_x
    accel_s = float(fine_x.acceleration.get(use_monitor=False))
    base_velocity = float(caget(f"{SUBSYSTEM_PREFIXES['stage']}FineX.VBAS"))
    dwell_s = DWELL_MS / 1000.0
    velocity = abs(REGION.x_points[1] - REGION.x_points[0]) / dwell_s
    mid = (np.arange(REGION.nx) + 0.5) * dwell_s
    xs, ys = [], []
    for k, y in enumerate(REGION.y_points):
        start, stop = _row_extent(_row(REGION.x_points, k), DWELL_MS, accel_s)
        profile = Trajectory(start, stop, 0.0, velocity, accel_s, base_velocity)
        xs.append(profile.position_at(mid))
        ys.append(np.full(REGION.nx, y))
    return np.concatenate(xs), np.concatenate(ys)


def _primary(documents) -> list[dict]:
    """The primary stream's events (a fly scan's come in event pages, a page per row)."""
    [descriptor] = [
        doc for name, doc in documents if name == "descriptor" and doc["name"] == "primary"
    ]
    pages = [
        doc
        for name, doc in documents
        if name == "event_page" and doc["descriptor"] == descriptor["uid"]
    ]
    return [event for page in pages for event in unpack_event_page(page)]


def _frames(documents) -> tuple[np.ndarray, np.ndarray]:
    """The frames the IOC wrote and each one's ring current (its NDAttribute)."""
    [resource] = [doc for name, doc in documents if name == "resource"]
    with h5py.File(Path(resource["root"]) / resource["resource_path"], "r") as h5:
        return h5["entry/data/data"][()], h5["entry/instrument/NDAttributes/RingCurrent"][()]


def test_fly_frames_sit_where_the_stage_was_mid_exposure(fly_scan, beamline):
    path, documents = fly_scan
    events = _primary(documents)
    assert len(events) == REGION.nx * REGION.ny
    x = np.array([event["data"][beamline.stage.fine_x.name] for event in events])
    y = np.array([event["data"][beamline.stage.fine_y.name] for event in events])
    expected_x, expected_y = _expected_positions(beamline)
    step = REGION.x_points[1] - REGION.x_points[0]
    np.testing.assert_allclose(x, expected_x, atol=0.01 * step)
    np.testing.assert_allclose(y, expected_y, atol=0.01 * step)
    # On the grid (serpentine) as planned: the profile centres each frame on its point.
    planned = np.concatenate([_row(REGION.x_points, k) for k in range(REGION.ny)])
    np.testing.assert_allclose(x, planned, atol=0.05 * step)

    frames, ring_currents = _frames(documents)
    assert frames.shape == (len(events), SIZE, SIZE)
    camera = FarFieldDetector(shape=(SIZE, SIZE))
    model = StxmModel()
    totals = [event["data"][beamline.detector.stats1.total.name] for event in events]
    for frame, fx, fy, total, current in zip(frames, x, y, totals, ring_currents, strict=True):
        state = beam_state(PositionsAt(fx, fy, current), 0.0)
        np.testing.assert_array_equal(frame, camera.frame(model, state, DWELL_MS / 1000.0))
        assert total == frame.sum(dtype=np.int64)
    assert len({frame.tobytes() for frame in frames}) > 1  # the frames differ along a row


def test_fly_scan_assembles_into_a_checked_file_and_ptyd_at_the_measured_positions(
    fly_scan, beamline
):
    path, documents = fly_scan
    report = check_file(path)
    assert report.ok, report.text()
    assert check_file(path.with_suffix(".ptyd")).ok
    events = _primary(documents)
    x = np.array([event["data"][beamline.stage.fine_x.name] for event in events])
    totals = np.array([event["data"][beamline.detector.stats1.total.name] for event in events])
    with h5py.File(path) as nexus:
        measured_x = nexus["entry0/instrument/sample_x/data"][()]
        image = nexus["entry0"][nexus["entry0"].attrs["default"]]["data"][()]
    np.testing.assert_allclose(measured_x, x)
    # The serpentine's return rows are placed back in X order on the image grid.
    rows = totals.reshape(REGION.ny, REGION.nx)
    rows[1::2] = rows[1::2, ::-1]
    np.testing.assert_array_equal(image, rows)
    with h5py.File(path.with_suffix(".ptyd"), "r") as h5:
        np.testing.assert_allclose(h5["chunks/0/positions"][:, 1], x * 1e-6)
        np.testing.assert_array_equal(h5["chunks/0/data"][()], _frames(documents)[0])


def test_the_stage_refuses_a_raster_outside_its_limits_before_anything_moves(beamline):
    raster, fine_x = beamline.stage.raster, beamline.stage.fine_x
    before = fine_x.position
    for signal, value in (
        (raster.x_starts, [before, 49.0]),
        (raster.x_stops, [before + 1.0, 60.0]),  # the second row runs out past +50 µm
        (raster.ys, [0.0, 0.1]),
        (raster.velocity, 10.0),
    ):
        signal.put(value, wait=True)
    raster.execute.put(1, wait=True, timeout=10)  # refused (pyepics does not raise)
    message = caget(f"{SUBSYSTEM_PREFIXES['stage']}Message_RBV", as_string=True)
    assert "Raster:" in message and "60.0000" in message, message
    assert fine_x.user_readback.get(use_monitor=False) == pytest.approx(before)
