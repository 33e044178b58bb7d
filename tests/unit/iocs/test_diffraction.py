import time

import numpy as np
import pytest

from iocs.physics import BeamState, StxmModel
from iocs.physics.diffraction import FarFieldDetector, FrameSeries, poisson_counts


def state(model, energy=700.0, x=1.0, y=2.0, **changes):
    focus = model.focus_zp_z_um(energy)
    return BeamState(energy_ev=energy, zp_z_um=focus, sample_x_um=x, sample_y_um=y).with_(**changes)


def test_frame_is_uint16_of_the_configured_shape():
    model = StxmModel()
    frame = FarFieldDetector(shape=(48, 64)).frame(model, state(model), 0.01)
    assert frame.dtype == np.uint16
    assert frame.shape == (48, 64)


def test_photons_are_conserved_by_the_propagation():
    model = StxmModel()
    detector = FarFieldDetector(shape=(64, 64))
    air = state(model, x=-800.0, y=-800.0)  # far from every feature: nothing absorbs
    expected = detector.expected(model, air, 0.01)
    assert expected.sum() == pytest.approx(model.counts_per_ms * 10, rel=1e-3)


def test_sample_absorption_lowers_the_total_like_the_counter():
    model = StxmModel()
    disk = next(d for d in model.phantom.disks if d.material == "iron_oxide" and abs(d.x_um) < 40)
    detector = FarFieldDetector(shape=(64, 64))
    on_disk = detector.expected(model, state(model, 709.6, disk.x_um, disk.y_um), 0.01).sum()
    air = detector.expected(model, state(model, 709.6, -800.0, -800.0), 0.01).sum()
    transmission = float(model.transmission(state(model, 709.6, disk.x_um, disk.y_um)))
    assert on_disk / air == pytest.approx(transmission, rel=0.1)


def test_bright_field_disk_has_the_central_stop_shadow():
    model = StxmModel()
    expected = FarFieldDetector(shape=(128, 128)).expected(model, state(model), 0.01)
    rows, columns = np.indices(expected.shape)
    radius = np.hypot(rows - 64, columns - 64)
    assert expected[radius < 5].sum() < 1e-6 * expected.sum()  # central stop
    assert expected[radius < 40].sum() > 0.99 * expected.sum()  # the zone plate's cone


def test_pattern_follows_the_stage():
    model = StxmModel()
    detector = FarFieldDetector(shape=(64, 64))
    disk = next(d for d in model.phantom.disks if abs(d.x_um) < 40)
    edge = state(model, x=disk.x_um + disk.radius_um, y=disk.y_um)
    here = detector.expected(model, edge, 0.01)
    there = detector.expected(model, edge.with_(sample_x_um=disk.x_um + disk.radius_um + 0.2), 0.01)
    assert np.abs(here - there).sum() > 0.01 * here.sum()
    assert np.array_equal(detector.expected(model, edge, 0.01), here)


def test_defocus_changes_the_pattern_of_a_structured_patch():
    model = StxmModel()
    detector = FarFieldDetector(shape=(64, 64))
    disk = next(d for d in model.phantom.disks if abs(d.x_um) < 40)
    focused = state(model, x=disk.x_um + disk.radius_um, y=disk.y_um)
    blurred = focused.with_(zp_z_um=focused.zp_z_um + 5.0)
    a = detector.expected(model, focused, 0.01)
    b = detector.expected(model, blurred, 0.01)
    assert np.abs(a - b).sum() > 0.01 * a.sum()


def test_noise_is_seeded_and_expectation_without_rng():
    model = StxmModel()
    detector = FarFieldDetector(shape=(32, 32))
    beam = state(model)
    a = detector.frame(model, beam, 0.01, np.random.default_rng(3))
    b = detector.frame(model, beam, 0.01, np.random.default_rng(3))
    assert np.array_equal(a, b)
    exact = detector.frame(model, beam, 0.01)
    assert np.array_equal(exact, np.rint(detector.expected(model, beam, 0.01)).astype(np.uint16))


def test_counts_saturate_at_the_uint16_limit():
    model = StxmModel(counts_per_ms=1e9)
    frame = FarFieldDetector(shape=(32, 32)).frame(model, state(model), 1.0)
    assert frame.max() == np.iinfo(np.uint16).max


def test_bad_exposure_is_refused():
    model = StxmModel()
    with pytest.raises(ValueError, match="exposure must be positive"):
        FarFieldDetector().frame(model, state(model), 0.0)


def test_a_256_frame_at_a_still_stage_takes_a_few_ms():
    model = StxmModel()
    detector = FarFieldDetector()
    beam = state(model)
    rng = np.random.default_rng(0)
    detector.frame(model, beam, 0.01, rng)  # fills the patch and probe caches
    # CPU time, not wall-clock: the frame's cost, not the share of a loaded machine this
    # process got (~2.5 ms a frame either way; 3 to 16 ms of wall-clock at load 4).
    start = time.process_time()
    for _ in range(10):
        detector.frame(model, beam, 0.01, rng)
    assert (time.process_time() - start) / 10 < 0.02


def test_a_series_without_noise_is_the_detector_frame_of_each_state():
    model = StxmModel()
    detector = FarFieldDetector(shape=(64, 64))
    disk = next(d for d in model.phantom.disks if d.material == "iron_oxide" and abs(d.x_um) < 40)
    on_disk = state(model, 709.6, disk.x_um, disk.y_um)
    states = [on_disk, on_disk, state(model, 709.6, -800.0, -800.0)]
    frames = FrameSeries(detector).frames(model, states, 0.01)
    for frame, one in zip(frames, states, strict=True):
        np.testing.assert_array_equal(frame, detector.frame(model, one, 0.01))
    assert not np.array_equal(frames[0], frames[2])


@pytest.mark.parametrize("photons_per_pixel", [0.05, 5.0])  # the sparse and the dense draw
def test_poisson_counts_have_poisson_mean_and_variance(photons_per_pixel):
    rng = np.random.default_rng(3)
    expected = rng.random((32, 32)) * 2 * photons_per_pixel
    draws = np.array([poisson_counts(expected, rng) for _ in range(4000)], dtype=np.float64)
    # Poisson: mean and variance both λ, pixel by pixel, within the noise of 4000 draws.
    spread = np.sqrt(expected / 4000) * 5 + 1e-3
    assert np.all(np.abs(draws.mean(axis=0) - expected) < spread)
    assert draws.var(axis=0).mean() == pytest.approx(expected.mean(), rel=0.05)
    assert np.corrcoef(draws[:, 0, 0], draws[:, 0, 1])[0, 1] == pytest.approx(0, abs=0.06)


def test_a_frame_is_the_same_whatever_the_detector_rendered_before():
    """The lattice tiles are fixed to the lattice's origin: kept tiles change no frame."""
    model = StxmModel()
    disk = next(d for d in model.phantom.disks if abs(d.x_um) < 40)
    edge = state(model, x=disk.x_um + disk.radius_um, y=disk.y_um)
    used = FarFieldDetector(shape=(64, 64))
    for dx in np.linspace(-3.0, 3.0, 7):  # tiles around and across the frame's window
        used.expected(model, edge.with_(sample_x_um=edge.sample_x_um + dx), 0.01)
    fresh = FarFieldDetector(shape=(64, 64)).expected(model, edge, 0.01)
    np.testing.assert_array_equal(used.expected(model, edge, 0.01), fresh)
