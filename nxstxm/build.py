"""Build the model of one scan from its runs: entries placed by img_idx_map, never by order.

Each run is placed on its grid (:mod:`.grid`), the grid's coordinates come from the scan
type's layout (:mod:`.layout`), and runs of a stack land at their ``e_idx``. A scan that
stopped early keeps what it acquired and every entry says why it is incomplete.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import describe
from .collector import Run
from .grid import Placed, expand_like, place
from .layout import LAYOUTS, SINGLE_RUN_SHAPES, Geometry, LayoutError, Shape, geometry
from .links import event_frames, frame_set
from .metadata import StxmMetadata, parse_metadata
from .model import Axis, Detector, Entry, FrameRef, ScanModel, Signal
from .streams import (
    Field,
    baseline_readings,
    baseline_ring_current_key,
    detector_fields,
    event_values,
    find_key,
    line_positions_key,
    ring_current,
)


@dataclass
class _Placement:
    """One run on its grid: every detector's values, the ring current, measured positions."""

    run: Run
    md: StxmMetadata
    geo: Geometry
    fields: list[Field]
    signals: dict[str, Placed] = field(default_factory=dict)
    frames: dict[str, list[tuple[FrameRef, ...]]] = field(default_factory=dict)
    monitor: Placed | None = None
    measured: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def order(self) -> np.ndarray:
        return self.monitor.order

    def positions(self, name: str) -> np.ndarray:
        """An instrument position at every acquired point: measured if read, else requested."""
        if name in self.measured:
            return self.measured[name]
        return self.geo.points[name].ravel()[self.order]


def _natural(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _place_run(run: Run, md: StxmMetadata, energies: np.ndarray, scan: _ScanContext) -> _Placement:
    geo = geometry(md, energies)
    placed = _Placement(run, md, geo, detector_fields(run, md))
    snake = bool((run.start.get("snaking") or [False])[-1])
    template: list = []
    for fld in placed.fields:
        if fld.external:
            placed.frames[fld.name] = event_frames(run, fld.key)
            continue
        values = event_values(run, "primary", fld.key)
        template = template or values
        where = f"run {run.uid} key {fld.key!r}"
        placed.signals[fld.name] = place(values, geo.grid, snake=snake, where=where)
    template = template or [0.0] * len(run.stream("primary"))  # frames only: a value each
    current = ring_current(run, md, scan.baseline, scan.ring_key)
    where = f"run {run.uid} ring current"
    placed.monitor = place(expand_like(template, current), geo.grid, snake=snake, where=where)
    for name, key in _position_keys(run, md, geo, placed.fields[0].key).items():
        values = event_values(run, "primary", key)
        where = f"run {run.uid} key {key!r}"
        measured = place(expand_like(template, values), geo.grid, snake=snake, where=where)
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
        if name not in geo.points or geo.points[name].size <= 1 or roi is None:
            continue
        key = find_key(descriptor, roi.positioner or "", md)
        if key is not None:
            keys[name] = key
    line_key = line_positions_key(descriptor, counts_key)
    if line_key is not None:
        keys["sample_x"] = line_key
    return keys


@dataclass
class _ScanContext:
    """What every entry of a scan shares: baseline readings, ring-current key, notes."""

    baseline: dict
    ring_key: str | None
    notes: list[str]


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


def build_scan(runs: Sequence[Run], *, expected_runs: int | None = None) -> ScanModel:
    """The NXstxm model of one scan (all its runs); ``expected_runs`` from its scan group."""
    if not runs:
        raise LayoutError("no runs to assemble")
    members = [(run, parse_metadata(run.start)) for run in runs]
    types = {md.scan_type for _, md in members}
    if len(types) > 1:
        raise LayoutError(f"runs {[r.uid for r in runs]} mix scan types {sorted(types)}")
    md0 = members[0][1]
    context = _ScanContext(
        baseline_readings(runs),
        baseline_ring_current_key(runs, md0),
        _scan_notes(runs, expected_runs),
    )
    by_entry: dict[str, list[tuple[Run, StxmMetadata]]] = {}
    for run, md in members:
        by_entry.setdefault(md.img_idx.entry, []).append((run, md))
    entries: list[Entry] = []
    for name in sorted(by_entry, key=_natural):
        entries.extend(_entries(name, by_entry[name], context))
    return ScanModel(entries)


def _entries(name: str, members: list[tuple[Run, StxmMetadata]], scan: _ScanContext) -> list[Entry]:
    md = members[0][1]
    shape = LAYOUTS[md.scan_type].shape
    if shape in SINGLE_RUN_SHAPES and len(members) > 1:
        uids = ", ".join(run.uid for run, _ in members)
        raise LayoutError(
            f"runs {uids} all have img_idx_map.entry {name!r}, but a "
            f"{LAYOUTS[md.scan_type].label} entry holds one run"
        )
    region = md.region(md.img_idx.sp_id)
    energies, count_time = region.energies, region.dwell_ms / 1000.0
    if shape not in (Shape.STACK, Shape.LINE, Shape.POINT):
        pick = [min(md.img_idx.e_idx, energies.size - 1)]
        energies, count_time = energies[pick], count_time[pick]
    # A run stopped before its first event (an abort as it opened) holds no image.
    members = [item for item in members if _has_data(item[0])] or members[:1]
    members = sorted(members, key=lambda item: item[0].start["time"])
    placements = [_place_run(run, m, energies, scan) for run, m in members]
    if shape is Shape.POINT:
        return [
            _point_entry(name, placements[0], k, count_time, scan)
            for k in range(placements[0].geo.grid[1])
        ]
    if shape is Shape.STACK:
        return [_stack_entry(name, placements, energies, count_time, scan)]
    return [_single_entry(name, placements[0], count_time, scan)]


def _energy_slots(placements: list[_Placement], n_energies: int) -> list[int]:
    """The e_idx of each run of a stack, checked to be in range and unique."""
    slots: dict[int, str] = {}
    for p in placements:
        e_idx = p.md.img_idx.e_idx
        if not 0 <= e_idx < n_energies:
            raise LayoutError(
                f"run {p.run.uid}: img_idx_map.e_idx {e_idx} is outside the {n_energies} "
                f"energies of rois.{p.md.img_idx.sp_id}.EV_ROIS"
            )
        if e_idx in slots:
            raise LayoutError(f"runs {slots[e_idx]} and {p.run.uid} both have e_idx {e_idx}")
        slots[e_idx] = p.run.uid
    return list(slots)


def _signals(first: _Placement, arrange: Callable, coords: list[Axis], count_time) -> list[Signal]:
    return [
        Signal(
            fld.name,
            arrange(lambda p, n=fld.name: p.signals[n]),
            first.geo.axes,
            coords,
            count_time,
        )
        for fld in first.fields
        if not fld.external
    ]


def _stack_entry(name, placements, energies, count_time, scan) -> Entry:
    """Runs land at their e_idx; energies no run reached are left out and said so."""
    slots = _energy_slots(placements, energies.size)
    present = sorted(slots)
    notes = list(scan.notes)
    if len(present) < energies.size:
        missing = sorted(set(range(energies.size)) - set(present))
        notes.append(f"energies {energies[missing].tolist()} eV (e_idx {missing}) not acquired")

    def arrange(pick: Callable[[_Placement], Placed]) -> np.ndarray:
        # Sized by the runs received, not by the energies the metadata asked for.
        row = {slot: k for k, slot in enumerate(present)}
        out = np.full((len(present), *placements[0].geo.grid), np.nan)
        for p, slot in zip(placements, slots, strict=True):
            out[row[slot]] = pick(p).grid
        return out

    coords = [
        Axis(c.name, c.values[present], c.units, c.dims, c.long_name) if c.name == "energy" else c
        for c in placements[0].geo.coordinates
    ]
    signals = _signals(placements[0], arrange, coords, count_time[present])
    return _finish(name, placements, signals, arrange(lambda p: p.monitor), notes, _all_points)


def _single_entry(name, placement, count_time, scan) -> Entry:
    """One run is the whole entry (a list of points' single grid row becomes its 1-D data)."""
    generic = len(placement.geo.axes) == 1

    def arrange(pick: Callable[[_Placement], Placed]) -> np.ndarray:
        return pick(placement).grid[0] if generic else pick(placement).grid

    signals = _signals(placement, arrange, placement.geo.coordinates, count_time)
    notes = list(scan.notes)
    return _finish(name, [placement], signals, arrange(lambda p: p.monitor), notes, _all_points)


def _point_entry(name, placement, k, count_time, scan) -> Entry:
    """Point ``k`` of a point-spectra run: column k of its (energy, point) grid."""
    n_points = placement.geo.grid[1]
    entry_name = name if n_points == 1 else f"{name}_sp{placement.md.sp_id_lst[k]}"
    coords = [
        placement.geo.coordinates[0],
        Axis("sample_y", placement.geo.points["sample_y"][:1, k], "um", (1,)),
        Axis("sample_x", placement.geo.points["sample_x"][:1, k], "um", (2,)),
    ]

    def arrange(pick: Callable[[_Placement], Placed]) -> np.ndarray:
        return pick(placement).grid[:, k, None, None]

    signals = _signals(placement, arrange, coords, count_time)
    notes = list(scan.notes)
    monitor = arrange(lambda p: p.monitor)
    return _finish(
        entry_name, [placement], signals, monitor, notes, lambda p: p.order % n_points == k
    )


def _end_time(run: Run) -> float:
    """When a run ended: its stop, else (interrupted) its last event, else its start."""
    if run.stop is not None:
        return float(run.stop["time"])
    times = [event["time"] for events in run.events.values() for event in events]
    return float(max(times, default=run.start["time"]))


def _all_points(placement: _Placement) -> slice:
    return slice(None)


def _finish(name, placements, signals, monitor, notes, mask_of) -> Entry:
    """Instrument, monitor and descriptive groups, common to every shape.

    ``mask_of(placement)`` selects the entry's points among the run's acquired points.
    """
    first = placements[0]
    if not signals:
        raise LayoutError(
            f"run {first.run.uid}: no counter-like detector value in the primary stream; "
            "an area detector needs a per-frame total (e.g. a Stats plugin) beside its frames"
        )
    missing = int(np.isnan(signals[0].data).sum())
    if missing and not notes:
        notes.append(f"{missing} of {signals[0].data.size} points not acquired")

    def chronological(values) -> np.ndarray:
        return np.concatenate([np.asarray(values(p))[mask_of(p)] for p in placements])

    detectors = []
    for fld in first.fields:
        if fld.external:
            frames = frame_set(
                refs
                for p in placements
                for k in np.arange(len(p.frames[fld.name]))[mask_of(p)]
                for refs in [p.frames[fld.name][k]]
            )
            detectors.append(Detector(fld.name, frames, source=fld.key))
        else:
            detectors.append(
                Detector(
                    fld.name,
                    chronological(lambda p, n=fld.name: p.signals[n].in_order()),
                    fld.units or "counts",
                    fld.key,
                )
            )
    for position in ("sample_x", "sample_y", "zoneplate_z"):
        if position in first.geo.points:
            detectors.append(
                Detector(position, chronological(lambda p, n=position: p.positions(n)), "um")
            )
    md, run = first.md, first.run
    label = first.geo.label or LAYOUTS[md.scan_type].label
    stop_times = [_end_time(p.run) for p in placements]
    return Entry(
        name=name,
        scan_type=md.scan_type,
        stxm_scan_type=label,
        title=describe.title(run.start, label),
        start_time=min(p.run.start["time"] for p in placements),
        end_time=max(stop_times),
        signals=signals,
        default=signals[0].name,
        detectors=detectors,
        energy=chronological(lambda p: p.positions("energy")),
        monitor=monitor,
        rotation_angle=describe.rotation_angle(run, md),
        source=describe.source(run.start),
        zone_plate=describe.zone_plate(md),
        osa=describe.osa(md),
        epu=describe.epu(md),
        baseline=describe.baseline(baseline_readings(p.run for p in placements)),
        scan_request=describe.scan_request([(p.run, p.md) for p in placements]),
        incomplete=notes,
        run_uids=[p.run.uid for p in placements],
    )
