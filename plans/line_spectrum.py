"""Sample line spectrum (scan type 5): a line across the sample at every energy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.contract import Polarization, ScanType
from stxm_devices import Beamline

from ._lines import Line, Rows, check_line_scan, line_run
from ._patterns import line_points
from ._runs import ScanRequest
from .acquisition import RowMode, select_detectors
from .checks import (
    check_count,
    check_dwell,
    check_energies,
    check_energy_regions,
    check_polarizations,
)


def line_spectrum(
    beamline: Beamline,
    *,
    start_um: tuple[float, float],
    stop_um: tuple[float, float],
    n_points: int,
    energy_regions: Sequence[tuple[float, float, int]],
    polarization: str = "CircLeft",
    dwell_ms: float = 1.0,
    mode: str = "line",
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """The line from ``start_um`` to ``stop_um`` ((x, y), fine stage) at each energy.

    Flown (mode='line') when the line is horizontal, else stepped (mode='step').
    """
    plan_args = {k: v for k, v in locals().items() if k != "beamline"}
    check_count(n_points, "n_points")
    energies = check_energy_regions(energy_regions)
    row_mode = RowMode(mode)
    select_detectors(beamline, detectors, row_mode)
    request = ScanRequest(
        ScanType.SAMPLE_LINE_SPECTRA,
        "line_spectrum",
        plan_args,
        check_dwell(dwell_ms),
        mode=row_mode,
        detector_names=tuple(detectors),
        md=md or {},
    )
    xs, ys = line_points(tuple(start_um), tuple(stop_um), n_points)
    line = Line("SampleFineX", xs, "SampleFineY", ys)
    rows = Rows(beamline.energy, energies, "energy_regions", limits=beamline.energy.mono)

    def plan():
        yield from check_energies(beamline, energies, "energy_regions")
        check_polarizations(beamline.epu.polarization, [polarization])
        yield from check_line_scan(beamline, line, rows, row_mode, request.dwell_ms)
        yield from bps.mv(beamline.epu.polarization, polarization)
        return (
            yield from line_run(
                beamline,
                request,
                line,
                rows,
                energies=energies,
                polarizations=[Polarization(polarization)],
            )
        )

    return plan()
