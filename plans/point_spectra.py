"""Sample point spectrum (scan type 4): the spectrum at one or more points.

One run: at each energy, visit every point (so all points share the same beam
conditions per energy), one event per point.  Each point is a spatial region of its
own (sp_id), as pyStxm records it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.scan_types import ScanType
from stxm_devices import Beamline

from ._patterns import energy_points
from ._runs import ScanLabel, labelled_run
from ._stack import check_energies, check_polarizations
from .acquisition import RowMode, counting, select_detectors, step_path
from .checks import PlanArgumentError, check_dwell, check_within_limits
from .metadata import PolarizationSetting, ScanGroup, energy_roi, image_index, region_rois, roi


def point_spectra(
    beamline: Beamline,
    *,
    points_um: Sequence[tuple[float, float]],
    energy_regions: Sequence[tuple[float, float, int]],
    polarization: str = "CircLeft",
    dwell_ms: float = 1.0,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """Spectra at ``points_um`` ((x, y) on the fine stage) over the energy regions (eV)."""
    plan_args = {k: v for k, v in locals().items() if k != "beamline"}
    if not points_um:
        raise PlanArgumentError("points_um: give at least one (x, y) point")
    points = np.asarray(points_um, dtype=float).reshape(-1, 2)
    energies = energy_points(list(energy_regions))
    check_dwell(dwell_ms)
    check_within_limits(beamline.stage.fine_x, points[:, 0], "points_um x")
    check_within_limits(beamline.stage.fine_y, points[:, 1], "points_um y")
    check_energies(beamline, energies, "energy_regions")
    check_polarizations(beamline, [polarization])
    detector_devices = select_detectors(beamline, detectors, RowMode.STEP)
    settings = [PolarizationSetting(polarization)]
    rois = {
        sp_id: region_rois(
            x=roi("SampleFineX", "SampleFineX", [x]),
            y=roi("SampleFineY", "SampleFineY", [y]),
            ev_rois=[energy_roi(energies, dwell_ms, settings)],
        )
        for sp_id, (x, y) in enumerate(points)
    }
    path = np.array([(e, x, y) for e in energies for x, y in points])
    motors = [beamline.energy, beamline.stage.fine_x, beamline.stage.fine_y]
    body = counting(
        beamline,
        detector_devices,
        dwell_ms,
        step_path([*detector_devices, beamline.ring_current], motors, path),
    )
    label = ScanLabel(
        ScanType.SAMPLE_POINT_SPECTRA, "point_spectra", plan_args, dwell_ms, ScanGroup(1)
    )

    def plan():
        yield from bps.mv(beamline.epu.polarization, polarization)
        return (
            yield from labelled_run(
                beamline,
                label,
                index=0,
                detectors=detector_devices,
                motors=motors[:1],
                rois=rois,
                image_index=image_index("entry0"),
                shape=(energies.size, len(points)),
                body=body,
                md=md,
            )
        )

    return plan()
