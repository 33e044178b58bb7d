"""Sample stage IOC: fine piezo X/Y, coarse X/Y, sample Z and the goniometer."""

from __future__ import annotations

from caproto.server import PVGroup, SubGroup

from .motor_record import SimMotor
from .prefixes import subsystem_prefix
from .refusal import message_pvproperty
from .runner import run_standalone


class SampleStageIOC(PVGroup):
    """Sample stage IOC: fine piezo X/Y, coarse X/Y, sample Z and the goniometer.

    PVs (motor records, all fields; positions in µm, theta in degrees)::

        <prefix>FineX  <prefix>FineY      sample fine (piezo) stage, ±50 µm
        <prefix>CoarseX <prefix>CoarseY  coarse stage
        <prefix>Z                        sample Z (focus direction)
        <prefix>GoniX <prefix>GoniY <prefix>GoniZ <prefix>GoniTheta   goniometer
        <prefix>Message_RBV    why the last put to a motor field was refused
    """

    message = message_pvproperty()
    fine_x = SubGroup(
        SimMotor,
        prefix="FineX",
        limits=(-50.0, 50.0),
        velocity=10000.0,
        acceleration=0.0005,
        description="Sample fine X (piezo)",
    )
    fine_y = SubGroup(
        SimMotor,
        prefix="FineY",
        limits=(-50.0, 50.0),
        velocity=10000.0,
        acceleration=0.0005,
        description="Sample fine Y (piezo)",
    )
    coarse_x = SubGroup(
        SimMotor,
        prefix="CoarseX",
        limits=(-6000.0, 6000.0),
        velocity=2000.0,
        acceleration=0.05,
        description="Sample coarse X",
    )
    coarse_y = SubGroup(
        SimMotor,
        prefix="CoarseY",
        limits=(-6000.0, 6000.0),
        velocity=2000.0,
        acceleration=0.05,
        description="Sample coarse Y",
    )
    sample_z = SubGroup(
        SimMotor,
        prefix="Z",
        limits=(-2000.0, 2000.0),
        velocity=500.0,
        acceleration=0.05,
        description="Sample Z",
    )
    goni_x = SubGroup(
        SimMotor,
        prefix="GoniX",
        limits=(-2000.0, 2000.0),
        velocity=500.0,
        acceleration=0.05,
        description="Goniometer X",
    )
    goni_y = SubGroup(
        SimMotor,
        prefix="GoniY",
        limits=(-2000.0, 2000.0),
        velocity=500.0,
        acceleration=0.05,
        description="Goniometer Y",
    )
    goni_z = SubGroup(
        SimMotor,
        prefix="GoniZ",
        limits=(-2000.0, 2000.0),
        velocity=500.0,
        acceleration=0.05,
        description="Goniometer Z",
    )
    goni_theta = SubGroup(
        SimMotor,
        prefix="GoniTheta",
        egu="deg",
        limits=(-90.0, 90.0),
        velocity=30.0,
        acceleration=0.1,
        precision=3,
        description="Goniometer rotation",
    )


def main() -> None:
    """Run this IOC alone: ``python -m iocs.stage --prefix ... --list-pvs``."""
    run_standalone(
        SampleStageIOC, default_prefix=subsystem_prefix("stage"), desc=SampleStageIOC.__doc__
    )


if __name__ == "__main__":
    main()
