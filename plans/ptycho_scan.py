"""Ptychography (scan type 13): a diffraction frame at each point of a grid or a spiral.

The area detector records a far-field frame per point; the frames stay in the files the
detector IOC writes and the NXstxm file links them.  A grid is recorded like an image
(nY × nX); a spiral's points are listed in order (``scan_positions`` in the start
document, nP × 2, µm).

``mode="step"`` (the default, any grid or spiral, any detectors): the stage stops at
each point, the detector exposes, one event per point.  ``mode="fly"`` (a grid, the
area detector alone): fine X flies each row (serpentine: alternate rows fly back)
while the camera free-runs NumImages = nX back-to-back exposures, its series started by
the start of fine X's motion (TriggerMode External), so frame k is centred on point k.
Each frame's position is the one measured at its mid-exposure (the detector IOC's
``FrameRec:``, from the stage controller's position record, not the command), and the
frame was rendered there.  The row's frames become one event each, as step mode's,
with the measured fine X/Y, so the assembler and the ``.ptyd`` place them alike; a
row's events go out while the next row flies.

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
from ._patterns import fly_extent, fly_velocity, spiral_points
from ._runs import RunSpec, ScanRequest, scan_run
from .acquisition import RowMode, configured, exposure_signal, select_detectors, step_path
from .checks import PlanArgumentError, check_choice, check_dwell, check_within_limits
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


#: The ways ptycho_scan visits its points.
PTYCHO_MODES = ("step", "fly")


class FrameReading:
    """A device as read at one frame of a fly row: its own data keys, that frame's values.

    A fly row's frames become events after the row (the camera free-runs); this stands
    in for the device in each event, so the events carry the device's keys, description
    and asset documents as step mode's do.  One per device for the whole run (bluesky
    keeps one description per object); :meth:`set_frame` sets what the next read returns.
    """

    parent = None

    def __init__(self, device: Any) -> None:
        self.device = device
        self.name = device.name
        self._reading: dict[str, dict] = {}

    @property
    def hints(self) -> dict:
        return getattr(self.device, "hints", {})

    def describe(self) -> dict:
        return self.device.describe()

    def describe_configuration(self) -> dict:
        return self.device.describe_configuration()

    def read_configuration(self) -> dict:
        return self.device.read_configuration()

    def collect_asset_docs(self):
        collect = getattr(self.device, "collect_asset_docs", None)
        if collect is not None:
            yield from collect()

    def set_frame(self, row: Mapping[str, dict], values: Mapping[str, Any], when: float) -> None:
        """The next reading: ``row`` (read once per row) with ``values`` replaced, at ``when``."""
        self._reading = {
            key: {"value": values.get(key, reading["value"]), "timestamp": when}
            for key, reading in row.items()
        }

    def read(self) -> dict:
        return self._reading


def _row_extent(points: np.ndarray, dwell_ms: float, accel_s: float) -> tuple[float, float]:
    """Where fine X starts and stops to fly ``points`` (either direction), one per dwell."""
    if points[-1] >= points[0]:
        return fly_extent(points, dwell_ms, accel_s)
    start, stop = fly_extent(-points, dwell_ms, accel_s)  # the mirror image flies towards +X
    return -start, -stop


def fly_frames(
    beamline: Beamline, x_points: np.ndarray, y_points: np.ndarray, dwell_ms: float
) -> MsgGenerator:
    """Fly fine X along each row (serpentine) while the camera free-runs; an event per frame.

    Per row: fine X/Y to the row's start, the camera armed for nX frames of ``dwell_ms``
    back to back (TriggerMode External: they start with fine X's motion), fine X flies
    at one step per dwell; the previous row's events are emitted meanwhile.  A frame's
    event holds its datum, its total and fine X/Y measured at its mid-exposure.
    """
    detector, stage = beamline.detector, beamline.stage
    fine_x, fine_y = stage.fine_x, stage.fine_y
    record = detector.frame_record
    readers = {device: FrameReading(device) for device in (detector, fine_x, fine_y)}
    ring = FrameReading(beamline.ring_current)
    accel_s = float((yield from bps.rd(fine_x.acceleration)))
    velocity = fly_velocity(x_points, dwell_ms)
    rows = [_row(x_points, k) for k in range(y_points.size)]
    extents = [_row_extent(row, dwell_ms, accel_s) for row in rows]
    total_key = detector.stats1.total.name
    image_key = f"{detector.name}_image"

    def row_frames() -> MsgGenerator[list[dict]]:
        """The row just flown: per frame, the values its event carries."""
        count = int((yield from bps.rd(record.num_frames)))
        if count != x_points.size:
            raise RuntimeError(
                f"{record.prefix}: {count} frames recorded for a row of {x_points.size} points"
            )
        columns = {}
        for signal in (record.fine_x, record.fine_y, record.mid_time, record.total):
            columns[signal] = np.asarray((yield from bps.rd(signal)))[:count]
        datums = [detector.image_datum()] + [detector.frame_datum() for _ in range(count - 1)]
        return [
            {
                "when": float(columns[record.mid_time][k]),
                detector: {image_key: datums[k], total_key: float(columns[record.total][k])},
                fine_x: {fine_x.name: float(columns[record.fine_x][k])},
                fine_y: {fine_y.name: float(columns[record.fine_y][k])},
            }
            for k in range(count)
        ]

    def emit(frames: list[dict], row_readings: dict) -> MsgGenerator:
        for frame in frames:
            yield from bps.create("primary")
            for device, reader in readers.items():
                reader.set_frame(row_readings[device], frame[device], frame["when"])
                yield from bps.read(reader)
            ring.set_frame(row_readings[beamline.ring_current], {}, frame["when"])
            yield from bps.read(ring)
            yield from bps.save()

    def fly() -> MsgGenerator:
        pending: tuple[list[dict], dict] | None = None
        start, _ = extents[0]
        yield from bps.mv(fine_x, start, fine_y, float(y_points[0]))
        yield from bps.mv(fine_x.velocity, velocity)
        for y, (start, stop) in zip(y_points, extents, strict=True):
            yield from bps.checkpoint()
            yield from bps.mv(fine_x, start, fine_y, float(y))
            yield from bps.trigger(detector, group="row")
            yield from bps.abs_set(fine_x, stop, group="row")
            if pending is not None:
                yield from emit(*pending)
            yield from bps.wait(group="row")
            row_readings = {}
            for device in (*readers, beamline.ring_current):
                row_readings[device] = yield from bps.read(device)
            pending = ((yield from row_frames()), row_readings)
        yield from emit(*pending)

    cam = detector.cam
    settings = {
        cam.acquire_time: dwell_ms / 1000.0,
        cam.acquire_period: dwell_ms / 1000.0,
        cam.num_images: int(x_points.size),
        cam.trigger_mode: "External",
        fine_x.velocity: float((yield from _read(fine_x.velocity))),
    }
    for signal in settings:  # ophyd's camera settings connect on first use
        signal.wait_for_connection(timeout=5.0)
    return (yield from configured(settings, fly()))


def _row(x_points: np.ndarray, index: int) -> np.ndarray:
    """Row ``index``'s points in the order a serpentine fly visits them."""
    return x_points if index % 2 == 0 else x_points[::-1]


def check_fly_grid(beamline: Beamline, grid: Grid, dwell_ms: float) -> MsgGenerator:
    """Plan stub: a fly grid's rows (with their run-up) fit fine X, its columns fine Y."""
    stage = beamline.stage
    if grid.x_points.size < 2:
        raise PlanArgumentError("mode='fly' needs at least 2 points per row")
    accel_s = float((yield from bps.rd(stage.fine_x.acceleration)))
    ends = [*_row_extent(grid.x_points, dwell_ms, accel_s)]
    ends += [*_row_extent(grid.x_points[::-1], dwell_ms, accel_s)]
    check_within_limits(stage.fine_x, ends, "x (SampleFineX, with the fly run-up)")
    check_within_limits(stage.fine_y, grid.y_points, "y (SampleFineY)")


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
    mode: str = "step",
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Frames at every point of ``region`` (a grid) or of a Fermat spiral (µm, ms).

    Give exactly one of ``region`` and ``spiral_center_um``. ``detector_pixel_um`` and
    ``detector_distance_mm`` default to the simulated camera's (other cameras: required).
    ``mode`` "step" stops at each point; "fly" flies each row of a grid with the area
    detector free-running (see the module's description).
    """
    plan_args = {
        "region": vars(region) if region else None,
        "spiral_center_um": spiral_center_um,
        "spiral_radius_um": spiral_radius_um,
        "spiral_step_um": spiral_step_um,
        "dwell_ms": dwell_ms,
        "detectors": list(detectors),
        "mode": mode,
    }
    check_choice(mode, PTYCHO_MODES, "mode")
    if (region is None) == (spiral_center_um is None):
        raise PlanArgumentError("give exactly one of region (a grid) or spiral_center_um")
    if "detector" not in detectors:
        raise PlanArgumentError("detectors must include 'detector' (the area detector)")
    fly = mode == "fly"
    if fly and region is None:
        raise PlanArgumentError("mode='fly' flies the rows of a grid: give region, not a spiral")
    if fly and list(detectors) != ["detector"]:
        raise PlanArgumentError(f"mode='fly' reads the area detector alone, not {list(detectors)}")
    if fly and getattr(beamline.detector, "frame_record", None) is None:
        raise PlanArgumentError("mode='fly' needs a camera with per-frame positions (FrameRec:)")
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
        if fly:
            yield from check_fly_grid(beamline, grid, dwell_ms)
        elif grid is not None:
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
        if fly:
            body = fly_frames(beamline, grid.x_points, grid.y_points, dwell_ms)
            positions_done = np.array(
                [[y, x] for k, y in enumerate(grid.y_points) for x in _row(grid.x_points, k)]
            )
        else:
            readables = [*detector_devices, beamline.ring_current]
            body = configured(
                settings, step_path(readables, [stage.fine_y, stage.fine_x], positions)
            )
            positions_done = positions
        spec = RunSpec(
            detectors=detector_devices,
            motors=[stage.fine_y, stage.fine_x],
            regions={0: scan_region},
            shape=shape,
            body=body,
            extra={
                "ptycho_pattern": "grid" if grid is not None else "spiral",
                "scan_positions": positions_done[:, ::-1].tolist(),
                **({"snaking": [False, True]} if fly else {}),
            },
        )
        return (yield from scan_run(beamline, request, spec))

    return plan()
