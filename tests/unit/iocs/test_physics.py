import numpy as np
import pytest

from iocs.physics import MATERIALS, ZONE_PLATES, BeamState, Osa, Phantom, StxmModel


def state(model, energy=700.0, **changes):
    focus = model.focus_zp_z_um(energy)
    return BeamState(energy_ev=energy, zp_z_um=focus, sample_x_um=-30.0, sample_y_um=-20.0).with_(
        **changes
    )


def test_zone_plate_focal_length_matches_the_seed():
    zone_plate = ZONE_PLATES[7]  # D = 250 µm, Δr = 25 nm
    assert zone_plate.a1 == pytest.approx(-250 * 25 / 1239.84)
    assert zone_plate.focal_length_um(750.4) == pytest.approx(3783.6, abs=1.0)
    assert zone_plate.numerical_aperture(750.4) == pytest.approx(250 / (2 * 3783.6), rel=1e-3)


def test_probe_grows_with_defocus():
    zone_plate = ZONE_PLATES[7]
    sigma0 = zone_plate.probe_sigma_um(700.0, 0.0)
    assert sigma0 == pytest.approx(1.22 * 0.025 / 2.355)
    dof = zone_plate.depth_of_focus_um(700.0)
    assert zone_plate.probe_sigma_um(700.0, dof) > sigma0
    assert zone_plate.probe_sigma_um(700.0, 50.0) == pytest.approx(
        zone_plate.numerical_aperture(700.0) * 50.0, rel=0.01
    )


@pytest.mark.parametrize(
    ("material", "window", "peak"),
    [("polymer", (280.0, 300.0), 285.1), ("iron_oxide", (700.0, 730.0), 709.6)],
)
def test_near_edge_peaks(material, window, peak):
    energies = np.arange(*window, 0.05)
    mu = MATERIALS[material].mu_per_um(energies)
    assert abs(energies[np.argmax(mu)] - peak) <= 0.5


def test_magnetic_oxide_is_dichroic_and_others_are_not():
    left = MATERIALS["magnetic_oxide"].mu_per_um(709.3, "CircLeft")
    right = MATERIALS["magnetic_oxide"].mu_per_um(709.3, "CircRight")
    assert left > 1.2 * right
    assert MATERIALS["iron_oxide"].mu_per_um(709.6, "CircLeft") == pytest.approx(
        MATERIALS["iron_oxide"].mu_per_um(709.6, "CircRight")
    )


def test_phantom_is_deterministic_and_has_every_material():
    a, b = Phantom(seed=5), Phantom(seed=5)
    assert a.disks == b.disks
    assert {d.material for d in a.disks} == set(MATERIALS)
    assert Phantom(seed=6).disks != a.disks


def test_thickness_follows_one_over_cos_theta():
    phantom = Phantom()
    disk = next(d for d in phantom.disks if d.material == "iron_oxide")
    flat = phantom.optical_density(disk.x_um, disk.y_um, 709.6)
    tilted = phantom.optical_density(disk.x_um, disk.y_um, 709.6, theta_deg=60.0)
    assert tilted == pytest.approx(2.0 * flat)


def test_air_gives_about_1e4_counts_per_ms_at_500_ma():
    model = StxmModel(noise=False)
    assert model.counts(state(model), 1.0) == pytest.approx(1e4)
    assert model.counts(state(model, ring_current_ma=250.0), 2.0) == pytest.approx(1e4)


def test_osa_off_axis_by_more_than_its_radius_blocks_the_beam():
    osa = Osa(diameter_um=50.0)
    assert osa.transmission(0.0, 0.0) == pytest.approx(1.0, abs=1e-6)
    assert osa.transmission(30.0, 0.0) < 0.1
    assert osa.transmission(0.0, 10.0) > 0.99


def test_noise_is_seeded_and_can_be_switched_off():
    line = dict(sample_x_um=np.linspace(-30, -29, 500))
    first = StxmModel(seed=3).counts(state(StxmModel(), **line), 1.0)
    again = StxmModel(seed=3).counts(state(StxmModel(), **line), 1.0)
    assert np.array_equal(first, again)
    quiet = StxmModel(noise=False).counts(state(StxmModel(), **line), 1.0)
    assert np.allclose(quiet, 1e4)
    assert first.var() / first.mean() == pytest.approx(1.0, rel=0.2)


def test_unknown_zone_plate_and_bad_dwell_are_named():
    model = StxmModel()
    with pytest.raises(ValueError, match="unknown zone-plate index 12"):
        model.zone_plate(12)
    with pytest.raises(ValueError, match="dwell must be positive"):
        model.counts(state(model), 0.0)
