"""Area-detector IOC: a SimDetector-like camera of far-field diffraction, and its plugins."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from caproto import ChannelType
from caproto.server import PVGroup, SubGroup, pvproperty

from .ad_plugins import (
    NO_YES,
    ArrayPort,
    ImagePlugin,
    Plugin,
    RoiPlugin,
    StatsPlugin,
    enum_setting,
    readback,
    setting,
    text,
)
from .hdf5_plugin import HDF5Plugin
from .hdf5_writer import Attribute, Frame
from .physics import FarFieldDetector, StxmModel
from .positions import (
    ChannelAccessPositions,
    PositionReader,
    add_followed_arguments,
    beam_state,
    followed_positions,
)
from .refusal import accept, refuse
from .runner import run_standalone

CAM_PORT = "SIM1"
DETECTOR_STATES = (
    "Idle",
    "Acquire",
    "Readout",
    "Correct",
    "Saving",
    "Aborting",
    "Error",
    "Waiting",
    "Initializing",
    "Disconnected",
    "Aborted",
)
MAX_SIZE = 1024
#: NDAttributes of every frame: name → (description, units).
FRAME_ATTRIBUTES = {
    "SampleX": ("Sample X (coarse + fine + goniometer)", "um"),
    "SampleY": ("Sample Y (coarse + fine + goniometer)", "um"),
    "Energy": ("Photon energy", "eV"),
    "RingCurrent": ("Storage-ring current", "mA"),
    "AcquireTime": ("Exposure time", "s"),
}


def frame_attributes(values: dict[str, float]) -> dict[str, Attribute]:
    """The frame's NDAttributes from their values."""
    return {
        name: Attribute(float(values[name]), description, units=units)
        for name, (description, units) in FRAME_ATTRIBUTES.items()
    }


async def _positive(group, instance, value) -> None:
    """Put hook of a setting that must be > 0 (the camera's StatusMessage_RBV says why not)."""
    cam = group.parent
    if not value > 0:
        await refuse(instance, cam.status_message, f"{group.prefix} must be > 0, got {value}")
    await accept(instance, cam.status_message)
    await group.readback.write(value)


async def _size(group, instance, value) -> None:
    """Put hook of SizeX/SizeY: 1…MAX_SIZE pixels; the plugins learn the new size at once."""
    cam = group.parent
    if not 1 <= value <= MAX_SIZE:
        text_ = f"{group.prefix} must be 1..{MAX_SIZE}, got {value}"
        await refuse(instance, cam.status_message, text_)
    await accept(instance, cam.status_message)
    await group.readback.write(value)
    await cam.parent.prime()


class SimDetectorCam(ArrayPort):
    """``cam1:``: the driver (ADBase + simDetector records ophyd and apstools use).

    Acquire (a busy record: its put completes when acquisition ends) takes ImageMode
    Single → 1, Multiple → NumImages, Continuous → until Acquire is 0 frames, one per
    max(AcquireTime, AcquirePeriod); Acquire_RBV drops when the last frame is out,
    AcquireBusy once the plugins have written it too if WaitForPlugins is Yes.
    """

    acquire = pvproperty(
        name="Acquire",
        value="Done",
        dtype=ChannelType.ENUM,
        enum_strings=("Done", "Acquire"),
        doc="Start or stop acquiring",
    )
    acquire_rbv = readback(
        "Acquire_RBV", "Done", dtype=ChannelType.ENUM, enum_strings=("Done", "Acquiring")
    )
    acquire_busy = readback(
        "AcquireBusy", "Done", dtype=ChannelType.ENUM, enum_strings=("Done", "Acquiring")
    )
    wait_for_plugins = pvproperty(
        name="WaitForPlugins", value="No", dtype=ChannelType.ENUM, enum_strings=NO_YES
    )
    image_mode = enum_setting("ImageMode", ("Single", "Multiple", "Continuous"))
    trigger_mode = enum_setting("TriggerMode", ("Internal", "External"))
    num_images = setting(name="NumImages", value=1, put=_positive)
    num_images_counter = readback("NumImagesCounter_RBV", 0, doc="Frames of this acquisition")
    num_exposures = setting(name="NumExposures", value=1, put=_positive)
    acquire_time = setting(name="AcquireTime", value=0.01, put=_positive, precision=4, units="s")
    acquire_period = setting(name="AcquirePeriod", value=0.0, precision=4, units="s")
    time_remaining = readback("TimeRemaining_RBV", 0.0, units="s", precision=3)
    size_x = setting(name="SizeX", value=256, put=_size)
    size_y = setting(name="SizeY", value=256, put=_size)
    max_size_x = readback("MaxSizeX_RBV", MAX_SIZE)
    max_size_y = readback("MaxSizeY_RBV", MAX_SIZE)
    min_x = setting(name="MinX", value=0)
    min_y = setting(name="MinY", value=0)
    bin_x = setting(name="BinX", value=1)
    bin_y = setting(name="BinY", value=1)
    gain = setting(name="Gain", value=1.0)
    frame_type = enum_setting("FrameType", ("Normal", "Background", "FlatField"))
    detector_state = readback(
        "DetectorState_RBV", "Idle", dtype=ChannelType.ENUM, enum_strings=DETECTOR_STATES
    )
    status_message = text("StatusMessage_RBV", read_only=True, doc="Why a put was refused")
    manufacturer = readback("Manufacturer_RBV", "STXM sim", dtype=ChannelType.STRING)
    model_name = readback("Model_RBV", "Far-field diffraction", dtype=ChannelType.STRING)

    @acquire.putter
    async def acquire(self, instance, value):
        if value != "Acquire":
            self.parent.stop_acquisition()
            return "Done"
        await self.parent.acquire()
        return "Done"

    @detector_state.startup
    async def detector_state(self, instance, async_lib):
        await self.parent.start()

    def shape(self) -> tuple[int, int]:
        return int(self.size_y.readback.value), int(self.size_x.readback.value)


class DetectorIOC(PVGroup):
    """Area-detector IOC: ADSimDetector + NDFileHDF5 as ophyd's area-detector classes see them.

    PVs (see each group's docstring)::

        <prefix>cam1:    the camera: Acquire, AcquireTime, NumImages, ImageMode, SizeX/Y, ...
        <prefix>image1:  NDPluginStdArrays: ArrayData (int32 waveform)
        <prefix>ROI1:    NDPluginROI: MinX/MinY, SizeX/SizeY
        <prefix>Stats1:  NDPluginStats: Total_RBV, Net_RBV, MeanValue_RBV, Sigma_RBV, ...
        <prefix>HDF1:    NDFileHDF5: Single/Capture/Stream files in ADCore's layout

    Frames are the far-field diffraction of the probe on the phantom at the stage's
    position mid-exposure (``iocs.physics.diffraction``), Poisson noise unless the model's
    noise is off, uint16.  Every plugin takes frames from the port its NDArrayPort names
    (the camera's, SIM1, by default; Stats1 can take ROI1's).  Running alone, the IOC
    follows the stage, OSA, zone-plate and energy IOCs over Channel Access.
    """

    cam = SubGroup(SimDetectorCam, prefix="cam1:", port=CAM_PORT)
    image1 = SubGroup(ImagePlugin, prefix="image1:", port="IMAGE1", source=CAM_PORT)
    roi1 = SubGroup(RoiPlugin, prefix="ROI1:", port="ROI1", source=CAM_PORT)
    stats1 = SubGroup(StatsPlugin, prefix="Stats1:", port="STATS1", source=CAM_PORT)
    hdf1 = SubGroup(HDF5Plugin, prefix="HDF1:", port="HDF1", source=CAM_PORT)

    def __init__(
        self,
        *args,
        model: StxmModel,
        positions: PositionReader,
        seed: int = 0,
        clock=time.monotonic,
        wall_clock=time.time,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.positions = positions
        self.optics = FarFieldDetector()
        self.rng = np.random.default_rng(seed)
        self.clock = clock
        self.wall_clock = wall_clock
        self._unique_ids = itertools.count(1)
        self._frames = ThreadPoolExecutor(max_workers=1, thread_name_prefix="frames")
        self._stop = False

    @property
    def plugins(self) -> list[Plugin]:
        return [self.image1, self.roi1, self.stats1, self.hdf1]

    async def start(self) -> None:
        """At IOC start: follow the other IOCs (alone) and prime the plugins."""
        if isinstance(self.positions, ChannelAccessPositions):
            await self.positions.connect()
        await self.prime()

    async def prime(self) -> None:
        """Tell every plugin the frame geometry and attributes to come (ADCore's priming)."""
        attributes = frame_attributes(dict.fromkeys(FRAME_ATTRIBUTES, 0.0))
        blank = Frame(np.zeros(self.cam.shape(), np.uint16), 0, self.wall_clock(), attributes)
        for plugin in self.plugins:
            await plugin.prime(blank)
        await self.cam.array_size_x.write(blank.data.shape[1])
        await self.cam.array_size_y.write(blank.data.shape[0])

    async def publish(self, frame: Frame, port: str) -> None:
        """Hand ``frame`` to every plugin fed by ``port``, and on down the port graph."""
        for plugin in self.plugins:
            if plugin.source_port == port:
                passed_on = await plugin.receive(frame)
                if passed_on is not None:
                    await self.publish(passed_on, plugin.port)

    def stop_acquisition(self) -> None:
        self._stop = True

    def _frame_count(self) -> float:
        mode = self.cam.image_mode.readback.value
        if mode == "Single":
            return 1
        if mode == "Multiple":
            return int(self.cam.num_images.readback.value)
        return float("inf")

    async def acquire(self) -> None:
        """Acquire the frames ImageMode asks for, one per period, honouring AcquireTime."""
        cam = self.cam
        self._stop = False
        await cam.acquire_rbv.write("Acquiring")
        await cam.acquire_busy.write("Acquiring")
        await cam.detector_state.write("Acquire")
        await cam.num_images_counter.write(0)
        try:
            count = self._frame_count()
            exposure = float(cam.acquire_time.readback.value)
            period = max(exposure, float(cam.acquire_period.readback.value))
            start = self.clock()
            for index in itertools.count():
                if index >= count or self._stop:
                    break
                frame_start = start + index * period
                await asyncio.sleep(max(0.0, frame_start + exposure - self.clock()))
                frame = await self._frame(frame_start + exposure / 2, exposure)
                await cam.show_array(frame)
                await cam.num_images_counter.write(index + 1)
                await self.publish(frame, cam.port)
                await asyncio.sleep(max(0.0, frame_start + period - self.clock()))
        finally:
            await cam.acquire_rbv.write("Done")
            if cam.wait_for_plugins.value == "Yes":
                await self.hdf1.idle()
            await cam.acquire_busy.write("Done")
            await cam.detector_state.write("Idle")

    async def _frame(self, mid_exposure: float, exposure: float) -> Frame:
        """One frame of the beam state at ``mid_exposure``, computed off the event loop."""
        state = beam_state(self.positions, mid_exposure)
        self.optics.shape = self.cam.shape()
        rng = self.rng if self.model.noise else None
        data = await asyncio.get_running_loop().run_in_executor(
            self._frames, self.optics.frame, self.model, state, exposure, rng
        )
        values = {
            "SampleX": float(np.mean(state.sample_x_um)),
            "SampleY": float(np.mean(state.sample_y_um)),
            "Energy": state.energy_ev,
            "RingCurrent": state.ring_current_ma,
            "AcquireTime": exposure,
        }
        return Frame(data, next(self._unique_ids), self.wall_clock(), frame_attributes(values))


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_followed_arguments(parser)
    parser.add_argument("--no-noise", action="store_true", help="start with noise off")
    parser.add_argument("--seed", type=int, default=0, help="noise seed")


def _make_ioc(args: argparse.Namespace, prefix: str) -> DetectorIOC:
    model = StxmModel(seed=args.seed, noise=not args.no_noise)
    return DetectorIOC(
        prefix=prefix, model=model, positions=followed_positions(args), seed=args.seed
    )


def main() -> None:
    """Run this IOC alone: ``python -m iocs.detector --prefix ... --list-pvs``."""
    run_standalone(
        DetectorIOC,
        default_prefix="SIM:det1:",
        desc=DetectorIOC.__doc__,
        add_arguments=_add_arguments,
        make_ioc=_make_ioc,
    )


if __name__ == "__main__":
    main()
