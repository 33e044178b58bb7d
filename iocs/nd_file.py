"""NDPluginFile in caproto: file naming, confinement, Single/Capture/Stream, WriteStatus.

What ADCore's NDPluginFile does, and what ophyd's file-store mixins rely on:

- The full file name is ``epicsSnprintf(FileTemplate, FilePath, FileName, FileNumber)``
  (``c_format``: C printf with %s/%d/%i/%u/%x/%o/%c/%e/%f/%g/%%, flags, width and
  precision; arguments a template does not use are ignored, as in C).  It is made when
  a file opens; FileNumber is incremented then if AutoIncrement.  A template C would
  not format safely (a conversion past the third argument, or of the wrong type) sets
  WriteStatus=Error, WriteMessage "Error creating full file name: ...".
- Single writes one file per frame (AutoSave); Capture buffers NumCapture frames, then
  writes them; Stream opens the file on Capture (or at the first frame with LazyOpen,
  FileNumber moving on then) and appends each frame; NumCapture 0 streams until
  Capture is 0.  A plugin whose format holds one array per file (TIFF) writes a file
  per frame in every mode.  Frames come in batches (those read out since the camera
  last woke); a stream appends each batch in one write.
- FilePath gains a trailing "/"; FilePathExists_RBV says whether it is a directory;
  CreateDirectory (0: never, N>0: the first N levels exist, −N: at most the last N
  are created) applies when FilePath is put.
- Files stay inside the IOC's data roots (``--data-root``): a FilePath, FileName or
  FileTemplate result outside them, a ``..`` component, a "/" in FileName, directories
  CreateDirectory would make outside them are refused, and a file that exists and was
  not created by this plugin during this capture is never replaced.  Each refusal and
  every write failure sets WriteStatus=Error with the reason in WriteMessage (written
  first, so a client seeing the error reads its reason).

The file work runs on one writer thread per plugin, in order, so the IOC keeps
answering while a frame is written; ``idle()`` waits for it (WaitForPlugins).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from .ad_plugins import Plugin
from .ad_records import on_put
from .hdf5_writer import Frame, WriteError

WRITE_OK, WRITE_ERROR = 0, 1
SINGLE, CAPTURE, STREAM = 0, 1, 2
NAME_ERROR = "Error creating full file name"
_CONVERSION = re.compile(
    r"%(?P<flags>[-+ #0]*)(?P<width>\d*)(?:\.(?P<precision>\d*))?"
    r"(?P<length>hh|h|ll|l|z|j|t|L)?(?P<type>.)",
    re.S,
)
_INTEGER_TYPES = "diuxXoc"
_FLOAT_TYPES = "eEfFgG"


def c_format(template: str, args: Sequence[object]) -> str:
    """``template`` formatted as C's printf would with ``args`` (extra arguments ignored).

    Raises ValueError where C would be undefined: more conversions than arguments, a
    string conversion of a number (except "%.0s", which prints nothing) or a numeric
    conversion of a string, %n/%p/%*.
    """
    out: list[str] = []
    position = 0
    used = 0
    for match in _CONVERSION.finditer(template):
        out.append(template[position : match.start()])
        position = match.end()
        kind = match.group("type")
        if kind == "%" and not (match.group("flags") or match.group("width")):
            out.append("%")
            continue
        if kind not in "s" + _INTEGER_TYPES + _FLOAT_TYPES:
            raise ValueError(f"conversion %{kind} is not allowed in FileTemplate {template!r}")
        if used >= len(args):
            raise ValueError(
                f"FileTemplate {template!r} has more conversions than its {len(args)} arguments"
            )
        value = args[used]
        used += 1
        numeric = isinstance(value, int)
        if kind == "s" and match.group("precision") in ("", "0"):
            value, numeric = "", False  # "%.0s" prints nothing, whatever it consumes
        if (kind == "s") == numeric:
            what = "a number" if numeric else "a string"
            raise ValueError(
                f"FileTemplate {template!r}: %{kind} cannot format {what} (argument {used})"
            )
        spec = "%" + match.group("flags") + match.group("width")
        if match.group("precision") is not None:
            spec += "." + (match.group("precision") or "0")
        if kind == "u":
            kind, value = "d", value % (1 << 32)
        if kind == "i":
            kind = "d"
        if kind == "c":
            kind, value = "s", chr(value % 256)
        out.append((spec + kind) % value)
    out.append(template[position:])
    return "".join(out)


def inside(path: str, roots: Sequence[str]) -> bool:
    """Whether ``path`` (its deepest existing ancestor resolved) is within one of ``roots``."""
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots)


def confine_directory(path: str, roots: Sequence[str]) -> None:
    """Refuse a FilePath with ``..``, a relative one, or one outside the data roots."""
    if not path:
        return
    if ".." in PurePosixPath(path).parts:
        raise WriteError(f"FilePath {path} has a '..' component")
    if not os.path.isabs(path):
        raise WriteError(f"FilePath {path} is not absolute")
    if not inside(path, roots):
        raise WriteError(f"FilePath {path} is outside the data root ({', '.join(roots)})")


def create_directories(path: str, depth: int, roots: Sequence[str]) -> None:
    """AD's CreateDirectory: make the missing directories of ``path`` that ``depth`` allows."""
    names = PurePosixPath(path).parts
    if not names or depth == 0:
        return
    root, names = (names[0], names[1:]) if names[0] == "/" else ("", names)
    first = depth if depth > 0 else max(len(names) + depth, 1)
    for level in range(first, len(names)):
        directory = os.path.join(root, *names[: level + 1])
        if os.path.isdir(directory):  # only missing levels are made (and must be inside)
            continue
        if not inside(directory, roots):
            raise WriteError(f"Cannot create directory {directory}: outside the data root")
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue
        except OSError as error:
            raise WriteError(
                f"Cannot create directory {directory}: {os.strerror(error.errno)}"
            ) from error


def checked_path(path: str, depth: int, roots: Sequence[str]) -> tuple[str, bool, str]:
    """(path with a trailing "/", whether it is a usable directory, why not) after creating it."""
    if not path:
        return "", False, ""
    try:
        confine_directory(path, roots)
        if not os.path.isdir(path):
            create_directories(path, depth, roots)
    except WriteError as error:
        return os.path.join(path, ""), False, str(error)
    if not os.path.isdir(path):
        message = f"Path {path} does not exist (CreateDirectory {depth} creates none of it)"
        return os.path.join(path, ""), False, message
    return os.path.join(path, ""), True, ""


class FilePlugin(Plugin):
    """An NDPluginFile (NDFile.template records): names, confines and writes files.

    Subclasses say how a file is written: ``open_file(path, first, stacked)`` returns a
    handle with ``append(frame)``, ``frames`` and ``close()``, raising WriteError;
    ``multiple_arrays`` says whether one file holds many frames.
    """

    multiple_arrays = True

    def __init__(self, prefix: str, *, data_roots: Sequence[str | Path], **kwargs) -> None:
        super().__init__(prefix, **kwargs)
        self.data_roots = [os.path.realpath(root) for root in data_roots]
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.port}-writer")
        self._pending: set[asyncio.Task] = set()
        self._file = None  # touched on the writer thread only
        self._buffer: list[Frame] = []
        self._capturing = False
        self._stream_opened = False
        self._template: Frame | None = None
        self._created: set[str] = set()  # files this capture created (may be rewritten)
        self._queued = 0

    def open_file(self, path: Path, first: Frame, stacked: bool):
        raise NotImplementedError

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
        await self.set("WriteMessage", message[:255])
        await self.set("WriteStatus", WRITE_ERROR)
        if self._capturing:
            await self._end_capture()

    async def _clear_error(self) -> None:
        await self.set("WriteStatus", WRITE_OK)
        await self.set("WriteMessage", "")

    # -- naming -----------------------------------------------------------------------

    def _full_name(self, number: int) -> str:
        """The file FileTemplate names with FileNumber ``number``, confined to the roots."""
        name = str(self.get("FileName"))
        directory = str(self.get("FilePath"))
        template = str(self.get("FileTemplate"))
        if "/" in name or name in (".", ".."):
            raise ValueError(f"FileName {name!r} must not contain '/' or be '.' or '..'")
        if ".." in PurePosixPath(directory).parts:
            raise ValueError(f"FilePath {directory} has a '..' component")
        full = c_format(template, (directory, name, number))
        if ".." in PurePosixPath(full).parts:
            raise ValueError(f"{full} has a '..' component")
        if not os.path.isabs(full) or not inside(os.path.dirname(full) or "/", self.data_roots):
            raise ValueError(f"{full} is outside the data root ({', '.join(self.data_roots)})")
        return full

    async def _next_file(self) -> Path | None:
        """The file to open now (FileNumber moves on if AutoIncrement); None, reported, if none."""
        number = int(self.get("FileNumber"))
        try:
            path = self._full_name(number)
        except ValueError as error:
            await self._fail(f"{NAME_ERROR}: {error}")
            return None
        if os.path.lexists(path) and path not in self._created:
            await self._fail(
                f"Error opening file {path}: it exists and this capture did not create it"
            )
            return None
        self._created.add(path)
        if self.get("AutoIncrement"):
            await self.set("FileNumber", number + 1)
        await self.set("FullFileName_RBV", path)
        return Path(path)

    @on_put("FilePath")
    async def _file_path(self, value: str) -> str:
        depth = int(self.get("CreateDirectory"))
        path, exists, message = await self._in_writer(checked_path, value, depth, self.data_roots)
        await self.set("FilePathExists_RBV", int(exists))
        if message:
            await self._fail(message)
        else:
            await self._clear_error()
        return path

    @on_put("FileName")
    async def _file_name(self, value: str) -> None:
        if "/" in value or value in (".", ".."):
            await self._fail(f"{NAME_ERROR}: FileName {value!r} must not contain '/'")

    @on_put("FileTemplate")
    async def _file_template(self, value: str) -> None:
        try:
            c_format(value, ("/", "name", 0))
        except ValueError as error:
            await self._fail(f"{NAME_ERROR}: {error}")

    # -- capture ----------------------------------------------------------------------

    @on_put("Capture")
    async def _capture(self, value: int) -> int:
        if not value:
            if self._capturing:
                await self._end_capture()
                await self.idle()
            return 0
        if self._capturing:  # as ADCore: Capture while capturing changes nothing
            return 1
        await self._clear_error()
        mode = self.get("FileWriteMode")
        if mode == SINGLE:
            await self._fail("ERROR, capture not supported in Single mode")
            return 0
        await self.set("NumCaptured_RBV", 0)
        self._buffer = []
        self._created = set()
        self._queued = 0
        self._capturing = True
        self._stream_opened = False
        if mode == STREAM and self.multiple_arrays and not self.get("LazyOpen"):
            await self._open_stream(self._template)
            await self.idle()
            if not self._capturing:
                return 0
        await self.set("Capture_RBV", 1)
        return 1

    async def _end_capture(self) -> None:
        """Stop capturing: write the Capture buffer or close the stream file."""
        self._capturing = False
        mode = self.get("FileWriteMode")
        if mode == CAPTURE and self._buffer and self.get("AutoSave"):
            frames, self._buffer = self._buffer, []
            if self.multiple_arrays:
                path = await self._next_file()
                if path is not None:
                    self._queue(self._write_file, path, frames, True)
            else:
                for frame in frames:
                    path = await self._next_file()
                    if path is None:
                        break
                    self._queue(self._write_file, path, [frame], False)
        elif mode == STREAM and self.multiple_arrays:
            self._queue(self._close_stream, on_success=self._stream_closed)
        await self.set("Capture", 0)
        await self.set("Capture_RBV", 0)

    async def _open_stream(self, first: Frame) -> None:
        self._stream_opened = True
        path = await self._next_file()
        if path is None:
            return
        self._queue(self._open_stacked, path, first, on_success=self._stream_open)

    async def _stream_open(self, _) -> None:
        """The stream file is open (subclasses show, e.g., SWMR state)."""

    async def _stream_closed(self, _) -> None:
        """The stream file is closed."""

    async def _frame_written(self, frames: int | None) -> None:
        if frames is None:
            return
        await self.set("NumCaptured_RBV", frames)
        limit = int(self.get("NumCapture"))
        if self._capturing and limit and frames >= limit:
            await self._end_capture()

    # -- work done on the writer thread -----------------------------------------------

    def _open_stacked(self, path: Path, first: Frame) -> None:
        self._file = self.open_file(path, first, True)

    def _append(self, frames: list[Frame]) -> int | None:
        if self._file is None:  # an earlier write failed: its error is already reported
            return None
        try:
            self._file.append_many(frames)
        except WriteError:
            self._file = None
            raise
        return self._file.frames

    def _close_stream(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    def _flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def _write_file(self, path: Path, frames: list[Frame], stacked: bool) -> int:
        file = self.open_file(path, frames[0], stacked)
        for frame in frames:
            file.append(frame)
        return file.close()

    # -- frames -----------------------------------------------------------------------

    async def prime(self, frame: Frame) -> None:
        await super().prime(frame)
        self._template = frame

    async def process(self, frames: list[Frame]) -> list[Frame]:
        mode = self.get("FileWriteMode")
        if mode == SINGLE or (mode == STREAM and self._capturing and not self.multiple_arrays):
            for frame in frames:
                if not await self._write_single(frame, mode):
                    break
        elif self._capturing and mode == CAPTURE:
            room = max(int(self.get("NumCapture")) - len(self._buffer), 0)
            self._buffer.extend(frames[:room])
            await self.set("NumCaptured_RBV", len(self._buffer))
            if len(self._buffer) >= int(self.get("NumCapture")):
                await self._end_capture()
        elif self._capturing and mode == STREAM:
            if not self._stream_opened:
                await self._open_stream(frames[0])
            limit = int(self.get("NumCapture"))
            if limit:  # never more than NumCapture frames, however many came at once
                frames = frames[: max(limit - self._queued, 0)]
            if frames:
                self._queued += len(frames)
                self._queue(self._append, frames, on_success=self._frame_written)
        return []

    async def _write_single(self, frame: Frame, mode: int) -> bool:
        """Write ``frame`` to a file of its own; whether the next frame may follow."""
        if mode == SINGLE and not self.get("AutoSave"):
            return False
        if mode == SINGLE:
            await self._clear_error()
        path = await self._next_file()
        if path is None:
            return False
        self._queued += 1  # frames this capture has handed to the writer
        written = self._queued if mode == STREAM else 1
        self._queue(
            self._write_file,
            path,
            [frame],
            False,
            on_success=lambda _frames: self._frame_written(written),
        )
        return True
