"""Sample stage and goniometer (the stage IOC)."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device, EpicsSignal

from .motor import StxmMotor


class RasterExecute(EpicsSignal):
    """``Raster:Execute``: stopping it stops fine X and Y, which ends the raster.

    The RunEngine stops what a plan set when it aborts or pauses.
    """

    def stop(self, *, success: bool = False) -> None:
        stage = self.parent.parent
        for motor in (stage.fine_x, stage.fine_y):
            motor.stop(success=success)


class FlyRaster(Device):
    """``Raster:``: a fly raster of fine X/Y the stage controller runs from one put.

    Load the rows (fine X start and stop, fine Y, µm; fly velocity, µm/s), then put
    ``execute`` 1 (completes when the last row is flown; stopping ``execute`` stops the
    axes).  The controller's motion output fires at each row's fly start: an
    externally triggered camera's trigger.
    """

    x_starts = Cpt(EpicsSignal, "FineXStart")
    x_stops = Cpt(EpicsSignal, "FineXStop")
    ys = Cpt(EpicsSignal, "FineY")
    velocity = Cpt(EpicsSignal, "Velocity")
    execute = Cpt(RasterExecute, "Execute", put_complete=True)


class SampleStage(Device):
    """The sample positioners, µm.

    Attributes
    ----------
    fine_x, fine_y : piezo stage, the axes of fine images (NXstxm sample_x/sample_y)
    coarse_x, coarse_y : coarse stage, for coarse images and moving between regions
    z : sample Z (NXstxm sample_z)
    raster : a fly raster of fine X/Y run by the controller (fly ptychography)
    """

    fine_x = Cpt(StxmMotor, "FineX", kind="hinted")
    fine_y = Cpt(StxmMotor, "FineY", kind="hinted")
    coarse_x = Cpt(StxmMotor, "CoarseX", kind="normal")
    coarse_y = Cpt(StxmMotor, "CoarseY", kind="normal")
    z = Cpt(StxmMotor, "Z", kind="normal")
    raster = Cpt(FlyRaster, "Raster:", kind="omitted", lazy=True)


class Goniometer(Device):
    """Goniometer for tomography: x, y, z in µm, theta in degrees (NXstxm rotation_angle)."""

    x = Cpt(StxmMotor, "GoniX", kind="normal")
    y = Cpt(StxmMotor, "GoniY", kind="normal")
    z = Cpt(StxmMotor, "GoniZ", kind="normal")
    theta = Cpt(StxmMotor, "GoniTheta", kind="hinted")
