"""A typed model of what goes into an NXstxm file: entries, their axes and NXdata groups.

The layout builds it from documents, the writer turns it into HDF5; neither needs the
other's details. Arrays here are final: no reshaping happens after the layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .scan_types import ScanType

#: A value and its units ("" for none), for the small instrument groups.
Quantity = tuple[float | list[float], str]


@dataclass(frozen=True)
class Axis:
    """A coordinate of an NXdata group; ``dims`` are the data dimensions it runs along."""

    name: str
    values: np.ndarray
    units: str
    dims: tuple[int, ...] = ()
    long_name: str | None = None


#: A dataset of frames an IOC wrote: (file, dataset path inside it).
FrameSource = tuple[Path, str]


@dataclass(frozen=True, eq=False)
class FrameSet:
    """The frames of a detector in acquisition order, ``frames_per_point`` for each point.

    Kept as columns, not one object per frame: frame k is frame ``index[k]`` of
    ``sources[source[k]]``. A 1 GiB stack has tens of thousands of frames, and as arrays
    selecting, joining and finding runs of consecutive frames are numpy operations.
    """

    sources: tuple[FrameSource, ...]
    source: np.ndarray
    index: np.ndarray
    frames_per_point: int

    def __len__(self) -> int:
        return len(self.index)

    @property
    def npoints(self) -> int:
        return len(self) // self.frames_per_point

    def used_sources(self) -> list[FrameSource]:
        """The sources frames come from, in the order of their first frame."""
        used, first = np.unique(self.source, return_index=True)
        return [self.sources[k] for k in used[np.argsort(first)]]

    def points(self, selection: slice | np.ndarray) -> FrameSet:
        """The frames of the points ``selection`` picks (as it would pick from [npoints])."""
        per_point = self.frames_per_point
        rows = np.arange(self.npoints)[selection]
        frames = (rows[:, None] * per_point + np.arange(per_point)).ravel()
        return FrameSet(self.sources, self.source[frames], self.index[frames], per_point)


@dataclass
class NXdataGroup:
    """An NXdata group: regular data (NaN where nothing was acquired), axes, count_time."""

    name: str
    data: np.ndarray
    axes: tuple[str, ...]
    coordinates: list[Axis]
    count_time: np.ndarray
    units: str = "counts"


@dataclass
class Detector:
    """An NXdetector: values in acquisition order [nP, ...], or linked frames."""

    name: str
    data: np.ndarray | FrameSet
    units: str | None = None
    source: str | None = None


@dataclass
class Entry:
    """One NXentry: one spatial region × polarization (× rotation angle) of a scan."""

    name: str
    scan_type: ScanType
    stxm_scan_type: str
    title: str
    start_time: float
    end_time: float | None
    nxdata: list[NXdataGroup]
    default: str
    detectors: list[Detector]
    energy: np.ndarray
    monitor: np.ndarray
    rotation_angle: float = 0.0
    source: dict[str, str] = field(default_factory=dict)
    zone_plate: dict[str, Quantity] = field(default_factory=dict)
    osa: dict[str, Quantity] = field(default_factory=dict)
    epu: dict[str, Quantity] = field(default_factory=dict)
    baseline: dict[str, np.ndarray] = field(default_factory=dict)
    scan_request: dict[str, str] = field(default_factory=dict)
    incomplete: list[str] = field(default_factory=list)
    run_uids: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.incomplete


@dataclass
class ScanModel:
    """Everything one NXstxm file holds; the first entry is the file's default."""

    entries: list[Entry]

    @property
    def default(self) -> str:
        return self.entries[0].name

    @property
    def frame_sets(self) -> list[FrameSet]:
        """Every set of linked frames, for checks and the ptychography ``.ptyd``."""
        return [
            det.data
            for entry in self.entries
            for det in entry.detectors
            if isinstance(det.data, FrameSet)
        ]
