"""Area-detector IOC: a SimDetector-like camera of far-field diffraction, and its plugins."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from caproto.server import PVGroup, pvproperty

from .ad_plugins import (
    ArrayPort,
    CircularBuffPlugin,
    ImagePlugin,
    OverlayPlugin,
    PassThroughPlugin,
    Plugin,
    RoiPlugin,
    StatsPlugin,
)
from .ad_records import on_put
from .hdf5_plugin import HDF5Plugin
from .hdf5_writer import Attribute, Frame
from .physics import BeamState, FarFieldDetector, FrameSeries, StxmModel
from .positions import (
    ChannelAccessPositions,
    PositionReader,
    add_followed_arguments,
    beam_state,
    followed_positions,
)
from .prefixes import subsystem_prefix
from .refusal import RefusedPutError
from .runner import run_standalone
from .tiff_plugin import TIFFPlugin

CAM_PORT = "SIM1"
MAX_SIZE = 1024
#: The longest exposure (and period) the camera accepts, seconds.
MAX_EXPOSURE_S = 3600.0


def default_data_roots() -> tuple[str, ...]:
    """Where files may go unless ``--data-root`` says otherwise (read when an IOC is made).

    The sim's data directory (STXM_DATA_DIR, else ``~/stxm-data``) and the temporary
    directory (a bare ophyd ``AreaDetector``'s default write path is under it).
    """
    return (
        os.environ.get("STXM_DATA_DIR") or os.path.expanduser("~/stxm-data"),
        tempfile.gettempdir(),
    )


#: NDAttributes of every frame: name → (description, units).
FRAME_ATTRIBUTES = {
    "SampleX": ("Sample X (coarse + fine + goniometer)", "um"),
    "SampleY": ("Sample Y (coarse + fine + goniometer)", "um"),
    "Energy": ("Photon energy", "eV"),
    "RingCurrent": ("Storage-ring current", "mA"),
    "AcquireTime": ("Exposure time", "s"),
}
#: The camera wakes at most this often when frames come faster: those read out since go
#: to the plugins together.
BATCH_INTERVAL_S = 0.005
#: The most frames handed to the plugins at once (a camera catching up sends several).
MAX_BATCH = 64
#: Records changed by frames are posted at most this often (and when acquisition ends).
POST_INTERVAL_S = 0.02
#: How late a frame may come out before StatusMessage_RBV says the period is not kept.
LAG_REPORTED_S = 0.25
SINGLE, MULTIPLE = 0, 1
IDLE, ACQUIRE = 0, 1
#: TriggerMode External: the exposure series starts when fine X starts moving.
EXTERNAL = 1
#: How long an externally triggered acquisition waits for fine X to start moving.
MOTION_WAIT_S = 10.0
#: Frames of one acquisition FrameRec: keeps (the latest).
MAX_RECORDED = 4096


def frame_attributes(values: dict[str, float]) -> dict[str, Attribute]:
    """The frame's NDAttributes from their values."""
    return {
        name: Attribute(float(values[name]), description, units=units)
        for name, (description, units) in FRAME_ATTRIBUTES.items()
    }


class SimDetectorCam(ArrayPort):
    """``cam1:``: ADBase + simDetector records; acquisition as ADDriver does it.

    Acquire takes ImageMode Single → 1, Multiple → NumImages, Continuous → until
    Acquire is 0 frames, one per max(AcquireTime, AcquirePeriod); the put completes when
    acquisition ends.  Acquire=0 stops at once, even mid-exposure.  Acquire_RBV drops when
    the last frame is out, AcquireBusy once the plugins have written it too if
    WaitForPlugins is Yes.  AcquireTime/AcquirePeriod outside 0…MAX_EXPOSURE_S (or not
    finite), NumImages/NumExposures < 1, SizeX/SizeY outside 1…MAX_SIZE are refused with
    StatusMessage_RBV saying why.
    """

    template = "simDetector.template"

    def __init__(self, prefix: str, *, detector: DetectorIOC, port: str) -> None:
        super().__init__(prefix, port=port)
        self.detector = detector
        # The simDetector constructor's values, then those this sim restores as autosave would.
        self._initial.update(
            {
                "Manufacturer_RBV": "STXM sim",
                "Model_RBV": "Far-field diffraction",
                "SerialNumber_RBV": "sim-0001",
                "SDKVersion_RBV": "none",
                "FirmwareVersion_RBV": "none",
                "MaxSizeX_RBV": MAX_SIZE,
                "MaxSizeY_RBV": MAX_SIZE,
                "SizeX": 256,
                "SizeY": 256,
                "DataType": "UInt16",
                "ImageMode": "Single",
                "AcquireTime": 0.01,
                "ArrayCallbacks": 1,
            }
        )

    async def _refusal(self, text: str) -> RefusedPutError:
        """Publish ``text`` as the status message; the error the caller raises."""
        await self.set("StatusMessage_RBV", text, force=True)
        return RefusedPutError(text)

    async def _accept(self) -> None:
        await self.set("StatusMessage_RBV", "")

    async def _time(self, name: str, value: float, minimum: float) -> None:
        if not (math.isfinite(value) and minimum <= value <= MAX_EXPOSURE_S):
            raise await self._refusal(
                f"{self.prefix}{name} must be {minimum}..{MAX_EXPOSURE_S} s, got {value}"
            )
        await self._accept()

    @on_put("AcquireTime")
    async def _acquire_time(self, value: float) -> None:
        await self._time("AcquireTime", value, 1e-6)

    @on_put("AcquirePeriod")
    async def _acquire_period(self, value: float) -> None:
        await self._time("AcquirePeriod", value, 0.0)

    @on_put("NumImages", "NumExposures")
    async def _count(self, value: int) -> None:
        if value < 1:
            raise await self._refusal(
                f"{self.prefix}NumImages/NumExposures must be >= 1, got {value}"
            )
        await self._accept()

    async def _size(self, name: str, value: int) -> int:
        if not 1 <= value <= MAX_SIZE:
            raise await self._refusal(f"{self.prefix}{name} must be 1..{MAX_SIZE}, got {value}")
        await self._accept()
        await self.set(name, value)
        if self.detector.started:
            await self.detector.prime()  # the plugins learn the new size at once
        return value

    @on_put("SizeX")
    async def _size_x(self, value: int) -> int:
        return await self._size("SizeX", value)

    @on_put("SizeY")
    async def _size_y(self, value: int) -> int:
        return await self._size("SizeY", value)

    @on_put("Acquire")
    async def _acquire(self, value: int) -> int:
        if not value:
            self.detector.stop_acquisition()
            return 0
        if self.get("Acquire_RBV"):
            return 1
        await self.detector.acquire()
        return 0

    def shape(self) -> tuple[int, int]:
        return int(self.get("SizeY")), int(self.get("SizeX"))


class ExternalTriggers(PVGroup):
    """``cam1:NumTriggers``: how many triggers an externally triggered acquisition takes.

    As ADEiger's: each trigger starts a series of NumImages frames (a fly raster's row),
    so one arm covers NumTriggers × NumImages frames.  1 (the default): one series.
    """

    num_triggers = pvproperty(name="NumTriggers", value=1, doc="Triggers per acquisition")
    num_triggers_rbv = pvproperty(name="NumTriggers_RBV", value=1, read_only=True)

    @num_triggers.putter
    async def num_triggers(self, instance, value):
        if value < 1:
            raise RefusedPutError(f"{self.prefix}NumTriggers must be >= 1, got {value}")
        await self.num_triggers_rbv.write(value)
        return value


def _series(name: str, units: str, doc: str) -> pvproperty:
    return pvproperty(
        name=name,
        value=[0.0],
        max_length=MAX_RECORDED,
        dtype=float,
        read_only=True,
        units=units,
        precision=6,
        doc=doc,
    )


class FrameRecord(PVGroup):
    """``FrameRec:``: each frame of the last acquisition, where the stage was and what it held.

    Per frame: fine X/Y from the stage controller's position record at the frame's
    mid-exposure (µm, what it was rendered at, as a controller's position attributes
    recorded with each frame), that mid-exposure time (POSIX s) and the frame's total
    counts (Stats1's Total, for every frame rather than the last).  A fly scan reads
    them as each row ends.  Cleared when an acquisition starts, posted after each
    trigger's series (External) and when it ends; the
    last MAX_RECORDED frames are kept.
    """

    num_frames = pvproperty(
        name="NumFrames_RBV", value=0, read_only=True, doc="Frames of the last acquisition"
    )
    fine_x = _series("FineX_RBV", "um", "Fine X at each frame's mid-exposure")
    fine_y = _series("FineY_RBV", "um", "Fine Y at each frame's mid-exposure")
    mid_time = _series("MidTime_RBV", "s", "Each frame's mid-exposure, POSIX time")
    total = _series("Total_RBV", "counts", "Each frame's total counts")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._columns: list[np.ndarray] = []
        self._count = 0

    async def clear(self) -> None:
        self._columns, self._count = [], 0
        await self.num_frames.write(0)

    def add(self, fine_x: np.ndarray, fine_y: np.ndarray, mid: np.ndarray, total: np.ndarray):
        """Record a batch of frames (posted by :meth:`publish`)."""
        self._columns.append(np.column_stack([fine_x, fine_y, mid, total]))
        self._count += len(mid)
        if sum(len(c) for c in self._columns) > 2 * MAX_RECORDED:
            self._columns = [np.concatenate(self._columns)[-MAX_RECORDED:]]

    async def publish(self) -> None:
        if not self._columns:
            return
        table = np.concatenate(self._columns)[-MAX_RECORDED:]
        self._columns = [table]
        for column, record in enumerate((self.fine_x, self.fine_y, self.mid_time, self.total)):
            await record.write(table[:, column])
        await self.num_frames.write(self._count)


class DetectorIOC(PVGroup):
    """Area-detector IOC: ADSimDetector + ADCore's common plugins, every template record served.

    PVs: every record of each port's template chain (``iocs.ad_records``), with the
    plugin set and port names of ADCore's EXAMPLE_commonPlugins.cmd::

        <prefix>cam1:            SIM1        ADBase + simDetector: the camera
        <prefix>image1:          Image1      NDStdArrays: ArrayData (int32 waveform)
        <prefix>HDF1:            FileHDF1    NDFileHDF5
        <prefix>TIFF1:           FileTIFF1   NDFileTIFF: a TIFF file per frame
        <prefix>JPEG1:, netCDF1: FileJPEG1, FileNetCDF1 (records only: no file written)
        <prefix>ROI1: … ROI4:    ROI1 …      NDROI
        <prefix>Stats1: … Stats5:  STATS1 …  NDStats
        <prefix>Proc1: Trans1: Over1: (Over1:1: … 8:) CC1: CB1:   pass-through plugins
        <prefix>FrameRec:        per frame: measured fine X/Y mid-exposure, time, total
        <prefix>cam1:NumTriggers series per External acquisition (ADEiger's record)

    image1, ROI1, Stats1 and HDF1 start enabled (the ``ENABLED`` macro), the others
    disabled, every plugin fed by SIM1.  Frames are the far-field diffraction of the
    probe on the phantom at the stage's position mid-exposure
    (``iocs.physics.diffraction``), Poisson noise unless the model's noise is off, uint16;
    ``FrameRec:`` (:class:`FrameRecord`) lists those positions per frame.  TriggerMode
    External starts each exposure series (NumTriggers of them) when fine X starts
    moving, as a camera triggered by the stage controller's motion output (a fly scan
    arms once, then the controller runs its raster).
    Running alone, the IOC follows the stage, OSA, zone-plate and energy IOCs over
    Channel Access.  Files go only inside the data roots (``--data-root``).
    """

    def __init__(
        self,
        *args,
        model: StxmModel,
        positions: PositionReader,
        seed: int = 0,
        clock=time.monotonic,
        wall_clock=time.time,
        data_roots: Sequence[str] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.positions = positions
        self.series = FrameSeries(FarFieldDetector())
        self.rng = np.random.default_rng(seed)
        self.clock = clock
        self.wall_clock = wall_clock
        self.started = False
        self._unique_ids = itertools.count(1)
        self._frames_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frames")
        self._stop = asyncio.Event()
        self.cam = SimDetectorCam(self.prefix + "cam1:", detector=self, port=CAM_PORT)
        self.frame_record = FrameRecord(prefix=self.prefix + "FrameRec:")
        self.triggers = ExternalTriggers(prefix=self.prefix + "cam1:")
        self.pvdb.update(self.frame_record.pvdb)
        self.pvdb.update(self.triggers.pvdb)
        self.plugins = self._plugins(list(data_roots or default_data_roots()))
        self.image1, self.hdf1, self.tiff1 = self.plugins[0], self.plugins[1], self.plugins[2]
        self.roi1 = next(p for p in self.plugins if p.port == "ROI1")
        self.stats1 = next(p for p in self.plugins if p.port == "STATS1")
        for port in (self.cam, *self.plugins):
            self.pvdb.update(port.pvdb)
        self.cam.records["DetectorState_RBV"].server_startup = self._startup

    def _plugins(self, roots: list[str]) -> list[Plugin]:
        """The plugins of EXAMPLE_commonPlugins.cmd that ophyd's tests use, as st.cmd loads them."""
        p = self.prefix
        common = {"source": CAM_PORT}
        image = {"TYPE": "Int32", "FTVL": "LONG", "NELEMENTS": str(MAX_SIZE * MAX_SIZE)}
        stats = {
            "XSIZE": str(MAX_SIZE),
            "YSIZE": str(MAX_SIZE),
            "NCHANS": "2048",
            "HIST_SIZE": "256",
        }
        plugins: list[Plugin] = [
            ImagePlugin(p + "image1:", port="Image1", enabled=True, macros=image, **common),
            HDF5Plugin(
                p + "HDF1:",
                port="FileHDF1",
                enabled=True,
                data_roots=roots,
                macros={"XMLSIZE": "2048"},
                **common,
            ),
            TIFFPlugin(p + "TIFF1:", port="FileTIFF1", data_roots=roots, **common),
        ]
        for n in range(1, 5):
            plugins.append(RoiPlugin(f"{p}ROI{n}:", port=f"ROI{n}", enabled=n == 1, **common))
        for n in range(1, 6):
            plugins.append(
                StatsPlugin(
                    f"{p}Stats{n}:", port=f"STATS{n}", enabled=n == 1, macros=stats, **common
                )
            )
        passive = (
            ("Proc1:", "PROC1", "NDProcess.template", "NDPluginProcess"),
            ("Trans1:", "TRANS1", "NDTransform.template", "NDPluginTransform"),
            ("CC1:", "CC1", "NDColorConvert.template", "NDPluginColorConvert"),
            ("JPEG1:", "FileJPEG1", "NDFileJPEG.template", "NDFileJPEG"),
            ("netCDF1:", "FileNetCDF1", "NDFileNetCDF.template", "NDFileNetCDF"),
        )
        for suffix, port, template, plugin_class in passive:
            plugins.append(
                PassThroughPlugin(
                    p + suffix, template=template, plugin_class=plugin_class, port=port, **common
                )
            )
        plugins.append(OverlayPlugin(p + "Over1:", port="OVER1", **common))
        plugins.append(
            CircularBuffPlugin(p + "CB1:", port="CB1", macros={"CBUFFS": "500"}, **common)
        )
        return plugins

    async def _startup(self, async_lib) -> None:
        await self.start()
        # Held: the loop keeps only a weak reference to a task.
        self._rate_task = asyncio.get_running_loop().create_task(self._count_rates())

    async def start(self) -> None:
        """At IOC start: the drivers' initial values, follow the other IOCs (alone), prime."""
        for port in (self.cam, *self.plugins):
            await port.start()
        if isinstance(self.positions, ChannelAccessPositions):
            await self.positions.connect()
        self.started = True
        await self.prime()

    async def prime(self) -> None:
        """Tell every plugin the frame geometry and attributes to come (ADCore's priming)."""
        attributes = frame_attributes(dict.fromkeys(FRAME_ATTRIBUTES, 0.0))
        blank = Frame(np.zeros(self.cam.shape(), np.uint16), 0, self.wall_clock(), attributes)
        for plugin in self.plugins:
            await plugin.prime(blank)
        await self.cam.set_many(self.cam.geometry(blank.data.shape, blank.data.dtype))

    async def publish(self, frames: list[Frame], port: str) -> None:
        """Hand ``frames`` to every plugin fed by ``port``, and on down the port graph."""
        for plugin in self.plugins:
            if plugin.source_port == port and plugin.enabled:
                passed_on = await plugin.receive(frames)
                if passed_on:
                    await self.publish(passed_on, plugin.port)

    async def post(self) -> None:
        """Post what the camera and the plugins staged since the last post."""
        for port in (self.cam, *self.plugins):
            await port.post_staged()

    async def _count_rates(self) -> None:
        """Every second, each port's ArrayRate_RBV (ADCore's ``SCAN "1 second"`` calc)."""
        while True:
            now = self.clock()
            for port in (self.cam, *self.plugins):
                await port.update_rate(now)
            await asyncio.sleep(1.0)

    def stop_acquisition(self) -> None:
        self._stop.set()

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` unless Acquire=0 comes first; whether to go on."""
        if seconds > 0 and not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)
        return not self._stop.is_set()

    def _frame_count(self) -> float:
        mode = self.cam.get("ImageMode")
        if mode == SINGLE:
            return 1
        if mode == MULTIPLE:
            return int(self.cam.get("NumImages"))
        return float("inf")

    async def acquire(self) -> None:
        """Acquire the frames ImageMode asks for, one per period, honouring AcquireTime.

        TriggerMode External: a series per trigger (fine X's motion output), NumTriggers
        of them, FrameRec: posted after each.  If the frames cannot be made as fast as
        asked, they come late (none is lost), ArrayRate_RBV shows the rate achieved and
        StatusMessage_RBV says so.
        """
        cam = self.cam
        armed = self.clock()  # a trigger from here on counts (External)
        self._stop.clear()
        await cam.set_many(
            (("Acquire", 1), ("Acquire_RBV", 1), ("AcquireBusy", 1), ("DetectorState_RBV", ACQUIRE))
        )
        await cam.set("NumImagesCounter_RBV", 0)
        await cam.set("StatusMessage_RBV", "")
        await self.frame_record.clear()
        try:
            count = self._frame_count()
            exposure = float(cam.get("AcquireTime"))
            period = max(exposure, float(cam.get("AcquirePeriod")))
            if cam.get("TriggerMode") != EXTERNAL:
                await self._series(self.clock(), count, exposure, period)
                return
            start = armed
            for trigger in range(int(self.triggers.num_triggers.value)):
                start = await self._motion_start(armed_at=start)
                done = trigger * count
                if start is None or not await self._series(start, count, exposure, period, done):
                    return
                await self.frame_record.publish()  # a fly raster's row, read as it ends
        finally:
            await self.post()
            await self.frame_record.publish()
            await cam.set_many((("Acquire", 0), ("Acquire_RBV", 0)))
            if cam.get("WaitForPlugins"):
                await self.hdf1.idle()
                await self.tiff1.idle()
            await cam.set_many((("AcquireBusy", 0), ("DetectorState_RBV", IDLE)))

    async def _series(
        self, start: float, count: float, exposure: float, period: float, counted: int = 0
    ) -> bool:
        """Frames ``count`` of ``exposure`` s every ``period`` s from ``start``; whether all came.

        ``counted``: the frames of this acquisition before (earlier triggers').

        Frame i is exposed from start + i·period: the schedule never stretches.  The
        camera wakes when a frame is read out, or every BATCH_INTERVAL_S at faster
        rates, and hands every frame read out since to the plugins at once.
        """
        cam = self.cam
        wall_start = self.wall_clock() - (self.clock() - start)
        delivered, woke, posted = 0, start, start
        while delivered < count and not self._stop.is_set():
            now = self.clock()
            read_out = min(count, math.floor((now - start - exposure) / period) + 1)
            if read_out <= delivered:
                next_out = start + delivered * period + exposure
                if not await self._pause(max(next_out, woke + BATCH_INTERVAL_S) - now):
                    break
                continue
            woke = now
            batch = range(delivered, min(read_out, delivered + MAX_BATCH))
            offsets = np.array([index * period for index in batch])
            frames = await self._frames(
                start + offsets + exposure / 2, wall_start + offsets + exposure, exposure
            )
            delivered = batch.stop
            cam.count_arrays(frames)
            cam.stage([("NumImagesCounter_RBV", counted + delivered)])
            if cam.get("ArrayCallbacks"):
                await self.publish(frames, cam.port)
            self._report_lag(self.clock() - (start + (delivered - 1) * period + exposure))
            if self.clock() - posted >= POST_INTERVAL_S:
                posted = self.clock()
                await self.post()
        return delivered >= count

    async def _motion_start(self, *, armed_at: float) -> float | None:
        """When fine X started moving after ``armed_at``; None if stopped or it never did."""
        deadline = armed_at + MOTION_WAIT_S
        while (started := self.positions.motion_started_after("fine_x", armed_at)) is None:
            if self.clock() > deadline:
                text = f"TriggerMode External: no fine X motion within {MOTION_WAIT_S} s"
                await self.cam.set("StatusMessage_RBV", text)
                return None
            if not await self._pause(0.0005):
                return None
        return started

    def _report_lag(self, lag_s: float) -> None:
        """Say so in StatusMessage_RBV when frames come out later than their schedule."""
        if lag_s > LAG_REPORTED_S:
            text = f"frames {lag_s:.2f} s behind AcquirePeriod: ArrayRate_RBV is the rate achieved"
            self.cam.stage([("StatusMessage_RBV", text)])

    async def _frames(
        self, mid_exposures: np.ndarray, read_outs: np.ndarray, exposure: float
    ) -> list[Frame]:
        """Frames of the beam at ``mid_exposures``, stamped ``read_outs`` (POSIX time).

        They are computed off the event loop.
        """
        state = beam_state(self.positions, mid_exposures)
        states = [_state_of_frame(state, index) for index in range(len(mid_exposures))]
        self.series.detector.shape = self.cam.shape()
        rng = self.rng if self.model.noise else None
        stack, totals = await asyncio.get_running_loop().run_in_executor(
            self._frames_thread, self._frames_and_totals, states, exposure, rng
        )
        self.frame_record.add(
            self.positions.position("fine_x", mid_exposures),
            self.positions.position("fine_y", mid_exposures),
            read_outs - exposure / 2,
            totals,
        )
        frames = []
        for data, one, read_out in zip(stack, states, read_outs, strict=True):
            values = {
                "SampleX": float(one.sample_x_um),
                "SampleY": float(one.sample_y_um),
                "Energy": one.energy_ev,
                "RingCurrent": one.ring_current_ma,
                "AcquireTime": exposure,
            }
            frames.append(
                Frame(data, next(self._unique_ids), float(read_out), frame_attributes(values))
            )
        return frames

    def _frames_and_totals(
        self, states: list[BeamState], exposure: float, rng: np.random.Generator | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The frames of ``states`` and each one's total counts (in the frames thread)."""
        stack = self.series.frames(self.model, states, exposure, rng)
        return stack, stack.reshape(len(stack), -1).sum(axis=1, dtype=np.int64)


def _state_of_frame(state: BeamState, index: int) -> BeamState:
    """Frame ``index``'s state from the states of a batch (positions as arrays)."""
    changes = {
        name: float(np.asarray(value)[index])
        for name, value in vars(state).items()
        if isinstance(value, np.ndarray) and value.ndim == 1
    }
    return state.with_(**changes)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_followed_arguments(parser)
    parser.add_argument("--no-noise", action="store_true", help="start with noise off")
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    parser.add_argument(
        "--data-root",
        action="append",
        dest="data_roots",
        help="a directory files may be written in (repeatable; default: "
        + ", ".join(default_data_roots())
        + ")",
    )


def _make_ioc(args: argparse.Namespace, prefix: str) -> DetectorIOC:
    model = StxmModel(seed=args.seed, noise=not args.no_noise)
    return DetectorIOC(
        prefix=prefix,
        model=model,
        positions=followed_positions(args),
        seed=args.seed,
        data_roots=args.data_roots,
    )


def main() -> None:
    """Run this IOC alone: ``python -m iocs.detector --prefix ... --list-pvs``."""
    run_standalone(
        DetectorIOC,
        default_prefix=subsystem_prefix("detector"),
        desc=DetectorIOC.__doc__,
        add_arguments=_add_arguments,
        make_ioc=_make_ioc,
    )


if __name__ == "__main__":
    main()
