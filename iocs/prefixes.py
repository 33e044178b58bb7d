"""The beamline's PV layout: one prefix map, served by the IOCs and used by the devices.

Every subsystem lives under the beamline prefix with its own sub-prefix
(``SIM:`` + ``stage:``).  ``iocs.sim`` serves the IOCs at these prefixes,
``stxm_devices.beamline.make_beamline`` connects its devices to them, and each
standalone IOC (``python -m iocs.<name>``) defaults to its own.  A leaf module: it
imports nothing, so the device layer may use it without loading the IOCs.
"""

from __future__ import annotations

#: The simulated beamline's prefix (a real beamline passes its own, e.g. ``BL10ID1:``).
DEFAULT_PREFIX = "SIM:"

#: Sub-prefix of each subsystem under the beamline prefix.
SUBSYSTEM_PREFIXES: dict[str, str] = {
    "stage": "stage:",
    "osa": "osa:",
    "zoneplate": "zp:",
    "energy": "energy:",
    "counter": "counter0:",
    "detector": "det1:",
}


def subsystem_prefix(subsystem: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The full prefix of ``subsystem`` under the beamline ``prefix`` (``SIM:stage:``)."""
    return prefix + SUBSYSTEM_PREFIXES[subsystem]


def ready_pv(prefix: str = DEFAULT_PREFIX) -> str:
    """A PV the whole sim serves once it is up (what a client waits on)."""
    return subsystem_prefix("counter", prefix) + "Noise"
