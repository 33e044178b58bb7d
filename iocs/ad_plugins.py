"""areaDetector records in caproto: what every NDArray port serves, and three plugins.

``ArrayPort`` holds the records a driver and every plugin share (ADCore's
NDArrayBase.template: port name, counters, array geometry and type); ``Plugin`` adds
NDPluginBase.template's (enable, source port, plugin type).  ``StatsPlugin``,
``RoiPlugin`` and ``ImagePlugin`` compute per frame what ADCore's NDPluginStats,
NDPluginROI and NDPluginStdArrays do.  Each plugin's ``receive`` takes a frame from its
source port and returns the frame it passes on (the ROI's crop) or None, so the
detector IOC can follow the port graph its clients configure.
"""

from __future__ import annotations

import numpy as np
from caproto import ChannelType
from caproto.server import PVGroup, get_pv_pair_wrapper, pvproperty

from .hdf5_writer import Frame

#: A setting ``X`` with its readback ``X_RBV`` (the put is mirrored to the readback).
setting = get_pv_pair_wrapper(setpoint_suffix="", readback_suffix="_RBV")

DATA_TYPES = (
    "Int8",
    "UInt8",
    "Int16",
    "UInt16",
    "Int32",
    "UInt32",
    "Int64",
    "UInt64",
    "Float32",
    "Float64",
)
COLOR_MODES = ("Mono", "Bayer", "RGB1", "RGB2", "RGB3", "YUV444", "YUV422", "YUV421")
NO_YES = ("No", "Yes")
DISABLE_ENABLE = ("Disable", "Enable")
#: The longest image ``image1:ArrayData`` serves (1024 × 1024).
MAX_ARRAY_ELEMENTS = 1024 * 1024


def enum_setting(name: str, strings: tuple[str, ...], value: str | None = None, **kwargs):
    """An enum setting with AD's strings (and its readback)."""
    value = strings[0] if value is None else value
    return setting(name=name, value=value, dtype=ChannelType.ENUM, enum_strings=strings, **kwargs)


def text(name: str, value: str = "", *, read_only: bool = False, doc: str = "") -> pvproperty:
    """A 256-character CHAR waveform (a string to ophyd), as AD serves paths and messages."""
    return pvproperty(
        name=name,
        value=value,
        dtype=ChannelType.CHAR,
        max_length=256,
        read_only=read_only,
        doc=doc,
    )


def readback(name: str, value, **kwargs) -> pvproperty:
    """A read-only record the IOC updates."""
    return pvproperty(name=name, value=value, read_only=True, **kwargs)


def data_type_name(dtype: np.dtype) -> str:
    """AD's DataType string for a numpy dtype (uint16 → UInt16)."""
    name = np.dtype(dtype).name
    return next(ad for ad in DATA_TYPES if ad.lower() == name)


class ArrayPort(PVGroup):
    """Records of an NDArray port (driver or plugin): its name, counters and array geometry.

    ``port`` names the asyn port (PortName_RBV) that plugins select as their source.
    """

    port_name = readback("PortName_RBV", "", dtype=ChannelType.STRING, doc="asyn port name")
    array_counter = setting(name="ArrayCounter", value=0, doc="Arrays received")
    array_rate = readback("ArrayRate_RBV", 0.0, units="Hz", doc="Arrays per second")
    unique_id = readback("UniqueId_RBV", 0, doc="Unique id of the last array")
    time_stamp = readback("TimeStamp_RBV", 0.0, units="s", precision=3, doc="Array time")
    epics_ts_sec = readback("EpicsTSSec_RBV", 0, doc="Array time, EPICS seconds")
    epics_ts_nsec = readback("EpicsTSNsec_RBV", 0, doc="Array time, nanoseconds")
    ndimensions = readback("NDimensions_RBV", 2, doc="Array dimensions")
    array_size_x = readback("ArraySizeX_RBV", 0, doc="Array width")
    array_size_y = readback("ArraySizeY_RBV", 0, doc="Array height")
    array_size_z = readback("ArraySizeZ_RBV", 0, doc="Array depth (0 for mono)")
    array_size_bytes = readback("ArraySize_RBV", 0, units="bytes", doc="Array size")
    data_type = enum_setting("DataType", DATA_TYPES, "UInt16", readback_kw={"record": "mbbi"})
    color_mode = enum_setting("ColorMode", COLOR_MODES)
    array_callbacks = enum_setting("ArrayCallbacks", DISABLE_ENABLE, "Enable")
    nd_attributes_file = text("NDAttributesFile", doc="NDAttributes XML file")

    def __init__(self, *args, port: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.port = port
        self._last_time: float | None = None

    @port_name.startup
    async def port_name(self, instance, async_lib):
        await instance.write(self.port)

    async def show_array(self, frame: Frame) -> None:
        """Publish ``frame``'s id, time and geometry, and count it."""
        rows, columns = frame.data.shape
        seconds = int(frame.timestamp)
        await self.unique_id.write(frame.unique_id)
        await self.time_stamp.write(frame.timestamp)
        await self.epics_ts_sec.write(seconds)
        await self.epics_ts_nsec.write(round((frame.timestamp - seconds) * 1e9))
        await self.array_size_x.write(columns)
        await self.array_size_y.write(rows)
        await self.array_size_bytes.write(frame.data.nbytes)
        await self.data_type.readback.write(data_type_name(frame.data.dtype))
        await self.array_counter.readback.write(self.array_counter.readback.value + 1)
        if self._last_time is not None and frame.timestamp > self._last_time:
            await self.array_rate.write(1.0 / (frame.timestamp - self._last_time))
        self._last_time = frame.timestamp


class Plugin(ArrayPort):
    """An NDPluginDriver: enabled or not, fed by the port ``source`` (NDArrayPort)."""

    plugin_type = readback("PluginType_RBV", "", dtype=ChannelType.STRING, doc="Plugin class")
    enable = enum_setting("EnableCallbacks", DISABLE_ENABLE, "Enable")
    blocking_callbacks = enum_setting("BlockingCallbacks", NO_YES)
    nd_array_port = setting(name="NDArrayPort", value="", dtype=ChannelType.STRING)
    nd_array_address = setting(name="NDArrayAddress", value=0)
    array_size0 = readback("ArraySize0_RBV", 0, doc="Size of dimension 0 (X)")
    array_size1 = readback("ArraySize1_RBV", 0, doc="Size of dimension 1 (Y)")
    array_size2 = readback("ArraySize2_RBV", 0, doc="Size of dimension 2")
    dropped_arrays = setting(name="DroppedArrays", value=0)
    queue_size = setting(name="QueueSize", value=20)
    queue_free = readback("QueueFree", 20)
    min_callback_time = setting(name="MinCallbackTime", value=0.0)
    execution_time = readback("ExecutionTime_RBV", 0.0, units="ms", precision=3)

    #: ADCore's plugin class name (PluginType_RBV); ophyd checks it.
    plugin_class = ""

    def __init__(self, *args, source: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.source = source

    @plugin_type.startup
    async def plugin_type(self, instance, async_lib):
        await instance.write(self.plugin_class)
        await self.nd_array_port.setpoint.write(self.source)

    @property
    def enabled(self) -> bool:
        return self.enable.readback.value == "Enable"

    @property
    def source_port(self) -> str:
        return str(self.nd_array_port.readback.value)

    async def prime(self, frame: Frame) -> None:
        """Show the geometry of ``frame`` as if it had arrived (the plugin starts primed)."""
        rows, columns = frame.data.shape
        await self.array_size0.write(columns)
        await self.array_size1.write(rows)
        await self.data_type.readback.write(data_type_name(frame.data.dtype))

    async def receive(self, frame: Frame) -> Frame | None:
        """Take one frame from the source port; the frame this plugin passes on, if any."""
        if not self.enabled:
            return None
        await self.prime(frame)
        await self.show_array(frame)
        return await self.process(frame)

    async def process(self, frame: Frame) -> Frame | None:
        """What the plugin does with a frame (subclasses); nothing is passed on by default."""
        return None


class StatsPlugin(Plugin):
    """NDPluginStats: total, net, mean, sigma, min and max of each frame.

    Net subtracts the mean of a ``BgdWidth``-pixel border from every pixel, as ADCore does.
    """

    plugin_class = "NDPluginStats"
    compute_statistics = enum_setting("ComputeStatistics", NO_YES, "Yes")
    bgd_width = setting(name="BgdWidth", value=0)
    total = readback("Total_RBV", 0.0, precision=1, doc="Sum of the pixels")
    net = readback("Net_RBV", 0.0, precision=1, doc="Total minus the background")
    mean_value = readback("MeanValue_RBV", 0.0, precision=3, doc="Mean pixel value")
    sigma = readback("Sigma_RBV", 0.0, precision=3, doc="Standard deviation")
    min_value = readback("MinValue_RBV", 0.0, doc="Smallest pixel")
    max_value = readback("MaxValue_RBV", 0.0, doc="Largest pixel")
    max_x = readback("MaxX_RBV", 0, doc="Column of the largest pixel")
    max_y = readback("MaxY_RBV", 0, doc="Row of the largest pixel")

    async def process(self, frame: Frame) -> None:
        if self.compute_statistics.readback.value != "Yes":
            return None
        data = frame.data.astype(np.float64)
        total = float(data.sum())
        width = int(self.bgd_width.readback.value)
        background = 0.0
        if width > 0 and min(data.shape) > 2 * width:
            border = np.ones(data.shape, bool)
            border[width:-width, width:-width] = False
            background = float(data[border].mean()) * data.size
        row, column = np.unravel_index(int(np.argmax(data)), data.shape)
        await self.total.write(total)
        await self.net.write(total - background)
        await self.mean_value.write(float(data.mean()))
        await self.sigma.write(float(data.std()))
        await self.min_value.write(float(data.min()))
        await self.max_value.write(float(data.max()))
        await self.max_x.write(int(column))
        await self.max_y.write(int(row))
        return None


class RoiPlugin(Plugin):
    """NDPluginROI: passes on the region MinX/MinY, SizeX/SizeY (clipped to the frame)."""

    plugin_class = "NDPluginROI"
    min_x = setting(name="MinX", value=0)
    min_y = setting(name="MinY", value=0)
    size_x = setting(name="SizeX", value=1 << 20)
    size_y = setting(name="SizeY", value=1 << 20)
    enable_x = enum_setting("EnableX", DISABLE_ENABLE, "Enable")
    enable_y = enum_setting("EnableY", DISABLE_ENABLE, "Enable")
    name_ = setting(name="Name", value="", dtype=ChannelType.STRING)

    def region(self, shape: tuple[int, int]) -> tuple[slice, slice]:
        """The (rows, columns) slices of a frame of ``shape`` that the ROI keeps."""

        def axis(enabled, start, size, length) -> slice:
            if enabled.readback.value != "Enable":
                return slice(0, length)
            first = min(max(int(start.readback.value), 0), length - 1)
            return slice(first, first + max(1, min(int(size.readback.value), length - first)))

        return (
            axis(self.enable_y, self.min_y, self.size_y, shape[0]),
            axis(self.enable_x, self.min_x, self.size_x, shape[1]),
        )

    async def process(self, frame: Frame) -> Frame:
        rows, columns = self.region(frame.data.shape)
        cropped = np.ascontiguousarray(frame.data[rows, columns])
        return Frame(cropped, frame.unique_id, frame.timestamp, frame.attributes)


class ImagePlugin(Plugin):
    """NDPluginStdArrays: the last frame as a flat ``ArrayData`` waveform (int32, no wrap)."""

    plugin_class = "NDPluginStdArrays"
    array_data = pvproperty(
        name="ArrayData",
        value=[0],
        dtype=ChannelType.LONG,
        max_length=MAX_ARRAY_ELEMENTS,
        read_only=True,
        doc="The last frame, row by row",
    )

    async def process(self, frame: Frame) -> None:
        await self.array_data.write(frame.data.ravel().astype(np.int32))
        return None
