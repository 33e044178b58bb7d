"""One labelled run: the request of the scan, the spec of the run, then the acquisition.

A public plan turns its arguments into one :class:`ScanRequest`; each run it makes is a
:class:`RunSpec`; :func:`scan_run` writes both into the start document (the contract of
:mod:`nxstxm.contract` plus bluesky's plan metadata), so every start document has the
same keys whatever the plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bluesky.utils import MsgGenerator

from nxstxm.contract import GroupMember, ImageIndex, ScanType, SpatialRegion, StxmMetadata, wdg_com
from stxm_devices import Beamline

from .acquisition import RowMode, stxm_run
from .checks import PlanArgumentError
from .metadata import plan_metadata, read_zp_def, rev_lu_dct

#: Where a single-run scan's data go.
FIRST_ENTRY = ImageIndex("entry0")


@dataclass(frozen=True)
class ScanRequest:
    """What the user asked for, checked; passed down from the public plan to every run.

    ``num_runs`` runs share ``group_uid`` (a stack makes one run per image);
    ``bidirectional`` flies every odd row of a line-mode image backwards (serpentine).
    """

    scan_type: ScanType
    plan_name: str
    plan_args: Mapping[str, Any]
    dwell_ms: float
    mode: RowMode = RowMode.STEP
    bidirectional: bool = False
    detector_names: tuple[str, ...] = ("counter",)
    resolution: str = "FINE"
    num_runs: int = 1
    md: Mapping[str, Any] = field(default_factory=dict)
    group_uid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        if self.bidirectional and self.mode is not RowMode.LINE:
            raise PlanArgumentError(
                f"bidirectional=True flies serpentine lines: it needs mode='line', "
                f"not mode={self.mode.value!r}"
            )

    def member(self, index: int) -> GroupMember:
        """Run ``index``'s place in the scan group."""
        return GroupMember(self.group_uid, index, self.num_runs)


@dataclass(frozen=True)
class RunSpec:
    """One run of a scan: what it reads and moves, the scan's regions, where its data go.

    ``regions`` is the whole scan request (every region), ``place`` this run's image.
    ``row_mode`` is how the rows of an image or a line scan are measured: the start
    document's ``row_mode`` and the plot hints (a row per event or a point per event)
    both follow from it; None for scans of points (point spectra, generic scans,
    ptychography): a point per event, no ``row_mode`` in the start document.
    """

    detectors: Sequence[Any]
    motors: Sequence[Any]
    regions: Mapping[int, SpatialRegion]
    shape: tuple[int, ...]
    body: MsgGenerator
    place: ImageIndex = FIRST_ENTRY
    index: int = 0
    extents: Sequence[Sequence[float]] | None = None
    row_mode: RowMode | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def row_events(self) -> bool:
        """Whether each event holds a whole row (LINE, STEP) rather than a point."""
        return self.row_mode in (RowMode.LINE, RowMode.STEP)


def scan_run(beamline: Beamline, request: ScanRequest, spec: RunSpec) -> MsgGenerator:
    """Run ``spec.body`` as run ``spec.index`` of the scan, with every metadata key."""
    zp_def = yield from read_zp_def(beamline)
    standard = StxmMetadata(
        entry_name=spec.place.entry,
        scan_type=request.scan_type,
        sp_id_lst=list(spec.regions),
        regions=dict(spec.regions),
        dwell_ms=request.dwell_ms,
        primary_det=spec.detectors[0].name,
        zp_def=zp_def,
        wdg_com=wdg_com(list(spec.regions.values())),
        img_idx=spec.place,
        rev_lu_dct=rev_lu_dct(beamline),
        scan_group=request.member(spec.index),
    )
    run_md = {
        **standard.to_start(),
        **plan_metadata(
            plan_name=request.plan_name,
            plan_args=request.plan_args,
            detectors=spec.detectors,
            motors=spec.motors,
            shape=spec.shape,
            extents=spec.extents,
            row_events=spec.row_events,
        ),
        **({} if spec.row_mode is None else {"row_mode": spec.row_mode.value}),
        **dict(spec.extra),
        **dict(request.md or {}),
    }
    return (yield from stxm_run(beamline, spec.detectors, run_md, spec.body))
