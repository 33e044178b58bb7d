"""Bad puts from issue 9, each refused with a message; the sim still counts right afterwards.

A sim of its own (prefix ``BAD:``, its own loopback port) takes every bad value: NaN,
±inf and out-of-range numbers for motor fields, the dwell time, the EPU and the zone
plate, and an enum state past the last.  Each put must fail over Channel Access, leave
the value as it was, alarm the PV and say on its IOC's ``Message_RBV`` which PV refused
what.  Afterwards a move completes and counts at known points of the phantom match the
physics model: one bad put no longer poisons the sim.
"""

from __future__ import annotations

import math

import epics
import pytest
from caproto import CaprotoError, ChannelType, ErrorResponseReceived
from caproto.sync.client import read, write

from iocs.physics import ZONE_PLATES, StxmModel
from iocs.physics.model import BeamState
from stxm_devices.testing import running_ioc, sim_command

pytestmark = [pytest.mark.faults, pytest.mark.integration]

PREFIX = "BAD:"
NAN, INF = math.nan, math.inf

#: (PV under PREFIX, bad value, IOC whose Message_RBV reports it)
BAD_PUTS = [
    ("stage:FineX.VELO", NAN, "stage:"),
    ("stage:FineX.VELO", 1e9, "stage:"),
    ("stage:FineX.VELO", -1.0, "stage:"),
    ("stage:FineX.OFF", NAN, "stage:"),
    ("stage:FineX.ACCL", INF, "stage:"),
    ("stage:FineX.ACCL", -0.5, "stage:"),
    ("stage:FineX", NAN, "stage:"),
    ("stage:FineX", -INF, "stage:"),
    ("stage:FineX.DVAL", NAN, "stage:"),
    ("stage:FineX.RLV", INF, "stage:"),
    ("stage:FineX.HLM", INF, "stage:"),
    ("stage:FineX.LLM", -INF, "stage:"),
    ("stage:FineX.DHLM", NAN, "stage:"),
    ("stage:FineY.MRES", NAN, "stage:"),
    ("stage:FineY.VBAS", INF, "stage:"),
    ("stage:CoarseX.TWV", NAN, "stage:"),
    ("stage:CoarseX.FRAC", INF, "stage:"),
    ("stage:GoniY.HVEL", NAN, "stage:"),
    ("counter0:DwellTime", INF, "counter0:"),
    ("counter0:DwellTime", 1e9, "counter0:"),
    ("counter0:DwellTime", NAN, "counter0:"),
    ("counter0:DwellTime", 0.0, "counter0:"),
    ("counter0:Mode", 7, "counter0:"),
    ("counter0:LinePoints", 10**6, "counter0:"),
    ("counter0:DetX.VELO", NAN, "counter0:"),
    ("energy:Energy", NAN, "energy:"),
    ("energy:Energy.VELO", INF, "energy:"),
    ("energy:Offset", INF, "energy:"),
    ("energy:Offset", 1e6, "energy:"),
    ("energy:Angle", NAN, "energy:"),
    ("energy:Angle", 120.0, "energy:"),
    ("energy:Polarization", 42, "energy:"),
    ("zp:Z", NAN, "zp:"),
    ("zp:Z.OFF", INF, "zp:"),
    ("zp:Index", 12, "zp:"),
    ("osa:X", INF, "osa:"),
    ("osa:Y.VELO", 0.0, "osa:"),
]


@pytest.fixture(scope="module")
def bad_sim(ca_ports):
    """A sim of this module's own: the bad puts never touch the session's sim."""
    port = ca_ports["a"]
    with running_ioc(
        sim_command(port, PREFIX), port=port, ready_pv=f"{PREFIX}counter0:Noise"
    ) as process:
        yield process


def refusal(pvname: str, value: float) -> str:
    """Put ``value`` with completion; the IOC must refuse it. The CA error text."""
    with pytest.raises(ErrorResponseReceived) as refused:
        try:
            write(pvname, [value], notify=True, timeout=10, repeater=False)
        except CaprotoError as error:  # caproto's sync client reuses a circuit it cached,
            if "Disconnected during initialization" not in str(error):  # once found closed
                raise
            write(pvname, [value], notify=True, timeout=10, repeater=False)
    return str(refused.value)


def message(ioc: str) -> str:
    data = read(f"{PREFIX}{ioc}Message_RBV", timeout=10, repeater=False).data
    return bytes(data).split(b"\0", 1)[0].decode()


def severity(pvname: str) -> int:
    response = read(pvname, data_type=ChannelType.TIME_STRING, timeout=10, repeater=False)
    return int(response.metadata.severity)


def value_of(pvname: str):
    return read(pvname, timeout=10, repeater=False).data[0]


@pytest.mark.parametrize(("suffix", "bad_value", "ioc"), BAD_PUTS)
def test_bad_put_refused_with_a_fresh_message(bad_sim, suffix, bad_value, ioc):
    pvname = PREFIX + suffix
    before = value_of(pvname)
    error = refusal(pvname, bad_value)
    text = message(ioc)
    assert text.startswith(f"{pvname}: "), text  # this PV's refusal, not an earlier one
    assert pvname in error
    assert severity(pvname) >= 1
    after = value_of(pvname)
    assert after == before or (math.isnan(after) and math.isnan(before))
    assert all(
        math.isfinite(float(value_of(PREFIX + f"stage:FineX.{f}"))) for f in "HLM LLM".split()
    )


def test_a_new_refusal_never_shows_the_previous_message(bad_sim):
    refusal(f"{PREFIX}counter0:DwellTime", INF)
    assert "DwellTime" in message("counter0:")
    refusal(f"{PREFIX}counter0:Mode", 7)
    assert message("counter0:").startswith(f"{PREFIX}counter0:Mode: ")
    # An accepted put clears the message and the alarm.
    write(f"{PREFIX}counter0:Mode", [0], notify=True, timeout=10, repeater=False)
    assert message("counter0:") == ""
    assert severity(f"{PREFIX}counter0:Mode") == 0


def test_after_the_bad_puts_moves_complete_and_counts_match_the_phantom(bad_sim):
    refusal(f"{PREFIX}stage:FineX.VELO", NAN)
    refusal(f"{PREFIX}stage:FineX.OFF", NAN)
    refusal(f"{PREFIX}counter0:DwellTime", INF)
    model = StxmModel(noise=False)

    def expected(x: float, y: float, ring_current_ma: float = 500.0) -> float:
        state = BeamState(
            energy_ev=700.0,
            zp_z_um=ZONE_PLATES[7].a1 * 700.0,
            sample_x_um=x,
            sample_y_um=y,
            ring_current_ma=ring_current_ma,
        )
        return float(model.expected_counts(state, 2.0))

    inside = [(d.x_um, d.y_um) for d in model.phantom.disks if max(abs(d.x_um), abs(d.y_um)) < 40]
    particle = min(inside, key=lambda point: expected(*point))
    epics.caput(f"{PREFIX}counter0:Noise", "Off", wait=True, timeout=10)
    epics.caput(f"{PREFIX}counter0:DwellTime", 2.0, wait=True, timeout=10)
    measured = []
    for point in (particle, (-30.0, -20.0)):
        for axis, target in zip(("FineX", "FineY"), point, strict=True):
            epics.caput(f"{PREFIX}stage:{axis}", target, wait=True, timeout=10)
            assert epics.caget(f"{PREFIX}stage:{axis}.DMOV", use_monitor=False) == 1
            rbv = epics.caget(f"{PREFIX}stage:{axis}.RBV", use_monitor=False)
            assert rbv == pytest.approx(target, abs=1e-3)
        epics.caput(f"{PREFIX}counter0:Acquire", 1, wait=True, timeout=10)
        counts = epics.caget(f"{PREFIX}counter0:Counts_RBV", use_monitor=False)
        ring = epics.caget(f"{PREFIX}energy:RingCurrent", use_monitor=False)
        assert counts == pytest.approx(expected(*point, ring), rel=0.01)
        measured.append(counts)
    particle_counts, air_counts = measured
    assert particle_counts < 0.95 * air_counts  # the particle is seen: positions are right
