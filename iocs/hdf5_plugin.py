"""``HDF1:``, an NDFileHDF5 plugin: file naming, modes and status as ADCore has them.

What ophyd's file-store mixins rely on, after ADCore's NDPluginFile:

- FileTemplate % (FilePath, FileName, FileNumber) names a file when it opens, and
  FileNumber is incremented then when AutoIncrement is Yes.
- Single writes one file per frame (AutoSave); Capture buffers NumCapture frames and
  writes them in one file; Stream opens the file on Capture (or at the first frame
  with LazyOpen) and appends each frame; NumCapture 0 streams until Capture is 0.
- FilePath gains a trailing "/", FilePathExists_RBV says whether it is a directory;
  CreateDirectory (0: never, N>0: the first N levels exist, −N: at most the last N are
  created) applies when FilePath is put.
- WriteStatus/WriteMessage report any failure (no directory, permission, disk full)
  with the operating system's reason; Capture then stays (or falls back to) Done.

The h5py work (and the file system calls) runs on one writer thread, in order, so the
IOC keeps answering while a frame is written; ``idle()`` waits for it (WaitForPlugins).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from caproto import ChannelType
from caproto.server import pvproperty

from .ad_plugins import NO_YES, Plugin, enum_setting, readback, setting, text
from .hdf5_writer import COMPRESSIONS, Frame, FrameFile, WriteError, WriterSettings

WRITE_STATUS = ("Write OK", "Write error")


def create_directories(path: str, depth: int) -> None:
    """AD's CreateDirectory: make the missing directories of ``path`` that ``depth`` allows."""
    names = PurePosixPath(path).parts
    if not names or depth == 0:
        return
    root, names = (names[0], names[1:]) if names[0] == "/" else ("", names)
    first = depth if depth > 0 else max(len(names) + depth, 1)
    for level in range(first, len(names)):
        directory = os.path.join(root, *names[: level + 1])
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue
        except OSError as error:
            raise WriteError(
                f"Cannot create directory {directory}: {os.strerror(error.errno)}"
            ) from error


def checked_path(path: str, depth: int) -> tuple[str, bool, str]:
    """(path with a trailing "/", whether it is a directory, why not) after creating it."""
    if not path:
        return "", False, ""
    message = ""
    if not os.path.isdir(path):
        try:
            create_directories(path, depth)
        except WriteError as error:
            message = str(error)
    exists = os.path.isdir(path)
    if not exists and not message:
        message = f"Path {path} does not exist (CreateDirectory {depth} creates none of it)"
    return os.path.join(path, ""), exists, message


class HDF5Plugin(Plugin):
    """NDFileHDF5 (``HDF1:``): writes frames to HDF5 files in ADCore's default layout.

    PVs (besides the NDPluginBase ones)::

        FilePath[_RBV] FileName[_RBV] FileTemplate[_RBV]   256-char CHAR waveforms
        FileNumber[_RBV] AutoIncrement[_RBV] AutoSave[_RBV] FullFileName_RBV
        FilePathExists_RBV CreateDirectory[_RBV]          the directory, made if allowed
        FileWriteMode[_RBV]  Single | Capture | Stream
        Capture[_RBV] NumCapture[_RBV] NumCaptured_RBV LazyOpen[_RBV]
        WriteStatus WriteMessage                          Write OK | Write error, and why
        Compression[_RBV] ZLevel[_RBV]                    None, zlib, Blosc, BSLZ4, LZ4
        SWMRMode[_RBV] SWMRSupported_RBV SWMRActive_RBV NumFramesFlush[_RBV]
    """

    plugin_class = "NDFileHDF5"
    file_path = text("FilePath", doc="Directory the files go to")
    file_path_rbv = text("FilePath_RBV", read_only=True, doc="Directory, with a trailing /")
    file_path_exists = readback(
        "FilePathExists_RBV", "No", dtype=ChannelType.ENUM, enum_strings=NO_YES
    )
    create_directory = setting(name="CreateDirectory", value=0)
    file_name = setting(name="FileName", value="", dtype=ChannelType.CHAR, max_length=256)
    file_template = setting(
        name="FileTemplate",
        value="%s%s_%3.3d.h5",
        dtype=ChannelType.CHAR,
        max_length=256,
    )
    file_number = setting(name="FileNumber", value=0)
    full_file_name = text("FullFileName_RBV", read_only=True, doc="Last file opened")
    auto_increment = enum_setting("AutoIncrement", NO_YES, "Yes")
    auto_save = enum_setting("AutoSave", NO_YES, "Yes")
    file_format = enum_setting("FileFormat", ("HDF5", "Invalid"))
    file_write_mode = enum_setting("FileWriteMode", ("Single", "Capture", "Stream"))
    capture = pvproperty(
        name="Capture",
        value="Done",
        dtype=ChannelType.ENUM,
        enum_strings=("Done", "Capture"),
        doc="Start (or stop) capturing or streaming",
    )
    capture_rbv = readback(
        "Capture_RBV", "Done", dtype=ChannelType.ENUM, enum_strings=("Done", "Capturing")
    )
    num_capture = setting(name="NumCapture", value=1)
    num_captured = readback("NumCaptured_RBV", 0, doc="Frames written (or buffered)")
    lazy_open = enum_setting("LazyOpen", NO_YES)
    write_file = enum_setting("WriteFile", ("Done", "Write"))
    delete_driver_file = enum_setting("DeleteDriverFile", NO_YES)
    write_status = pvproperty(
        name="WriteStatus", value="Write OK", dtype=ChannelType.ENUM, enum_strings=WRITE_STATUS
    )
    write_message = text("WriteMessage", doc="Why the last write failed")
    compression = enum_setting("Compression", COMPRESSIONS)
    zlevel = setting(name="ZLevel", value=6)
    swmr_mode = enum_setting("SWMRMode", ("Off", "On"))
    swmr_supported = readback(
        "SWMRSupported_RBV",
        "Supported",
        dtype=ChannelType.ENUM,
        enum_strings=("Not supported", "Supported"),
    )
    swmr_active = readback(
        "SWMRActive_RBV", "Off", dtype=ChannelType.ENUM, enum_strings=("Off", "Active")
    )
    num_frames_flush = setting(name="NumFramesFlush", value=0)
    store_attributes = enum_setting("StoreAttr", NO_YES, "Yes")
    store_performance = enum_setting("StorePerform", NO_YES)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.port}-writer")
        self._pending: set[asyncio.Task] = set()
        self._file: FrameFile | None = None  # touched on the writer thread only
        self._buffer: list[Frame] = []
        self._capturing = False
        self._stream_opened = False
        self._template: Frame | None = None

    # -- the writer thread ------------------------------------------------------------

    async def _in_writer(self, function: Callable, *args):
        return await asyncio.get_running_loop().run_in_executor(self._writer, function, *args)

    def _queue(self, function: Callable, *args, on_success: Callable | None = None) -> None:
        """Run ``function`` on the writer thread; report a WriteError, else ``on_success``."""

        async def run() -> None:
            try:
                result = await self._in_writer(function, *args)
            except WriteError as error:
                await self._fail(str(error))
            else:
                if on_success is not None:
                    await on_success(result)

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def idle(self) -> None:
        """Return once every queued write has finished."""
        while self._pending:
            await asyncio.gather(*list(self._pending))

    async def _fail(self, message: str) -> None:
        # The message first: a client that sees the error status reads the message next.
        await self.write_message.write(message[:255])
        await self.write_status.write("Write error")
        if self._capturing:
            await self._end_capture()

    async def _clear_error(self) -> None:
        await self.write_status.write("Write OK")
        await self.write_message.write("")

    # -- naming -----------------------------------------------------------------------

    def settings(self) -> WriterSettings:
        return WriterSettings(
            compression=str(self.compression.readback.value),
            zlevel=int(self.zlevel.readback.value),
            swmr=self.swmr_mode.readback.value == "On",
            flush_every=int(self.num_frames_flush.readback.value),
        )

    async def _next_file(self) -> Path:
        """The file FileTemplate names now; FileNumber moves on when AutoIncrement."""
        number = int(self.file_number.readback.value)
        template = str(self.file_template.readback.value)
        path = template % (self.file_path_rbv.value, self.file_name.readback.value, number)
        if self.auto_increment.readback.value == "Yes":
            await self.file_number.setpoint.write(number + 1)
        await self.full_file_name.write(path)
        return Path(path)

    @file_path.putter
    async def file_path(self, instance, value):
        depth = int(self.create_directory.readback.value)
        path, exists, message = await self._in_writer(checked_path, value, depth)
        await self.file_path_rbv.write(path)
        await self.file_path_exists.write("Yes" if exists else "No")
        if message:
            await self._fail(message)
        else:
            await self._clear_error()
        return value

    # -- capture ----------------------------------------------------------------------

    @capture.putter
    async def capture(self, instance, value):
        if value != "Capture":
            if self._capturing:
                await self._end_capture()
                await self.idle()
            return "Done"
        if self._capturing:  # as ADCore: Capture while capturing changes nothing
            return "Capture"
        await self._clear_error()
        mode = self.file_write_mode.readback.value
        if mode == "Single":
            await self._fail("ERROR, capture not supported in Single mode")
            return "Done"
        await self.num_captured.write(0)
        self._buffer = []
        self._capturing = True
        self._stream_opened = False
        if mode == "Stream" and self.lazy_open.readback.value == "No":
            await self._open_stream(self._template)
            await self.idle()
            if not self._capturing:
                return "Done"
        await self.capture_rbv.write("Capturing")
        return "Capture"

    async def _end_capture(self) -> None:
        """Stop capturing: write the Capture buffer or close the stream file."""
        self._capturing = False
        mode = self.file_write_mode.readback.value
        if mode == "Capture" and self._buffer and self.auto_save.readback.value == "Yes":
            frames, self._buffer = self._buffer, []
            path = await self._next_file()
            self._queue(self._write_file, path, frames, True, self.settings())
        elif mode == "Stream":
            self._queue(self._close_stream, on_success=self._stream_closed)
        await self.capture.write("Done", verify_value=False)
        await self.capture_rbv.write("Done")

    async def _open_stream(self, first: Frame) -> None:
        self._stream_opened = True
        path = await self._next_file()
        self._queue(self._open_file, path, first, self.settings(), on_success=self._stream_open)

    async def _stream_open(self, swmr: bool) -> None:
        await self.swmr_active.write("Active" if swmr else "Off")

    async def _stream_closed(self, _) -> None:
        await self.swmr_active.write("Off")

    async def _frame_written(self, frames: int | None) -> None:
        if frames is None:
            return
        await self.num_captured.write(frames)
        limit = int(self.num_capture.readback.value)
        if self._capturing and limit and frames >= limit:
            await self._end_capture()

    # -- work done on the writer thread -----------------------------------------------

    def _open_file(self, path: Path, first: Frame, settings: WriterSettings) -> bool:
        self._file = FrameFile(path, first, settings, stacked=True)
        return settings.swmr

    def _append(self, frame: Frame) -> int | None:
        if self._file is None:  # an earlier write failed: its error is already reported
            return None
        try:
            self._file.append(frame)
        except WriteError:
            self._file = None
            raise
        return self._file.frames

    def _close_stream(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def _write_file(
        self, path: Path, frames: list[Frame], stacked: bool, settings: WriterSettings
    ) -> int:
        file = FrameFile(path, frames[0], settings, stacked=stacked)
        for frame in frames:
            file.append(frame)
        return file.close()

    # -- frames -----------------------------------------------------------------------

    async def prime(self, frame: Frame) -> None:
        await super().prime(frame)
        self._template = frame

    async def process(self, frame: Frame) -> None:
        mode = self.file_write_mode.readback.value
        if mode == "Single":
            if self.auto_save.readback.value == "Yes":
                await self._clear_error()
                path = await self._next_file()
                self._queue(
                    self._write_file,
                    path,
                    [frame],
                    False,
                    self.settings(),
                    on_success=self._frame_written,
                )
        elif self._capturing and mode == "Capture":
            self._buffer.append(frame)
            await self.num_captured.write(len(self._buffer))
            if len(self._buffer) >= int(self.num_capture.readback.value):
                await self._end_capture()
        elif self._capturing and mode == "Stream":
            if not self._stream_opened:
                await self._open_stream(frame)
            self._queue(self._append, frame, on_success=self._frame_written)
        return None
