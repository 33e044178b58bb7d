"""Order-sorting aperture (the OSA IOC)."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device

from .motor import StxmMotor


class Osa(Device):
    """OSA stages, µm: x/y across the beam ((0, 0) on axis), z along it (sample frame)."""

    x = Cpt(StxmMotor, "X", kind="hinted")
    y = Cpt(StxmMotor, "Y", kind="hinted")
    z = Cpt(StxmMotor, "Z", kind="normal")
