"""A ptypy ``.ptyd`` beside the NXstxm file of a ptychography scan, linking the same frames.

ptypy's data file (seed 001): ``meta/`` (version, num_frames, label, shape, energy in
keV, propagation) and ``chunks/<k>/`` with ``data`` [M, N, N], ``indices`` [M],
``positions`` [M, 2] (y, x in metres) and ``weights`` (same shape as data). As in
ptypy's 'link' save mode nothing is copied: each chunk's ``data`` links the frames in
the files the IOC wrote (external link or virtual dataset, paths relative to the
``.ptyd``), and ``weights`` is a dataset of unwritten chunks whose fill value is 1, so
it takes no room. Detector distance and pixel size are not in the documents and are
left out (ptypy then takes them from its own parameters).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import h5py
import numpy as np

from .files import write_new
from .links import write_frames
from .model import Detector, Entry, FrameSet, ScanModel
from .scan_types import ScanType

#: The ptypy data-format version this file follows.
PTYD_VERSION = "0.8"
#: Frames per chunk, as ptypy's ``min_frames``-sized chunks (a few hundred MB of uint16).
FRAMES_PER_CHUNK = 1024
UM = 1e-6


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


def write_ptyd(entry: Entry, path: Path) -> None:
    """Write ``path`` (a new ``.ptyd``) for the area-detector frames of ``entry``."""
    _, frames = _frames(entry)
    flat = FrameSet(frames.frames, 1)  # ptypy wants one frame per position
    positions = _positions(entry, frames)
    with h5py.File(path, "w-") as h5:
        chunks = h5.create_group("chunks")
        for k, first in enumerate(range(0, len(flat.frames), FRAMES_PER_CHUNK)):
            chunk = chunks.create_group(str(k))
            part = FrameSet(flat.frames[first : first + FRAMES_PER_CHUNK], 1)
            write_frames(chunk, "data", part, path.parent)
            shape = chunk["data"].shape
            chunk["indices"] = np.arange(first, first + shape[0])
            chunk["positions"] = positions[first : first + shape[0]]
            chunk.create_dataset(
                "weights", shape=shape, dtype=bool, fillvalue=True, chunks=(1, *shape[1:])
            )
        meta = h5.create_group("meta")
        meta["version"] = PTYD_VERSION
        meta["num_frames"] = len(flat.frames)
        meta["label"] = f"{path.stem} {entry.name}"
        meta["shape"] = np.array(chunks["0/data"].shape[1:])
        meta["energy"] = float(entry.energy[0]) / 1000.0  # keV, as ptypy takes it
        meta["propagation"] = "farfield"


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
