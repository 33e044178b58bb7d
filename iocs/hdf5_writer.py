"""HDF5 files in ADCore's default NeXus layout, written a batch of frames at a time (h5py).

NDFileHDF5's default layout::

    /entry                         NXentry
      /instrument                  NXinstrument
        /detector                  NXdetector
          data                     [N, Y, X] (stream) or [Y, X] (single), @units, @long_name
          /NDAttributes            NXcollection: ColorMode
        /NDAttributes              NXcollection: NDArrayUniqueId, NDArrayTimeStamp,
                                   NDArrayEpicsTSSec, NDArrayEpicsTSnSec, driver attributes
      /data                        NXdata; data is a hard link to /entry/instrument/detector/data

A write that cannot succeed must not leave a file claiming frames it does not hold.
Opening reports the operating system's own error.  Before each frame the writer checks
that the frame fits (free space on the disk, the process's file-size limit) and fails
cleanly, with the operating system's reason, if not; a write that fails anyway (another
process filled the disk) shrinks the datasets back to the frames written, and a file
that cannot be closed readable is renamed ``<name>.corrupt``.  This module knows
nothing of Channel Access: the IOC runs it in a writer thread.
"""

from __future__ import annotations

import errno
import os
import re
import resource
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np

#: NDFileHDF5's Compression enum strings, in AD's order.
COMPRESSIONS = ("None", "N-bit", "szip", "zlib", "Blosc", "BSLZ4", "LZ4", "JPEG")
SUPPORTED_COMPRESSIONS = ("None", "zlib", "Blosc", "BSLZ4", "LZ4")
#: Room kept free for HDF5 metadata beyond the frame itself.
METADATA_MARGIN_BYTES = 64 * 1024
DATA_PATH = "/entry/instrument/detector/data"
LINK_PATH = "/entry/data/data"


class WriteError(RuntimeError):
    """A file could not be opened, written or closed; the message says which and why."""


@dataclass(frozen=True)
class Attribute:
    """One NDAttribute: a number per frame, where it came from, what it means."""

    value: float
    description: str
    source: str = "Driver"
    units: str = ""


@dataclass(frozen=True)
class Frame:
    """One NDArray: pixels, its unique id, its POSIX timestamp and driver attributes."""

    data: np.ndarray
    unique_id: int
    timestamp: float
    attributes: Mapping[str, Attribute] = field(default_factory=dict)

    def array_attributes(self) -> dict[str, Attribute]:
        """The NDArray's own attributes (id and times) followed by the driver's."""
        seconds = int(self.timestamp)
        return {
            "NDArrayUniqueId": Attribute(self.unique_id, "The unique ID of the NDArray"),
            "NDArrayTimeStamp": Attribute(
                self.timestamp, "The timestamp of the NDArray as float64", units="s"
            ),
            "NDArrayEpicsTSSec": Attribute(
                seconds, "The NDArray EPICS timestamp seconds past epoch", units="s"
            ),
            "NDArrayEpicsTSnSec": Attribute(
                round((self.timestamp - seconds) * 1e9), "The NDArray EPICS timestamp nanoseconds"
            ),
            **self.attributes,
        }


@dataclass(frozen=True)
class WriterSettings:
    """How to write: compression (AD's names), zlib level, SWMR, flush interval."""

    compression: str = "None"
    zlevel: int = 6
    swmr: bool = False
    flush_every: int = 0
    #: Chunk shape of a stacked frame dataset: (frames, rows, columns); None: one frame.
    chunks: tuple[int, int, int] | None = None
    units: str = "counts"
    long_name: str = "diffraction intensity"

    def filter_options(self) -> dict:
        """h5py create_dataset keywords for the compression filter."""
        if self.compression == "None":
            return {}
        if self.compression == "zlib":
            return {"compression": "gzip", "compression_opts": int(self.zlevel)}
        if self.compression == "Blosc":
            return dict(hdf5plugin.Blosc(cname="blosclz", clevel=5, shuffle=1))
        if self.compression == "LZ4":
            return dict(hdf5plugin.LZ4())
        if self.compression == "BSLZ4":
            return dict(hdf5plugin.Bitshuffle(cname="lz4"))
        raise WriteError(f"compression {self.compression} is not supported by this IOC")


def os_reason(error: BaseException) -> str:
    """The operating system's words for ``error`` (h5py buries them in its message)."""
    number = getattr(error, "errno", None)
    if isinstance(number, int) and number > 0:
        return os.strerror(number)
    found = re.search(r"error message = '([^']*)'", str(error))
    return found.group(1) if found else str(error)


def ensure_room(path: Path, nbytes: int) -> None:
    """Raise ENOSPC/EFBIG unless ``nbytes`` more (plus metadata) fit in the file at ``path``."""
    needed = nbytes + METADATA_MARGIN_BYTES
    stats = os.statvfs(path.parent)
    if stats.f_bavail * stats.f_frsize < needed:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    limit, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    size = path.stat().st_size if path.is_file() else 0
    if limit != resource.RLIM_INFINITY and size + needed > limit:
        raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))


def _nx_group(parent: h5py.Group, name: str, nx_class: str) -> h5py.Group:
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    return group


class FrameFile:
    """One file in ADCore's layout: ``stacked`` grows [N, Y, X]; otherwise one [Y, X] frame."""

    def __init__(self, path: Path, first: Frame, settings: WriterSettings, *, stacked: bool):
        self.path = Path(path)
        self.settings = settings
        self.stacked = stacked
        self.frames = 0
        self._existed = os.path.lexists(self.path)
        try:
            self._file = h5py.File(self.path, "w", libver="latest" if settings.swmr else None)
            self._create_layout(first)
            if settings.swmr:
                self._file.swmr_mode = True
            self._file.flush()
        except (OSError, RuntimeError, ValueError) as error:
            self._abandon()
            raise WriteError(f"Error opening file {self.path}: {os_reason(error)}") from error

    def _create_layout(self, first: Frame) -> None:
        entry = _nx_group(self._file, "entry", "NXentry")
        entry.attrs["default"] = "data"
        instrument = _nx_group(entry, "instrument", "NXinstrument")
        detector = _nx_group(instrument, "detector", "NXdetector")
        shape = first.data.shape
        self._data = detector.create_dataset(
            "data",
            shape=(0, *shape) if self.stacked else shape,
            maxshape=(None, *shape) if self.stacked else shape,
            chunks=self._chunks(shape),
            dtype=first.data.dtype,
            **self.settings.filter_options(),
        )
        self._data.attrs.update(
            signal=1,
            units=self.settings.units,
            long_name=self.settings.long_name,
            NDArrayNumDims=len(shape),
        )
        color = {"ColorMode": Attribute(0, "Color mode")}
        self._attributes = {
            **self._attribute_datasets(_nx_group(detector, "NDAttributes", "NXcollection"), color),
            **self._attribute_datasets(
                _nx_group(instrument, "NDAttributes", "NXcollection"), first.array_attributes()
            ),
        }
        data = _nx_group(entry, "data", "NXdata")
        data.attrs["signal"] = "data"
        data["data"] = self._data  # a hard link, as ADCore's layout has it

    def _chunks(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """NDFileHDF5's chunks: NumFramesChunks × NumRowChunks × NumColChunks, within a frame."""
        if not self.stacked:
            return shape
        if self.settings.chunks is None:
            return (1, *shape)
        frames, rows, columns = self.settings.chunks
        return (max(1, frames), min(max(1, rows), shape[0]), min(max(1, columns), shape[1]))

    def flush(self) -> None:
        """Write what is buffered to disk now (FlushNow)."""
        try:
            self._file.flush()
        except (OSError, RuntimeError, ValueError) as error:
            raise WriteError(f"Error flushing file {self.path}: {os_reason(error)}") from error

    def _attribute_datasets(
        self, group: h5py.Group, attributes: Mapping[str, Attribute]
    ) -> dict[str, h5py.Dataset]:
        datasets = {}
        for name, attribute in attributes.items():
            dtype = np.asarray(attribute.value).dtype
            dataset = group.create_dataset(
                name,
                shape=(0,) if self.stacked else (),
                maxshape=(None,) if self.stacked else (),
                dtype=dtype,
                chunks=(64,) if self.stacked else None,
            )
            dataset.attrs.update(
                NDAttrName=name,
                NDAttrDescription=attribute.description,
                NDAttrSource=attribute.source,
                NDAttrSourceType="NDAttrSourceDriver",
            )
            if attribute.units:
                dataset.attrs["units"] = attribute.units
            datasets[name] = dataset
        return datasets

    def append(self, frame: Frame) -> None:
        """Write one frame (and its attributes); on failure keep the frames already written."""
        self.append_many([frame])

    def append_many(self, frames: list[Frame]) -> None:
        """Write frames (and their attributes) in one go: whole chunks, one flush.

        If they do not all fit (disk space, file-size limit), the frames are written one
        by one, so the file keeps every frame that fits before the write fails.
        """
        if not self.stacked and self.frames + len(frames) > 1:
            raise WriteError(f"{self.path} holds one frame (Single mode)")
        if len(frames) > 1:
            try:
                ensure_room(self.path, sum(frame.data.nbytes for frame in frames))
            except OSError:
                for frame in frames:
                    self.append_many([frame])
                return
        try:
            expected = self._data.shape[1:] if self.stacked else self._data.shape
            for frame in frames:
                if frame.data.shape != expected:
                    raise ValueError(f"frame is {frame.data.shape}, the file holds {expected}")
            if len(frames) == 1:
                ensure_room(self.path, frames[0].data.nbytes)
            color = {"ColorMode": Attribute(0, "")}
            values = [color | frame.array_attributes() for frame in frames]
            first, last = self.frames, self.frames + len(frames)
            if self.stacked:
                self._resize(last)
                self._data[first:last] = np.stack([frame.data for frame in frames])
                for name, dataset in self._attributes.items():
                    dataset[first:last] = [v[name].value if name in v else 0 for v in values]
            else:
                self._data[()] = frames[0].data
                for name, dataset in self._attributes.items():
                    dataset[()] = values[0][name].value if name in values[0] else 0
            self.frames = last
            every = self.settings.flush_every
            if self.settings.swmr or (every and last // every > first // every):
                self._file.flush()
        except (OSError, RuntimeError, ValueError) as error:
            reason = os_reason(error)
            kept = self._keep_written()
            raise WriteError(
                f"Error writing frame {self.frames} to {self.path}: {reason}; {kept}"
            ) from error

    def _resize(self, frames: int) -> None:
        self._data.resize(frames, axis=0)
        for dataset in self._attributes.values():
            dataset.resize(frames, axis=0)

    def close(self) -> int:
        """Close the file; the number of frames it holds."""
        try:
            self._file.close()
        except (OSError, RuntimeError, ValueError) as error:
            raise WriteError(f"Error closing file {self.path}: {os_reason(error)}") from error
        return self.frames

    def _keep_written(self) -> str:
        """After a failed write: close holding only the frames written; say what is left."""
        try:
            if self.stacked:
                self._resize(self.frames)
            self._file.flush()
        except (OSError, RuntimeError, ValueError):
            pass  # the check below decides what the file holds
        self._close_quietly()
        if self.frames and readable_frames(self.path) == self.frames:
            return f"the file keeps the {self.frames} frames written before"
        if self.frames:
            corrupt = self.path.with_name(self.path.name + ".corrupt")
            os.replace(self.path, corrupt)
            return f"the file could not be closed readable and was renamed {corrupt}"
        self._abandon()
        return "no frame was written"

    def _close_quietly(self) -> None:
        file = getattr(self, "_file", None)
        if file is None:
            return
        try:
            file.close()
        except (OSError, RuntimeError, ValueError):
            pass  # the handle is gone either way; what is on disk is checked by the caller

    def _abandon(self) -> None:
        """Drop a file that holds no frame, unless it was there before (e.g. a symlink)."""
        self._close_quietly()
        if not self._existed and self.path.is_file() and not self.path.is_symlink():
            self.path.unlink()


def readable_frames(path: Path) -> int | None:
    """Frames a reader finds at ``/entry/data/data`` of ``path``; None if it cannot open it."""
    try:
        with h5py.File(path, "r") as file:
            data = file[LINK_PATH]
            return int(data.shape[0]) if data.ndim == 3 else 1
    except (OSError, KeyError):
        return None
