"""Ptychography (scan type 13): a diffraction frame at each point of a grid or a spiral.

The area detector records a far-field frame per point; the frames stay in the files the
detector IOC writes and the NXstxm file links them.  A grid is recorded like an image
(nY × nX); a spiral's points are listed in order (``scan_positions`` in the start
document, nP × 2, µm).

``mode="step"`` (the default, any grid or spiral, any detectors): the stage stops at
each point, the detector exposes, one event per point.  ``mode="fly"`` (a grid, the
area detector alone, at most 4096 points): the stage controller flies the whole grid
from one start (its ``Raster:``, loaded once: fine X flies each row, serpentine, fine
Y steps between rows) while the camera, armed once, takes NumImages = nX back-to-back
exposures per row, each row's series started by that row's fly (TriggerMode External,
NumTriggers = nY), so frame k of a row is centred on point k.  Each frame's position
is the one measured at its mid-exposure (the detector IOC's ``FrameRec:``, from the
stage controller's position record, not the command), and the frame was rendered
there.  A row's frames become one event each (collected as a flyer's,
:class:`FlyFrames`), with step mode's keys and the measured fine X/Y, so the assembler
and the ``.ptyd`` place them alike; they go out as soon as the row ends, while the
raster goes on.  A raster is not rewound: a pause during it ends the scan (the
RunEngine stops the stage's axes), where a step scan would resume.

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
from bluesky.utils import Msg, MsgGenerator

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


class FlyFrames:
    """A fly scan's frames as bluesky collects a flyer's: an event per frame, per row.

    The camera free-runs through a row, so its frames are known only after it: each row's
    frames are added (:meth:`add_row`) and a ``collect`` emits them, an event page per
    row, in the "primary" stream with the keys step mode's events have — the detector's
    datum and total, fine X/Y (measured at the frame's mid-exposure), the ring current —
    so the assembler places both alike.  Named as the detector, whose asset documents it passes on.
    """

    parent = None

    def __init__(self, detector: Any, positioners: Sequence[Any], ring_current: Any) -> None:
        self.detector = detector
        self.name = detector.name
        self.image_key = f"{detector.name}_image"
        self.total_key = detector.stats1.total.name
        self.readbacks = [getattr(p, "user_readback", p) for p in positioners]
        self.ring_current = ring_current
        #: The latest frame's mid-exposure added (POSIX s).
        self.last_time = float("-inf")
        self._pages: list[dict] = []

    @property
    def hints(self) -> dict:
        return self.detector.hints

    def describe_collect(self) -> dict:
        own = self.detector.describe()
        keys = {key: own[key] for key in (self.image_key, self.total_key)}
        for signal in (*self.readbacks, self.ring_current):
            keys.update(signal.describe())
        return {"primary": keys}

    def describe_configuration(self) -> dict:
        return self.detector.describe_configuration()

    def read_configuration(self) -> dict:
        return self.detector.read_configuration()

    def add_row(self, datums: Sequence[str], columns: Mapping[str, np.ndarray], ring: float):
        """A row's frames: their datums, per-frame ``columns`` (total, positions, mid time)."""
        times = [float(when) for when in columns["time"]]
        data = {
            self.image_key: list(datums),
            self.total_key: [float(total) for total in columns["total"]],
            **{r.name: [float(v) for v in columns[r.name]] for r in self.readbacks},
            self.ring_current.name: [ring] * len(times),
        }
        self._pages.append({"data": data, "timestamps": {key: list(times) for key in data}})
        self.last_time = times[-1]

    def collect_pages(self):
        """The rows added since the last collect, a page each (validated once a page)."""
        pages, self._pages = self._pages, []
        yield from pages

    def collect_asset_docs(self):
        yield from self.detector.hdf1.collect_asset_docs()


def _row_extent(points: np.ndarray, dwell_ms: float, accel_s: float) -> tuple[float, float]:
    """Where fine X starts and stops to fly ``points`` (either direction), one per dwell."""
    if points[-1] >= points[0]:
        return fly_extent(points, dwell_ms, accel_s)
    start, stop = fly_extent(-points, dwell_ms, accel_s)  # the mirror image flies towards +X
    return -start, -stop


def fly_frames(
    beamline: Beamline, x_points: np.ndarray, y_points: np.ndarray, dwell_ms: float
) -> MsgGenerator:
    """The stage controller flies the whole serpentine raster; an event per frame.

    As fly-scan controllers do, nothing goes back and forth per row: the rows are
    loaded into the stage's raster (fine X start/stop and fine Y per row, the fly
    velocity) once, the camera armed once for every frame (NumImages = nX per trigger,
    NumTriggers = nY, TriggerMode External: each row's series starts with its fly), the
    raster started once.  While it runs, each row's frames become an event page as soon
    as FrameRec: shows it (its monitored frame count; the row's columns then read).
    """
    detector, stage = beamline.detector, beamline.stage
    fine_x, fine_y = stage.fine_x, stage.fine_y
    record, raster, cam = detector.frame_record, stage.raster, detector.cam
    frames = FlyFrames(detector, [fine_x, fine_y], beamline.ring_current)
    accel_s = float((yield from bps.rd(fine_x.acceleration)))
    extents = np.array(
        [_row_extent(_row(x_points, k), dwell_ms, accel_s) for k in range(y_points.size)]
    )
    nx, ny = x_points.size, y_points.size
    row_s = nx * dwell_ms / 1000.0
    columns_of = {
        fine_x.name: record.fine_x,
        fine_y.name: record.fine_y,
        "time": record.mid_time,
        "total": record.total,
    }

    def take_rows(done: int) -> MsgGenerator[int]:
        """Rows after the first ``done`` that FrameRec: shows complete, added; rows done."""
        rows = min(int((yield from _value(record.num_frames, 0))) // nx, ny)
        if rows <= done:
            return done
        columns = {}
        for name, signal in columns_of.items():  # posted before NumFrames_RBV
            columns[name] = np.asarray((yield from _value(signal)))[done * nx : rows * nx]
        if columns["time"][0] <= frames.last_time:
            raise RuntimeError(f"{record.prefix}: the frames recorded are a previous row's")
        ring = float((yield from _value(beamline.ring_current)))
        frames.add_row(detector.frame_datums(len(columns["time"])), columns, ring)
        return rows

    def fly() -> MsgGenerator:
        yield from bps.mv(
            raster.x_starts,
            extents[:, 0],
            raster.x_stops,
            extents[:, 1],
            raster.ys,
            np.asarray(y_points, dtype=float),
            raster.velocity,
            fly_velocity(x_points, dwell_ms),
        )
        yield from bps.checkpoint()
        armed = yield from bps.trigger(detector, group="raster")
        while not (yield from _value(cam.acquire_busy)) and not armed.done:
            yield from bps.sleep(0.001)  # armed before the controller starts
        yield from bps.abs_set(raster.execute, 1, group="raster")
        # Not rewound: a replay would start a second raster and emit rows again.  A pause
        # meanwhile aborts (the RunEngine stops the raster: RasterExecute.stop).
        yield from bps.clear_checkpoint()
        done = 0
        while done < ny:
            yield Msg("sleep", None, row_s / 2)
            finished = armed.done
            done = yield from take_rows(done)
            yield Msg("collect", frames, return_payload=False)
            if finished and done < ny:
                yield from bps.wait(group="raster")  # raises the camera's or stage's error
                raise RuntimeError(f"{record.prefix}: {done} of {ny} rows recorded")
        yield from bps.wait(group="raster")

    settings = {
        cam.acquire_time: dwell_ms / 1000.0,
        cam.acquire_period: dwell_ms / 1000.0,
        cam.num_images: int(nx),
        cam.num_triggers: int(ny),
        cam.trigger_mode: "External",
    }
    for signal in settings:  # ophyd's camera settings connect on first use
        signal.wait_for_connection(timeout=5.0)
    return (yield from configured(settings, fly(), together=True))


def _value(signal: Any, default: Any = None) -> MsgGenerator:
    """A signal's value, its read message yielded directly (``default`` when listed).

    As ``bps.rd``, less its cost: bluesky's plan stubs format the call stack at each
    call (~1 ms here), too much for a loop polling a fly scan's rows.
    """
    reading = yield Msg("read", signal)
    return default if reading is None else reading[signal.name]["value"]


def _row(x_points: np.ndarray, index: int) -> np.ndarray:
    """Row ``index``'s points in the order a serpentine fly visits them."""
    return x_points if index % 2 == 0 else x_points[::-1]


def check_fly_grid(beamline: Beamline, grid: Grid, dwell_ms: float) -> MsgGenerator:
    """Plan stub: a fly grid's rows (with their run-up) fit fine X, its columns fine Y."""
    stage = beamline.stage
    if grid.x_points.size < 2:
        raise PlanArgumentError("mode='fly' needs at least 2 points per row")
    most = beamline.detector.frame_record.max_frames
    if grid.x_points.size * grid.y_points.size > most:
        raise PlanArgumentError(f"mode='fly' records at most {most} frames (FrameRec:)")
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
