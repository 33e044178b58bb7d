"""The virtual STXM's physics, observed the way a user would: through Channel Access."""

from __future__ import annotations

import numpy as np
import pytest

from iocs.physics import MATERIALS, ZONE_PLATES, Phantom

PHANTOM = Phantom()  # the sim's phantom (same default seed)
AIR = (-30.0, -20.0)  # outside the film, far from particles


def counts_at(beamline, x: float, y: float) -> float:
    beamline.stage.fine_x.move(x, wait=True)
    beamline.stage.fine_y.move(y, wait=True)
    beamline.counter.trigger().wait(10)
    return float(beamline.counter.counts.get(use_monitor=False))


def fly_line(beamline, x_start, x_stop, points, dwell_ms, trigger="FineXMotion"):
    """Counter line mode while fine X flies: (measured x, counts) per point."""
    stage, counter = beamline.stage, beamline.counter
    stage.fine_x.move(x_start, wait=True)
    line_time = points * dwell_ms / 1000.0
    stage.fine_x.velocity.set(abs(x_stop - x_start) / line_time).wait(5)
    try:
        counter.mode.set("Line").wait(5)
        counter.line_points.set(points).wait(5)
        counter.line_trigger.set(trigger).wait(5)
        line = counter.trigger()
        stage.fine_x.move(x_stop, wait=True)
        line.wait(10)
        return (
            np.asarray(counter.line_positions.get(use_monitor=False)),
            np.asarray(counter.line_counts.get(use_monitor=False), dtype=float),
        )
    finally:
        counter.mode.set("Single").wait(5)
        stage.fine_x.velocity.set(2000.0).wait(5)


@pytest.fixture
def at_energy(noiseless):
    beamline = noiseless

    def move(energy_ev: float):
        beamline.energy.move(energy_ev, wait=True)
        return beamline

    yield move
    beamline.energy.move(700.0, wait=True)


def isolated_particle(material: str):
    """A particle of ``material`` and a point just outside it where only it differs."""
    for disk in PHANTOM.disks:
        if disk.material != material or max(abs(disk.x_um), abs(disk.y_um)) > 40:
            continue
        inside = (disk.x_um, disk.y_um)
        outside = (disk.x_um + disk.radius_um + 1.0, disk.y_um)
        t_in, t_out = PHANTOM.thickness_um(*inside), PHANTOM.thickness_um(*outside)
        others_equal = all(
            abs(float(t_in[m]) - float(t_out[m])) < 1e-6 for m in MATERIALS if m != material
        )
        if others_equal and abs(float(t_out[material])) < 1e-6 and max(map(abs, outside)) < 48:
            return disk, inside, outside
    raise AssertionError(f"the phantom has no isolated {material} particle")


def test_particle_attenuates_by_its_optical_density(at_energy):
    beamline = at_energy(709.6)
    disk, inside, outside = isolated_particle("iron_oxide")
    expected_od = float(MATERIALS["iron_oxide"].mu_per_um(709.6, "CircLeft")) * disk.thickness_um
    measured_od = -np.log(counts_at(beamline, *inside) / counts_at(beamline, *outside))
    assert expected_od > 0.5
    assert measured_od == pytest.approx(expected_od, rel=0.03)


def test_carbon_od_peaks_at_pi_star(at_energy):
    disk, inside, _ = isolated_particle("polymer")
    energies = np.arange(282.0, 292.0, 0.2)
    ods = []
    for energy in energies:
        beamline = at_energy(float(energy))
        ods.append(-np.log(counts_at(beamline, *inside) / counts_at(beamline, *AIR)))
    assert abs(energies[int(np.argmax(ods))] - 285.1) <= 0.5


def test_focus_sweep_sharpest_within_depth_of_focus(at_energy):
    energy = 300.0
    beamline = at_energy(energy)
    zone_plate = ZONE_PLATES[int(beamline.zoneplate.index.get())]
    a1 = float(beamline.zoneplate.a1.get())
    assert a1 == pytest.approx(zone_plate.a1)
    focus = a1 * energy
    edge_x, edge_y = -12.0, 37.0  # the film's left edge, away from particles
    beamline.stage.fine_y.move(edge_y, wait=True)
    sweep = focus + np.arange(-3.0, 3.01, 0.5)
    sharpness = []
    for zp_z in sweep:
        beamline.zoneplate.z.move(float(zp_z), wait=True)
        x, counts = fly_line(beamline, edge_x - 0.4, edge_x + 0.4, 80, 1.0)
        moving = np.diff(x) > 1e-6  # points measured while X flew
        sharpness.append(np.max(np.abs(np.diff(counts)[moving] / np.diff(x)[moving])))
    sharpest = sweep[int(np.argmax(sharpness))]
    assert abs(sharpest - focus) <= zone_plate.depth_of_focus_um(energy)
    assert sharpness[0] < 0.8 * max(sharpness)  # the sweep really went out of focus


def test_osa_off_axis_cuts_counts(noiseless):
    beamline = noiseless
    radius = 25.0
    on_axis = counts_at(beamline, *AIR)
    beamline.osa.x.move(radius + 5.0, wait=True)
    try:
        beamline.counter.trigger().wait(10)
        off_axis = float(beamline.counter.counts.get(use_monitor=False))
    finally:
        beamline.osa.x.move(0.0, wait=True)
    assert off_axis < 0.1 * on_axis


def test_noise_is_poisson_in_a_flat_region(beamline):
    beamline.counter.noise.set("On").wait(5)
    beamline.stage.fine_x.move(AIR[0], wait=True)
    beamline.stage.fine_y.move(AIR[1], wait=True)
    beamline.counter.dwell.set(0.1).wait(5)
    try:
        _, counts = fly_line(beamline, AIR[0], AIR[0] + 1e-3, 1000, 0.1, "Immediate")
    finally:
        beamline.counter.dwell.set(1.0).wait(5)
    assert counts.mean() > 500
    assert counts.var() / counts.mean() == pytest.approx(1.0, rel=0.2)


def test_energy_move_keeps_focus(beamline):
    beamline.energy.move(700.0, wait=True)
    z_700 = beamline.zoneplate.z.position
    beamline.energy.move(720.0, wait=True)
    try:
        a1 = float(beamline.zoneplate.a1.get())
        assert beamline.zoneplate.z.position - z_700 == pytest.approx(a1 * 20.0, abs=1e-3)
        assert beamline.energy.mono.position == pytest.approx(720.0, abs=1e-3)
        assert beamline.osa.z.position == pytest.approx(-500.0)
    finally:
        beamline.energy.move(700.0, wait=True)
