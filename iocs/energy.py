"""Energy IOC: monochromator energy, the EPU's polarization, and the ring current."""

from __future__ import annotations

import math
import time

from caproto.server import PVGroup, SubGroup, pvproperty

from .motor_record import SimMotor
from .physics import POLARIZATIONS
from .prefixes import subsystem_prefix
from .refusal import CheckedEnum, message_pvproperty, ranged_pvproperty
from .runner import run_standalone

#: The sim starts here (the zone-plate IOC starts in focus for it).
INITIAL_ENERGY_EV = 700.0
#: The EPU gap offset's range (DRVL..DRVH), eV.
OFFSET_RANGE_EV = (-100.0, 100.0)


def ring_current_ma(
    elapsed_s: float,
    *,
    top_ma: float = 500.5,
    lifetime_h: float = 10.0,
    top_up_period_s: float = 120.0,
) -> float:
    """Top-up operation: exponential decay, refilled to ``top_ma`` every period."""
    since_top_up = elapsed_s % top_up_period_s
    return top_ma * math.exp(-since_top_up / (lifetime_h * 3600.0))


class EnergyIOC(PVGroup):
    """Energy IOC: monochromator energy, the EPU's polarization, and the ring current.

    PVs::

        <prefix>Energy          monochromator energy (motor record, eV)
        <prefix>Polarization    EPU polarization mode (enum; what the EPU can do)
        <prefix>Offset          EPU gap offset from the mono energy, eV, −100…100
        <prefix>Angle           linear polarization angle (LinearInclined), deg, −90…90
        <prefix>RingCurrent     storage-ring current, mA (read-only; decays, topped up)
        <prefix>Message_RBV     why the last put was refused, empty when fine
    """

    energy = SubGroup(
        SimMotor,
        prefix="Energy",
        egu="eV",
        position=INITIAL_ENERGY_EV,
        limits=(200.0, 2000.0),
        velocity=200.0,
        acceleration=0.02,
        precision=3,
        description="Monochromator energy",
    )
    polarization = pvproperty(
        name="Polarization",
        value="CircLeft",
        dtype=CheckedEnum,
        enum_strings=tuple(POLARIZATIONS),
        doc="EPU polarization mode",
    )
    offset = ranged_pvproperty(
        "Offset", 0.0, *OFFSET_RANGE_EV, units="eV", doc="EPU offset from the mono energy"
    )
    angle = ranged_pvproperty(
        "Angle", 0.0, -90.0, 90.0, units="deg", precision=2, doc="Linear polarization angle"
    )
    ring_current = pvproperty(
        name="RingCurrent",
        value=500.0,
        read_only=True,
        units="mA",
        precision=2,
        doc="Storage-ring current",
    )
    message = message_pvproperty()

    def __init__(self, *args, clock=time.monotonic, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock
        self._t0 = clock()

    @ring_current.scan(period=1.0)
    async def ring_current(self, instance, async_lib):
        await instance.write(ring_current_ma(self.clock() - self._t0))


def main() -> None:
    """Run this IOC alone: ``python -m iocs.energy --prefix ... --list-pvs``."""
    run_standalone(EnergyIOC, default_prefix=subsystem_prefix("energy"), desc=EnergyIOC.__doc__)


if __name__ == "__main__":
    main()
