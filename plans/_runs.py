"""One labelled run: the standard metadata, bluesky's plan metadata, then the acquisition.

Every scan type ends here, so every start document has the same keys (the contract
of plans/metadata.py) whatever the plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bluesky.utils import MsgGenerator

from nxstxm.scan_types import ScanType
from stxm_devices import Beamline

from .acquisition import stxm_run
from .metadata import ScanGroup, plan_metadata, read_zp_def, rev_lu_dct, standard_metadata


@dataclass(frozen=True)
class ScanLabel:
    """What a scan is: type, the plan and its arguments, and which runs it makes."""

    scan_type: ScanType
    plan_name: str
    plan_args: Mapping[str, Any]
    dwell_ms: float
    group: ScanGroup


def labelled_run(
    beamline: Beamline,
    label: ScanLabel,
    *,
    index: int,
    detectors: Sequence[Any],
    motors: Sequence[Any],
    rois: Mapping[int, dict],
    image_index: Mapping[str, Any],
    shape: Sequence[int],
    body: MsgGenerator,
    extents: Sequence[Sequence[float]] | None = None,
    extra: Mapping[str, Any] | None = None,
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Run ``body`` as run ``index`` of ``label``'s scan, with every metadata key."""
    zp_def = yield from read_zp_def(beamline)
    num_points = 1
    for size in shape:
        num_points *= int(size)
    run_md = {
        **standard_metadata(
            scan_type=label.scan_type,
            entry_name=str(image_index["entry"]),
            rois=rois,
            dwell_ms=label.dwell_ms,
            primary_det=detectors[0].name,
            zp_def=zp_def,
            img_idx_map=dict(image_index),
            rev_lu=rev_lu_dct(beamline),
            group=label.group,
            index=index,
        ),
        **plan_metadata(
            plan_name=label.plan_name,
            plan_args=label.plan_args,
            detectors=detectors,
            motors=motors,
            num_points=num_points,
            shape=shape,
            extents=extents,
            snaking=[False] * len(shape),
        ),
        **dict(extra or {}),
        **dict(md or {}),
    }
    return (yield from stxm_run(beamline, detectors, run_md, body))
