"""The devices and the sim agree on every PV; the factory is configurable."""

import pytest
from ophyd import EpicsMotor

from iocs.prefixes import SUBSYSTEM_PREFIXES, subsystem_prefix
from iocs.sim import build_sim
from stxm_devices import make_beamline
from stxm_devices.beamline import beamline_for
from stxm_devices.config import StxmConfig


def device_pvnames(beamline):
    names = set()
    for device in beamline.devices().values():
        signals = (
            [device]
            if not hasattr(device, "walk_signals")
            else [item.item for item in device.walk_signals()]
        )
        for signal in signals:
            for attribute in ("pvname", "setpoint_pvname"):
                if isinstance(getattr(signal, attribute, None), str):
                    names.add(getattr(signal, attribute))
    return names


def served_pvnames(pvdb):
    """Every PV name a caproto pvdb answers, record fields (``REC.FIELD``) included."""
    names = set(pvdb)
    for record, channel in pvdb.items():
        fields = getattr(channel, "field_inst", None)
        if fields is not None:
            names.update(f"{record}.{field}" for field in [*fields.pvdb, "VAL"])
    return names


def test_every_pv_a_device_uses_exists_in_the_sim():
    served = served_pvnames(build_sim("SIM:").pvdb)
    used = device_pvnames(make_beamline("SIM:", connect=False))
    assert used, "the beamline uses no PVs?"
    assert sorted(used - served) == []


def test_sim_and_devices_use_the_one_prefix_map():
    sim = build_sim("BL:")
    beamline = make_beamline("BL:", connect=False)
    devices = {**beamline.devices(), "energy": beamline.epu}  # FocusedEnergy has two prefixes
    for subsystem in SUBSYSTEM_PREFIXES:
        assert sim.groups[subsystem].prefix == subsystem_prefix(subsystem, "BL:")
        assert devices[subsystem].prefix == subsystem_prefix(subsystem, "BL:")


def test_beamline_for_a_configuration():
    config = StxmConfig(prefix="BL:", data_dir="/data/stxm")
    beamline = beamline_for(config, connect=False)
    assert beamline.counter.prefix == "BL:counter0:"
    assert beamline.detector.hdf1.write_path_template == "/data/stxm/det1/%Y/%m/%d"


def test_overrides_take_a_prefix_or_a_device():
    stage_motor = EpicsMotor("X:other", name="other")
    beamline = make_beamline("BL:", connect=False, osa="BL-OSA:", ring_current=stage_motor)
    assert beamline.osa.x.prefix == "BL-OSA:X"
    assert beamline.stage.fine_x.prefix == "BL:stage:FineX"
    assert beamline.ring_current is stage_motor


def test_unknown_override_is_named():
    with pytest.raises(TypeError, match="'stagee'"):
        make_beamline(connect=False, stagee="X:")


def test_connection_failure_names_every_device():
    beamline = make_beamline("NOSUCHBEAMLINE:", connect=False)
    with pytest.raises(ConnectionError) as failure:
        beamline.connect(timeout=0.2)
    for name in ("stage", "osa", "zoneplate", "counter"):
        assert f"  {name}:" in str(failure.value)
