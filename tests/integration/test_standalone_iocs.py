"""IOCs run alone, each in its own process on its own port, as on a real beamline."""

from __future__ import annotations

import epics
import numpy as np
import pytest
from ophyd import EpicsMotor

from iocs.physics import MATERIALS, Phantom
from stxm_devices import PointCounter
from stxm_devices.testing import ioc_command, running_ioc

from .conftest import RingCurrentSpread


def test_counter_ioc_follows_a_stage_ioc_in_another_process(sim, ca_ports, beamline):
    """Counter (port b) follows a stage IOC (port a) and the sim's other IOCs over CA."""
    stage_port, counter_port = ca_ports["a"], ca_ports["b"]
    with (
        running_ioc(
            ioc_command("stage", "SA:stage:"), port=stage_port, ready_pv="SA:stage:FineX.RBV"
        ),
        running_ioc(
            ioc_command("counter", "SA:counter0:", "--stage-prefix", "SA:stage:", "--no-noise"),
            port=counter_port,
            client_ports=[stage_port, ca_ports["sim"]],
            ready_pv="SA:counter0:Noise",
        ),
    ):
        fine_x = EpicsMotor("SA:stage:FineX", name="fine_x")
        fine_y = EpicsMotor("SA:stage:FineY", name="fine_y")
        counter = PointCounter("SA:counter0:", name="counter0")
        for device in (fine_x, fine_y, counter):
            device.wait_for_connection(timeout=10)
        # The stage in another process: no whole images (plans fly its rows one by one).
        assert counter.fly_image.get() == "Unavailable"
        energy = float(epics.caget("SIM:energy:Energy.RBV", timeout=15))
        phantom = Phantom()
        disk = next(d for d in phantom.disks if d.material == "iron_oxide" and abs(d.x_um) < 40)

        def counts_at(x, y):
            fine_x.move(x, wait=True)
            fine_y.move(y, wait=True)
            counter.trigger().wait(10)
            return float(counter.counts.get(use_monitor=False))

        inside = counts_at(disk.x_um, disk.y_um)
        outside = counts_at(disk.x_um + disk.radius_um + 1.0, disk.y_um)
        t_in = phantom.thickness_um(disk.x_um, disk.y_um)
        t_out = phantom.thickness_um(disk.x_um + disk.radius_um + 1.0, disk.y_um)
        expected_od = sum(
            float(MATERIALS[m].mu_per_um(energy, "CircLeft")) * float(t_in[m] - t_out[m])
            for m in MATERIALS
        )
        assert -np.log(inside / outside) == pytest.approx(expected_od, rel=0.05)
        # The stage IOC is the standalone one: the sim's own fine X never moved.
        assert epics.caget("SIM:stage:FineX.RBV", timeout=15) != pytest.approx(disk.x_um)

        # A hardware-timed step row: the counter moves the other IOC's fine X over CA.
        xs = np.linspace(disk.x_um, disk.x_um + disk.radius_um + 1.0, 5)
        with RingCurrentSpread(beamline.ring_current) as ring_current:
            per_point = [counts_at(x, disk.y_um) for x in xs]
            for signal, value in counter.step_line_settings(xs, dwell_ms=1.0).items():
                signal.set(value).wait(5)
            counter.trigger().wait(30)
        # Noiseless counts are whole numbers of a smooth model; each point is counted where
        # the axis settled (within SettleTolerance), so one count of rounding may differ;
        # and the flux (the sim's ring current, which the counter follows) moved meanwhile.
        flux = max(per_point) * ring_current.relative()
        np.testing.assert_allclose(
            counter.line_counts.get(use_monitor=False), per_point, atol=1.5 + flux
        )
        np.testing.assert_allclose(
            counter.line_positions.get(use_monitor=False),
            xs,
            atol=float(counter.settle_tolerance.get()),
        )
