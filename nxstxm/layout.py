"""Each STXM scan type's NXstxm tree: which axes, which shape, which entries.

Every scan type of pyStxm's enum maps to one of seven shapes (the NXstxm definition's
``stxm_scan_type`` documentation gives six of them):

=========  ==================================  =====================================
shape      scan types                          NXdata ``data`` and ``@axes``
=========  ==================================  =====================================
IMAGE      detector/OSA/sample/coarse/goni/    (nY, nX): sample_y, sample_x
           pattern-generator image
STACK      image stack, tomography,            (nE, nY, nX): energy, sample_y, sample_x
           ptychography
LINE       sample line spectrum                (nE, nLine): energy, line_position
FOCUS      OSA focus, sample focus             (nZ, nLine): zoneplate_z, line_position
POINT      sample point spectrum               (nE, 1, 1): energy, sample_y, sample_x
GENERIC    generic scan                        (nP,): sample_x
SCATTER    ptychography                        (nY, nX) like an image on a grid; a
                                               list of points (a spiral): (nP,),
                                               sample_x and sample_y both along nP
=========  ==================================  =====================================

A point spectrum keeps its two length-1 spatial axes because MANTiS reads spectra only
through sample_x/sample_y/energy axes; a line's sample_x/sample_y run along its
line_position dimension as the definition asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from .errors import NXstxmError
from .grid import line_positions
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


@dataclass(frozen=True)
class Layout:
    """How a scan type is written: its data shape and its ``stxm_scan_type`` label."""

    shape: Shape
    label: str


LAYOUTS: dict[ScanType, Layout] = {
    ScanType.DETECTOR_IMAGE: Layout(Shape.IMAGE, "detector image"),
    ScanType.OSA_IMAGE: Layout(Shape.IMAGE, "osa image"),
    ScanType.OSA_FOCUS: Layout(Shape.FOCUS, "osa focus"),
    ScanType.SAMPLE_FOCUS: Layout(Shape.FOCUS, "sample focus"),
    ScanType.SAMPLE_POINT_SPECTRA: Layout(Shape.POINT, "sample point spectrum"),
    ScanType.SAMPLE_LINE_SPECTRA: Layout(Shape.LINE, "sample line spectrum"),
    ScanType.SAMPLE_IMAGE: Layout(Shape.IMAGE, "sample image"),
    ScanType.SAMPLE_IMAGE_STACK: Layout(Shape.STACK, "sample image stack"),
    ScanType.GENERIC_SCAN: Layout(Shape.GENERIC, "generic scan"),
    ScanType.COARSE_IMAGE_SCAN: Layout(Shape.IMAGE, "sample image"),
    ScanType.COARSE_GONI_SCAN: Layout(Shape.IMAGE, "sample image"),
    ScanType.TOMOGRAPHY_SCAN: Layout(Shape.STACK, "sample image stack"),
    ScanType.PATTERN_GEN_SCAN: Layout(Shape.IMAGE, "sample image"),
    ScanType.PTYCHOGRAPHY_SCAN: Layout(Shape.SCATTER, "sample image"),
}

#: Shapes whose entries are built from one run each; a STACK entry gathers a run per energy.
SINGLE_RUN_SHAPES = (
    Shape.IMAGE,
    Shape.LINE,
    Shape.FOCUS,
    Shape.GENERIC,
    Shape.POINT,
    Shape.SCATTER,
)


#: The most points the ROIs of one run may span (a 4096 × 4096 image).
MAX_GRID_POINTS = 1 << 24


class LayoutError(NXstxmError, ValueError):
    """Runs whose metadata do not describe a regular NXstxm layout (names key and run)."""


@dataclass(frozen=True)
class Geometry:
    """One run's grid and the coordinates of its grid points.

    ``grid`` is the (outer, inner) shape events are placed on; ``points`` maps each
    instrument position (sample_x, sample_y, zoneplate_z, energy) to a grid-shaped array
    of its value at every grid point; ``axes``/``coordinates`` describe the NXdata;
    ``label`` replaces the scan type's ``stxm_scan_type`` when the run's shape differs.
    """

    grid: tuple[int, int]
    axes: tuple[str, ...]
    coordinates: list[Axis]
    points: dict[str, np.ndarray]
    label: str | None = None


def _require(roi: Roi | None, path: str, md: StxmMetadata) -> Roi:
    if roi is None or roi.npoints == 0:
        raise LayoutError(
            f"run {md.run_uid}: metadata key 'rois.{md.img_idx.sp_id}.{path}' gives no "
            f"positions, but a {LAYOUTS[md.scan_type].label} scan needs them"
        )
    return roi


def _first(roi: Roi | None) -> np.ndarray:
    return roi.setpoints[:1] if roi is not None and roi.npoints else np.array([np.nan])


def _label(roi: Roi) -> str:
    return roi.positioner or roi.name


def _focus_roi(region: Region) -> Roi | None:
    """The zone-plate Z of a focus scan: rois ZP.Z, else the region's own Z."""
    zp = region.roi("ZP.Z")
    return zp if zp is not None and zp.npoints else region.roi("Z")


def _line(region: Region, md: StxmMetadata) -> tuple[np.ndarray, np.ndarray, Roi]:
    """A line's x and y positions (y repeated when its ROI is a single point)."""
    x = _require(region.roi("X"), "X", md)
    y = region.roi("Y")
    same = y is not None and y.npoints == x.npoints
    return x.setpoints, y.setpoints if same else np.resize(_first(y), x.npoints), x


def _mesh(outer: np.ndarray, inner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if outer.size * inner.size > MAX_GRID_POINTS:
        raise LayoutError(
            f"the ROIs ask for a {outer.size} × {inner.size} grid, more than the "
            f"{MAX_GRID_POINTS} points an NXstxm entry may hold here"
        )
    return tuple(np.meshgrid(outer, inner, indexing="ij"))


def _image(md: StxmMetadata, region: Region, energies: np.ndarray, stack: bool) -> Geometry:
    """(nY, nX) rows of sample_x; a stack adds energy as dimension 0 (one run per energy)."""
    x, y = _require(region.roi("X"), "X", md), _require(region.roi("Y"), "Y", md)
    ys, xs = _mesh(y.setpoints, x.setpoints)
    first = 1 if stack else 0
    energy = energies[min(md.img_idx.e_idx, energies.size - 1)]
    return Geometry(
        grid=(y.npoints, x.npoints),
        axes=("energy", "sample_y", "sample_x") if stack else ("sample_y", "sample_x"),
        coordinates=[
            Axis("energy", energies, "eV", (0,) if stack else ()),
            Axis("sample_y", y.setpoints, "um", (first,), _label(y)),
            Axis("sample_x", x.setpoints, "um", (first + 1,), _label(x)),
        ],
        points={"sample_x": xs, "sample_y": ys, "energy": np.full(xs.shape, energy)},
    )


def _line_scan(md: StxmMetadata, region: Region, energies: np.ndarray, focus: bool) -> Geometry:
    """(energy or zoneplate_z, line_position); sample_x/sample_y run along the line."""
    xs, ys, x = _line(region, md)
    if focus:
        z = _require(_focus_roi(region), "ZP.Z", md)
        outer = Axis("zoneplate_z", z.setpoints, "um", (0,), _label(z))
    else:
        outer = Axis("energy", energies, "eV", (0,))
    outer_grid, x_grid = _mesh(outer.values, xs)
    coordinates = [
        outer,
        Axis("line_position", line_positions(xs, ys), "um", (1,), "distance along the line"),
        Axis("sample_y", ys, "um", (1,)),
        Axis("sample_x", xs, "um", (1,), _label(x)),
    ]
    points = {"sample_x": x_grid, "sample_y": _mesh(outer.values, ys)[1], outer.name: outer_grid}
    if focus:
        coordinates.append(Axis("energy", energies, "eV"))
        points["energy"] = np.full(x_grid.shape, energies[0])
    return Geometry(
        (outer.values.size, xs.size), (outer.name, "line_position"), coordinates, points
    )


def _generic(md: StxmMetadata, region: Region, energies: np.ndarray) -> Geometry:
    """(nP,) along the X ROI's positioner, whatever it moves."""
    x = _require(region.roi("X"), "X", md)
    y = _first(region.roi("Y"))
    return Geometry(
        grid=(1, x.npoints),
        axes=("sample_x",),
        coordinates=[
            Axis("sample_x", x.setpoints, "um", (0,), _label(x)),
            Axis("sample_y", y, "um"),
            Axis("energy", energies, "eV"),
        ],
        points={
            "sample_x": x.setpoints[None, :],
            "sample_y": np.full((1, x.npoints), y[0]),
            "energy": np.full((1, x.npoints), energies[0]),
        },
    )


def _is_point_list(md: StxmMetadata, region: Region) -> bool:
    """X and Y ROIs pairing point by point (a spiral), not spanning a grid."""
    x, y = region.roi("X"), region.roi("Y")
    if x is None or y is None or x.npoints != y.npoints or x.npoints < 2:
        return False
    return md.raw.get("num_points") == x.npoints


def _scatter(md: StxmMetadata, region: Region, energies: np.ndarray) -> Geometry:
    """(nP,) points in acquisition order, sample_x and sample_y both along them."""
    if not _is_point_list(md, region):
        return _image(md, region, energies, stack=False)
    x, y = _require(region.roi("X"), "X", md), _require(region.roi("Y"), "Y", md)
    return Geometry(
        grid=(1, x.npoints),
        axes=("sample_x",),
        coordinates=[
            Axis("sample_x", x.setpoints, "um", (0,), _label(x)),
            Axis("sample_y", y.setpoints, "um", (0,), _label(y)),
            Axis("energy", energies, "eV"),
        ],
        points={
            "sample_x": x.setpoints[None, :],
            "sample_y": y.setpoints[None, :],
            "energy": np.full((1, x.npoints), energies[0]),
        },
        label="generic scan",
    )


def _points(md: StxmMetadata, energies: np.ndarray) -> Geometry:
    """Point spectra: one grid column per spatial point (sp_id_lst order), rows are energies."""
    regions = [md.region(sp) for sp in md.sp_id_lst]
    xs = np.array([_first(r.roi("X"))[0] for r in regions])
    ys = np.array([_first(r.roi("Y"))[0] for r in regions])
    e_grid, x_grid = _mesh(energies, xs)
    return Geometry(
        grid=(energies.size, len(regions)),
        axes=("energy", "sample_y", "sample_x"),
        coordinates=[Axis("energy", energies, "eV", (0,))],
        points={"sample_x": x_grid, "sample_y": _mesh(energies, ys)[1], "energy": e_grid},
    )


def geometry(md: StxmMetadata, energies: np.ndarray) -> Geometry:
    """The grid and coordinates of one run of scan type ``md.scan_type``.

    ``energies`` are the entry's energies (all of them for STACK/LINE/POINT, the run's one
    otherwise); a STACK run covers one of them, the entry places it by e_idx.
    """
    shape = LAYOUTS[md.scan_type].shape
    region = md.region(md.img_idx.sp_id)
    if shape in (Shape.IMAGE, Shape.STACK):
        return _image(md, region, energies, stack=shape is Shape.STACK)
    if shape in (Shape.LINE, Shape.FOCUS):
        return _line_scan(md, region, energies, focus=shape is Shape.FOCUS)
    if shape is Shape.GENERIC:
        return _generic(md, region, energies)
    if shape is Shape.SCATTER:
        return _scatter(md, region, energies)
    return _points(md, energies)
