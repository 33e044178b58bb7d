"""Quick-looks that do not lie, and a demo ptychography worth reconstructing: on the model.

The focus and ptychography are computed with the physics model directly (no IOC), with
the demo's own parameters, so twenty noise seeds take a couple of seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from iocs.physics import BeamState, FarFieldDetector, Phantom, StxmModel
from stxm_devices.demo import PTYCHO
from stxm_devices.quicklook import edge_width, focus_from_edges

#: The demo's sample focus: 80 points across the film edge at y = 37 µm, 25 zone-plate
#: positions over 6 µm centred on A1·E, 1 ms dwell, 300 eV.
FOCUS_ENERGY, FOCUS_DWELL_MS = 300.0, 1.0
FOCUS_X = np.linspace(-12.4, -11.6, 80)


def _focus_scan(seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    model = StxmModel(seed=seed)
    focus = model.focus_zp_z_um(FOCUS_ENERGY)
    z = focus + np.linspace(-3.0, 3.0, 25)
    data = np.array(
        [
            model.counts(
                BeamState(
                    energy_ev=FOCUS_ENERGY, zp_z_um=zi, sample_x_um=FOCUS_X, sample_y_um=37.0
                ),
                FOCUS_DWELL_MS,
            )
            for zi in z
        ]
    )
    return z, data, focus


def test_focus_is_found_within_one_depth_of_focus_in_20_of_20_seeds():
    depth = float(StxmModel().zone_plate(7).depth_of_focus_um(FOCUS_ENERGY))
    errors, largest_gradient = [], []
    for seed in range(20):
        z, data, focus = _focus_scan(seed)
        found, uncertainty, _, _ = focus_from_edges(z, FOCUS_X, data)
        errors.append(found - focus)
        assert 0 < uncertainty < depth / 4, f"seed {seed}: ± {uncertainty} µm"
        largest_gradient.append(z[np.argmax(np.abs(np.diff(data, axis=1)).max(axis=1))] - focus)
    assert np.max(np.abs(errors)) < depth, errors
    # The old measure (the single largest noisy gradient) misses by more than a depth.
    assert np.max(np.abs(largest_gradient)) > depth


def test_edge_width_recovers_the_probe_sigma_of_a_noise_free_edge():
    model = StxmModel(noise=False)
    state = BeamState(
        energy_ev=FOCUS_ENERGY,
        zp_z_um=model.focus_zp_z_um(FOCUS_ENERGY) + 2.0,
        sample_x_um=FOCUS_X,
        sample_y_um=37.0,
    )
    sigma, error = edge_width(FOCUS_X, model.expected_counts(state, 100.0))
    assert sigma == pytest.approx(float(model.probe_sigma_um(state)), rel=0.05)
    assert error < 0.05 * sigma


def test_demo_ptycho_geometry_overlaps_and_fits_the_field_of_view():
    assert PTYCHO.overlap() >= 0.60
    assert PTYCHO.probe_diameter_um() <= PTYCHO.field_of_view_um() / 2  # sampled twice over
    assert f"overlap {PTYCHO.overlap():.0%}" in PTYCHO.describe()


def test_demo_ptycho_frames_are_bright_and_their_totals_map_the_particle():
    """≥ 10³ counts per bright-field pixel; frame totals correlate > 0.9 with exp(−OD)."""
    model, phantom = StxmModel(seed=3), Phantom()
    detector = FarFieldDetector(shape=(PTYCHO.detector_pixels, PTYCHO.detector_pixels))
    zp_z = model.focus_zp_z_um(PTYCHO.energy_ev) + PTYCHO.defocus_um
    totals, transmission, bright = [], [], []
    for x, y in zip(*PTYCHO.positions_um(), strict=True):
        state = BeamState(energy_ev=PTYCHO.energy_ev, zp_z_um=zp_z, sample_x_um=x, sample_y_um=y)
        frame = detector.frame(model, state, PTYCHO.dwell_ms / 1000.0, model.rng)
        totals.append(frame.sum())
        transmission.append(np.exp(-phantom.optical_density(x, y, PTYCHO.energy_ev)))
        bright.append(np.median(frame[frame > 0.2 * frame.max()]))
    assert max(bright) >= 1e3
    assert min(transmission) < 0.5 < max(transmission)  # the scan straddles the edge
    assert np.corrcoef(totals, transmission)[0, 1] > 0.9
