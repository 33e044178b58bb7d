"""A ptypy ``.ptyd`` beside the NXstxm file of a ptychography scan, linking the same frames.

Laid out as ptypy's own writer (``ptypy.io.h5write``/``h5append`` from
``PtyScan``) lays it out, so ``ptypy.io.h5read`` and ``PtydScan`` read it back as ptypy
wrote it: every group carries ``type = 'dict'``, arrays ``'array'``, numbers
``'scalar'``, strings ``'string'`` (variable-length UTF-8), the indices list
``'arraylist'``.

``meta``: ``version`` (float), ``num_frames``, ``label``, ``shape`` [rows, columns],
``energy`` (keV), ``distance`` (m, sample to detector), ``psize`` [2] (m, detector
pixel), ``center`` [2] (pixels: the optical axis on the detector). ``chunks/<k>``:
``data`` [M, rows, columns], ``indices`` [M], ``positions`` [M, 2] (y, x in metres)
and ``weights`` (float, the shape of ``data``). As in ptypy's 'link' save mode nothing
is copied: ``data`` is a virtual dataset of the frames in the files the IOC wrote
(paths relative to the ``.ptyd``), and ``weights`` a dataset of unwritten chunks whose
fill value is 1.0, so it takes no room.

The detector's pixel size and distance are the scan's ``detector_pixel_um`` and
``detector_distance_mm`` (the plan records them in ``plan_args``); a scan that does not
give them gets no ``.ptyd`` but a :class:`PtydError` saying so, since ptypy would
otherwise assume its own defaults (172 µm pixels at 7.19 m) without a word.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import h5py
import numpy as np

from .errors import NXstxmError
from .files import write_new
from .links import write_frames
from .model import Detector, Entry, FrameSet, ScanModel
from .scan_types import ScanType

#: ptypy's PtyScan ``version`` parameter (a float; what ``PtyScan`` writes by default).
PTYD_VERSION = 0.1
#: The ``h5rw_version`` attribute ptypy's h5write puts on the file's root.
H5RW_VERSION = "0.1"
#: Frames per chunk, as ptypy's ``min_frames``-sized chunks (a few hundred MB of uint16).
FRAMES_PER_CHUNK = 1024
#: plan_args keys giving the detector geometry (µm pixels, mm distance).
PIXEL_KEY, DISTANCE_KEY = "detector_pixel_um", "detector_distance_mm"
UM = 1e-6


class PtydError(NXstxmError, ValueError):
    """A ptychography scan whose documents lack what a ``.ptyd`` must state."""


def _frames(entry: Entry) -> tuple[Detector, FrameSet] | None:
    for detector in entry.detectors:
        if isinstance(detector.data, FrameSet):
            return detector, detector.data
    return None


def _positions(entry: Entry, frames: FrameSet) -> np.ndarray:
    """(y, x) in metres of every frame (a point's position repeated for each of its frames)."""
    found = {det.name: det.data for det in entry.detectors}
    points = np.column_stack([found["sample_y"], found["sample_x"]]).astype(float) * UM
    return np.repeat(points, frames.frames_per_point, axis=0)


def given_geometry(entry: Entry) -> tuple[float, float] | None:
    """(pixel size, distance) in metres from the scan's plan_args, None if not given."""
    plan_args = json.loads(entry.scan_request.get("plan_args") or "{}")
    values = [plan_args.get(key) for key in (PIXEL_KEY, DISTANCE_KEY)]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values):
        return values[0] * UM, values[1] * 1e-3
    return None


def detector_geometry(entry: Entry) -> tuple[float, float]:
    """(pixel size, distance) in metres from the scan's plan_args; PtydError if absent."""
    geometry = given_geometry(entry)
    if geometry is None:
        raise PtydError(
            f"entry {entry.name}: plan_args give no positive {PIXEL_KEY} and {DISTANCE_KEY}; "
            "a .ptyd needs the detector's pixel size and distance (pass them to ptycho_scan) "
            "or ptypy would silently assume its own"
        )
    return geometry


def _typed(group: h5py.Group, name: str, value, kind: str) -> h5py.Dataset:
    dataset = group.create_dataset(name, data=value)
    dataset.attrs["type"] = kind
    return dataset


def _dict(parent: h5py.Group, name: str) -> h5py.Group:
    group = parent.create_group(name)
    group.attrs["type"] = "dict"
    return group


def _write_meta(h5: h5py.File, entry: Entry, path: Path, shape: tuple[int, int], n: int) -> None:
    pixel_m, distance_m = detector_geometry(entry)
    meta = _dict(h5, "meta")
    _typed(meta, "version", np.float64(PTYD_VERSION), "scalar")
    _typed(meta, "num_frames", np.int64(n), "scalar")
    label = np.asarray(f"{path.stem} {entry.name}".encode(), dtype=h5py.string_dtype())
    _typed(meta, "label", label, "string")
    _typed(meta, "shape", np.array(shape, dtype=np.int64), "array")
    _typed(meta, "energy", np.float64(float(entry.energy[0]) / 1000.0), "scalar")  # keV
    _typed(meta, "distance", np.float64(distance_m), "scalar")
    _typed(meta, "psize", np.array([pixel_m, pixel_m]), "array")
    _typed(meta, "center", np.array(shape, dtype=np.float64) / 2.0, "array")


def write_ptyd(entry: Entry, path: Path) -> None:
    """Write ``path`` (a new ``.ptyd``) for the area-detector frames of ``entry``."""
    detector_geometry(entry)  # refuse before writing anything
    _, frames = _frames(entry)
    flat = replace(frames, frames_per_point=1)  # ptypy wants one frame per position
    positions = _positions(entry, frames)
    now = time.time()
    with h5py.File(path, "w-") as h5:
        h5.attrs["h5rw_version"] = H5RW_VERSION
        h5.attrs["ctime"] = h5.attrs["mtime"] = str(now)
        chunks = _dict(h5, "chunks")
        for k, first in enumerate(range(0, len(flat), FRAMES_PER_CHUNK)):
            chunk = _dict(chunks, str(k))
            part = flat.points(slice(first, first + FRAMES_PER_CHUNK))
            write_frames(chunk, "data", part, path.parent)
            chunk["data"].attrs["type"] = "array"
            shape = chunk["data"].shape
            _typed(chunk, "indices", np.arange(first, first + shape[0]), "arraylist")
            _typed(chunk, "positions", positions[first : first + shape[0]], "array")
            weights = chunk.create_dataset(
                "weights", shape=shape, dtype=np.float64, fillvalue=1.0, chunks=(1, *shape[1:])
            )
            weights.attrs["type"] = "array"
        _write_meta(h5, entry, path, chunks["0/data"].shape[1:], len(flat))


def write_ptyds(model: ScanModel, nexus_file: Path) -> list[Path]:
    """A ``.ptyd`` beside ``nexus_file`` per ptychography entry with frames; their paths."""
    entries = [
        entry
        for entry in model.entries
        if entry.scan_type is ScanType.PTYCHOGRAPHY_SCAN and _frames(entry) is not None
    ]
    paths = []
    for entry in entries:
        suffix = "" if len(entries) == 1 else f"_{entry.name}"
        name = f"{nexus_file.stem}{suffix}.ptyd"
        paths.append(
            write_new(
                nexus_file.parent,
                lambda tmp, entry=entry: write_ptyd(entry, tmp),
                name=name,
                when=datetime.fromtimestamp(entry.start_time),
            )
        )
    return paths
