"""``StxmModel``: what the detectors of the virtual STXM measure for a beam state.

One model object is shared by every IOC hosted in a process; a standalone IOC builds
its own and feeds it positions read over Channel Access.  Seeded and reproducible;
``noise=False`` gives the expectation values.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from .optics import DETECTOR_APERTURE, ZONE_PLATES, Aperture, Osa, ZonePlate
from .sample import POLARIZATIONS, Phantom

ArrayLike = float | np.ndarray


@dataclass(frozen=True)
class BeamState:
    """Everything the measured signal depends on.  Positions may be arrays (a line)."""

    energy_ev: float
    zp_z_um: ArrayLike
    sample_x_um: ArrayLike
    sample_y_um: ArrayLike
    sample_z_um: ArrayLike = 0.0
    osa_x_um: ArrayLike = 0.0
    osa_y_um: ArrayLike = 0.0
    detector_x_um: ArrayLike = 0.0
    detector_y_um: ArrayLike = 0.0
    theta_deg: float = 0.0
    polarization: str = "CircLeft"
    ring_current_ma: float = 500.0
    zp_index: int = 7

    def with_(self, **changes: object) -> BeamState:
        return replace(self, **changes)

    def require_finite(self) -> None:
        """Raise ValueError naming the first number that is NaN or ±inf (nothing else may pass)."""
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, str):
                continue
            if not np.all(np.isfinite(np.asarray(value, dtype=float))):
                raise ValueError(f"beam state {field.name} is not finite: {value!r}")


class StxmModel:
    """The microscope: zone-plate optics, OSA, phantom, source.

    counts = Poisson(I0(ring current)·dwell·T·T_osa), T = exp(−OD) of the phantom with
    its OD blurred by the probe (a good approximation while features are larger than
    the probe).  I0 is ``counts_per_ms`` per millisecond at 500 mA.
    """

    def __init__(
        self,
        *,
        phantom: Phantom | None = None,
        osa: Aperture | None = None,
        detector_aperture: Aperture | None = None,
        zone_plates: dict[int, ZonePlate] | None = None,
        focus_offset_um: float = 0.0,
        counts_per_ms: float = 1.0e4,
        seed: int = 0,
        noise: bool = True,
    ) -> None:
        self.phantom = phantom or Phantom()
        self.osa = osa or Osa()
        self.detector_aperture = detector_aperture or DETECTOR_APERTURE
        self.zone_plates = dict(zone_plates or ZONE_PLATES)
        self.focus_offset_um = focus_offset_um
        self.counts_per_ms = counts_per_ms
        self.noise = noise
        self.rng = np.random.default_rng(seed)

    def zone_plate(self, index: int) -> ZonePlate:
        try:
            return self.zone_plates[int(index)]
        except KeyError:
            known = ", ".join(str(i) for i in sorted(self.zone_plates))
            raise ValueError(f"unknown zone-plate index {index}; installed: {known}") from None

    def focus_zp_z_um(self, energy_ev: float, zp_index: int = 7, sample_z_um: float = 0.0) -> float:
        """Zone-plate Z that focuses on the sample: A1·E + offset (+ sample Z)."""
        return self.zone_plate(zp_index).a1 * energy_ev + self.focus_offset_um + sample_z_um

    def defocus_um(self, state: BeamState) -> np.ndarray:
        focus = self.focus_zp_z_um(state.energy_ev, state.zp_index, 0.0)
        return np.asarray(state.zp_z_um) - focus - np.asarray(state.sample_z_um)

    def probe_sigma_um(self, state: BeamState) -> np.ndarray:
        zone_plate = self.zone_plate(state.zp_index)
        return np.asarray(zone_plate.probe_sigma_um(state.energy_ev, self.defocus_um(state)))

    def transmission(self, state: BeamState) -> np.ndarray:
        """Noise-free fraction of I0 reaching the detector (sample × OSA × detector area)."""
        state.require_finite()
        if state.polarization not in POLARIZATIONS:
            raise ValueError(f"unknown polarization {state.polarization!r}")
        od = self.phantom.optical_density(
            state.sample_x_um,
            state.sample_y_um,
            state.energy_ev,
            state.polarization,
            blur_sigma_um=self.probe_sigma_um(state),
            theta_deg=state.theta_deg,
        )
        apertures = self.osa.transmission(state.osa_x_um, state.osa_y_um)
        apertures = apertures * self.detector_aperture.transmission(
            state.detector_x_um, state.detector_y_um
        )
        return np.exp(-od) * apertures

    def expected_counts(self, state: BeamState, dwell_ms: float) -> np.ndarray:
        if not 0 < dwell_ms < np.inf:
            raise ValueError(f"dwell must be positive and finite, got {dwell_ms} ms")
        incident = self.counts_per_ms * dwell_ms * state.ring_current_ma / 500.0
        return incident * self.transmission(state)

    def counts(self, state: BeamState, dwell_ms: float) -> np.ndarray:
        """Counts for one dwell at each position of ``state`` (Poisson unless noise is off)."""
        expected = self.expected_counts(state, dwell_ms)
        if not self.noise:
            return np.rint(expected)
        return self.rng.poisson(expected).astype(float)
