"""Order-sorting aperture (OSA) IOC: the OSA's X, Y and Z stages."""

from __future__ import annotations

from caproto.server import PVGroup, SubGroup

from .motor_record import SimMotor
from .prefixes import subsystem_prefix
from .refusal import message_pvproperty
from .runner import run_standalone


class OsaIOC(PVGroup):
    """Order-sorting aperture (OSA) IOC: the OSA's X, Y and Z stages.

    PVs (motor records, µm)::

        <prefix>X  <prefix>Y   OSA transverse position; (0, 0) is on the beam axis
        <prefix>Z              OSA distance along the beam (sample frame)
        <prefix>Message_RBV    why the last put to a motor field was refused
    """

    message = message_pvproperty()
    x = SubGroup(
        SimMotor,
        prefix="X",
        limits=(-5000.0, 5000.0),
        velocity=1000.0,
        acceleration=0.05,
        description="OSA X",
    )
    y = SubGroup(
        SimMotor,
        prefix="Y",
        limits=(-5000.0, 5000.0),
        velocity=1000.0,
        acceleration=0.05,
        description="OSA Y",
    )
    z = SubGroup(
        SimMotor,
        prefix="Z",
        position=-500.0,
        limits=(-5000.0, 0.0),
        velocity=500.0,
        acceleration=0.05,
        description="OSA Z",
    )


def main() -> None:
    """Run this IOC alone: ``python -m iocs.osa --prefix ... --list-pvs``."""
    run_standalone(OsaIOC, default_prefix=subsystem_prefix("osa"), desc=OsaIOC.__doc__)


if __name__ == "__main__":
    main()
