"""Sample stage IOC: fine piezo X/Y, coarse X/Y, sample Z and the goniometer."""

from __future__ import annotations

import asyncio

import numpy as np
from caproto.server import PVGroup, SubGroup, pvproperty

from .motion import fly_raster
from .motor_record import SimMotor
from .prefixes import subsystem_prefix
from .refusal import message_pvproperty, refusal
from .runner import run_standalone

#: The most rows a fly raster's wave table holds.
MAX_RASTER_ROWS = 4096


def _rows(name: str, doc: str) -> pvproperty:
    return pvproperty(
        name=name, value=[0.0], max_length=MAX_RASTER_ROWS, dtype=float, units="um", doc=doc
    )


class FlyRaster(PVGroup):
    """``Raster:``: a fly raster of fine X and Y run by the stage controller from one start.

    As a PI E-712 wave table: the rows are loaded (per row fine X's start and stop and
    fine Y), then one put to Execute runs them all: X and Y to a row's start at their
    own VELO, X flies the row at Velocity (from rest, with its ACCL/VBAS), next row.
    The controller's motion output fires at each row's fly start (what an externally
    triggered camera counts as a trigger).  Execute completes when the last row is
    flown; rows outside the limits, or of unequal lengths, are refused before anything
    moves (Message_RBV says why).
    """

    x_starts = _rows("FineXStart", "Fine X at each row's start (um)")
    x_stops = _rows("FineXStop", "Fine X at each row's end (um)")
    ys = _rows("FineY", "Fine Y of each row (um)")
    velocity = pvproperty(name="Velocity", value=1.0, units="um/s", doc="Fine X fly velocity")
    execute = pvproperty(name="Execute", value=0, doc="1: run the rows (completes when done)")

    @execute.putter
    async def execute(self, instance, value):
        if not value:
            return 0
        stage = self.parent
        x, y = stage.fine_x, stage.fine_y
        starts, stops = np.asarray(self.x_starts.value), np.asarray(self.x_stops.value)
        ys, velocity = np.asarray(self.ys.value), float(self.velocity.value)
        try:
            if not starts.size == stops.size == ys.size or velocity <= 0:
                raise ValueError(
                    f"{starts.size}, {stops.size} and {ys.size} rows (equal needed), "
                    f"velocity {velocity} (> 0 needed)"
                )
            await x.check_targets(np.concatenate([starts, stops]))
            await y.check_targets(ys)
        except ValueError as error:
            raise await refusal(instance, stage.message, f"Raster: {error}") from error
        x_profile, y_profile = fly_raster(
            x.axis(),
            y.axis(),
            np.array([x.dial_from_user(v) for v in starts]),
            np.array([x.dial_from_user(v) for v in stops]),
            np.array([y.dial_from_user(v) for v in ys]),
            velocity,
            x.clock(),
        )
        try:
            await asyncio.gather(x.run_profile(x_profile), y.run_profile(y_profile))
        except ValueError as error:
            raise await refusal(instance, stage.message, f"Raster: {error}") from error
        return 0


class SampleStageIOC(PVGroup):
    """Sample stage IOC: fine piezo X/Y, coarse X/Y, sample Z and the goniometer.

    PVs (motor records, all fields; positions in µm, theta in degrees)::

        <prefix>FineX  <prefix>FineY      sample fine (piezo) stage, ±50 µm
        <prefix>CoarseX <prefix>CoarseY  coarse stage
        <prefix>Z                        sample Z (focus direction)
        <prefix>GoniX <prefix>GoniY <prefix>GoniZ <prefix>GoniTheta   goniometer
        <prefix>Raster:        a fly raster of fine X/Y run by the controller (FlyRaster)
        <prefix>Message_RBV    why the last put to a motor field was refused
    """

    message = message_pvproperty()
    raster = SubGroup(FlyRaster, prefix="Raster:")
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
