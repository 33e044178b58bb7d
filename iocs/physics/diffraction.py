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

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import scipy.fft

from .model import BeamState, StxmModel
from .optics import ZonePlate, photon_wavelength_nm

UINT16_MAX = np.iinfo(np.uint16).max
#: The sample lattice is computed in square tiles of LATTICE_TILE points a side, on a
#: grid fixed to the lattice's origin, and the latest LATTICE_TILES of them kept (the
#: least recently used go): a frame's window is copied from the tiles it overlaps, so a
#: scan computes each part of the sample once, and a scan of the same area again none.
LATTICE_TILE = 128
LATTICE_TILES = 256
#: The camera model the simulated area detector reports (cam1:Model_RBV).
SIM_CAMERA_MODEL = "Far-field diffraction"


@lru_cache(maxsize=32)
def _pupil(
    zone_plate: ZonePlate, energy_ev: float, defocus_um: float, shape: tuple[int, int], dx_um: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unit-power defocused zone-plate pupil on the FFT grid; its frequencies qy, qx (1/µm)."""
    wavelength_um = float(photon_wavelength_nm(energy_ev)) * 1e-3
    qy = scipy.fft.fftfreq(shape[0], d=dx_um)
    qx = scipy.fft.fftfreq(shape[1], d=dx_um)
    q = np.hypot(qx[None, :], qy[:, None])
    q_max = float(zone_plate.numerical_aperture(energy_ev)) / wavelength_um
    q_stop = q_max * zone_plate.central_stop_um / zone_plate.diameter_um
    pupil = ((q <= q_max) & (q >= q_stop)).astype(np.complex128)
    pupil *= np.exp(1j * np.pi * wavelength_um * defocus_um * q**2)
    pupil /= np.sqrt(np.sum(np.abs(pupil) ** 2))  # the probe's power too (Parseval)
    return pupil.astype(np.complex64), qy, qx


#: Threads an FFT of a batch of frames may use (pocketfft's; results do not depend on it):
#: one, as a frame series draws its noise in a second thread meanwhile.
FFT_WORKERS = 1
#: Frames transformed together at most (more spill the cache: 8 cost ~40 % more a frame).
FFT_BATCH = 2


@lru_cache(maxsize=32)
def _probe_columns(
    zone_plate: ZonePlate,
    energy_ev: float,
    defocus_um: float,
    shape: tuple[int, int],
    dx_um: float,
    shift_y_um: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The pupil with its Y shift ramp, inverse-transformed along Y; the frequencies qx.

    What the probes of one Y offset share: the X ramp commutes with the transform along
    Y, so each probe of a row is one transform along X of this times its own X ramp.
    """
    pupil, qy, qx = _pupil(zone_plate, energy_ev, defocus_um, shape, dx_um)
    shift_y = shift_y_um + shape[0] // 2 * dx_um
    ramp_y = np.exp(-2j * np.pi * qy * shift_y).astype(np.complex64)
    columns = scipy.fft.ifft(pupil * ramp_y[:, None], axis=0, norm="ortho")
    columns.setflags(write=False)
    return columns, qx


def _probes(
    zone_plate: ZonePlate,
    energy_ev: float,
    defocus_um: float,
    shape: tuple[int, int],
    dx_um: float,
    shift_y_um: float,
    shifts_x_um: np.ndarray,
) -> np.ndarray:
    """Unit-power probes at the sample, (shifts, rows, columns), one per X shift.

    Each is centred (``shift_y_um``, its ``shifts_x_um``) off the array's centre.
    The inverse FFT of the defocused pupil; the shift (and the centring, as fftshift) is
    a separable phase ramp on the pupil, exact for a probe band-limited by it.
    """
    columns, qx = _probe_columns(zone_plate, energy_ev, defocus_um, shape, dx_um, shift_y_um)
    shifts_x = np.asarray(shifts_x_um, dtype=float) + shape[1] // 2 * dx_um
    ramps_x = np.exp(-2j * np.pi * qx[None, :] * shifts_x[:, None]).astype(np.complex64)
    return scipy.fft.ifft(
        columns[None] * ramps_x[:, None, :],
        axis=-1,
        norm="ortho",
        workers=FFT_WORKERS,
        overwrite_x=True,
    )


def _probe(
    zone_plate: ZonePlate,
    energy_ev: float,
    defocus_um: float,
    shape: tuple[int, int],
    dx_um: float,
    shift_um: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Unit-power probe at the sample, centred ``shift_um`` (y, x) off the array's centre."""
    shifts_x = np.array([shift_um[1]])
    return _probes(zone_plate, energy_ev, defocus_um, shape, dx_um, shift_um[0], shifts_x)[0]


def _spans(first: int, length: int) -> list[tuple[int, int, int]]:
    """(tile, start in it, start in the window) of each tile that ``length`` points cross."""
    spans = []
    for tile in range(first // LATTICE_TILE, (first + length - 1) // LATTICE_TILE + 1):
        start = max(first, tile * LATTICE_TILE)
        spans.append((tile, start - tile * LATTICE_TILE, start - first))
    return spans


@dataclass
class FarFieldDetector:
    """Frames of ``shape`` (rows, columns) from the model at one beam state.

    ``delta_over_beta`` sets the sample's phase per unit absorption.  The sample is
    sampled on a fixed lattice (pitch: the sample-plane pixel, origin 0) and the probe
    shifted by the beam's offset from the nearest lattice point, so a moving stage
    costs one FFT per frame (plus a probe per new offset): the lattice is computed in
    tiles (``LATTICE_TILE``), kept while used, and each frame's window copied from them.
    """

    shape: tuple[int, int] = (256, 256)
    width_mm: float = 14.08
    distance_mm: float = 100.0
    delta_over_beta: float = 1.5
    _tiles: dict = field(default_factory=dict, init=False, repr=False)

    def detector_pixel_um(self, columns: int) -> float:
        """The detector pixel (µm) when ``width_mm`` is read out as ``columns`` pixels."""
        return self.width_mm * 1e3 / columns

    def pixel_um(self, energy_ev: float) -> float:
        """Sample-plane sampling λ·distance/width (µm) at ``energy_ev``."""
        wavelength_um = float(photon_wavelength_nm(energy_ev)) * 1e-3
        return wavelength_um * self.distance_mm / self.width_mm

    def _transmission(
        self, model: StxmModel, state: BeamState, dx_um: float
    ) -> tuple[np.ndarray, tuple[float, float]]:
        """exp(−OD/2 + iφ) over the lattice window nearest the beam; the beam's offset.

        The offset is the beam's (y, x) from the window's centre, µm (unblurred: the
        probe blurs).
        """
        x0, y0 = _mean(state.sample_x_um), _mean(state.sample_y_um)
        iy, ix = round(y0 / dx_um), round(x0 / dx_um)
        rows, columns = self.shape
        top, left = iy - rows // 2, ix - columns // 2
        lattice = (state.energy_ev, state.polarization, state.theta_deg, dx_um, self._checkered())
        window = np.empty(self.shape, np.complex64)
        columns_spans = _spans(left, columns)
        for tile_row, row_in_tile, row in _spans(top, rows):
            height = min(LATTICE_TILE - row_in_tile, rows - row)
            for tile_column, column_in_tile, column in columns_spans:
                width = min(LATTICE_TILE - column_in_tile, columns - column)
                tile = self._tile(model, state, lattice, tile_row, tile_column)
                window[row : row + height, column : column + width] = tile[
                    row_in_tile : row_in_tile + height, column_in_tile : column_in_tile + width
                ]
        offset = (round(y0 - iy * dx_um, 6), round(x0 - ix * dx_um, 6))
        return window, offset

    def _tile(
        self, model: StxmModel, state: BeamState, lattice: tuple, tile_row: int, tile_column: int
    ) -> np.ndarray:
        """The lattice's tile (``tile_row``, ``tile_column``): made once, kept while used."""
        key = (lattice, tile_row, tile_column)
        tile = self._tiles.pop(key, None)
        if tile is None:
            top, left = tile_row * LATTICE_TILE, tile_column * LATTICE_TILE
            dx_um, checkered = lattice[3], lattice[4]
            y = np.arange(top, top + LATTICE_TILE) * dx_um
            x = np.arange(left, left + LATTICE_TILE) * dx_um
            od = model.phantom.optical_density(
                x[None, :],
                y[:, None],
                state.energy_ev,
                state.polarization,
                theta_deg=state.theta_deg,
            )
            tile = np.exp((-0.5 - 0.5j * self.delta_over_beta) * od).astype(np.complex64)
            if checkered:  # (−1)^(i+j) of the lattice: each window's far field comes centred
                odd = np.arange(LATTICE_TILE) % 2  # tiles start at even indices
                tile[(odd[:, None] ^ odd[None, :]).astype(bool)] *= -1
            if len(self._tiles) >= LATTICE_TILES:
                del self._tiles[next(iter(self._tiles))]  # the least recently used
        self._tiles[key] = tile  # the most recently used last
        return tile

    def _checkered(self) -> bool:
        """Whether the far field is centred by a sign pattern on the sample (even shapes).

        FFT(x·(−1)^(i+j)) is fftshift(FFT(x)) when both sizes are even; a window of the
        signed lattice carries the pattern times ±1, which the power does not see, so
        the shift costs nothing per frame.
        """
        return self.shape[0] % 2 == 0 and self.shape[1] % 2 == 0

    def expected(self, model: StxmModel, state: BeamState, exposure_s: float) -> np.ndarray:
        """Noise-free photons per pixel for one exposure (float64, ``shape``)."""
        return self.expected_batch(model, [state], exposure_s)[0]

    def expected_batch(
        self, model: StxmModel, states: Sequence[BeamState], exposure_s: float
    ) -> np.ndarray:
        """:meth:`expected` of each state, (states, rows, columns): the FFTs done together.

        The probes of states with one Y offset come from one shared half-transform
        (``_probe_columns``), and the far fields of the batch are one stacked FFT, each
        frame equal to the one :meth:`expected` gives alone.
        """
        out = np.empty((len(states), *self.shape))
        groups: dict[tuple, list[tuple[int, np.ndarray, float, float]]] = {}
        for index, state in enumerate(states):
            dx_um = self.pixel_um(state.energy_ev)
            defocus = round(_mean(model.defocus_um(state)), 4)
            transmission, (offset_y, offset_x) = self._transmission(model, state, dx_um)
            osa = _mean(model.osa.transmission(state.osa_x_um, state.osa_y_um))
            incident = model.counts_per_ms * exposure_s * 1e3 * state.ring_current_ma / 500.0
            key = (model.zone_plate(state.zp_index), float(state.energy_ev), defocus, dx_um)
            groups.setdefault((*key, offset_y), []).append(
                (index, transmission, offset_x, incident * osa)
            )
        chunks = [
            (key, members[start : start + FFT_BATCH])
            for key, members in groups.items()
            for start in range(0, len(members), FFT_BATCH)
        ]
        for (zone_plate, energy_ev, defocus, dx_um, offset_y), members in chunks:
            indices, windows, offsets_x, incidents = zip(*members, strict=True)
            probes = _probes(
                zone_plate, energy_ev, defocus, self.shape, dx_um, offset_y, np.array(offsets_x)
            )
            for probe, window in zip(probes, windows, strict=True):
                probe *= window  # the exit waves, in place
            far_field = scipy.fft.fft2(probes, norm="ortho", workers=FFT_WORKERS, overwrite_x=True)
            for index, field_, incident in zip(indices, far_field, incidents, strict=True):
                power = out[index]  # |field|² straight into the frame, no temporary stack
                np.square(field_.real, out=power, dtype=np.float64)
                power += np.square(field_.imag)
                power *= incident
                if not self._checkered():
                    out[index] = scipy.fft.fftshift(power)
        return out

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


#: Pixels expecting at least this many photons draw their noise pixel by pixel, the
#: dimmer ones photon by photon (``PoissonSampler``): each the cheaper way there.
BRIGHT_PHOTONS = 0.5


class PoissonSampler:
    """Poisson(``expected``) per pixel as uint16 (saturating), drawn the cheaper exact way.

    The pixels are independent, so they may be drawn in two sets: the bright ones
    (λ ≥ BRIGHT_PHOTONS) pixel by pixel; for the dim rest, N ~ Poisson(Σλ) photons,
    each dropped on pixel i with probability λᵢ/Σλ — the pixels are then independent
    Poisson(λᵢ), exactly (the splitting property), at a cost per photon instead of per
    pixel.  Made once per pattern, drawn once per frame.
    """

    def __init__(self, expected: np.ndarray) -> None:
        self._flat = np.asarray(expected, dtype=np.float64).ravel()
        self.shape = np.shape(expected)
        self._bright_mask = self._flat >= BRIGHT_PHOTONS
        self.bright = np.flatnonzero(self._bright_mask)
        self.bright_expected = self._flat[self.bright]
        # Σλ of the dim pixels (a difference: exact to ~1e-12 of the frame's photons).
        self.dim_total = max(float(self._flat.sum()) - float(self.bright_expected.sum()), 0.0)
        self._cumulative: np.ndarray | None = None  # made when a dim photon first comes

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        bright = np.minimum(rng.poisson(self.bright_expected), UINT16_MAX).astype(np.uint16)
        photons = rng.poisson(self.dim_total) if self.dim_total > 0 else 0
        if photons:
            if self._cumulative is None:
                self._cumulative = np.cumsum(np.where(self._bright_mask, 0.0, self._flat))
            where = rng.random(photons) * float(self._cumulative[-1])
            where.sort()
            pixels = np.searchsorted(self._cumulative, where, side="right")
            np.minimum(pixels, self._flat.size - 1, out=pixels)  # a draw of exactly Σλ
            counts = np.bincount(pixels, minlength=self._flat.size)
            counts = np.minimum(counts, UINT16_MAX).astype(np.uint16)
        else:
            counts = np.zeros(self._flat.size, np.uint16)
        counts[self.bright] = bright  # no dim photon lands on a bright pixel
        return counts.reshape(self.shape)


def poisson_counts(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson(``expected``) per pixel as uint16 (saturating): see :class:`PoissonSampler`."""
    return PoissonSampler(expected).draw(rng)


@dataclass
class FrameSeries:
    """Frames of a ``FarFieldDetector`` for a run of beam states, as a detector acquires them.

    Consecutive equal states (a still stage) share one noise-free pattern (and its
    sampler): only the noise is drawn per frame, so a frame costs its photons, not an
    FFT; the patterns of a moving stage are computed together (``expected_batch``, up to
    FFT_BATCH at once), and each batch's noise is drawn in a thread of its own while the
    next batch is computed (in order: the same frames as drawn in one thread).
    Noise-free frames (``rng`` None) equal ``FarFieldDetector.frame``'s.
    """

    detector: FarFieldDetector
    _key: tuple | None = field(default=None, init=False, repr=False)
    _expected: np.ndarray | None = field(default=None, init=False, repr=False)
    _sampler: PoissonSampler | None = field(default=None, init=False, repr=False)
    _noiseless: np.ndarray | None = field(default=None, init=False, repr=False)
    _noise_thread: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="noise"),
        init=False,
        repr=False,
    )

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
        keys = [(_state_key(state), exposure_s, self.detector.shape) for state in states]
        new = [k for k, key in enumerate(keys) if key != (keys[k - 1] if k else self._key)]
        ends = [*new[1:], len(states)]
        self._fill(out, range(new[0] if new else len(states)), rng)  # the last pattern's
        pending = None
        for first in range(0, len(new), FFT_BATCH):
            chunk = new[first : first + FFT_BATCH]
            patterns = self.detector.expected_batch(model, [states[k] for k in chunk], exposure_s)
            if pending is not None:
                pending.result()
            runs = [
                (keys[k], pattern, range(k, end))
                for k, pattern, end in zip(chunk, patterns, ends[first:], strict=False)
            ]
            pending = self._noise_thread.submit(self._fill_runs, out, runs, rng)
        if pending is not None:
            pending.result()
        return out

    def _fill_runs(
        self, out: np.ndarray, runs: list[tuple], rng: np.random.Generator | None
    ) -> None:
        """Frames of each (key, pattern, frame indices) run, in order (the noise thread)."""
        for key, pattern, indices in runs:
            self._key, self._expected = key, pattern
            self._sampler = self._noiseless = None
            self._fill(out, indices, rng)

    def _fill(self, out: np.ndarray, indices: range, rng: np.random.Generator | None) -> None:
        """Frames ``indices`` of the current pattern: its noise, or it rounded."""
        for index in indices:
            if rng is None:
                if self._noiseless is None:
                    self._noiseless = np.minimum(np.rint(self._expected), UINT16_MAX)
                out[index] = self._noiseless
            else:
                if self._sampler is None:
                    self._sampler = PoissonSampler(self._expected)
                out[index] = self._sampler.draw(rng)


def _state_key(state: BeamState) -> tuple:
    """What a frame's noise-free pattern depends on: the state's scalars (positions to 1 pm)."""
    values = []
    for name in state.__dataclass_fields__:
        value = getattr(state, name)
        if not isinstance(value, str):
            value = round(_mean(value), 6)
        values.append(value)
    return tuple(values)


def _mean(value: float | np.ndarray) -> float:
    """A state's value as one number: a scalar as it is, an array's mean (a line's states)."""
    if isinstance(value, float | int):
        return float(value)
    return float(np.mean(value))
