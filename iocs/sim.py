"""The whole virtual STXM in one process: every IOC under its own sub-prefix.

The sub-prefixes are ``iocs.prefixes``'s map, the one ``make_beamline`` connects to.

All PVGroups share one :class:`~iocs.physics.StxmModel` and read each other's motor
trajectories directly, so detectors see exact positions.  ``stxm sim`` runs this on
one loopback port.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from caproto.server import PVGroup

from .counter import CounterIOC
from .detector import DetectorIOC
from .energy import EnergyIOC
from .loopback import apply_server_defaults
from .osa import OsaIOC
from .physics import StxmModel
from .positions import LocalPositions
from .prefixes import DEFAULT_PREFIX, subsystem_prefix
from .server import serve
from .stage import SampleStageIOC
from .zoneplate import ZonePlateIOC


@dataclass
class SimBeamline:
    """The IOC PVGroups of one simulated beamline and the model they share."""

    prefix: str
    model: StxmModel
    groups: dict[str, PVGroup]

    @property
    def pvdb(self) -> dict:
        database: dict = {}
        for group in self.groups.values():
            database.update(group.pvdb)
        return database


def build_sim(
    prefix: str = DEFAULT_PREFIX,
    model: StxmModel | None = None,
    data_roots: Sequence[str] | None = None,
) -> SimBeamline:
    """Create every IOC of the virtual STXM under ``prefix`` (files only in ``data_roots``)."""
    model = model or StxmModel()
    groups: dict[str, PVGroup] = {}
    positions = LocalPositions(groups)

    def sub(name: str) -> str:
        return subsystem_prefix(name, prefix)

    groups["stage"] = SampleStageIOC(prefix=sub("stage"))
    groups["osa"] = OsaIOC(prefix=sub("osa"))
    groups["energy"] = EnergyIOC(prefix=sub("energy"))
    groups["zoneplate"] = ZonePlateIOC(prefix=sub("zoneplate"), model=model, positions=positions)
    groups["counter"] = CounterIOC(prefix=sub("counter"), model=model, positions=positions)
    groups["detector"] = DetectorIOC(
        prefix=sub("detector"), model=model, positions=positions, data_roots=data_roots
    )
    return SimBeamline(prefix=prefix, model=model, groups=groups)


def run_sim(
    *,
    port: int,
    prefix: str = DEFAULT_PREFIX,
    noise: bool = True,
    seed: int = 0,
    interfaces: list[str] | None = None,
    list_pvs: bool = False,
    data_roots: Sequence[str] | None = None,
) -> None:
    """Serve the virtual STXM on ``port`` (loopback unless ``interfaces`` says otherwise)."""
    apply_server_defaults(port)
    sim = build_sim(prefix, StxmModel(seed=seed, noise=noise), data_roots)
    serve(sim.pvdb, interfaces=interfaces or ["127.0.0.1"], log_pv_names=list_pvs)
