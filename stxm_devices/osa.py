"""Order-sorting aperture (the OSA IOC)."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device, EpicsMotor


class Osa(Device):
    """OSA stages, µm: x/y across the beam ((0, 0) on axis), z along it (sample frame)."""

    x = Cpt(EpicsMotor, "X", kind="hinted")
    y = Cpt(EpicsMotor, "Y", kind="hinted")
    z = Cpt(EpicsMotor, "Z", kind="normal")
