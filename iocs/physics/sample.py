"""Materials with near-edge absorption spectra, and the deterministic sample phantom.

Optical density OD(x, y, E) = Σ_m μ_m(E)·t_m(x, y) with μ in 1/µm and t in µm.
Features are analytic (flat disks and a film rectangle), so blurring them by the
Gaussian probe is analytic too: a disk edge becomes an erfc of width σ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import erfc

#: EPU polarization modes and their helicity (+1 left, −1 right, 0 linear).
POLARIZATIONS: dict[str, int] = {
    "CircLeft": 1,
    "CircRight": -1,
    "LinearHorizontal": 0,
    "LinearVertical": 0,
    "LinearInclined": 0,
}


def _edge_step(energy: np.ndarray, edge_ev: float, width_ev: float) -> np.ndarray:
    return 0.5 + np.arctan((energy - edge_ev) / width_ev) / np.pi


def _peak(energy: np.ndarray, centre_ev: float, width_ev: float) -> np.ndarray:
    return np.exp(-0.5 * ((energy - centre_ev) / width_ev) ** 2)


@dataclass(frozen=True)
class Material:
    """A material's absorption μ(E) in 1/µm: a continuum, edge steps and peaks.

    ``peaks`` are (centre eV, width eV, amplitude 1/µm); ``dichroism`` scales the
    peaks by (1 + dichroism·helicity), so circular polarizations differ.
    """

    name: str
    continuum: float
    continuum_ref_ev: float
    edges: tuple[tuple[float, float, float], ...]
    peaks: tuple[tuple[float, float, float], ...]
    dichroism: float = 0.0

    def mu_per_um(
        self, energy_ev: float | np.ndarray, polarization: str = "CircLeft"
    ) -> np.ndarray:
        energy = np.asarray(energy_ev, dtype=float)
        scale = (self.continuum_ref_ev / energy) ** 2.5
        mu = self.continuum * scale
        for edge_ev, width_ev, step in self.edges:
            mu = mu + step * _edge_step(energy, edge_ev, width_ev) * (edge_ev / energy) ** 2.5
        helicity = POLARIZATIONS[polarization]
        peak_scale = 1.0 + self.dichroism * helicity
        for centre_ev, width_ev, amplitude in self.peaks:
            mu = mu + peak_scale * amplitude * _peak(energy, centre_ev, width_ev)
        return mu


MATERIALS: dict[str, Material] = {
    # A carbon-rich polymer (polystyrene-like): C 1s→π* at 285.1 eV.
    "polymer": Material(
        name="polymer",
        continuum=0.3,
        continuum_ref_ev=280.0,
        edges=((289.5, 1.0, 1.6),),
        peaks=((285.1, 0.35, 8.0), (287.2, 0.6, 1.0), (293.0, 1.8, 1.5)),
    ),
    # An iron oxide (hematite-like): Fe L3 peaks at 708.1 and 709.6 eV, L2 near 722 eV.
    "iron_oxide": Material(
        name="iron_oxide",
        continuum=1.0,
        continuum_ref_ev=700.0,
        edges=((710.5, 0.8, 2.5), (723.0, 0.8, 1.2)),
        peaks=((708.1, 0.45, 6.0), (709.6, 0.6, 10.0), (721.0, 0.6, 3.0), (722.6, 0.8, 4.0)),
    ),
    # A magnetic iron oxide whose L3 peak shows circular dichroism (XMCD).
    "magnetic_oxide": Material(
        name="magnetic_oxide",
        continuum=0.9,
        continuum_ref_ev=700.0,
        edges=((710.0, 0.8, 2.2), (723.0, 0.8, 1.1)),
        peaks=((708.6, 0.5, 7.0), (709.3, 0.5, 8.0), (721.5, 0.8, 4.0)),
        dichroism=0.4,
    ),
}


@dataclass(frozen=True)
class Disk:
    """A flat platelet of one material: centre and radius in µm, thickness in µm."""

    material: str
    x_um: float
    y_um: float
    radius_um: float
    thickness_um: float


@dataclass(frozen=True)
class FilmRectangle:
    """A uniform film of one material between x0..x1, y0..y1 (µm)."""

    material: str
    x0_um: float
    x1_um: float
    y0_um: float
    y1_um: float
    thickness_um: float


def _smooth_step(distance: np.ndarray, sigma_um: float | np.ndarray) -> np.ndarray:
    """Fraction inside an edge at signed ``distance`` (positive = inside), blurred by σ."""
    sigma = np.maximum(sigma_um, 1e-6)
    return 0.5 * erfc(-distance / (np.sqrt(2.0) * sigma))


def _random_disks(
    rng: np.random.Generator,
    material: str,
    count: int,
    centre: tuple[float, float],
    spread_um: float,
    radius_um: tuple[float, float],
    thickness_um: float,
) -> list[Disk]:
    xs = centre[0] + rng.uniform(-spread_um, spread_um, count)
    ys = centre[1] + rng.uniform(-spread_um, spread_um, count)
    radii = rng.uniform(*radius_um, count)
    return [
        Disk(material, float(x), float(y), float(r), thickness_um)
        for x, y, r in zip(xs, ys, radii, strict=True)
    ]


@dataclass
class Phantom:
    """The sample: a polymer film with polymer, iron-oxide and magnetic particles.

    The main field lies around absolute position (0, 0) µm (coarse + fine stage); two
    smaller clusters sit at other coarse positions for coarse and mosaic scans.
    Everything derives from ``seed``.
    """

    seed: int = 2019
    disks: list[Disk] = field(init=False)
    films: list[FilmRectangle] = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.films = [FilmRectangle("polymer", -12.0, 38.0, -40.0, 40.0, 0.10)]
        self.disks = (
            _random_disks(rng, "polymer", 8, (0.0, 0.0), 35.0, (1.5, 4.0), 0.25)
            + _random_disks(rng, "iron_oxide", 10, (0.0, 0.0), 35.0, (0.6, 2.5), 0.12)
            + _random_disks(rng, "magnetic_oxide", 5, (0.0, 0.0), 35.0, (1.0, 2.0), 0.10)
            + _random_disks(rng, "iron_oxide", 6, (500.0, -300.0), 30.0, (2.0, 6.0), 0.15)
            + _random_disks(rng, "polymer", 6, (-800.0, 600.0), 30.0, (3.0, 8.0), 0.30)
        )
        self._disk_arrays = {
            name: np.array(
                [
                    (d.x_um, d.y_um, d.radius_um, d.thickness_um)
                    for d in self.disks
                    if d.material == name
                ]
            ).reshape(-1, 4)
            for name in MATERIALS
        }

    def thickness_um(
        self,
        x_um: np.ndarray | float,
        y_um: np.ndarray | float,
        blur_sigma_um: float | np.ndarray = 0.0,
    ) -> dict[str, np.ndarray]:
        """Each material's thickness at (x, y), blurred by a Gaussian probe of σ."""
        x = np.asarray(x_um, dtype=float)
        y = np.asarray(y_um, dtype=float)
        x, y = np.broadcast_arrays(x, y)
        sigma = np.asarray(blur_sigma_um, dtype=float)
        result = {name: np.zeros(x.shape) for name in MATERIALS}
        for film in self.films:
            inside_x = _smooth_step(np.minimum(x - film.x0_um, film.x1_um - x), sigma)
            inside_y = _smooth_step(np.minimum(y - film.y0_um, film.y1_um - y), sigma)
            result[film.material] += film.thickness_um * inside_x * inside_y
        flat_x, flat_y = x.ravel(), y.ravel()
        flat_sigma = np.broadcast_to(sigma, x.shape).ravel()
        reach = float(np.max(flat_sigma)) * 6.0 if flat_x.size else 0.0
        for name, disks in self._disk_arrays.items():
            if not disks.size or not flat_x.size:
                continue
            near = (
                (disks[:, 0] + disks[:, 2] + reach >= flat_x.min())
                & (disks[:, 0] - disks[:, 2] - reach <= flat_x.max())
                & (disks[:, 1] + disks[:, 2] + reach >= flat_y.min())
                & (disks[:, 1] - disks[:, 2] - reach <= flat_y.max())
            )
            if not near.any():
                continue
            cx, cy, radius, thick = disks[near].T
            distance = radius[None, :] - np.hypot(flat_x[:, None] - cx, flat_y[:, None] - cy)
            inside = _smooth_step(distance, flat_sigma[:, None])
            result[name] += (inside * thick).sum(axis=1).reshape(x.shape)
        return result

    def optical_density(
        self,
        x_um: np.ndarray | float,
        y_um: np.ndarray | float,
        energy_ev: float,
        polarization: str = "CircLeft",
        blur_sigma_um: float | np.ndarray = 0.0,
        theta_deg: float = 0.0,
    ) -> np.ndarray:
        """OD = Σ μ_m(E)·t_m; thickness along the beam grows as 1/cos(theta)."""
        path = 1.0 / np.cos(np.deg2rad(np.clip(theta_deg, -80.0, 80.0)))
        thickness = self.thickness_um(x_um, y_um, blur_sigma_um)
        od = sum(
            MATERIALS[name].mu_per_um(energy_ev, polarization) * t for name, t in thickness.items()
        )
        return np.asarray(od) * path


def material_at(phantom: Phantom, x_um: float, y_um: float) -> Sequence[str]:
    """Names of the materials present at a point (for tests and quick-looks)."""
    thickness = phantom.thickness_um(x_um, y_um)
    return [name for name, t in thickness.items() if float(t) > 1e-3]
