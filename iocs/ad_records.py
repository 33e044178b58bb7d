"""ADCore's records, served from the generated template table, bound to asyn-like parameters.

A real areaDetector IOC loads one template chain per port (``dbLoadRecords``):
``ADBase`` + ``simDetector`` for the camera, ``NDPluginBase`` + ``NDArrayBase`` + the
plugin's own template for each plugin.  ``RecordSet`` does the same from
``iocs.adcore_records`` (generated from the templates by ``iocs.gen_adcore_records``):
every record with its type (reported as the CA class name), enum strings, initial
value, limits, units and precision.  Records that read or write the same asyn
parameter share its value, as asyn's parameter library does: a put to ``FileNumber``
updates ``FileNumber_RBV``, and the driver setting a parameter updates every record
bound to it, only when the value changes (``callParamCallbacks`` posts changed
parameters only, so per-frame cost is what ADCore posts per frame).  Soft records (no
asyn link) are their own parameter.

Behaviour lives in the port classes (``iocs.ad_plugins``, ``iocs.detector``): a method
decorated ``@on_put("Name")`` runs when a client writes the record ``Name`` (or any
record of its parameter) and may refuse the value by raising, or change it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from caproto import (
    ChannelChar,
    ChannelData,
    ChannelDouble,
    ChannelEnum,
    ChannelFloat,
    ChannelInteger,
    ChannelShort,
    ChannelString,
)

from .adcore_records import TEMPLATES

_MACRO = re.compile(r"\$\((\w+)(?:=([^)]*))?\)")
#: mbbi/mbbo state-string fields, in state order.
STATE_FIELDS = tuple(
    f"{state}ST"
    for state in ("ZR", "ON", "TW", "TH", "FR", "FV", "SX", "SV")
    + ("EI", "NI", "TE", "EL", "TV", "TT", "FT", "FF")
)
DOUBLE_RECORDS = frozenset({"ai", "ao", "calc", "calcout", "dfanout"})
INTEGER_RECORDS = frozenset({"longin", "longout", "seq", "sseq", "fanout", "asyn"})
ENUM_RECORDS = frozenset({"bi", "bo", "busy", "mbbi", "mbbo"})
STRING_RECORDS = frozenset({"stringin", "stringout"})
ARRAY_RECORDS = frozenset({"waveform", "subArray"})
#: Output record types: a client put sets their parameter.
OUTPUT_RECORDS = frozenset({"ao", "longout", "bo", "busy", "mbbo", "stringout", "calcout"})
#: Records whose DISA field clients read (ophyd's ``data_type_disabled``); fields cost a
#: channel each, so only these have one.
RECORDS_WITH_DISA = frozenset({"DataType_RBV"})
_ARRAY_CHANNELS: dict[str, type[ChannelData]] = {
    "DOUBLE": ChannelDouble,
    "FLOAT": ChannelFloat,
    "LONG": ChannelInteger,
    "ULONG": ChannelInteger,
    "INT64": ChannelInteger,
    "SHORT": ChannelShort,
    "USHORT": ChannelShort,
    "ENUM": ChannelShort,
}


def expand(text: str, macros: Mapping[str, str]) -> str:
    """``text`` with ``$(NAME)`` / ``$(NAME=default)`` replaced, as dbLoadRecords does."""

    def one(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in macros:
            return str(macros[name])
        if default is None:
            raise KeyError(f"macro $({name}) has no value and no default")
        return expand(default, macros)

    return _MACRO.sub(one, text)


@dataclass(frozen=True)
class RecordSpec:
    """One record of a template chain after macro expansion: name (after $(P)$(R)), type, fields."""

    name: str
    rtype: str
    fields: Mapping[str, str]

    @property
    def param(self) -> str:
        """The asyn parameter it reads or writes; a soft record is its own parameter."""
        return self.fields.get("PARAM", self.name)

    @property
    def is_output(self) -> bool:
        """A record a client writes (an output type, or a waveform with asyn*Write/*Out support)."""
        dtyp = self.fields.get("DTYP", "")
        return (
            self.rtype in OUTPUT_RECORDS
            or self.fields.get("DIR") == "OUT"
            or dtyp.endswith(("Write", "Out"))
        )

    @property
    def follows_param(self) -> bool:
        """Whether the record shows the parameter's changes (inputs; outputs with asyn:READBACK)."""
        return (
            not self.is_output or self.fields.get("READBACK") == "1" or "PARAM" not in self.fields
        )

    @property
    def enum_strings(self) -> tuple[str, ...]:
        if self.rtype in ("bi", "bo", "busy"):
            return (self.fields.get("ZNAM", ""), self.fields.get("ONAM", ""))
        states = [self.fields.get(name, "") for name in STATE_FIELDS]
        while states and not states[-1]:
            states.pop()
        return tuple(states)


def template_records(template: str, macros: Mapping[str, str]) -> dict[str, RecordSpec]:
    """Every record of ``template`` and what it includes; a later definition adds fields."""
    includes, records = TEMPLATES[template]
    result: dict[str, RecordSpec] = {}
    for included in includes:
        for spec in template_records(included, macros).values():
            _merge(result, spec)
    for name, rtype, fields in records:
        expanded = {key: expand(value, macros) for key, value in fields.items()}
        _merge(result, RecordSpec(expand(name, macros), rtype, expanded))
    return result


def _merge(records: dict[str, RecordSpec], spec: RecordSpec) -> None:
    earlier = records.get(spec.name)
    if earlier is None:
        records[spec.name] = spec
        return
    if spec.rtype not in ("*", earlier.rtype):
        raise ValueError(f"{spec.name} is a {earlier.rtype}, redefined as a {spec.rtype}")
    records[spec.name] = RecordSpec(spec.name, earlier.rtype, {**earlier.fields, **spec.fields})


def _number(text: str | None, default: float = 0.0) -> float:
    try:
        return float(text) if text not in (None, "") else default
    except ValueError:
        return default


def initial_value(spec: RecordSpec) -> Any:
    """The record's value at IOC start (VAL, else 0 / the first state / empty)."""
    val = spec.fields.get("VAL")
    if spec.rtype in DOUBLE_RECORDS:
        return _number(val)
    if spec.rtype in INTEGER_RECORDS:
        return int(_number(val))
    if spec.rtype in ENUM_RECORDS:
        strings = spec.enum_strings
        index = int(_number(val))
        return strings[index] if index < len(strings) else (strings[0] if strings else "")
    if spec.rtype in STRING_RECORDS:
        return val or ""
    return None


class Record:
    """Mixin of every served record: a put goes through its ``RecordSet``."""

    record_set: RecordSet
    spec: RecordSpec

    fields: dict[str, ChannelData] = {}

    async def verify_value(self, value):
        # An enum put by index keeps its index (two states may share a string).
        raw = value if isinstance(self, ChannelEnum) and isinstance(value, int) else None
        value = await super().verify_value(value)
        return await self.record_set.client_put(self, value, raw)

    def get_field(self, field: str) -> ChannelData:
        """``record.FIELD`` for the few fields served (caproto's server asks for them here)."""
        return self.fields[field]


_RECORD_CLASSES: dict[type[ChannelData], type[ChannelData]] = {}


def _record_class(base: type[ChannelData]) -> type[ChannelData]:
    if base not in _RECORD_CLASSES:
        _RECORD_CLASSES[base] = type(f"{base.__name__}Record", (Record, base), {})
    return _RECORD_CLASSES[base]


def make_channel(spec: RecordSpec) -> ChannelData:
    """A caproto channel of ``spec``'s CA type, metadata and initial value."""
    fields = spec.fields
    common: dict[str, Any] = {"reported_record_type": spec.rtype}
    rtype = spec.rtype
    if rtype in DOUBLE_RECORDS or rtype in INTEGER_RECORDS:
        base = ChannelDouble if rtype in DOUBLE_RECORDS else ChannelInteger
        limits = {}
        if "DRVL" in fields or "DRVH" in fields:
            limits = {
                "lower_ctrl_limit": _number(fields.get("DRVL")),
                "upper_ctrl_limit": _number(fields.get("DRVH")),
            }
        display = {}
        if "LOPR" in fields or "HOPR" in fields:
            display = {
                "lower_disp_limit": _number(fields.get("LOPR")),
                "upper_disp_limit": _number(fields.get("HOPR")),
            }
        extra = {"precision": int(_number(fields.get("PREC")))} if base is ChannelDouble else {}
        channel = _record_class(base)(
            value=initial_value(spec),
            units=fields.get("EGU", ""),
            **limits,
            **display,
            **extra,
            **common,
        )
    elif rtype in ENUM_RECORDS:
        channel = _record_class(ChannelEnum)(
            value=initial_value(spec), enum_strings=spec.enum_strings, **common
        )
    elif rtype in STRING_RECORDS:
        channel = _record_class(ChannelString)(value=initial_value(spec), **common)
    elif rtype in ARRAY_RECORDS:
        ftvl = fields.get("FTVL", "DOUBLE")
        length = max(1, int(_number(fields.get("NELM"), 1)))
        if ftvl in ("CHAR", "UCHAR"):
            channel = _record_class(ChannelChar)(value="", max_length=length, **common)
        else:
            base = _ARRAY_CHANNELS.get(ftvl, ChannelDouble)
            zero = 0.0 if base in (ChannelDouble, ChannelFloat) else 0
            channel = _record_class(base)(value=[zero], max_length=length, **common)
    else:
        raise ValueError(f"record {spec.name}: type {rtype} is not served")
    channel.spec = spec
    if spec.name in RECORDS_WITH_DISA:
        channel.fields = {"DISA": ChannelInteger(value=0)}
    return channel


def on_put(*names: str) -> Callable:
    """Mark a ``RecordSet`` method as the put hook of the records (or parameters) ``names``.

    The hook gets the value written (enum: its index) and returns the value to keep (None:
    as written); raising refuses the put.
    """

    def mark(method: Callable) -> Callable:
        method.put_names = names
        return method

    return mark


class RecordSet:
    """The records of one ``dbLoadRecords`` of ``template`` with ``macros``, and their parameters.

    ``prefix`` is $(P)$(R) (what the record names start with).  ``get(name)`` reads a
    parameter by record (or parameter) name; enums give their index.  ``set(name,
    value)`` is the driver setting a parameter: every record bound to it that shows
    parameter changes is updated, once, if the value changed.
    """

    template = ""

    def __init__(self, prefix: str, macros: Mapping[str, str] | None = None) -> None:
        self.prefix = prefix
        self.macros = {"P": "", "R": "", "ADDR": "0", "TIMEOUT": "1", **(macros or {})}
        self.specs = template_records(self.template, self.macros)
        self.records: dict[str, ChannelData] = {}
        self._bound: dict[str, list[ChannelData]] = {}
        self._all: dict[str, list[ChannelData]] = {}
        self._values: dict[str, Any] = {}
        for spec in self.specs.values():
            channel = make_channel(spec)
            channel.record_set = self
            self.records[spec.name] = channel
            if spec.follows_param:
                self._bound.setdefault(spec.param, []).append(channel)
            self._all.setdefault(spec.param, []).append(channel)
            # At iocInit an output's VAL (PINI) sets the parameter its readbacks show.
            if spec.param not in self._values or (spec.is_output and "VAL" in spec.fields):
                self._values[spec.param] = self._raw(channel, channel.value)
        for param, channels in self._bound.items():
            for channel in channels:
                value = self._display(channel, self._values[param])
                channel._data["value"] = channel.preprocess_value(value)
        self._hooks: dict[str, Callable] = {}
        for attribute in dir(type(self)):
            method = getattr(self, attribute, None)
            for name in getattr(method, "put_names", ()):
                self._hooks[self.param_of(name)] = method

    @property
    def pvdb(self) -> dict[str, ChannelData]:
        return {self.prefix + name: channel for name, channel in self.records.items()}

    def param_of(self, name: str) -> str:
        spec = self.specs.get(name)
        if spec is not None:
            return spec.param
        if name in self._values:
            return name
        raise KeyError(f"{self.prefix}{name}: no such record or parameter in {self.template}")

    @staticmethod
    def _raw(channel: ChannelData, value):
        if isinstance(channel, ChannelEnum):
            if isinstance(value, str):
                return channel.enum_strings.index(value) if value in channel.enum_strings else 0
            return int(value)
        return value

    def get(self, name: str):
        """The value of the parameter behind record ``name`` (enum: the index)."""
        return self._values[self.param_of(name)]

    def text(self, name: str) -> str:
        """Record ``name``'s enum string (or its value as text)."""
        channel = self.records[name]
        value = self.get(name)
        if isinstance(channel, ChannelEnum):
            strings = channel.enum_strings
            return strings[value] if 0 <= value < len(strings) else str(value)
        return str(value)

    async def set(self, name: str, value, *, force: bool = False) -> None:
        """The driver sets a parameter: records showing it follow, if it changed (or ``force``)."""
        param = self.param_of(name)
        old = self._values.get(param)
        value = self._normalise(param, value)
        if not force and same_value(old, value):
            return
        self._values[param] = value
        for channel in self._bound.get(param, ()):
            await channel.write(self._display(channel, value), verify_value=False)

    async def restore(self, values: Iterable[tuple[str, Any]]) -> None:
        """Set values at IOC start as autosave (or asyn's initial readback) does.

        Every record of each parameter, setpoints included, shows the value.
        """
        for name, value in values:
            param = self.param_of(name)
            value = self._normalise(param, value)
            self._values[param] = value
            for channel in self._all[param]:
                await channel.write(self._display(channel, value), verify_value=False)

    async def set_many(self, values: Iterable[tuple[str, Any]]) -> None:
        for name, value in values:
            await self.set(name, value)

    def _normalise(self, param: str, value):
        channels = self._bound.get(param) or [
            c for c in self.records.values() if c.spec.param == param
        ]
        if channels and isinstance(channels[0], ChannelEnum) and isinstance(value, str):
            strings = channels[0].enum_strings
            if value not in strings:
                raise ValueError(f"{param}: {value!r} is not one of {strings}")
            return strings.index(value)
        return value

    @staticmethod
    def _display(channel: ChannelData, value):
        if isinstance(channel, ChannelEnum):
            strings = channel.enum_strings
            return strings[value] if 0 <= int(value) < len(strings) else value
        return value

    async def client_put(self, channel: ChannelData, value, raw=None):
        """A client wrote ``channel``: run its hook, set the parameter, return what to store."""
        param = channel.spec.param
        raw = self._raw(channel, value) if raw is None else raw
        hook = self._hooks.get(param)
        if hook is not None:
            changed = await hook(raw)
            if changed is not None:
                raw = changed
        if channel.spec.is_output or param == channel.spec.name:
            self._values[param] = raw
            for other in self._bound.get(param, ()):
                if other is not channel:
                    await other.write(self._display(other, raw), verify_value=False)
        return self._display(channel, raw)


def same_value(old, new) -> bool:
    """Whether a parameter's new value is its old one (arrays never are: always posted)."""
    try:
        return bool(old == new)
    except ValueError:  # arrays
        return False
