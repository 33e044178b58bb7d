"""``stxm demo``: the virtual STXM end to end, as a beamline user would run it.

Starts the simulated beamline on a free loopback port, runs a sample image, an image
stack across the carbon K edge, a sample focus scan, point spectra and a small
ptychography scan, assembles each into an NXstxm file, checks it (as ``stxm check``),
writes a PNG quick-look beside it, prints a table, and stops the sim it started.
Exit status 1 if any scan, assembly or check failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py

from iocs.loopback import free_port_pair

from .channel_access import use_loopback_channel_access
from .testing import running_ioc, sim_command

SIM_PREFIX = "SIM:"


@dataclass(frozen=True)
class DemoSizes:
    """How big the demo's scans are (defaults run in about two minutes on 2 cores)."""

    image_points: int = 50
    stack_points: int = 30
    energies: int = 24


@dataclass
class DemoResult:
    """One scan of the demo: its file, what the check said, its quick-look."""

    title: str
    nxs: Path | None = None
    png: Path | None = None
    problems: tuple[str, ...] = ()
    scan_type: str = ""
    shape: tuple[int, ...] = ()

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
            per_run = doc["shape"][0] if doc.get("row_mode") == "line" else doc["num_points"]
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

    n = sizes.image_points
    (particle_x, particle_y), *_ = _particles(1)
    stack = plans.Region(2.0, 24.0, sizes.stack_points, 2.0, 24.0, sizes.stack_points)
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
                    (284.4, 290.0, max(sizes.energies - 8, 2)),
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
            "ptychography (5 x 5 grid)",
            709.6,
            lambda: plans.ptycho_scan(
                beamline,
                region=plans.Region(*_particles(1)[0][:1], 1.0, 5, *_particles(1)[0][1:], 1.0, 5),
                dwell_ms=5.0,
                detectors=("detector", "counter"),
            ),
        ),
    ]


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


def run_demo(data_dir: Path, sizes: DemoSizes = DemoSizes()) -> list[DemoResult]:
    """Run every demo scan against a sim this function starts and stops."""
    from bluesky import RunEngine
    from bluesky import plan_stubs as bps

    from .beamline import make_beamline
    from .nxstxm import NXstxmAssembler, check_file
    from .quicklook import quicklook

    data_dir = Path(data_dir).resolve()
    (data_dir / "det1").mkdir(parents=True, exist_ok=True)
    port = free_port_pair()
    use_loopback_channel_access([port], force=True)
    results: list[DemoResult] = []
    with running_ioc(
        sim_command(port, SIM_PREFIX), port=port, ready_pv=f"{SIM_PREFIX}counter0:Noise"
    ):
        beamline = make_beamline(SIM_PREFIX, detector_write_path=f"{data_dir}/det1/%Y/%m/%d/")
        RE = RunEngine({})  # noqa: N806 - the name every bluesky user knows
        assembler = NXstxmAssembler(data_dir)
        RE.subscribe(assembler)
        RE.subscribe(ScanProgress())
        for title, energy, make_plan in _scans(beamline, sizes):
            result = DemoResult(title)
            results.append(result)
            written = len(assembler.written)
            started = time.monotonic()
            try:
                RE(bps.mv(beamline.energy, energy))
                RE(make_plan())
            except Exception as error:  # noqa: BLE001 - reported in the table, demo goes on
                result.problems = (f"scan failed: {error}",)
                continue
            new = assembler.written[written:]
            if not new:
                errors = [str(e) for e in assembler.errors] or ["no NXstxm file written"]
                result.problems = tuple(errors)
                continue
            result.nxs = new[-1]
            report = check_file(result.nxs)
            result.problems = tuple(report.problems)
            result.scan_type, result.shape = _describe(result.nxs)
            result.png = quicklook(result.nxs)
            print(f"{title}: {result.nxs.name} in {time.monotonic() - started:.1f} s", flush=True)
    return results


def table(results: list[DemoResult]) -> str:
    """The demo's summary: file, scan type, shape, size, check."""
    rows = [("file", "scan type", "shape", "size", "check", "scan")]
    for r in results:
        size = f"{r.nxs.stat().st_size / 1024:.0f} kB" if r.nxs else "-"
        check = "OK" if r.ok else "; ".join(r.problems)[:60]
        rows.append(
            (
                r.nxs.name if r.nxs else "-",
                r.scan_type or "-",
                "×".join(map(str, r.shape)) or "-",
                size,
                check,
                r.title,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )
