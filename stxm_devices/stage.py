"""Sample stage and goniometer (the stage IOC)."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device

from .motor import StxmMotor


class SampleStage(Device):
    """The sample positioners, µm.

    Attributes
    ----------
    fine_x, fine_y : piezo stage, the axes of fine images (NXstxm sample_x/sample_y)
    coarse_x, coarse_y : coarse stage, for coarse images and moving between regions
    z : sample Z (NXstxm sample_z)
    """

    fine_x = Cpt(StxmMotor, "FineX", kind="hinted")
    fine_y = Cpt(StxmMotor, "FineY", kind="hinted")
    coarse_x = Cpt(StxmMotor, "CoarseX", kind="normal")
    coarse_y = Cpt(StxmMotor, "CoarseY", kind="normal")
    z = Cpt(StxmMotor, "Z", kind="normal")


class Goniometer(Device):
    """Goniometer for tomography: x, y, z in µm, theta in degrees (NXstxm rotation_angle)."""

    x = Cpt(StxmMotor, "GoniX", kind="normal")
    y = Cpt(StxmMotor, "GoniY", kind="normal")
    z = Cpt(StxmMotor, "GoniZ", kind="normal")
    theta = Cpt(StxmMotor, "GoniTheta", kind="hinted")
