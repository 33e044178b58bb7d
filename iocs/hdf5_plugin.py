"""``HDF1:``, an NDFileHDF5 plugin: NDPluginFile (``iocs.nd_file``) writing HDF5 as ADCore does.

Besides NDPluginFile's naming and modes: Compression/ZLevel choose the filter;
ChunkSizeAuto (Yes: a chunk is one whole frame, shown in NumRowChunks/NumColChunks)
or NumFramesChunks × NumRowChunks × NumColChunks decide the dataset's chunks;
SWMRMode writes the stream file SWMR (flushed each frame); NumFramesFlush flushes
every N frames; FlushNow flushes at once.  NumExtraDims, PositionMode and the other
layout records are accepted; XMLFileName empty means ADCore's default layout (the
only layout this IOC writes: a non-empty one is reported in XMLErrorMsg_RBV).
"""

from __future__ import annotations

from pathlib import Path

from .ad_records import on_put
from .hdf5_writer import COMPRESSIONS, Frame, FrameFile, WriterSettings
from .nd_file import FilePlugin


class HDF5Plugin(FilePlugin):
    """NDFileHDF5 (``HDF1:``): frames into HDF5 files in ADCore's default layout."""

    template = "NDFileHDF5.template"
    plugin_class = "NDFileHDF5"

    def __init__(self, prefix: str, **kwargs) -> None:
        super().__init__(prefix, **kwargs)
        self._settings = WriterSettings()  # taken from the records when a file opens
        # What NDFileHDF5's constructor sets.
        self._initial.update(
            {
                "FileTemplate": "%s%s_%3.3d.h5",
                "NumFramesChunks": 1,
                "NDAttributeChunk": 0,
                "SWMRSupported_RBV": 1,
                "XMLValid_RBV": 1,
                "NumExtraDims": 0,
                "ZLevel": 6,
                "BloscLevel": 5,
            }
        )

    def settings(self) -> WriterSettings:
        chunks = None
        if not self.get("ChunkSizeAuto"):
            chunks = (
                int(self.get("NumFramesChunks")),
                int(self.get("NumRowChunks")),
                int(self.get("NumColChunks")),
            )
        elif int(self.get("NumFramesChunks")) > 1:
            chunks = (int(self.get("NumFramesChunks")), 1 << 30, 1 << 30)
        return WriterSettings(
            compression=COMPRESSIONS[int(self.get("Compression"))],
            zlevel=int(self.get("ZLevel")),
            swmr=bool(self.get("SWMRMode")),
            flush_every=int(self.get("NumFramesFlush")),
            chunks=chunks,
        )

    def open_file(self, path: Path, first: Frame, stacked: bool) -> FrameFile:
        return FrameFile(path, first, self._settings, stacked=stacked)

    async def _open_stream(self, first: Frame) -> None:
        self._settings = self.settings()
        await super()._open_stream(first)

    async def _end_capture(self) -> None:
        self._settings = self.settings()
        await super()._end_capture()

    async def process(self, frame: Frame) -> None:
        self._settings = self.settings()
        return await super().process(frame)

    async def prime(self, frame: Frame) -> None:
        await super().prime(frame)
        if self.get("ChunkSizeAuto"):
            rows, columns = frame.data.shape
            await self.set_many((("NumRowChunks", rows), ("NumColChunks", columns)))

    async def _stream_open(self, _) -> None:
        await self.set("SWMRActive_RBV", int(self._settings.swmr))

    async def _stream_closed(self, _) -> None:
        await self.set("SWMRActive_RBV", 0)

    @on_put("FlushNow")
    async def _flush_now(self, value: int) -> int:
        if value:
            self._queue(self._flush)
            await self.idle()
        return 0

    @on_put("XMLFileName")
    async def _xml_file_name(self, value: str) -> None:
        message = (
            "" if not value else f"layout {value} not supported: the default layout is written"
        )
        await self.set("XMLValid_RBV", int(not value))
        await self.set("XMLErrorMsg_RBV", message)
