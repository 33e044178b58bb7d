"""areaDetector ports in caproto: the NDArray records every port has, and the plugins.

Every port serves all the records of its template chain (``iocs.ad_records``); the
classes here add only what ADCore does.  ``ArrayPort`` publishes each NDArray as
NDArrayBase does (counter, id, time, dimensions, type); ``Plugin`` is NDPluginDriver
(enable, source port, the frame handed on).  ``StatsPlugin``, ``RoiPlugin`` and
``ImagePlugin`` compute per frame what NDPluginStats, NDPluginROI and
NDPluginStdArrays do; ``PassThroughPlugin`` (NDPluginProcess, Transform, Overlay,
ColorConvert, CircularBuff ... with their defaults) passes the frame on unchanged.
Each plugin's ``receive`` takes a frame from its source port and returns the frame it
passes on, or None, so the detector IOC follows the port graph its clients configure.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence

import numpy as np
from caproto import ChannelType
from caproto.server import pvproperty

from .ad_records import RecordSet, on_put, same_value
from .hdf5_writer import Frame

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
#: ADCore's version this sim follows (ADCoreVersion_RBV).
ADCORE_VERSION = "3.14.0"
MAX_DIMENSIONS = 10


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


def data_type_index(dtype: np.dtype) -> int:
    """AD's DataType index for a numpy dtype (uint16 → UInt16)."""
    name = np.dtype(dtype).name
    return next(index for index, ad in enumerate(DATA_TYPES) if ad.lower() == name)


class ArrayPort(RecordSet):
    """An NDArray port (driver or plugin): its records and how it shows arrays.

    ``port`` is the asyn port name (PortName_RBV) that plugins select as their source.
    Frames come in batches (the frames the camera read out since it last woke); what a
    port shows per frame is staged (``stage``) and posted by ``post_staged``, which the
    camera calls at most every POST_INTERVAL_S and when acquisition ends: a record's
    monitors then carry its latest value, as a Channel Access server's event queue
    collapses updates a client has not taken yet, and every value is exact at the end.
    ArrayRate_RBV is ADCore's 1-second calc: the arrays counted over the last second.
    """

    def __init__(self, prefix: str, *, port: str, macros: dict | None = None) -> None:
        super().__init__(prefix, {"PORT": port, **(macros or {})})
        self.port = port
        self._staged: set[str] = set()
        self._rate_mark: tuple[float, int] | None = None
        self._initial = {
            "PortName_RBV": port,
            "ADCoreVersion_RBV": ADCORE_VERSION,
            "DriverVersion_RBV": ADCORE_VERSION,
        }

    async def start(self) -> None:
        """At IOC start: the values the driver's constructor (or autosave) sets."""
        await self.restore(self._initial.items())

    def geometry(self, shape: tuple[int, ...], dtype) -> list[tuple[str, object]]:
        """The records NDArrayBase shows for an array of ``shape`` (rows, columns) and type."""
        dims = list(reversed(shape))  # AD's dimension 0 is X (columns)
        values: list[tuple[str, object]] = [
            ("NDimensions_RBV", len(dims)),
            ("Dimensions_RBV", dims + [0] * (MAX_DIMENSIONS - len(dims))),
            ("ArraySizeX_RBV", dims[0]),
            ("ArraySizeY_RBV", dims[1] if len(dims) > 1 else 0),
            ("ArraySizeZ_RBV", dims[2] if len(dims) > 2 else 0),
            ("ArraySize_RBV", int(np.prod(shape)) * np.dtype(dtype).itemsize),
            ("DataType_RBV", data_type_index(dtype)),
        ]
        values += [(f"ArraySize{axis}_RBV", size) for axis, size in enumerate(dims[:3])]
        return values

    def stage(self, values: Iterable[tuple[str, object]]) -> None:
        """Set parameters now; their records are posted by the next ``post_staged``."""
        for name, value in values:
            param = self.param_of(name)
            value = self._normalise(param, value)
            if not same_value(self._values.get(param), value):
                self._values[param] = value
                self._staged.add(param)

    async def post_staged(self) -> None:
        """Post the records of every parameter staged since the last post."""
        staged, self._staged = self._staged, set()
        for param in staged:
            value = self._values[param]
            for channel in self._bound.get(param, ()):
                await channel.write(self._display(channel, value), verify_value=False)

    def count_arrays(self, frames: Sequence[Frame]) -> None:
        """Stage the last frame's id, time and geometry, and count the frames."""
        last = frames[-1]
        seconds = int(last.timestamp)
        self.stage(self.geometry(last.data.shape, last.data.dtype))
        self.stage(
            (
                ("UniqueId_RBV", last.unique_id),
                ("TimeStamp_RBV", last.timestamp),
                ("EpicsTSSec_RBV", seconds),
                ("EpicsTSNsec_RBV", round((last.timestamp - seconds) * 1e9)),
                ("ArrayCounter_RBV", self.get("ArrayCounter_RBV") + len(frames)),
            )
        )

    async def update_rate(self, now: float) -> None:
        """ArrayRate_RBV: arrays counted since the last call, per second (ADCore's calc).

        The calc reads the ArrayCounter_RBV *record* (INPB), as posted: not frames staged
        but not posted yet (a batch the plugins are still taking when the calc runs),
        which would put them in this second's rate and ArrayCounter_RBV in the next.
        """
        counter = int(self.records["ArrayCounter_RBV"].value)
        if self._rate_mark is not None and now > self._rate_mark[0]:
            then, counted = self._rate_mark
            await self.set("ArrayRate_RBV", max(counter - counted, 0) / (now - then))
        self._rate_mark = (now, counter)


class Plugin(ArrayPort):
    """An NDPluginDriver fed by the port its NDArrayPort names; ``template`` says which plugin.

    ``enabled`` plugins (EnableCallbacks, the ``ENABLED`` macro as in st.cmd) take
    frames, skipping those that come sooner than MinCallbackTime after the last one
    taken (as NDPluginDriver does: skipped, not dropped); ``process`` is the plugin's own
    work on the frames taken.
    """

    #: ADCore's plugin class name (PluginType_RBV); ophyd checks it.
    plugin_class = ""

    def __init__(
        self, prefix: str, *, port: str, source: str, enabled: bool = False, macros=None
    ) -> None:
        super().__init__(
            prefix,
            port=port,
            macros={"NDARRAY_PORT": source, "ENABLED": str(int(enabled)), **(macros or {})},
        )
        self._initial["PluginType_RBV"] = self.plugin_class
        self._last_taken: float | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.get("EnableCallbacks"))

    @property
    def source_port(self) -> str:
        return str(self.get("NDArrayPort"))

    async def prime(self, frame: Frame) -> None:
        """Show the geometry of ``frame`` as if it had arrived (the plugin starts primed)."""
        await self.set_many(self.geometry(frame.data.shape, frame.data.dtype))

    def _taken(self, frames: Sequence[Frame]) -> list[Frame]:
        """The frames MinCallbackTime lets through (by their timestamps)."""
        interval = float(self.get("MinCallbackTime"))
        if interval <= 0:
            return list(frames)
        taken = []
        for frame in frames:
            if self._last_taken is None or frame.timestamp - self._last_taken >= interval:
                taken.append(frame)
                self._last_taken = frame.timestamp
        return taken

    async def receive(self, frames: Sequence[Frame]) -> list[Frame]:
        """Take frames from the source port; the frames this plugin passes on."""
        if not self.enabled:
            return []
        frames = self._taken(frames)
        if not frames:
            return []
        start = time.perf_counter()
        self.count_arrays(frames)
        passed_on = await self.process(frames)
        self.stage([("ExecutionTime_RBV", (time.perf_counter() - start) * 1e3 / len(frames))])
        return passed_on

    async def process(self, frames: list[Frame]) -> list[Frame]:
        """What the plugin does with frames; passed on unchanged by default."""
        return frames


class PassThroughPlugin(Plugin):
    """A plugin served with all its records whose default settings leave frames unchanged."""

    def __init__(self, prefix: str, *, template: str, plugin_class: str, **kwargs) -> None:
        self.template = template
        self.plugin_class = plugin_class
        super().__init__(prefix, **kwargs)


class LatestFramePlugin(Plugin):
    """A plugin whose records show the last frame taken when they are posted.

    Only the last frame's values could be seen, so a fast stream costs nothing per
    frame: ``post_latest`` runs once per posting, with that frame.
    """

    def __init__(self, prefix: str, **kwargs) -> None:
        super().__init__(prefix, **kwargs)
        self._latest: Frame | None = None

    async def process(self, frames: list[Frame]) -> list[Frame]:
        self._latest = frames[-1]
        return frames

    async def post_staged(self) -> None:
        frame, self._latest = self._latest, None
        if frame is not None:
            await self.post_latest(frame)
        await super().post_staged()

    async def post_latest(self, frame: Frame) -> None:
        """Stage or set this plugin's records from ``frame``."""
        raise NotImplementedError


class StatsPlugin(LatestFramePlugin):
    """NDPluginStats: the basic statistics and (ComputeCentroid) centroid and sigma X/Y.

    Net subtracts the mean of a ``BgdWidth``-pixel border from every pixel, as ADCore
    does; centroid and moments use the pixels above CentroidThreshold.  The statistics
    are those of the last frame taken when the records are posted (only the last
    frame's values could be seen), so a fast stream costs no statistics per frame.
    """

    template = "NDStats.template"
    plugin_class = "NDPluginStats"

    async def post_latest(self, frame: Frame) -> None:
        if self.get("ComputeStatistics"):
            self.stage(self.statistics(frame.data))

    def statistics(self, pixels: np.ndarray) -> list[tuple[str, float]]:
        """The statistics records of one frame."""
        data = pixels.astype(np.float64)
        total = float(data.sum())
        width = int(self.get("BgdWidth"))
        net = total
        if width > 0 and min(data.shape) > 2 * width:
            border = np.ones(data.shape, bool)
            border[width:-width, width:-width] = False
            net = total - float(data[border].mean()) * data.size
        flat_min, flat_max = int(np.argmin(data)), int(np.argmax(data))
        min_row, min_col = np.unravel_index(flat_min, data.shape)
        max_row, max_col = np.unravel_index(flat_max, data.shape)
        values = [
            ("Total_RBV", total),
            ("Net_RBV", net),
            ("MeanValue_RBV", total / data.size),
            ("Sigma_RBV", float(data.std())),
            ("MinValue_RBV", float(data.flat[flat_min])),
            ("MaxValue_RBV", float(data.flat[flat_max])),
            ("MinX_RBV", float(min_col)),
            ("MinY_RBV", float(min_row)),
            ("MaxX_RBV", float(max_col)),
            ("MaxY_RBV", float(max_row)),
        ]
        if self.get("ComputeCentroid"):
            values += centroid(data, float(self.get("CentroidThreshold")))
        return values


def centroid(data: np.ndarray, threshold: float) -> list[tuple[str, float]]:
    """NDPluginStats' centroid records of ``data`` (pixels below ``threshold`` weigh 0)."""
    weights = np.where(data >= threshold, data, 0.0)
    total = float(weights.sum())
    if total <= 0:
        names = ("CentroidTotal_RBV", "CentroidX_RBV", "CentroidY_RBV", "SigmaX_RBV")
        return [(name, 0.0) for name in (*names, "SigmaY_RBV", "SigmaXY_RBV")]
    columns = weights.sum(axis=0)
    rows = weights.sum(axis=1)
    x = np.arange(data.shape[1], dtype=np.float64)
    y = np.arange(data.shape[0], dtype=np.float64)
    cx = float(columns @ x) / total
    cy = float(rows @ y) / total
    sx = math.sqrt(max(float(columns @ (x - cx) ** 2) / total, 0.0))
    sy = math.sqrt(max(float(rows @ (y - cy) ** 2) / total, 0.0))
    sxy = float((y - cy) @ weights @ (x - cx)) / total
    return [
        ("CentroidTotal_RBV", total),
        ("CentroidX_RBV", cx),
        ("CentroidY_RBV", cy),
        ("SigmaX_RBV", sx),
        ("SigmaY_RBV", sy),
        ("SigmaXY_RBV", sxy / (sx * sy) if sx > 0 and sy > 0 else 0.0),
    ]


class RoiPlugin(Plugin):
    """NDPluginROI: passes on the region Min/Size X/Y (clipped to the frame), binned by Bin X/Y.

    A 2-D frame has no Z dimension: MaxSizeZ_RBV is 0 and the Z records are accepted.
    """

    template = "NDROI.template"
    plugin_class = "NDPluginROI"

    def region(self, shape: tuple[int, int]) -> tuple[slice, slice]:
        """The (rows, columns) slices of a frame of ``shape`` that the ROI keeps."""

        def axis(name: str, length: int) -> slice:
            if not self.get(f"Enable{name}"):
                return slice(0, length)
            first = min(max(int(self.get(f"Min{name}")), 0), length - 1)
            size = int(self.get(f"Size{name}"))
            if self.get(f"AutoSize{name}"):
                size = length - first
            return slice(first, first + max(1, min(size, length - first)))

        return axis("Y", shape[0]), axis("X", shape[1])

    async def prime(self, frame: Frame) -> None:
        await super().prime(frame)
        rows, columns = frame.data.shape
        await self.set_many((("MaxSizeX_RBV", columns), ("MaxSizeY_RBV", rows), ("MaxX", columns)))
        await self.set("MaxY", rows)

    async def process(self, frames: list[Frame]) -> list[Frame]:
        regions = [self.crop(frame) for frame in frames]
        self.stage(self.geometry(regions[-1].data.shape, regions[-1].data.dtype))
        return regions

    def crop(self, frame: Frame) -> Frame:
        """The frame of the region (binned) this ROI passes on."""
        rows, columns = self.region(frame.data.shape)
        binning = max(1, int(self.get("BinY"))), max(1, int(self.get("BinX")))
        cropped = frame.data[rows, columns]
        if binning != (1, 1):
            height = cropped.shape[0] // binning[0] * binning[0]
            width = cropped.shape[1] // binning[1] * binning[1]
            cropped = (
                cropped[:height, :width]
                .reshape(height // binning[0], binning[0], width // binning[1], binning[1])
                .sum(axis=(1, 3), dtype=np.float64)
                .astype(cropped.dtype)
            )
        cropped = np.ascontiguousarray(cropped)
        return Frame(cropped, frame.unique_id, frame.timestamp, frame.attributes)


class ImagePlugin(LatestFramePlugin):
    """NDPluginStdArrays: the last frame as a flat ``ArrayData`` waveform (FTVL per st.cmd).

    ArrayData is posted with the other records: the last frame taken by then (clients
    slow it further with MinCallbackTime).
    """

    template = "NDStdArrays.template"
    plugin_class = "NDPluginStdArrays"

    async def post_latest(self, frame: Frame) -> None:
        # Before the counter (posted after this), as NDPluginStdArrays posts them.
        await self.set("ArrayData", frame.data.ravel().astype(np.int32), force=True)


class OverlayPlugin(PassThroughPlugin):
    """NDPluginOverlay with its 8 overlays (``Over1:1:`` … ``Over1:8:``), all off by default."""

    def __init__(self, prefix: str, **kwargs) -> None:
        super().__init__(
            prefix, template="NDOverlay.template", plugin_class="NDPluginOverlay", **kwargs
        )
        self.overlays = [
            Overlay(f"{prefix}{n}:", macros={"PORT": self.port, "ADDR": str(n - 1), "NAME": name})
            for n, name in enumerate(OVERLAY_NAMES, start=1)
        ]

    @property
    def pvdb(self) -> dict:
        database = super().pvdb
        for overlay in self.overlays:
            database.update(overlay.pvdb)
        return database


#: The overlay names of ADCore's EXAMPLE_commonPlugins.cmd.
OVERLAY_NAMES = ("ROI1", "ROI2", "ROI3", "ROI4", "Cursor1", "Cursor2", "Box1", "Box2")


class Overlay(RecordSet):
    """One NDOverlayN (an overlay's shape, position and colour records)."""

    template = "NDOverlayN.template"

    def __init__(self, prefix: str, macros: dict) -> None:
        links = dict.fromkeys(("XPOS", "YPOS", "XSIZE", "YSIZE"), "junk")
        super().__init__(prefix, {"SHAPE": "1", "O": "", **links, **macros})


class CircularBuffPlugin(PassThroughPlugin):
    """NDPluginCircularBuff: Capture buffers frames; Trigger flushes PostCount of them on.

    Enough of ADCore's behaviour for ophyd's ``ContinuousAcquisitionTrigger``: a soft
    Trigger (its put completes when the post-trigger frames have passed) while
    capturing.
    """

    def __init__(self, prefix: str, **kwargs) -> None:
        super().__init__(
            prefix,
            template="NDCircularBuff.template",
            plugin_class="NDPluginCircularBuff",
            **kwargs,
        )

    @on_put("Trigger")
    async def _trigger(self, value: int) -> int:
        if not value:
            return 0
        await self.set("Trigger_RBV", 1)
        await self.set("ActualTriggerCount_RBV", self.get("ActualTriggerCount_RBV") + 1)
        await self.set("Trigger_RBV", 0)
        return 0

    @on_put("Capture")
    async def _capture(self, value: int) -> int:
        await self.set("ActualTriggerCount_RBV", 0)
        return value
