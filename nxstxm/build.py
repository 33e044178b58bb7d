"""Build the model of one scan from its runs: entries placed by img_idx_map, never by order.

:func:`build_scan` is a straight sequence of typed steps::

    runs ──parse_metadata──► (Run, StxmMetadata) per run, grouped by img_idx_map.entry
         ──layout──────────► the Layout of the scan type's shape (:mod:`.layout`)
         ──_place_run──────► PlacedRun: each run's values on its grid (:func:`.grid.place`)
         ──Layout.arrange──► Arrangement: each entry's NXdata arrays
         ──_entry──────────► Entry: + instrument, monitor, descriptive groups, notes
         ──────────────────► ScanModel (written by :mod:`.writer`)

A scan that stopped early keeps what it acquired and every entry says why it is incomplete.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import describe
from .collector import Run
from .grid import Geometry, PlacedRun, expand_like, place, received_grid
from .layout import LAYOUTS, Arrangement, Layout, LayoutError
from .links import event_frames, frame_set
from .metadata import StxmMetadata, parse_metadata
from .model import Detector, Entry, NXdataGroup, ScanModel
from .streams import (
    baseline_readings,
    baseline_ring_current_key,
    detector_fields,
    event_values,
    find_key,
    line_positions_key,
    ring_current,
)

#: A run and its parsed standard metadata.
Member = tuple[Run, StxmMetadata]


@dataclass
class _ScanContext:
    """What every entry of a scan shares: baseline readings, ring-current key, notes."""

    baseline: dict
    ring_key: str | None
    notes: list[str]


def build_scan(runs: Sequence[Run], *, expected_runs: int | None = None) -> ScanModel:
    """The NXstxm model of one scan (all its runs); ``expected_runs`` from its scan group."""
    if not runs:
        raise LayoutError("no runs to assemble")
    members = [(run, parse_metadata(run.start)) for run in runs]
    types = {md.scan_type for _, md in members}
    if len(types) > 1:
        raise LayoutError(f"runs {[r.uid for r in runs]} mix scan types {sorted(types)}")
    context = _ScanContext(
        baseline_readings(runs),
        baseline_ring_current_key(runs, members[0][1]),
        _scan_notes(runs, expected_runs),
    )
    by_entry: dict[str, list[Member]] = {}
    for run, md in members:
        by_entry.setdefault(md.img_idx.entry, []).append((run, md))
    entries: list[Entry] = []
    for name in sorted(by_entry, key=_natural):
        entry_members = by_entry[name]
        md = entry_members[0][1]
        layout = LAYOUTS[md.scan_type]
        _check_run_count(name, entry_members, layout)
        energies, count_time = _energies(layout, md)
        placed = _place_runs(entry_members, layout, energies, context)
        for arrangement in layout.arrange(name, placed, energies, count_time):
            entries.append(_entry(arrangement, context))
    return ScanModel(entries)


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _has_data(run: Run) -> bool:
    return bool(run.events.get("primary"))


def _scan_notes(runs: Sequence[Run], expected_runs: int | None) -> list[str]:
    notes = []
    for run in runs:
        if run.stop is None:
            notes.append(
                f"run {run.uid} has no stop document: its acquisition was interrupted "
                "(the documents end early)"
            )
        elif run.exit_status != "success":
            reason = run.stop.get("reason") or ""
            empty = "" if _has_data(run) else " before its first event"
            notes.append(
                f"run {run.uid} ended with exit_status {run.exit_status}{empty} {reason}".strip()
            )
    acquired = sum(1 for run in runs if _has_data(run))
    if expected_runs is not None and acquired < expected_runs:
        notes.append(f"{acquired} of {expected_runs} runs of the scan were acquired")
    return notes


def _energies(layout: Layout, md: StxmMetadata) -> tuple[np.ndarray, np.ndarray]:
    """The entry's energies and count times: the region's, or only its run's own one."""
    region = md.region(md.img_idx.sp_id)
    energies, count_time = region.energies, region.dwell_ms / 1000.0
    if not layout.spans_energies:
        pick = [min(md.img_idx.e_idx, energies.size - 1)]
        energies, count_time = energies[pick], count_time[pick]
    return energies, count_time


def _check_run_count(name: str, members: list[Member], layout: Layout) -> None:
    """Only a stack gathers several runs into one entry."""
    if not layout.gathers_runs and len(members) > 1:
        uids = ", ".join(run.uid for run, _ in members)
        raise LayoutError(
            f"runs {uids} all have img_idx_map.entry {name!r}, but a "
            f"{layout.label} entry holds one run"
        )


def _place_runs(
    members: list[Member], layout: Layout, energies: np.ndarray, scan: _ScanContext
) -> list[PlacedRun]:
    """The entry's runs on their grids, in the order they started."""
    # A run stopped before its first event (an abort as it opened) holds no image.
    members = [item for item in members if _has_data(item[0])] or members[:1]
    members = sorted(members, key=lambda item: item[0].start["time"])
    return [_place_run(run, md, layout.geometry(md, energies), scan) for run, md in members]


def _place_run(run: Run, md: StxmMetadata, geo: Geometry, scan: _ScanContext) -> PlacedRun:
    placed = PlacedRun(run, md, geo, detector_fields(run, md))
    snake = bool((run.start.get("snaking") or [False])[-1])
    counts = {
        fld: event_values(run, "primary", fld.key) for fld in placed.fields if not fld.external
    }
    first = next(((fld, values) for fld, values in counts.items() if values), None)
    if first is None:  # frames only (or nothing yet): one value per event
        template, where = [0.0] * len(run.stream("primary")), f"run {run.uid} ring current"
    else:
        template, where = first[1], f"run {run.uid} key {first[0].key!r}"
    shape = received_grid(template, geo.grid, where=where)
    for fld in placed.fields:
        if fld.external:
            placed.frames[fld.name] = event_frames(run, fld.key)
        else:
            where = f"run {run.uid} key {fld.key!r}"
            placed.values[fld.name] = place(counts[fld], shape, snake=snake, where=where)
    current = ring_current(run, md, scan.baseline, scan.ring_key)
    where = f"run {run.uid} ring current"
    placed.monitor = place(expand_like(template, current), shape, snake=snake, where=where)
    for name, key in _position_keys(run, md, geo, placed.fields[0].key).items():
        values = event_values(run, "primary", key)
        where = f"run {run.uid} key {key!r}"
        measured = place(expand_like(template, values), shape, snake=snake, where=where)
        placed.measured[name] = measured.in_order()
        bad = int((~np.isfinite(placed.measured[name])).sum())
        if bad:
            scan.notes.append(f"{where}: {bad} measured {name} position(s) not finite")
    return placed


#: Instrument positions a run may have measured, and the ROI that requested each.
_POSITION_ROIS = {"sample_x": "X", "sample_y": "Y", "zoneplate_z": "ZP.Z"}


def _position_keys(run: Run, md: StxmMetadata, geo: Geometry, counts_key: str) -> dict[str, str]:
    """The data keys of the positions measured with each event (not those held still).

    A fly line's measured X is a waveform beside its counts; a row's other positioners
    (and every positioner of a step scan) are read once per event.
    """
    descriptor = run.descriptor("primary")
    region = md.region(md.img_idx.sp_id)
    keys = {}
    for name, roi_name in _POSITION_ROIS.items():
        roi = region.roi(roi_name)
        if name not in geo.positions or geo.npoints <= 1 or roi is None:
            continue
        key = find_key(descriptor, roi.positioner or "", md)
        if key is not None:
            keys[name] = key
    line_key = line_positions_key(descriptor, counts_key)
    if line_key is not None:
        keys["sample_x"] = line_key
    return keys


def _end_time(run: Run) -> float:
    """When a run ended: its stop, else (interrupted) its last event, else its start."""
    if run.stop is not None:
        return float(run.stop["time"])
    times = [event["time"] for events in run.events.values() for event in events]
    return float(max(times, default=run.start["time"]))


def _acquired(arrangement: Arrangement, per_run: list[np.ndarray]) -> np.ndarray:
    """The entry's points of every run, in acquisition order ([nP], for NXdetector data)."""
    return np.concatenate(
        [
            np.asarray(values)[selection]
            for values, selection in zip(per_run, arrangement.selections, strict=True)
        ]
    )


def _detectors(arrangement: Arrangement) -> list[Detector]:
    """Every detector's values (or linked frames) and every scanned position, as acquired."""
    runs = arrangement.runs
    detectors = []
    for fld in runs[0].fields:
        if fld.external:
            frames = frame_set(
                [
                    p.frames[fld.name].points(selection)
                    for p, selection in zip(runs, arrangement.selections, strict=True)
                ]
            )
            detectors.append(Detector(fld.name, frames, source=fld.key))
        else:
            values = _acquired(arrangement, [p.values[fld.name].in_order() for p in runs])
            detectors.append(Detector(fld.name, values, fld.units or "counts", fld.key))
    for position in ("sample_x", "sample_y", "zoneplate_z"):
        if position in runs[0].geo.positions:
            values = _acquired(arrangement, [p.positions(position) for p in runs])
            detectors.append(Detector(position, values, "um"))
    return detectors


def _entry(arrangement: Arrangement, scan: _ScanContext) -> Entry:
    """The entry of an arrangement: its NXdata groups plus the groups every entry has."""
    runs = arrangement.runs
    first = runs[0]
    if not arrangement.data:
        raise LayoutError(
            f"run {first.run.uid}: no counter-like detector value in the primary stream; "
            "an area detector needs a per-frame total (e.g. a Stats plugin) beside its frames"
        )
    nxdata = [
        NXdataGroup(name, data, arrangement.axes, arrangement.coordinates, arrangement.count_time)
        for name, data in arrangement.data.items()
    ]
    notes = [*scan.notes, *arrangement.notes]
    missing = arrangement.expected - int(np.count_nonzero(~np.isnan(nxdata[0].data)))
    if missing and not notes:
        notes.append(f"{missing} of {arrangement.expected} points not acquired")
    md, run = first.md, first.run
    return Entry(
        name=arrangement.name,
        scan_type=md.scan_type,
        stxm_scan_type=arrangement.label,
        title=describe.title(run.start, arrangement.label),
        start_time=min(p.run.start["time"] for p in runs),
        end_time=max(_end_time(p.run) for p in runs),
        nxdata=nxdata,
        default=nxdata[0].name,
        detectors=_detectors(arrangement),
        energy=_acquired(arrangement, [p.positions("energy") for p in runs]),
        monitor=arrangement.monitor,
        rotation_angle=describe.rotation_angle(run, md),
        source=describe.source(run.start),
        zone_plate=describe.zone_plate(md),
        osa=describe.osa(md),
        epu=describe.epu(md),
        baseline=describe.baseline(baseline_readings(p.run for p in runs)),
        scan_request=describe.scan_request([(p.run, p.md) for p in runs]),
        incomplete=notes,
        run_uids=[p.run.uid for p in runs],
    )
