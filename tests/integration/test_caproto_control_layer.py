"""ophyd's caproto control layer drives the sim too (own interpreter: the layer is global)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_caproto_layer_moves_and_counts(sim, ca_ports):
    script = textwrap.dedent(
        """
        import ophyd
        ophyd.set_cl("caproto")
        from stxm_devices import make_beamline
        beamline = make_beamline("SIM:")
        start = beamline.osa.y.position
        beamline.osa.y.move(start + 3.0, wait=True)
        assert abs(beamline.osa.y.position - (start + 3.0)) < 1e-6
        beamline.osa.y.move(start, wait=True)
        beamline.counter.trigger().wait(10)
        assert beamline.counter.counts.get() > 0
        assert beamline.osa.x.limits == (-5000.0, 5000.0)
        print("caproto layer ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "caproto layer ok" in result.stdout
