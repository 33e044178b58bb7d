"""What the plans measure is the sample: images match the phantom, focus scans find focus."""

from __future__ import annotations

import numpy as np
import pytest

import plans
from iocs.physics import BeamState, StxmModel

ENERGY = 709.6  # Fe L3: the iron-oxide particles stand out


def primary(RE, plan):
    events = []
    token = RE.subscribe(lambda name, doc: events.append(doc) if name == "event" else None)
    try:
        RE(plan)
    finally:
        RE.unsubscribe(token)
    return [e for e in events if "counter0_counts" in e["data"]]


def image_from(events, shape):
    """Counts and measured X, Y: rows (line, hardware-timed step) or points (point mode)."""
    if "counter0_line_counts" in events[0]["data"]:
        counts = np.array([e["data"]["counter0_line_counts"] for e in events], dtype=float)
        xs = np.array([e["data"]["counter0_line_positions"] for e in events])
        ys = np.repeat([[e["data"]["stage_fine_y"]] for e in events], shape[1], axis=1)
    else:
        counts = np.array([e["data"]["counter0_counts"] for e in events], dtype=float)
        counts = counts.reshape(shape)
        xs = np.array([e["data"]["stage_fine_x"] for e in events]).reshape(shape)
        ys = np.array([e["data"]["stage_fine_y"] for e in events]).reshape(shape)
    return counts, xs, ys


@pytest.fixture
def at_iron_edge(beamline):
    beamline.counter.noise.set("On").wait(5)
    beamline.energy.move(ENERGY, wait=True)
    yield beamline
    beamline.energy.move(700.0, wait=True)


def test_image_matches_the_phantom_in_line_step_and_point_mode(RE, at_iron_edge):
    beamline = at_iron_edge
    from iocs.physics import Phantom

    disk = next(d for d in Phantom().disks if d.material == "iron_oxide" and abs(d.x_um) < 35)
    shape = (12, 16)
    images = {}
    for mode in ("line", "step", "point"):
        events = primary(
            RE,
            plans.stxm_image(
                beamline,
                x_center_um=disk.x_um,
                x_range_um=8,
                nx=shape[1],
                y_center_um=disk.y_um,
                y_range_um=6,
                ny=shape[0],
                dwell_ms=1.0,
                mode=mode,
            ),
        )
        counts, xs, ys = image_from(events, shape)
        model = StxmModel(noise=False)
        expected = model.expected_counts(
            BeamState(
                energy_ev=ENERGY,
                zp_z_um=beamline.zoneplate.z.position,
                sample_x_um=xs,
                sample_y_um=ys,
                ring_current_ma=float(beamline.ring_current.get()),
            ),
            1.0,
        )
        correlation = np.corrcoef(counts.ravel(), expected.ravel())[0, 1]
        assert correlation > 0.9, f"{mode}: correlation {correlation:.3f}"
        images[mode] = counts
    for mode in ("step", "point"):
        line, other = images["line"], images[mode]
        chi2 = np.mean((line - other) ** 2 / (line + other))  # ~1 if they differ by noise only
        assert chi2 < 2.0, f"line vs {mode}: chi2 {chi2:.2f}"


def test_sample_focus_sharpest_row_within_depth_of_focus(RE, noiseless):
    beamline = noiseless
    energy = 300.0
    beamline.energy.move(energy, wait=True)
    try:
        plan = plans.sample_focus(
            beamline,
            x_start_um=-12.4,
            x_stop_um=-11.6,
            y_um=37.0,
            n_points=80,
            zp_range_um=6.0,
            n_zp=13,
        )
        events = primary(RE, plan)
    finally:
        beamline.energy.move(700.0, wait=True)
    rows = [
        (
            e["data"]["zoneplate_z"],
            np.asarray(e["data"]["counter0_line_positions"]),
            np.asarray(e["data"]["counter0_line_counts"], dtype=float),
        )
        for e in events
    ]
    sharpness = [np.max(np.abs(np.diff(c) / np.diff(x))) for _, x, c in rows]
    best_z = rows[int(np.argmax(sharpness))][0]
    a1 = float(beamline.zoneplate.a1.get())
    from iocs.physics import ZONE_PLATES

    dof = ZONE_PLATES[int(beamline.zoneplate.index.get())].depth_of_focus_um(energy)
    assert abs(best_z - a1 * energy) <= dof
    assert min(sharpness) < 0.8 * max(sharpness)
