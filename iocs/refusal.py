"""Refusing a bad put the way operators see it: the put fails, the PV alarms, a message says why.

One mechanism for every IOC.  A PV whose class mixes in :class:`Refusing` turns every
refusal of a client's put into the same three signs — the CA put fails with the reason,
the PV alarms (WRITE), and the IOC's ``Message_RBV`` says why, naming the PV:

- a float PV declares its range once, as its control limits (DRVL/DRVH), with
  :func:`ranged_pvproperty`; NaN, ±inf and values outside the range are refused before
  any putter (and so the physics) sees them;
- whatever caproto itself refuses (an enum index past the last state, a value that does
  not convert) and any ``ValueError`` a putter raises are reported the same way, so a
  refusal never leaves the previous refusal's message on show;
- a put that passes the checks clears the alarm and the message (before its putter
  runs, so a long put cannot wipe a refusal made meanwhile).

The message PV is the ``message`` pvproperty of the nearest group up the chain (the
IOC's ``Message_RBV``; a motor record's fields report to the IOC serving the motor).
"""

from __future__ import annotations

import copy
import math

from caproto import (
    AlarmSeverity,
    AlarmStatus,
    CaprotoError,
    ChannelAlarm,
    ChannelData,
    ChannelType,
)
from caproto.server import PVGroup, pvproperty
from caproto.server.server import (
    PvpropertyDouble,
    PvpropertyEnum,
    PvpropertyFloat,
    PvpropertyInteger,
)

from .ad_plugins import text


class RefusedPutError(ValueError):
    """A put the IOC will not accept; the message names the PV and the limit."""


async def refusal(
    instance: ChannelData, message_pv: ChannelData | None, text: str
) -> RefusedPutError:
    """Alarm ``instance`` (WRITE/MAJOR, as caproto does), publish ``text``; the error to raise.

    The caller raises it (``raise await refusal(...)``), so the refusal reads as one.
    """
    await instance.alarm.write(
        status=AlarmStatus.WRITE, severity=AlarmSeverity.MAJOR_ALARM, alarm_string=text[:40]
    )
    if message_pv is not None:
        await message_pv.write(text[:255])
    return RefusedPutError(text)


async def accept(instance: ChannelData, message_pv: ChannelData | None) -> None:
    """A good put clears the alarm and the message left by an earlier refusal."""
    if instance.alarm.severity != AlarmSeverity.NO_ALARM:
        await instance.alarm.write(status=AlarmStatus.NO_ALARM, severity=AlarmSeverity.NO_ALARM)
    if message_pv is not None and message_pv.value:
        await message_pv.write("")


def message_pvproperty() -> pvproperty:
    """``Message_RBV``: a 256-character CHAR waveform saying why the last put was refused."""
    return text("Message_RBV", read_only=True, doc="Why the last put was refused")


def message_of(channel: ChannelData) -> ChannelData | None:
    """The ``Message_RBV`` serving ``channel``: the nearest group up the chain that has one."""
    node = getattr(channel, "group", None)
    while node is not None:
        message = getattr(node, "message", None)
        if isinstance(message, ChannelData):
            return message
        parent = getattr(node, "parent", None)
        # A record's field group hangs off the record's VAL channel, which belongs to a group.
        node = parent.group if isinstance(parent, ChannelData) else parent
    return None


def pv_name(channel: ChannelData) -> str:
    """The full PV name of ``channel``: a record field's is ``<record>.<FIELD>``."""
    parent = getattr(getattr(channel, "group", None), "parent", None)
    if isinstance(parent, ChannelData):
        return f"{parent.pvname}.{channel.pvname}"
    return channel.pvname


def out_of_range(value: object, low: float, high: float, units: str = "") -> str | None:
    """Why ``value`` is not a finite number within [low, high] (low == high: no range), or None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"{value!r} is not a number"
    if not math.isfinite(number):
        return f"{number} is not a finite number"
    if low != high and not low <= number <= high:
        unit = f" {units}" if units else ""
        return f"{number:g}{unit} is outside {low:g}..{high:g}{unit} (DRVL..DRVH)"
    return None


class Refusing:
    """Mixin for a pvproperty class: every refusal of a put says why, on the PV and the IOC."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # An alarm of its own: caproto shares one per group, which any write there resets.
        self.alarm = ChannelAlarm()

    def refusal(self, value: object) -> str | None:
        """Why ``value`` is refused before any putter sees it (None: not refused here)."""
        return None

    async def verify_value(self, value):
        problem = self.refusal(value)
        if problem is not None:
            raise await refusal(self, message_of(self), f"{pv_name(self)}: {problem}")
        # Accepted so far: clear the last refusal now, not when a long putter (a move, an
        # acquisition) returns, which would wipe a refusal made meanwhile.
        await accept(self, message_of(self))
        return await super().verify_value(value)

    async def write_from_dbr(self, *args, **kwargs):
        try:
            return await super().write_from_dbr(*args, **kwargs)
        except RefusedPutError:
            raise
        except (CaprotoError, ValueError, TypeError) as error:
            # caproto's own checks (enum index, conversion) and putters' ValueErrors.
            reason = str(error) or str(error.__cause__ or type(error).__name__)
            raise await refusal(self, message_of(self), f"{pv_name(self)}: {reason}") from error


class RangedDouble(Refusing, PvpropertyDouble):
    """A float PV refusing NaN, ±inf and values outside its control limits (DRVL..DRVH)."""

    def refusal(self, value: object) -> str | None:
        low, high = self.lower_ctrl_limit, self.upper_ctrl_limit
        return out_of_range(value, low, high, self.units)


class RangedFloat(Refusing, PvpropertyFloat):
    """A single-precision float PV refusing what :class:`RangedDouble` refuses."""

    refusal = RangedDouble.refusal


class RangedInteger(Refusing, PvpropertyInteger):
    """An integer PV refusing values outside its control limits (DRVL..DRVH)."""

    def refusal(self, value: object) -> str | None:
        low, high = self.lower_ctrl_limit, self.upper_ctrl_limit
        return out_of_range(value, low, high, self.units)


class CheckedEnum(Refusing, PvpropertyEnum):
    """An enum PV refusing any state but its own, whatever type the client writes."""

    def refusal(self, value: object) -> str | None:
        states = tuple(self.enum_strings)
        if value in states:
            return None
        try:
            index = int(value)
        except (TypeError, ValueError):
            return f"{value!r} is not one of {', '.join(states)}"
        if 0 <= index < len(states) and index == value:
            return None
        return f"state {value} is not one of 0..{len(states) - 1} ({', '.join(states)})"


def ranged_pvproperty(
    name: str,
    value: float,
    low: float,
    high: float,
    *,
    units: str = "",
    precision: int = 3,
    doc: str,
    **kwargs,
) -> pvproperty:
    """A float PV with its range declared once: published as DRVL/DRVH, enforced on put."""
    if not low <= value <= high:
        raise ValueError(f"{name}: initial value {value} outside {low}..{high}")
    return pvproperty(
        name=name,
        value=float(value),
        dtype=RangedDouble,
        lower_ctrl_limit=low,
        upper_ctrl_limit=high,
        units=units,
        precision=precision,
        doc=doc,
        **kwargs,
    )


def finite_copies(fields: type[PVGroup]) -> dict[str, pvproperty]:
    """Each writable float field of a caproto record-field class, refusing NaN/±inf on put.

    For building a record whose every DOUBLE field refuses non-finite values (a class
    body overriding some of them with ranges of their own).
    """
    refusing = {
        PvpropertyDouble: RangedDouble,
        ChannelType.DOUBLE: RangedDouble,
        PvpropertyFloat: RangedFloat,
        ChannelType.FLOAT: RangedFloat,
    }
    copies = {}
    for attribute, prop in fields._pvs_.items():
        dtype = refusing.get(prop.pvspec.dtype)
        if "." not in attribute and dtype is not None:
            finite = copy.copy(prop)
            finite.pvspec = prop.pvspec._replace(dtype=dtype)
            copies[attribute] = finite
    return copies
