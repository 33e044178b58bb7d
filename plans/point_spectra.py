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

from nxstxm.contract import EnergyRegion, Polarization, Roi, ScanType, SpatialRegion
from stxm_devices import Beamline

from ._runs import RunSpec, ScanRequest, scan_run
from .acquisition import RowMode, counting, select_detectors, step_path
from .checks import (
    PlanArgumentError,
    check_dwell,
    check_energies,
    check_energy_regions,
    check_polarizations,
    check_within_limits,
)


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
    energies = check_energy_regions(energy_regions)
    detector_devices = select_detectors(beamline, detectors, RowMode.STEP)
    request = ScanRequest(
        ScanType.SAMPLE_POINT_SPECTRA,
        "point_spectra",
        plan_args,
        check_dwell(dwell_ms),
        detector_names=tuple(detectors),
        md=md or {},
    )
    energy_region = EnergyRegion.of(energies, dwell_ms, [Polarization(polarization)])
    regions = {
        sp_id: SpatialRegion(
            sp_id,
            {"X": Roi.of("SampleFineX", [x]), "Y": Roi.of("SampleFineY", [y])},
            (energy_region,),
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
    spec = RunSpec(
        detectors=detector_devices,
        motors=motors[:1],
        regions=regions,
        shape=(energies.size, len(points)),
        body=body,
    )

    def plan():
        check_within_limits(beamline.stage.fine_x, points[:, 0], "points_um x")
        check_within_limits(beamline.stage.fine_y, points[:, 1], "points_um y")
        yield from check_energies(beamline, energies, "energy_regions")
        check_polarizations(beamline.epu.polarization, [polarization])
        yield from bps.mv(beamline.epu.polarization, polarization)
        return (yield from scan_run(beamline, request, spec))

    return plan()
