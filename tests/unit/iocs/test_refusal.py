"""The refusal mechanism without Channel Access: ranges, fresh messages, alarms."""

from __future__ import annotations

import asyncio
import math

import pytest
from caproto import AlarmSeverity, ChannelType
from caproto.server import PVGroup, SubGroup, pvproperty

from iocs.motor_record import SimMotor
from iocs.refusal import (
    CheckedEnum,
    RefusedPutError,
    message_pvproperty,
    out_of_range,
    ranged_pvproperty,
)


class Ioc(PVGroup):
    dwell = ranged_pvproperty("DwellTime", 1.0, 0.001, 100.0, units="ms", doc="dwell")
    mode = pvproperty(
        name="Mode", value="A", dtype=CheckedEnum, enum_strings=("A", "B"), doc="mode"
    )
    message = message_pvproperty()
    axis = SubGroup(SimMotor, prefix="Axis")


def message(ioc: Ioc) -> str:
    return ioc.message.value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (math.nan, "nan is not a finite number"),
        (-math.inf, "-inf is not a finite number"),
        (1e9, "1e+09 ms is outside 0.001..100 ms (DRVL..DRVH)"),
        ("x", "'x' is not a number"),
        (50.0, None),
    ],
)
def test_out_of_range_says_why(value, problem):
    assert out_of_range(value, 0.001, 100.0, "ms") == problem


def test_equal_limits_mean_finite_only():
    assert out_of_range(1e300, 0.0, 0.0) is None
    assert out_of_range(math.inf, 0.0, 0.0) == "inf is not a finite number"


def test_each_refusal_writes_its_own_message_and_an_accepted_put_clears_it():
    async def scenario() -> None:
        ioc = Ioc(prefix="T:")
        with pytest.raises(RefusedPutError):
            await ioc.dwell.write(math.inf)
        assert message(ioc) == "T:DwellTime: inf is not a finite number"
        assert ioc.dwell.value == 1.0
        assert ioc.dwell.alarm.severity == AlarmSeverity.MAJOR_ALARM
        assert ioc.mode.alarm.severity == AlarmSeverity.NO_ALARM  # an alarm of its own
        with pytest.raises(RefusedPutError):
            await ioc.mode.write_from_dbr([7], ChannelType.LONG, None)
        assert message(ioc) == "T:Mode: state 7 is not one of 0..1 (A, B)"
        with pytest.raises(RefusedPutError):
            await ioc.mode.write_from_dbr([7], ChannelType.ENUM, None)
        assert message(ioc) == "T:Mode: Invalid enum index: 7 count=2"
        assert ioc.mode.value == "A"
        with pytest.raises(RefusedPutError):
            await ioc.axis.fields.velocity.write(math.nan)
        assert message(ioc) == "T:Axis.VELO: nan is not a finite number"
        await ioc.dwell.write(2.0)
        assert message(ioc) == ""
        assert ioc.dwell.alarm.severity == AlarmSeverity.NO_ALARM

    asyncio.run(scenario())
