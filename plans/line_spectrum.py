"""Sample line spectrum (scan type 5): a line across the sample at every energy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.scan_types import ScanType
from stxm_devices import Beamline

from ._lines import Line, Rows, check_line_scan, line_run
from ._patterns import energy_points, line_points
from ._runs import ScanLabel
from ._stack import check_energies, check_polarizations
from .acquisition import RowMode
from .checks import check_count
from .metadata import PolarizationSetting, ScanGroup


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
    xs, ys = line_points(tuple(start_um), tuple(stop_um), n_points)
    line = Line("SampleFineX", xs, "SampleFineY", ys)
    energies = energy_points(list(energy_regions))
    check_energies(beamline, energies, "energy_regions")
    check_polarizations(beamline, [polarization])
    rows = Rows(beamline.energy, energies, "energy_regions")
    row_mode = RowMode(mode)
    check_line_scan(
        beamline, line, Rows(beamline.energy.mono, energies, rows.argument), row_mode, dwell_ms
    )
    label = ScanLabel(
        ScanType.SAMPLE_LINE_SPECTRA, "line_spectrum", plan_args, dwell_ms, ScanGroup(1)
    )

    def plan():
        yield from bps.mv(beamline.epu.polarization, polarization)
        return (
            yield from line_run(
                beamline,
                label,
                line,
                rows,
                mode=row_mode,
                detector_names=detectors,
                energies=energies,
                polarizations=[PolarizationSetting(polarization)],
                md=md,
            )
        )

    return plan()
