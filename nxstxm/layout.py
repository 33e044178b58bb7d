"""Each STXM scan type's NXstxm tree: one class per NXdata shape, owning all of its logic.

Every scan type of pyStxm's enum maps to one of seven shapes (the NXstxm definition's
``stxm_scan_type`` documentation gives six of them):

=========  ==================================  =====================================
shape      scan types                          NXdata ``data`` and ``@axes``
=========  ==================================  =====================================
IMAGE      detector/OSA/sample/coarse/goni/    (nY, nX): sample_y, sample_x
           pattern-generator image
STACK      image stack, tomography             (nE, nY, nX): energy, sample_y, sample_x
LINE       sample line spectrum                (nE, nLine): energy, line_position
FOCUS      OSA focus, sample focus             (nZ, nLine): zoneplate_z, line_position
POINT      sample point spectrum               (nE, 1, 1): energy, sample_y, sample_x
GENERIC    generic scan                        (nP,): sample_x
SCATTER    ptychography                        (nY, nX) like an image on a grid; a
                                               list of points (a spiral): (nP,),
                                               sample_x and sample_y both along nP
=========  ==================================  =====================================

A layout class answers the two questions of its shape, and nothing else does:

- :meth:`Layout.geometry`: the (outer, inner) grid a run's events are placed on
  (:func:`.grid.place`), the instrument position at every grid point, the NXdata axes;
- :meth:`Layout.arrange`: the entry's NXdata arrays from its placed runs. With
  :mod:`.grid` this is the one place values are reshaped.

A point spectrum keeps its two length-1 spatial axes because MANTiS reads spectra only
through sample_x/sample_y/energy axes; a line's sample_x/sample_y run along its
line_position dimension as the definition asks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar

import numpy as np

from .errors import NXstxmError
from .grid import Geometry, PlacedRun, Position, line_positions
from .metadata import Region, Roi, StxmMetadata
from .model import Axis
from .scan_types import ScanType


class Shape(Enum):
    """The NXdata shapes of STXM scans."""

    IMAGE = "image"
    STACK = "stack"
    LINE = "line"
    FOCUS = "focus"
    POINT = "point"
    GENERIC = "generic"
    SCATTER = "scatter"


class LayoutError(NXstxmError, ValueError):
    """Runs whose metadata do not describe a regular NXstxm layout (names key and run)."""


@dataclass
class Arrangement:
    """One entry's NXdata arrays, arranged from its runs (``build`` adds what every entry has).

    ``selections[i]`` picks, among run i's acquired points (acquisition order), those
    of this entry; ``expected`` is how many points the metadata asked for (the arrays
    hold only what arrived); ``notes`` say what the layout found missing.
    """

    name: str
    runs: list[PlacedRun]
    data: dict[str, np.ndarray]
    monitor: np.ndarray
    axes: tuple[str, ...]
    coordinates: list[Axis]
    count_time: np.ndarray
    label: str
    selections: list[slice | np.ndarray]
    expected: int
    notes: list[str] = field(default_factory=list)


def _require(roi: Roi | None, path: str, md: StxmMetadata, label: str) -> Roi:
    if roi is None or roi.npoints == 0:
        raise LayoutError(
            f"run {md.run_uid}: metadata key 'rois.{md.img_idx.sp_id}.{path}' gives no "
            f"positions, but a {label} scan needs them"
        )
    return roi


def _first(roi: Roi | None) -> np.ndarray:
    return roi.setpoints[:1] if roi is not None and roi.npoints else np.array([np.nan])


def _label(roi: Roi) -> str:
    return roi.positioner or roi.name


@dataclass(frozen=True)
class Layout(ABC):
    """How a scan type is written: its data shape and its ``stxm_scan_type`` label.

    The base arrangement is one run per entry whose grid is the NXdata array.
    """

    label: str
    shape: ClassVar[Shape]
    #: An entry gathers one run per energy (a stack); otherwise an entry holds one run.
    gathers_runs: ClassVar[bool] = False
    #: The entry spans its region's energies; otherwise only its run's own energy.
    spans_energies: ClassVar[bool] = False

    @abstractmethod
    def geometry(self, md: StxmMetadata, energies: np.ndarray) -> Geometry:
        """The intended grid and coordinates of one run; ``energies`` are the entry's."""

    def arrange(
        self, name: str, runs: list[PlacedRun], energies: np.ndarray, count_time: np.ndarray
    ) -> list[Arrangement]:
        """The entries of ``runs`` (all of one ``img_idx_map.entry``) and their NXdata arrays."""
        run = runs[0]
        shape = run.shape
        if self.spans_energies:  # the energies are the grid's rows: cut with them
            count_time = count_time[: shape[0]]
        return [
            Arrangement(
                name,
                runs,
                {det: placed.grid for det, placed in run.values.items()},
                run.monitor.grid,
                run.geo.axes,
                run.geo.coordinates_on(shape),
                count_time,
                self.label,
                [slice(None)],
                run.geo.npoints,
            )
        ]


class ImageLayout(Layout):
    """(nY, nX): rows of sample_x, one run per image."""

    shape = Shape.IMAGE

    def geometry(self, md: StxmMetadata, energies: np.ndarray) -> Geometry:
        region = md.region(md.img_idx.sp_id)
        x = _require(region.roi("X"), "X", md, self.label)
        y = _require(region.roi("Y"), "Y", md, self.label)
        first = 1 if self.gathers_runs else 0
        energy = energies[min(md.img_idx.e_idx, energies.size - 1)]
        return Geometry(
            grid=(y.npoints, x.npoints),
            axes=("energy", "sample_y", "sample_x") if first else ("sample_y", "sample_x"),
            coordinates=[
                Axis("energy", energies, "eV", (0,) if first else ()),
                Axis("sample_y", y.setpoints, "um", (first,), _label(y)),
                Axis("sample_x", x.setpoints, "um", (first + 1,), _label(x)),
            ],
            positions={
                "sample_x": Position(x.setpoints, 1),
                "sample_y": Position(y.setpoints, 0),
                "energy": Position(np.array([energy])),
            },
            along={"sample_y": 0, "sample_x": 1},
        )


class StackLayout(ImageLayout):
    """(nE, nY, nX): one run per energy, each landing at its ``e_idx``."""

    shape = Shape.STACK
    gathers_runs = True
    spans_energies = True

    def arrange(
        self, name: str, runs: list[PlacedRun], energies: np.ndarray, count_time: np.ndarray
    ) -> list[Arrangement]:
        """Runs land at their e_idx; energies no run reached are left out and said so."""
        slots = _energy_slots(runs, energies.size)
        present = sorted(slots)
        notes = []
        if len(present) < energies.size:
            missing = sorted(set(range(energies.size)) - set(present))
            notes.append(f"energies {energies[missing].tolist()} eV (e_idx {missing}) not acquired")
        rows = [present.index(slot) for slot in slots]
        shape = tuple(max(p.shape[dim] for p in runs) for dim in (0, 1))

        def stacked(grids: list[np.ndarray]) -> np.ndarray:
            # Sized by the runs received, not by the energies the metadata asked for.
            out = np.full((len(present), *shape), np.nan)
            for row, grid in zip(rows, grids, strict=True):
                out[row, : grid.shape[0], : grid.shape[1]] = grid
            return out

        coordinates = [
            Axis(c.name, c.values[present], c.units, c.dims, c.long_name)
            if c.name == "energy"
            else c
            for c in runs[0].geo.coordinates_on(shape)
        ]
        data = {det: stacked([p.values[det].grid for p in runs]) for det in runs[0].values}
        monitor = stacked([p.monitor.grid for p in runs])
        selections: list[slice | np.ndarray] = [slice(None)] * len(runs)
        return [
            Arrangement(
                name,
                runs,
                data,
                monitor,
                runs[0].geo.axes,
                coordinates,
                count_time[present],
                self.label,
                selections,
                len(present) * runs[0].geo.npoints,
                notes,
            )
        ]


def _energy_slots(runs: list[PlacedRun], n_energies: int) -> list[int]:
    """The e_idx of each run of a stack, checked to be in range and unique."""
    slots: dict[int, str] = {}
    for p in runs:
        e_idx = p.md.img_idx.e_idx
        if not 0 <= e_idx < n_energies:
            raise LayoutError(
                f"run {p.run.uid}: img_idx_map.e_idx {e_idx} is outside the {n_energies} "
                f"energies of rois.{p.md.img_idx.sp_id}.EV_ROIS"
            )
        if e_idx in slots:
            raise LayoutError(f"runs {slots[e_idx]} and {p.run.uid} both have e_idx {e_idx}")
        slots[e_idx] = p.run.uid
    return list(slots)


class LineLayout(Layout):
    """(nE, nLine): a line per energy; sample_x/sample_y run along the line."""

    shape = Shape.LINE
    spans_energies = True

    def outer(self, md: StxmMetadata, region: Region, energies: np.ndarray) -> Axis:
        """The axis of the grid's rows: energy here, the zone plate's Z for a focus scan."""
        return Axis("energy", energies, "eV", (0,))

    def geometry(self, md: StxmMetadata, energies: np.ndarray) -> Geometry:
        region = md.region(md.img_idx.sp_id)
        x = _require(region.roi("X"), "X", md, self.label)
        y = region.roi("Y")
        same = y is not None and y.npoints == x.npoints
        xs, ys = x.setpoints, y.setpoints if same else np.resize(_first(y), x.npoints)
        outer = self.outer(md, region, energies)
        coordinates = [
            outer,
            Axis("line_position", line_positions(xs, ys), "um", (1,), "distance along the line"),
            Axis("sample_y", ys, "um", (1,)),
            Axis("sample_x", xs, "um", (1,), _label(x)),
        ]
        positions = {
            "sample_x": Position(xs, 1),
            "sample_y": Position(ys, 1),
            outer.name: Position(outer.values, 0),
        }
        if outer.name != "energy":
            coordinates.append(Axis("energy", energies, "eV"))
            positions["energy"] = Position(energies[:1])
        along = {outer.name: 0, "line_position": 1, "sample_y": 1, "sample_x": 1}
        return Geometry(
            (outer.values.size, xs.size),
            (outer.name, "line_position"),
            coordinates,
            positions,
            along,
        )


class FocusLayout(LineLayout):
    """(nZ, nLine): a line per zone-plate Z (rois ZP.Z, else the region's own Z)."""

    shape = Shape.FOCUS
    spans_energies = False

    def outer(self, md: StxmMetadata, region: Region, energies: np.ndarray) -> Axis:
        zp = region.roi("ZP.Z")
        focus = zp if zp is not None and zp.npoints else region.roi("Z")
        z = _require(focus, "ZP.Z", md, self.label)
        return Axis("zoneplate_z", z.setpoints, "um", (0,), _label(z))


class GenericLayout(Layout):
    """(nP,) along the X ROI's positioner, whatever it moves: the grid's one row."""

    shape = Shape.GENERIC

    def geometry(self, md: StxmMetadata, energies: np.ndarray) -> Geometry:
        x = _require(md.region(md.img_idx.sp_id).roi("X"), "X", md, self.label)
        y = _first(md.region(md.img_idx.sp_id).roi("Y"))
        return Geometry(
            grid=(1, x.npoints),
            axes=("sample_x",),
            coordinates=[
                Axis("sample_x", x.setpoints, "um", (0,), _label(x)),
                Axis("sample_y", y, "um"),
                Axis("energy", energies, "eV"),
            ],
            positions={
                "sample_x": Position(x.setpoints, 1),
                "sample_y": Position(y),
                "energy": Position(energies[:1]),
            },
            along={"sample_x": 1},
        )

    def arrange(
        self, name: str, runs: list[PlacedRun], energies: np.ndarray, count_time: np.ndarray
    ) -> list[Arrangement]:
        """The grid's one row, as long as the points received."""
        run = runs[0]
        shape = (1, min(run.shape[1], max(1, run.order.size)))
        return [
            Arrangement(
                name,
                runs,
                {det: placed.grid[0, : shape[1]] for det, placed in run.values.items()},
                run.monitor.grid[0, : shape[1]],
                run.geo.axes,
                run.geo.coordinates_on(shape),
                count_time,
                self.label,
                [slice(None)],
                run.geo.npoints,
            )
        ]


class PointListLayout(GenericLayout):
    """(nP,) points in acquisition order (a spiral), sample_x and sample_y both along them."""

    def geometry(self, md: StxmMetadata, energies: np.ndarray) -> Geometry:
        region = md.region(md.img_idx.sp_id)
        x = _require(region.roi("X"), "X", md, self.label)
        y = _require(region.roi("Y"), "Y", md, self.label)
        return Geometry(
            grid=(1, x.npoints),
            axes=("sample_x",),
            coordinates=[
                Axis("sample_x", x.setpoints, "um", (0,), _label(x)),
                Axis("sample_y", y.setpoints, "um", (0,), _label(y)),
                Axis("energy", energies, "eV"),
            ],
            positions={
                "sample_x": Position(x.setpoints, 1),
                "sample_y": Position(y.setpoints, 1),
                "energy": Position(energies[:1]),
            },
            along={"sample_x": 1, "sample_y": 1},
        )


class ScatterLayout(Layout):
    """Ptychography: an image when its points span a grid, a point list when they pair up."""

    shape = Shape.SCATTER

    def of_run(self, md: StxmMetadata) -> Layout:
        """The layout of this run's points: X and Y pairing point by point are a list."""
        region = md.region(md.img_idx.sp_id)
        x, y = region.roi("X"), region.roi("Y")
        pairs = x is not None and y is not None and x.npoints == y.npoints >= 2
        if pairs and md.raw.get("num_points") == x.npoints:
            return PointListLayout("generic scan")
        return ImageLayout(self.label)

    def geometry(self, md: StxmMetadata, energies: np.ndarray) -> Geometry:
        return self.of_run(md).geometry(md, energies)

    def arrange(
        self, name: str, runs: list[PlacedRun], energies: np.ndarray, count_time: np.ndarray
    ) -> list[Arrangement]:
        return self.of_run(runs[0].md).arrange(name, runs, energies, count_time)


class PointLayout(Layout):
    """Point spectra: one grid column per spatial point (sp_id_lst order), rows are energies.

    Each point becomes an entry of its own, (nE, 1, 1), named ``<entry>_sp<sp_id>`` when
    the run has several points.
    """

    shape = Shape.POINT
    spans_energies = True

    def geometry(self, md: StxmMetadata, energies: np.ndarray) -> Geometry:
        regions = [md.region(sp) for sp in md.sp_id_lst]
        xs = np.array([_first(r.roi("X"))[0] for r in regions])
        ys = np.array([_first(r.roi("Y"))[0] for r in regions])
        return Geometry(
            grid=(energies.size, len(regions)),
            axes=("energy", "sample_y", "sample_x"),
            coordinates=[Axis("energy", energies, "eV", (0,))],
            positions={
                "sample_x": Position(xs, 1),
                "sample_y": Position(ys, 1),
                "energy": Position(energies, 0),
            },
            along={"energy": 0},
        )

    def arrange(
        self, name: str, runs: list[PlacedRun], energies: np.ndarray, count_time: np.ndarray
    ) -> list[Arrangement]:
        run = runs[0]
        npoints = run.geo.grid[1]
        energy = run.geo.coordinates_on(run.shape)[0]
        return [
            Arrangement(
                name if npoints == 1 else f"{name}_sp{run.md.sp_id_lst[k]}",
                runs,
                {det: placed.grid[:, k, None, None] for det, placed in run.values.items()},
                run.monitor.grid[:, k, None, None],
                run.geo.axes,
                [
                    energy,
                    Axis("sample_y", run.geo.positions["sample_y"].values[k : k + 1], "um", (1,)),
                    Axis("sample_x", run.geo.positions["sample_x"].values[k : k + 1], "um", (2,)),
                ],
                count_time[: run.shape[0]],
                self.label,
                [run.order % npoints == k],
                run.geo.grid[0],
            )
            for k in range(npoints)
        ]


LAYOUTS: dict[ScanType, Layout] = {
    ScanType.DETECTOR_IMAGE: ImageLayout("detector image"),
    ScanType.OSA_IMAGE: ImageLayout("osa image"),
    ScanType.OSA_FOCUS: FocusLayout("osa focus"),
    ScanType.SAMPLE_FOCUS: FocusLayout("sample focus"),
    ScanType.SAMPLE_POINT_SPECTRA: PointLayout("sample point spectrum"),
    ScanType.SAMPLE_LINE_SPECTRA: LineLayout("sample line spectrum"),
    ScanType.SAMPLE_IMAGE: ImageLayout("sample image"),
    ScanType.SAMPLE_IMAGE_STACK: StackLayout("sample image stack"),
    ScanType.GENERIC_SCAN: GenericLayout("generic scan"),
    ScanType.COARSE_IMAGE_SCAN: ImageLayout("sample image"),
    ScanType.COARSE_GONI_SCAN: ImageLayout("sample image"),
    ScanType.TOMOGRAPHY_SCAN: StackLayout("sample image stack"),
    ScanType.PATTERN_GEN_SCAN: ImageLayout("sample image"),
    ScanType.PTYCHOGRAPHY_SCAN: ScatterLayout("sample image"),
}
