"""``stxm demo``: the virtual STXM end to end, as a beamline user would run it.

Starts the simulated beamline on a free loopback port, runs a sample image, an image
stack across the carbon K edge, a sample focus scan, point spectra and a small
ptychography scan, assembles each into an NXstxm file, checks it (as ``stxm check``),
writes a PNG quick-look beside it, prints a table, and stops the sim it started.
Exit status 1 if any scan, assembly or check failed.

The ptychography scan is one a reconstruction can use: a defocused probe stepped on a
Fermat spiral over an iron-oxide particle's edge with ≥ 60 % overlap, dwell long enough
for ≥ 10³ counts in bright-field pixels (:class:`PtychoDemo`, whose geometry it prints).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from iocs.loopback import free_port_pair
from iocs.prefixes import DEFAULT_PREFIX, ready_pv

from .channel_access import close_channel_access, running_repeater, use_loopback_channel_access
from .config import StxmConfig
from .testing import running_ioc, sim_command


@dataclass(frozen=True)
class DemoSizes:
    """How big the demo's scans are (defaults run in about two minutes on 2 cores).

    Points per side of the sample image and of the stack's images, and the stack's
    number of energies.
    """

    n_image_points: int = 50
    n_stack_points: int = 30
    n_energies: int = 24


@dataclass(frozen=True)
class PtychoDemo:
    """The demo's ptychography: a Fermat spiral over the right edge of the first particle.

    The zone plate is moved ``defocus_um`` out of focus so the probe is a disk (a ring,
    behind the central stop) of diameter 2·NA·Δz; the detector reads ``detector_pixels``
    square (its 14 mm width binned), so the sample-plane field of view λ·d/p holds the
    probe twice over, as far-field sampling needs. A spiral rather than a grid: a
    raster's periodic positions leave periodic artefacts in a reconstruction.
    """

    energy_ev: float = 709.6
    defocus_um: float = 5.5
    radius_um: float = 0.5
    step_um: float = 0.1
    dwell_ms: float = 80.0
    detector_pixels: int = 64
    zone_plate_index: int = 7

    def probe_diameter_um(self) -> float:
        """2·NA·Δz: the defocused cone's diameter at the sample."""
        from iocs.physics import ZONE_PLATES

        na = float(ZONE_PLATES[self.zone_plate_index].numerical_aperture(self.energy_ev))
        return 2.0 * na * self.defocus_um

    def neighbour_um(self) -> float:
        """The median distance from a scan point to its nearest neighbour."""
        xs, ys = self.positions_um()
        distance = np.hypot(xs[:, None] - xs[None, :], ys[:, None] - ys[None, :])
        np.fill_diagonal(distance, np.inf)
        return float(np.median(distance.min(axis=1)))

    def overlap(self) -> float:
        """Area overlap of the probe disks at neighbouring points (0…1)."""
        r = self.neighbour_um() / self.probe_diameter_um()
        if r >= 1.0:
            return 0.0
        return float(2.0 / np.pi * (np.arccos(r) - r * np.sqrt(1.0 - r * r)))

    def field_of_view_um(self) -> float:
        """The frames' sample-plane field of view λ·d/p."""
        from iocs.physics import FarFieldDetector

        detector = FarFieldDetector(shape=(self.detector_pixels, self.detector_pixels))
        return detector.pixel_um(self.energy_ev) * self.detector_pixels

    def centre_um(self) -> tuple[float, float]:
        """The spiral's centre: on the particle's right edge."""
        from iocs.physics import Phantom

        (x, y), *_ = _particles(1)
        radius = next(d.radius_um for d in Phantom().disks if (d.x_um, d.y_um) == (x, y))
        return x + radius, y

    def positions_um(self) -> tuple[np.ndarray, np.ndarray]:
        """The scan's x and y positions (µm), in acquisition order."""
        from plans._patterns import spiral_points

        return spiral_points(self.centre_um(), self.radius_um, self.step_um)

    def describe(self) -> str:
        """The scan geometry as the demo prints it."""
        return (
            f"ptychography: Fermat spiral of {self.positions_um()[0].size} points, radius "
            f"{self.radius_um:.2f} µm, step {self.neighbour_um():.2f} µm, probe "
            f"{self.probe_diameter_um():.2f} µm ({self.defocus_um:g} µm defocus), overlap "
            f"{self.overlap():.0%}, field of view {self.field_of_view_um():.2f} µm, dwell "
            f"{self.dwell_ms:g} ms, {self.detector_pixels}² pixels"
        )

    def plan(self, beamline):
        """Defocus, bin the detector, scan, and put zone plate and detector back."""
        from bluesky import plan_stubs as bps
        from bluesky.preprocessors import finalize_wrapper

        import plans

        cam = beamline.detector.cam
        size = (cam.size.size_x.get(), cam.size.size_y.get())

        def scan():
            n = self.detector_pixels
            yield from bps.mv(cam.size.size_x, n, cam.size.size_y, n)
            yield from bps.mvr(beamline.zoneplate.z, self.defocus_um)
            return (
                yield from plans.ptycho_scan(
                    beamline,
                    spiral_center_um=self.centre_um(),
                    spiral_radius_um=self.radius_um,
                    spiral_step_um=self.step_um,
                    dwell_ms=self.dwell_ms,
                    detectors=("detector", "counter"),
                )
            )

        def restore():
            yield from bps.mv(cam.size.size_x, size[0], cam.size.size_y, size[1])
            yield from bps.mvr(beamline.zoneplate.z, -self.defocus_um)

        return finalize_wrapper(scan(), restore())


@dataclass
class DemoResult:
    """One scan of the demo: its file, what the check said, its quick-look."""

    title: str
    nxs: Path | None = None
    png: Path | None = None
    problems: tuple[str, ...] = ()
    scan_type: str = ""
    shape: tuple[int, ...] = ()
    seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.nxs is not None and not self.problems


class ScanProgress:
    """A tqdm bar per scan, advanced by its primary events (rows or points)."""

    def __init__(self) -> None:
        self.bar = None
        self.primary: set[str] = set()

    def __call__(self, name: str, doc: dict) -> None:
        from tqdm import tqdm

        if name == "start":
            group = doc.get("scan_group", {"index": 0, "num_runs": 1})
            rows = doc.get("row_mode") in ("line", "step")  # one event per row
            per_run = doc["shape"][0] if rows else doc["num_points"]
            if group["index"] == 0:
                self.bar = tqdm(
                    total=per_run * group["num_runs"],
                    desc=doc["plan_name"],
                    unit="event",
                    leave=False,
                )
        elif name == "descriptor" and doc["name"] == "primary":
            self.primary.add(doc["uid"])
        elif name == "event" and doc["descriptor"] in self.primary and self.bar is not None:
            self.bar.update(1)
        elif name == "stop" and self.bar is not None and self.bar.n >= self.bar.total:
            self.bar.close()
            self.bar = None


def _scans(beamline, sizes: DemoSizes) -> list[tuple[str, float, Callable]]:
    """(title, energy eV, plan factory) of every demo scan."""
    import plans

    n = sizes.n_image_points
    (particle_x, particle_y), *_ = _particles(1)
    stack = plans.Region(2.0, 24.0, sizes.n_stack_points, 2.0, 24.0, sizes.n_stack_points)
    return [
        (
            "sample image at the Fe L3 edge",
            709.6,
            lambda: plans.stxm_image(
                beamline,
                x_center_um=0,
                x_range_um=40,
                nx=n,
                y_center_um=0,
                y_range_um=40,
                ny=n,
                dwell_ms=1.0,
            ),
        ),
        (
            "image stack across the C K edge",
            285.0,
            lambda: plans.image_stack(
                beamline,
                regions=[stack],
                energy_regions=[
                    (280.0, 284.0, 4),
                    (284.4, 290.0, max(sizes.n_energies - 8, 2)),
                    (291.0, 300.0, 4),
                ],
                dwell_ms=1.0,
            ),
        ),
        (
            "sample focus across the film edge",
            300.0,
            lambda: plans.sample_focus(
                beamline,
                x_start_um=-12.4,
                x_stop_um=-11.6,
                y_um=37.0,
                n_points=80,
                zp_range_um=6.0,
                n_zp=25,
            ),
        ),
        (
            "point spectra on three particles",
            700.0,
            lambda: plans.point_spectra(
                beamline,
                points_um=_particles(3),
                energy_regions=[(700.0, 706.0, 4), (706.5, 712.0, 23), (713.0, 725.0, 7)],
            ),
        ),
        (
            "ptychography (a spiral over a particle edge)",
            PTYCHO.energy_ev,
            lambda: PTYCHO.plan(beamline),
        ),
    ]


#: The demo's ptychography scan.
PTYCHO = PtychoDemo()


def _particles(count: int) -> list[tuple[float, float]]:
    """Centres of the phantom's first iron-oxide particles in the fine field."""
    from iocs.physics import Phantom

    disks = [
        d
        for d in Phantom().disks
        if d.material == "iron_oxide" and abs(d.x_um) < 35 and abs(d.y_um) < 35
    ]
    return [(d.x_um, d.y_um) for d in disks[:count]]


def _describe(nxs: Path) -> tuple[str, tuple[int, ...]]:
    with h5py.File(nxs, "r") as h5:
        entry = h5[h5.attrs["default"]]
        nxdata = entry[entry.attrs["default"]]
        kind = nxdata["stxm_scan_type"][0]
        return (kind.decode() if isinstance(kind, bytes) else str(kind)), nxdata["data"].shape


def run_demo(
    data_dir: Path, sizes: DemoSizes = DemoSizes(), prefix: str = DEFAULT_PREFIX
) -> list[DemoResult]:
    """Run every demo scan against a sim this function starts and stops.

    Quiet: the sim is awaited with fresh searches (no "cannot connect" while it starts),
    a CA repeater runs before the first PV (no caRepeater banner), and this process's
    channels are closed before the sim stops (no "Virtual circuit disconnect").
    """
    from bluesky import RunEngine

    from nxstxm import NXstxmAssembler

    from .beamline import beamline_for

    config = StxmConfig(prefix=prefix, data_dir=Path(data_dir).resolve())
    config.frames_root.mkdir(parents=True, exist_ok=True)
    port = free_port_pair()
    use_loopback_channel_access([port], force=True)
    sim = sim_command(port, config.prefix, "--data-root", str(config.data_dir))
    with running_repeater(), running_ioc(sim, port=port, ready_pv=ready_pv(config.prefix)):
        try:
            beamline = beamline_for(config)
            RE = RunEngine({})  # noqa: N806 - the name every bluesky user knows
            assembler = NXstxmAssembler(config.data_dir)
            RE.subscribe(assembler)
            RE.subscribe(ScanProgress())
            print(PTYCHO.describe(), flush=True)
            return [
                _run_scan(RE, assembler, title, energy, make_plan, beamline)
                for title, energy, make_plan in _scans(beamline, sizes)
            ]
        finally:
            close_channel_access()


def _run_scan(RE, assembler, title: str, energy: float, make_plan, beamline) -> DemoResult:  # noqa: N803
    """One demo scan: at its energy, assembled, checked, with its quick-look."""
    from bluesky import plan_stubs as bps

    from nxstxm import check_file

    from .quicklook import quicklook

    result = DemoResult(title)
    written = len(assembler.written)
    started = time.monotonic()
    try:
        RE(bps.mv(beamline.energy, energy))
        RE(make_plan())
    except Exception as error:  # noqa: BLE001 - reported in the table, demo goes on
        result.problems = (f"scan failed: {error}",)
        return result
    result.seconds = time.monotonic() - started
    new = assembler.written[written:]
    if not new:
        result.problems = tuple(str(e) for e in assembler.errors) or ("no NXstxm file written",)
        return result
    result.nxs = new[-1]
    result.problems = tuple(check_file(result.nxs).problems)
    result.scan_type, result.shape = _describe(result.nxs)
    result.png = quicklook(result.nxs)
    return result


def table(results: list[DemoResult]) -> str:
    """The demo's summary: file, scan type, shape, size, check."""
    rows = [("file", "scan type", "shape", "size", "time", "check", "scan")]
    for r in results:
        size = f"{r.nxs.stat().st_size / 1024:.0f} kB" if r.nxs else "-"
        check = "OK" if r.ok else "; ".join(r.problems)[:60]
        rows.append(
            (
                r.nxs.name if r.nxs else "-",
                r.scan_type or "-",
                "×".join(map(str, r.shape)) or "-",
                size,
                f"{r.seconds:.1f} s" if r.seconds is not None else "-",
                check,
                r.title,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )
