"""Far-field diffraction frames: what a pixel detector behind the sample sees.

The zone plate fills a pupil (an annulus: aperture minus central stop) whose Fourier
transform, with the defocus phase, is the probe at the sample; the exit wave
probe·exp(−OD/2 + iφ) of the illuminated patch propagates to the far field, where the
detector records |FFT(exit wave)|² — real ptychographic data.  The phase follows the
absorption, φ = −(δ/β)·OD/2.  Parseval keeps the photon budget: the frame holds the
photons the sample and the OSA let through.

Geometry: a detector ``width_mm`` wide at ``distance_mm`` behind the sample, read out as
``shape`` pixels (a smaller shape bins the same area), so the sample-plane pixel is
λ·distance/width and the bright-field disk keeps its size whatever the frame size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.fft

from .model import BeamState, StxmModel
from .optics import ZonePlate, photon_wavelength_nm

UINT16_MAX = np.iinfo(np.uint16).max
#: The camera model the simulated area detector reports (cam1:Model_RBV).
SIM_CAMERA_MODEL = "Far-field diffraction"


@lru_cache(maxsize=32)
def _probe(
    zone_plate: ZonePlate, energy_ev: float, defocus_um: float, shape: tuple[int, int], dx_um: float
) -> np.ndarray:
    """Unit-power probe at the sample: the inverse FFT of the defocused zone-plate pupil."""
    wavelength_um = float(photon_wavelength_nm(energy_ev)) * 1e-3
    qy = scipy.fft.fftfreq(shape[0], d=dx_um)[:, None]
    qx = scipy.fft.fftfreq(shape[1], d=dx_um)[None, :]
    q = np.hypot(qx, qy)
    q_max = float(zone_plate.numerical_aperture(energy_ev)) / wavelength_um
    q_stop = q_max * zone_plate.central_stop_um / zone_plate.diameter_um
    pupil = ((q <= q_max) & (q >= q_stop)).astype(np.complex128)
    pupil *= np.exp(1j * np.pi * wavelength_um * defocus_um * q**2)
    probe = scipy.fft.fftshift(scipy.fft.ifft2(pupil, norm="ortho"))
    return (probe / np.sqrt(np.sum(np.abs(probe) ** 2))).astype(np.complex64)


@dataclass
class FarFieldDetector:
    """Frames of ``shape`` (rows, columns) from the model at one beam state.

    ``delta_over_beta`` sets the sample's phase per unit absorption.  Patches are
    cached by position, so frames at a still stage cost one FFT and the noise.
    """

    shape: tuple[int, int] = (256, 256)
    width_mm: float = 14.08
    distance_mm: float = 100.0
    delta_over_beta: float = 1.5
    _patches: dict = field(default_factory=dict, init=False, repr=False)

    def detector_pixel_um(self, columns: int) -> float:
        """The detector pixel (µm) when ``width_mm`` is read out as ``columns`` pixels."""
        return self.width_mm * 1e3 / columns

    def pixel_um(self, energy_ev: float) -> float:
        """Sample-plane sampling λ·distance/width (µm) at ``energy_ev``."""
        wavelength_um = float(photon_wavelength_nm(energy_ev)) * 1e-3
        return wavelength_um * self.distance_mm / self.width_mm

    def _transmission(self, model: StxmModel, state: BeamState, dx_um: float) -> np.ndarray:
        """exp(−OD/2 + iφ) over the patch centred on the beam (unblurred: the probe blurs)."""
        x0, y0 = float(np.mean(state.sample_x_um)), float(np.mean(state.sample_y_um))
        key = (round(x0, 6), round(y0, 6), state.energy_ev, state.polarization, state.theta_deg)
        key += (self.shape, dx_um)
        cached = self._patches.get(key)
        if cached is not None:
            return cached
        rows, columns = self.shape
        y = y0 + (np.arange(rows) - rows / 2) * dx_um
        x = x0 + (np.arange(columns) - columns / 2) * dx_um
        od = model.phantom.optical_density(
            x[None, :], y[:, None], state.energy_ev, state.polarization, theta_deg=state.theta_deg
        )
        patch = np.exp((-0.5 - 0.5j * self.delta_over_beta) * od).astype(np.complex64)
        self._patches = {key: patch}  # one position is enough: frames come in order
        return patch

    def expected(self, model: StxmModel, state: BeamState, exposure_s: float) -> np.ndarray:
        """Noise-free photons per pixel for one exposure (float64, ``shape``)."""
        dx_um = self.pixel_um(state.energy_ev)
        zone_plate = model.zone_plate(state.zp_index)
        defocus = float(np.mean(model.defocus_um(state)))
        probe = _probe(zone_plate, float(state.energy_ev), round(defocus, 4), self.shape, dx_um)
        osa = float(np.mean(model.osa.transmission(state.osa_x_um, state.osa_y_um)))
        incident = model.counts_per_ms * exposure_s * 1e3 * state.ring_current_ma / 500.0 * osa
        exit_wave = probe * self._transmission(model, state, dx_um)
        far_field = scipy.fft.fftshift(scipy.fft.fft2(exit_wave, norm="ortho"))
        return incident * (far_field.real.astype(np.float64) ** 2 + far_field.imag**2)

    def frame(
        self,
        model: StxmModel,
        state: BeamState,
        exposure_s: float,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """One uint16 frame: Poisson counts (expectation values if ``rng`` is None)."""
        if exposure_s <= 0:
            raise ValueError(f"exposure must be positive, got {exposure_s} s")
        expected = self.expected(model, state, exposure_s)
        counts = np.rint(expected) if rng is None else rng.poisson(expected)
        return np.minimum(counts, UINT16_MAX).astype(np.uint16)


#: A frame with fewer expected photons than this many per pixel draws its noise photon
#: by photon (``poisson_counts``) rather than pixel by pixel: sparse frames cost less so.
SPARSE_PHOTONS_PER_PIXEL = 0.75


def poisson_counts(
    expected: np.ndarray, rng: np.random.Generator, cumulative: np.ndarray | None = None
) -> np.ndarray:
    """Poisson(``expected``) per pixel as uint16 (saturating), drawn the cheaper exact way.

    A sparse frame draws its total N ~ Poisson(Σλ) and drops each of the N photons on
    pixel i with probability λᵢ/Σλ: the pixels are then independent Poisson(λᵢ), exactly
    (the splitting property), at a cost per photon instead of per pixel.
    ``cumulative`` is ``expected``'s cumulative sum, if already known.
    """
    if cumulative is None:
        cumulative = np.cumsum(expected, dtype=np.float64)
    total = float(cumulative[-1]) if cumulative.size else 0.0
    if total >= SPARSE_PHOTONS_PER_PIXEL * expected.size:
        counts = rng.poisson(expected)
    else:
        photons = rng.random(rng.poisson(total)) * total
        photons.sort()
        pixels = np.searchsorted(cumulative, photons, side="right")
        np.minimum(pixels, expected.size - 1, out=pixels)  # a draw of exactly Σλ
        counts = np.bincount(pixels, minlength=expected.size).reshape(expected.shape)
    return np.minimum(counts, UINT16_MAX).astype(np.uint16)


@dataclass
class FrameSeries:
    """Frames of a ``FarFieldDetector`` for a run of beam states, as a detector acquires them.

    Consecutive equal states (a still stage) share one noise-free pattern: only the noise
    is drawn per frame, so a frame costs its photons, not an FFT.  Noise-free frames
    (``rng`` None) equal ``FarFieldDetector.frame``'s.
    """

    detector: FarFieldDetector
    _key: tuple | None = field(default=None, init=False, repr=False)
    _expected: np.ndarray | None = field(default=None, init=False, repr=False)
    _cumulative: np.ndarray | None = field(default=None, init=False, repr=False)
    _noiseless: np.ndarray | None = field(default=None, init=False, repr=False)

    def frames(
        self,
        model: StxmModel,
        states: list[BeamState],
        exposure_s: float,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """One uint16 frame per state, stacked (frames, rows, columns)."""
        if exposure_s <= 0:
            raise ValueError(f"exposure must be positive, got {exposure_s} s")
        out = np.empty((len(states), *self.detector.shape), np.uint16)
        for index, state in enumerate(states):
            self._prepare(model, state, exposure_s)
            if rng is None:
                out[index] = self._noiseless
            else:
                out[index] = poisson_counts(self._expected, rng, self._cumulative)
        return out

    def _prepare(self, model: StxmModel, state: BeamState, exposure_s: float) -> None:
        key = (_state_key(state), exposure_s, self.detector.shape)
        if key == self._key:
            return
        self._expected = self.detector.expected(model, state, exposure_s)
        self._cumulative = np.cumsum(self._expected, dtype=np.float64)
        self._noiseless = np.minimum(np.rint(self._expected), UINT16_MAX).astype(np.uint16)
        self._key = key


def _state_key(state: BeamState) -> tuple:
    """What a frame's noise-free pattern depends on: the state's scalars (positions to 1 pm)."""
    values = []
    for name in state.__dataclass_fields__:
        value = getattr(state, name)
        if not isinstance(value, str):
            value = round(float(np.mean(value)), 6)
        values.append(value)
    return tuple(values)
