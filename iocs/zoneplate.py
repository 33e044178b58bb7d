"""Zone-plate IOC: zone-plate Z and the installed zone plate's definition."""

from __future__ import annotations

import argparse
import time

from caproto.server import PVGroup, SubGroup, pvproperty

from .energy import INITIAL_ENERGY_EV
from .motor_record import SimMotor
from .physics import ZONE_PLATES, StxmModel
from .positions import ChannelAccessPositions, PositionReader
from .prefixes import subsystem_prefix
from .refusal import RangedInteger, message_pvproperty
from .runner import run_standalone

#: The zone plate installed when the sim starts: the seed's zp_def (D=250 µm, Δr=25 nm).
INITIAL_ZONE_PLATE = 7


class ZonePlateIOC(PVGroup):
    """Zone-plate IOC: zone-plate Z and the installed zone plate's definition.

    PVs::

        <prefix>Z                  zone-plate Z (motor record, µm; focus at A1·E)
        <prefix>Index              selected zone plate (the changer's slot); unknown → refused
        <prefix>Diameter_RBV       D, µm
        <prefix>OuterZone_RBV      outermost zone width Δr, nm
        <prefix>CentralStop_RBV    central stop diameter, µm
        <prefix>A1_RBV             focal-length slope A1 = −D·Δr/1239.84, µm/eV
        <prefix>FocalLength_RBV    f = |A1|·E at the current energy, µm
    <prefix>Message_RBV        why the last put was refused, empty when fine

    Running alone it follows the energy IOC over Channel Access (``--energy-prefix``).
    """

    z = SubGroup(
        SimMotor,
        prefix="Z",
        position=ZONE_PLATES[INITIAL_ZONE_PLATE].a1 * INITIAL_ENERGY_EV,
        limits=(-15000.0, 0.0),
        velocity=2000.0,
        acceleration=0.05,
        precision=3,
        description="Zone plate Z",
    )
    index = pvproperty(
        name="Index", value=INITIAL_ZONE_PLATE, dtype=RangedInteger, doc="Selected zone plate"
    )
    diameter = pvproperty(
        name="Diameter_RBV",
        value=0.0,
        read_only=True,
        units="um",
        precision=1,
        doc="Zone-plate diameter D",
    )
    outer_zone = pvproperty(
        name="OuterZone_RBV",
        value=0.0,
        read_only=True,
        units="nm",
        precision=1,
        doc="Outermost zone width",
    )
    central_stop = pvproperty(
        name="CentralStop_RBV",
        value=0.0,
        read_only=True,
        units="um",
        precision=1,
        doc="Central stop diameter",
    )
    a1 = pvproperty(
        name="A1_RBV",
        value=0.0,
        read_only=True,
        units="um/eV",
        precision=4,
        doc="Focal-length slope A1",
    )
    message = message_pvproperty()
    focal_length = pvproperty(
        name="FocalLength_RBV",
        value=0.0,
        read_only=True,
        units="um",
        precision=2,
        doc="Focal length at the current energy",
    )

    def __init__(
        self, *args, model: StxmModel, positions: PositionReader | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.positions = positions

    @index.startup
    async def index(self, instance, async_lib):
        if isinstance(self.positions, ChannelAccessPositions):
            await self.positions.connect()
        await self._publish_definition(instance.value)

    @index.putter
    async def index(self, instance, value):
        self.model.zone_plate(value)  # an unknown index: ValueError, the put is refused
        await self._publish_definition(value)
        return value

    async def _publish_definition(self, index: int) -> None:
        zone_plate = self.model.zone_plate(index)
        await self.diameter.write(zone_plate.diameter_um)
        await self.outer_zone.write(zone_plate.outer_zone_nm)
        await self.central_stop.write(zone_plate.central_stop_um)
        await self.a1.write(zone_plate.a1)

    @focal_length.scan(period=0.2)
    async def focal_length(self, instance, async_lib):
        if self.positions is None:
            return
        energy = float(self.positions.position("energy", time.monotonic()))
        focal = float(self.model.zone_plate(self.index.value).focal_length_um(energy))
        if abs(focal - instance.value) > 1e-6:
            await instance.write(focal)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--energy-prefix",
        default=subsystem_prefix("energy"),
        help="prefix of the energy IOC to follow for the focal length",
    )


def _make_ioc(args: argparse.Namespace, prefix: str) -> ZonePlateIOC:
    positions = ChannelAccessPositions({"energy": args.energy_prefix})
    return ZonePlateIOC(prefix=prefix, model=StxmModel(), positions=positions)


def main() -> None:
    """Run this IOC alone: ``python -m iocs.zoneplate --prefix ... --list-pvs``."""
    run_standalone(
        ZonePlateIOC,
        default_prefix=subsystem_prefix("zoneplate"),
        desc=(ZonePlateIOC.__doc__),
        add_arguments=_add_arguments,
        make_ioc=_make_ioc,
    )


if __name__ == "__main__":
    main()
