"""Zone plate (the zone-plate IOC): its Z stage and the installed zone plate."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignalRO

from .channel_access import GuardedSignal
from .motor import StxmMotor


class ZonePlate(Device):
    """Zone-plate Z and definition.

    Attributes
    ----------
    z : zone-plate Z, µm; in focus at A1·E (NXstxm zone plate position)
    index : the installed zone plate's slot (zp_idx)
    diameter : D, µm (zpD);  outer_zone : Δr, nm (zpOZone)
    central_stop : µm (zpCStop);  a1 : µm/eV (zpA1)
    focal_length : f = |A1|·E at the current energy, µm
    """

    z = Cpt(StxmMotor, "Z", kind="hinted")
    index = Cpt(GuardedSignal, "Index", kind="config")
    diameter = Cpt(EpicsSignalRO, "Diameter_RBV", kind="config")
    outer_zone = Cpt(EpicsSignalRO, "OuterZone_RBV", kind="config")
    central_stop = Cpt(EpicsSignalRO, "CentralStop_RBV", kind="config")
    a1 = Cpt(EpicsSignalRO, "A1_RBV", kind="config")
    focal_length = Cpt(EpicsSignalRO, "FocalLength_RBV", kind="normal")
