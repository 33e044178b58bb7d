"""Refusing a bad put the way operators see it: the put fails, the PV alarms, a message says why."""

from __future__ import annotations

from caproto import AlarmSeverity, AlarmStatus, ChannelData
from caproto.server import pvproperty

from .ad_plugins import text


class RefusedPutError(ValueError):
    """A put the IOC will not accept; the message names the PV and the limit."""


async def refuse(instance: ChannelData, message_pv: ChannelData, text: str) -> None:
    """Alarm ``instance`` (WRITE/MINOR), publish ``text`` on ``message_pv``, fail the put."""
    await instance.alarm.write(
        status=AlarmStatus.WRITE, severity=AlarmSeverity.MINOR_ALARM, alarm_string=text[:40]
    )
    await message_pv.write(text)
    raise RefusedPutError(text)


async def accept(instance: ChannelData, message_pv: ChannelData) -> None:
    """A good put clears the alarm and the message left by an earlier refusal."""
    if instance.alarm.severity != AlarmSeverity.NO_ALARM:
        await instance.alarm.write(status=AlarmStatus.NO_ALARM, severity=AlarmSeverity.NO_ALARM)
    if message_pv.value:
        await message_pv.write("")


def message_pvproperty() -> pvproperty:
    """``Message_RBV``: a 256-character CHAR waveform saying why the last put was refused."""
    return text("Message_RBV", read_only=True, doc="Why the last put was refused")
