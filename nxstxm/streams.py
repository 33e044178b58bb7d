"""Read values out of a run's streams: which keys are detectors, positioners, ring current.

Values come back in acquisition order, one per event, as recorded: placing them in a
grid is the layout's job. Devices are found through the data keys' PV sources and the
metadata's ``rev_lu_dct`` (descriptive name → PV), never by hard-coded device names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .collector import Run
from .errors import NXstxmError
from .metadata import StxmMetadata

#: ``rev_lu_dct`` names under which the storage-ring current's PV is listed.
RING_CURRENT_DEVICES = ("StorageRingCurrent", "RingCurrent")
#: Units of a length: a waveform in these beside a line's counts holds measured positions.
LENGTH_UNITS = ("um", "µm", "mm", "nm")


class StreamError(NXstxmError, ValueError):
    """Event data that cannot be used (names the run uid and the data key)."""


@dataclass(frozen=True)
class Field:
    """One detector value of the primary stream and the NXdetector/NXdata name it gets."""

    name: str
    key: str
    external: bool
    units: str | None


def source_pv(data_key: dict) -> str | None:
    """The PV behind a data key (``PV:IOC:m104.RBV`` → ``IOC:m104``), if it has one."""
    source = str(data_key.get("source", ""))
    if not source.startswith("PV:"):
        return None
    return source[3:].rsplit(".", 1)[0] if "." in source[3:] else source[3:]


def find_key(descriptor: dict | None, device: str, md: StxmMetadata) -> str | None:
    """The data key of a device: by name, by its PV, or by the PV in a key's source."""
    if descriptor is None or not device:
        return None
    keys = descriptor["data_keys"]
    pv = md.pv(device)
    for candidate in (device, pv):
        if candidate in keys:
            return candidate
    matches = [key for key, dk in keys.items() if source_pv(dk) == pv]
    readbacks = [key for key in matches if not key.endswith("_setpoint")]
    return (readbacks or matches or [None])[0]


def ring_current_key(descriptor: dict | None, md: StxmMetadata) -> str | None:
    """The data key of the storage-ring current in a stream, if the stream has it."""
    for device in RING_CURRENT_DEVICES:
        if device in md.rev_lu_dct:
            key = find_key(descriptor, device, md)
            if key is not None:
                return key
    return None


def _objects(descriptor: dict) -> dict[str, list[str]]:
    objects = descriptor.get("object_keys") or {key: [key] for key in descriptor["data_keys"]}
    return {str(obj): list(keys) for obj, keys in objects.items()}


def _positioner_keys(md: StxmMetadata, descriptor: dict) -> set[str]:
    keys = set()
    for region in md.regions.values():
        for roi in region.axes.values():
            key = find_key(descriptor, roi.positioner or "", md)
            if key is not None:
                keys.add(key)
    return keys


def detector_fields(run: Run, md: StxmMetadata) -> list[Field]:
    """The detector values of the primary stream, the primary detector's first."""
    descriptor = run.descriptor("primary")
    if descriptor is None:
        raise StreamError(f"run {run.uid}: no 'primary' stream")
    objects = _objects(descriptor)
    excluded = set(run.start.get("motors") or []) | _positioner_keys(md, descriptor)
    ring = ring_current_key(descriptor, md)
    if ring is not None:
        excluded.add(ring)
    names = [obj for obj in (run.start.get("detectors") or objects) if obj in objects]
    if md.primary_det not in objects:
        raise StreamError(
            f"run {run.uid}: metadata key 'primary_det' names {md.primary_det!r}, which has no "
            f"data in the primary stream (objects: {', '.join(objects)})"
        )
    names.sort(key=lambda obj: obj != md.primary_det)
    fields: list[Field] = []
    for obj in names:
        hinted = (descriptor.get("hints") or {}).get(obj, {}).get("fields") or objects[obj]
        # Frames are never hinted (ophyd hints an area detector's Stats total), but linked.
        frames = [key for key in objects[obj] if "external" in descriptor["data_keys"][key]]
        keys = [
            key
            for key in dict.fromkeys([*hinted, *frames])
            if key in descriptor["data_keys"] and key not in excluded
        ]
        for key in keys:
            dk = descriptor["data_keys"][key]
            name = obj if len(keys) == 1 else key
            fields.append(Field(name, key, "external" in dk, dk.get("units")))
    return fields


def line_positions_key(descriptor: dict, counts_key: str) -> str | None:
    """The waveform of measured fast-axis positions read beside a line's counts, if any.

    A line detector (our counter in Line mode) reads its counts and, as a second waveform
    of the same device and shape with a length unit, where each point was measured.
    """
    keys = descriptor["data_keys"]
    shape = keys[counts_key].get("shape")
    for object_keys in _objects(descriptor).values():
        if counts_key in object_keys:
            for key in object_keys:
                dk = keys.get(key, {})
                if (
                    key != counts_key
                    and dk.get("dtype") == "array"
                    and dk.get("shape") == shape
                    and dk.get("units") in LENGTH_UNITS
                ):
                    return key
    return None


def event_values(run: Run, stream: str, key: str) -> list:
    """The value of one data key in every event of a stream, in acquisition order."""
    try:
        return [event["data"][key] for event in run.stream(stream)]
    except KeyError:
        raise StreamError(f"run {run.uid}: an event of stream {stream!r} lacks {key!r}") from None


def event_times(run: Run, stream: str = "primary") -> np.ndarray:
    """The time of every event of a stream (epoch seconds), in acquisition order."""
    return np.array([event["time"] for event in run.stream(stream)], dtype=float)


def baseline_readings(runs: Iterable[Run]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every numeric baseline key of the runs: (times, values), sorted by time."""
    readings: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        for event in run.stream("baseline"):
            for key, value in event["data"].items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    readings.setdefault(key, []).append((event["time"], float(value)))
    return {
        key: (np.array([t for t, _ in pairs]), np.array([v for _, v in pairs]))
        for key, pairs in ((k, sorted(v)) for k, v in readings.items())
    }


def baseline_ring_current_key(runs: Iterable[Run], md: StxmMetadata) -> str | None:
    """The ring current's key in the baseline streams of a scan, if any run recorded it."""
    for run in runs:
        key = ring_current_key(run.descriptor("baseline"), md)
        if key is not None:
            return key
    return None


def ring_current(
    run: Run, md: StxmMetadata, baseline: dict, baseline_key: str | None
) -> np.ndarray:
    """The ring current at each primary event: read with it, or interpolated from baselines.

    NaN where the scan recorded no ring current at all (the monitor then says so honestly).
    """
    times = event_times(run)
    key = ring_current_key(run.descriptor("primary"), md)
    if key is not None:
        return np.asarray(event_values(run, "primary", key), dtype=float)
    if baseline_key in baseline:
        when, values = baseline[baseline_key]
        return np.interp(times, when, values)
    return np.full(times.size, np.nan)
