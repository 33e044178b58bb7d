"""Ptychography (scan type 13): a diffraction frame at each point of a grid or a spiral.

The area detector records a far-field frame per point (step mode: the stage stops,
the detector exposes); the frames stay in the files the detector IOC writes and the
NXstxm file links them.  A grid is recorded like an image (nY × nX); a spiral's points
are listed in order (``scan_positions`` in the start document, nP × 2, µm).

The detector's pixel size and distance go into ``plan_args`` (the ``.ptyd`` states them
for ptypy): given, or for the simulated camera its own (read as the plan starts); for
any other camera they must be given (a site profile can bind them with
``functools.partial``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.contract import EnergyRegion, Polarization, Roi, ScanType, SpatialRegion
from stxm_devices import Beamline
from stxm_devices.cameras import KNOWN_CAMERAS

from ._image import Grid, check_grid, current_energy
from ._patterns import spiral_points
from ._runs import RunSpec, ScanRequest, scan_run
from .acquisition import RowMode, configured, exposure_signal, select_detectors, step_path
from .checks import PlanArgumentError, check_dwell, check_within_limits
from .regions import Region


def _camera_signals(detector: Any) -> tuple[Any, Any]:
    """The camera's model name and frame width: ``cam`` (ophyd) or ``driver`` (ophyd-async)."""
    cam = getattr(detector, "cam", None)
    if cam is not None:
        return cam.model, cam.array_size.array_size_x
    return detector.driver.model, detector.driver.array_size_x


def _read(signal: Any, timeout: float = 5.0) -> MsgGenerator:
    """A signal's value through the RunEngine; an ophyd signal connected first (lazily made)."""
    if hasattr(signal, "wait_for_connection"):  # ophyd: config signals connect on first use
        signal.wait_for_connection(timeout=timeout)
    return (yield from bps.rd(signal))


def check_geometry(pixel_um: float | None, distance_mm: float | None) -> None:
    """Given pixel size and distance must be positive numbers (None: the camera's own)."""
    for name, value in (("detector_pixel_um", pixel_um), ("detector_distance_mm", distance_mm)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise PlanArgumentError(f"{name} must be a positive number, got {value}")


def detector_geometry(
    detector: Any, pixel_um: float | None, distance_mm: float | None
) -> MsgGenerator[tuple[float, float]]:
    """(pixel µm, distance mm): as given, else a known camera's; refused if unknown.

    Reads the camera's model (and frame width) through the RunEngine, so an ophyd and
    an ophyd-async camera are read alike; nothing has moved when it refuses.
    """
    check_geometry(pixel_um, distance_mm)
    if pixel_um is None or distance_mm is None:
        model_signal, width_signal = _camera_signals(detector)
        model = yield from _read(model_signal)
        camera = KNOWN_CAMERAS.get(model)
        if camera is None:
            pv = getattr(model_signal, "pvname", model_signal.name)
            raise PlanArgumentError(
                f"camera {pv} is {model!r}, whose geometry is not known here: "
                "give detector_pixel_um and detector_distance_mm (the .ptyd needs them)"
            )
        if pixel_um is None:
            pixel_um = camera.pixel_um(int((yield from _read(width_signal))))
        distance_mm = camera.distance_mm if distance_mm is None else distance_mm
    return float(pixel_um), float(distance_mm)


def ptycho_scan(
    beamline: Beamline,
    *,
    region: Region | None = None,
    spiral_center_um: tuple[float, float] | None = None,
    spiral_radius_um: float = 1.0,
    spiral_step_um: float = 0.2,
    dwell_ms: float = 10.0,
    detectors: Sequence[str] = ("detector",),
    detector_pixel_um: float | None = None,
    detector_distance_mm: float | None = None,
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Frames at every point of ``region`` (a grid) or of a Fermat spiral (µm, ms).

    Give exactly one of ``region`` and ``spiral_center_um``. ``detector_pixel_um`` and
    ``detector_distance_mm`` default to the simulated camera's (other cameras: required).
    """
    plan_args = {
        "region": vars(region) if region else None,
        "spiral_center_um": spiral_center_um,
        "spiral_radius_um": spiral_radius_um,
        "spiral_step_um": spiral_step_um,
        "dwell_ms": dwell_ms,
        "detectors": list(detectors),
    }
    if (region is None) == (spiral_center_um is None):
        raise PlanArgumentError("give exactly one of region (a grid) or spiral_center_um")
    if "detector" not in detectors:
        raise PlanArgumentError("detectors must include 'detector' (the area detector)")
    check_dwell(dwell_ms)
    check_geometry(detector_pixel_um, detector_distance_mm)
    detector_devices = select_detectors(beamline, detectors, RowMode.STEP)
    stage = beamline.stage
    grid = None
    if region is not None:
        grid = Grid("SampleFineX", region.x_points, "SampleFineY", region.y_points)
        positions = grid.path()
        shape: tuple[int, ...] = grid.shape
    else:
        xs, ys = spiral_points(tuple(spiral_center_um), spiral_radius_um, spiral_step_um)
        positions = np.column_stack([ys, xs])
        shape = (xs.size,)
    settings: dict = {exposure_signal(beamline.detector): dwell_ms / 1000.0}
    if beamline.counter in detector_devices:
        settings.update({beamline.counter.mode: "Single", beamline.counter.dwell: dwell_ms})

    def plan():
        if grid is not None:
            yield from check_grid(beamline, grid, RowMode.STEP, dwell_ms)
        else:
            check_within_limits(stage.fine_x, positions[:, 1], "spiral x")
            check_within_limits(stage.fine_y, positions[:, 0], "spiral y")
        pixel_um, distance_mm = yield from detector_geometry(
            beamline.detector, detector_pixel_um, detector_distance_mm
        )
        request = ScanRequest(
            ScanType.PTYCHOGRAPHY_SCAN,
            "ptycho_scan",
            {**plan_args, "detector_pixel_um": pixel_um, "detector_distance_mm": distance_mm},
            float(dwell_ms),
            detector_names=tuple(detectors),
            md=md or {},
        )
        energies = yield from current_energy(beamline)
        polarization = [Polarization((yield from bps.rd(beamline.epu.polarization)))]
        if grid is not None:
            scan_region = grid.region(energies, dwell_ms, polarization)
        else:
            scan_region = SpatialRegion(
                0,
                {
                    "X": Roi.of("SampleFineX", positions[:, 1]),
                    "Y": Roi.of("SampleFineY", positions[:, 0]),
                },
                (EnergyRegion.of(energies, dwell_ms, polarization),),
            )
        readables = [*detector_devices, beamline.ring_current]
        path = step_path(readables, [stage.fine_y, stage.fine_x], positions)
        spec = RunSpec(
            detectors=detector_devices,
            motors=[stage.fine_y, stage.fine_x],
            regions={0: scan_region},
            shape=shape,
            body=configured(settings, path),
            extra={
                "ptycho_pattern": "grid" if grid is not None else "spiral",
                "scan_positions": positions[:, ::-1].tolist(),
            },
        )
        return (yield from scan_run(beamline, request, spec))

    return plan()
