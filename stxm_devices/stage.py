"""Sample stage and goniometer (the stage IOC)."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device, EpicsMotor


class SampleStage(Device):
    """The sample positioners, µm.

    Attributes
    ----------
    fine_x, fine_y : piezo stage, the axes of fine images (NXstxm sample_x/sample_y)
    coarse_x, coarse_y : coarse stage, for coarse images and moving between regions
    z : sample Z (NXstxm sample_z)
    """

    fine_x = Cpt(EpicsMotor, "FineX", kind="hinted")
    fine_y = Cpt(EpicsMotor, "FineY", kind="hinted")
    coarse_x = Cpt(EpicsMotor, "CoarseX", kind="normal")
    coarse_y = Cpt(EpicsMotor, "CoarseY", kind="normal")
    z = Cpt(EpicsMotor, "Z", kind="normal")


class Goniometer(Device):
    """Goniometer for tomography: x, y, z in µm, theta in degrees (NXstxm rotation_angle)."""

    x = Cpt(EpicsMotor, "GoniX", kind="normal")
    y = Cpt(EpicsMotor, "GoniY", kind="normal")
    z = Cpt(EpicsMotor, "GoniZ", kind="normal")
    theta = Cpt(EpicsMotor, "GoniTheta", kind="hinted")
