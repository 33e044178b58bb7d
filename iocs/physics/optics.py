"""Zone-plate focusing, the probe it makes, and the order-sorting aperture (OSA).

Units: energies in eV, positions and lengths in µm, zone widths in nm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erfc

HC_EV_NM = 1239.84


def photon_wavelength_nm(energy_ev: float | np.ndarray) -> float | np.ndarray:
    """λ[nm] = 1239.84 / E[eV]."""
    return HC_EV_NM / np.asarray(energy_ev, dtype=float)


@dataclass(frozen=True)
class ZonePlate:
    """A Fresnel zone plate: diameter, outermost zone width, central stop.

    The focal length is f = D·Δr/λ, i.e. f[µm] = |A1|·E[eV] with
    A1 = −D[µm]·Δr[nm]/1239.84 (negative: the zone plate sits upstream of the sample).
    """

    diameter_um: float
    outer_zone_nm: float
    central_stop_um: float

    @property
    def a1(self) -> float:
        """Focal-length slope A1 in µm/eV (negative, as pyStxm's zp_def has it)."""
        return -self.diameter_um * self.outer_zone_nm / HC_EV_NM

    def focal_length_um(self, energy_ev: float | np.ndarray) -> float | np.ndarray:
        return abs(self.a1) * np.asarray(energy_ev, dtype=float)

    def numerical_aperture(self, energy_ev: float | np.ndarray) -> float | np.ndarray:
        return self.diameter_um / (2.0 * self.focal_length_um(energy_ev))

    def depth_of_focus_um(self, energy_ev: float | np.ndarray) -> float | np.ndarray:
        """λ/NA², the range over which the probe stays near its smallest size."""
        wavelength_um = photon_wavelength_nm(energy_ev) * 1e-3
        return wavelength_um / self.numerical_aperture(energy_ev) ** 2

    @property
    def focused_sigma_um(self) -> float:
        """σ0 of the Gaussian focused spot: FWHM 1.22·Δr."""
        return 1.22 * self.outer_zone_nm * 1e-3 / 2.355

    def probe_sigma_um(
        self, energy_ev: float | np.ndarray, defocus_um: float | np.ndarray
    ) -> float | np.ndarray:
        """σ(Δz) = sqrt(σ0² + (NA·Δz)²)."""
        na = self.numerical_aperture(energy_ev)
        return np.sqrt(self.focused_sigma_um**2 + (na * np.asarray(defocus_um)) ** 2)


#: The sim's zone-plate changer; index 7 is the seed's zp_def (D=250 µm, Δr=25 nm).
ZONE_PLATES: dict[int, ZonePlate] = {
    0: ZonePlate(diameter_um=240.0, outer_zone_nm=35.0, central_stop_um=90.0),
    1: ZonePlate(diameter_um=160.0, outer_zone_nm=25.0, central_stop_um=80.0),
    2: ZonePlate(diameter_um=240.0, outer_zone_nm=25.0, central_stop_um=90.0),
    3: ZonePlate(diameter_um=240.0, outer_zone_nm=40.0, central_stop_um=100.0),
    4: ZonePlate(diameter_um=200.0, outer_zone_nm=30.0, central_stop_um=80.0),
    5: ZonePlate(diameter_um=160.0, outer_zone_nm=35.0, central_stop_um=80.0),
    6: ZonePlate(diameter_um=280.0, outer_zone_nm=35.0, central_stop_um=100.0),
    7: ZonePlate(diameter_um=250.0, outer_zone_nm=25.0, central_stop_um=100.0),
}


@dataclass(frozen=True)
class Aperture:
    """A round aperture centred on the beam axis at (0, 0) of its stage.

    Transmission is ~1 while the beam passes it and falls to ``leak`` once it is off
    axis by more than its radius; ``edge_um`` softens the edge (the beam's width there).
    The OSA is a 50 µm pinhole; the point detector's active area is a larger one.
    """

    diameter_um: float = 50.0
    edge_um: float = 2.0
    leak: float = 0.005

    def transmission(
        self, osa_x_um: float | np.ndarray, osa_y_um: float | np.ndarray
    ) -> np.ndarray:
        offset = np.hypot(osa_x_um, osa_y_um)
        radius = self.diameter_um / 2.0
        passed = 0.5 * erfc((offset - radius) / (np.sqrt(2.0) * self.edge_um))
        return self.leak + (1.0 - self.leak) * passed


#: The order-sorting aperture: a 50 µm pinhole upstream of the sample.
Osa = Aperture

#: The point detector's active area (a phosphor + PMT), seen moving the detector stage.
DETECTOR_APERTURE = Aperture(diameter_um=1000.0, edge_um=40.0, leak=0.0)
