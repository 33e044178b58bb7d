"""Focus scans: sample focus (type 3) and OSA focus (type 2), a line at each zone-plate Z.

The sharpest line marks the focus; the sweep is centred on the focus the energy
positioner expects (A1·E + offset) at the energy when the plan runs, so a scan reads
as "how far off is the calibration".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bluesky import plan_stubs as bps
from bluesky.utils import MsgGenerator

from nxstxm.contract import Polarization, Roi, ScanType
from stxm_devices import Beamline

from ._image import current_energy
from ._lines import Line, Rows, check_line_scan, line_run
from ._patterns import axis_points
from ._runs import ScanRequest
from .acquisition import RowMode, returning, select_detectors
from .checks import check_count, check_dwell
from .metadata import positioner


def _focus_scan(
    beamline: Beamline, request: ScanRequest, line: Line, zp_range_um: float, zp_npoints: int
) -> MsgGenerator:
    """The line at ``zp_npoints`` zone-plate Z over ``zp_range_um`` around today's focus."""

    def scan():
        energies = yield from current_energy(beamline)
        a1 = float((yield from bps.rd(beamline.energy.a1)))
        offset = float((yield from bps.rd(beamline.energy.focus_offset)))
        zp_values = axis_points(a1 * float(energies[0]) + offset, zp_range_um, zp_npoints)
        rows = Rows(beamline.zoneplate.z, zp_values, "zp_range_um (zone-plate Z)")
        yield from check_line_scan(beamline, line, rows, request.mode, request.dwell_ms)
        return (
            yield from line_run(
                beamline,
                request,
                line,
                rows,
                energies=energies,
                polarizations=[Polarization()],
                zp=Roi.of("ZonePlateZ", zp_values),
            )
        )

    # Zone plate and the scanned stage go back: an OSA left off axis, or a defocused
    # zone plate, would spoil every later scan.
    movers = [beamline.zoneplate.z, *(positioner(beamline, n) for n in (line.x_name, line.y_name))]
    return returning(scan(), movers)


def _focus_request(
    beamline: Beamline,
    scan_type: ScanType,
    plan_name: str,
    plan_args: Mapping[str, Any],
    mode: RowMode,
    detectors: Sequence[str],
    md: Mapping[str, Any] | None,
) -> ScanRequest:
    """A focus scan's request: its counts and detectors checked."""
    check_count(plan_args["n_points"], "n_points")
    check_count(plan_args["n_zp"], "n_zp")
    select_detectors(beamline, detectors, mode)
    return ScanRequest(
        scan_type,
        plan_name,
        plan_args,
        check_dwell(plan_args["dwell_ms"]),
        mode=mode,
        detector_names=tuple(detectors),
        md=md or {},
    )


def sample_focus(
    beamline: Beamline,
    *,
    x_start_um: float,
    x_stop_um: float,
    y_um: float,
    n_points: int = 100,
    zp_range_um: float = 20.0,
    n_zp: int = 21,
    dwell_ms: float = 1.0,
    mode: str = "line",
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """A line across a sharp feature (fine stage, µm) at each zone-plate Z around focus."""
    plan_args = {k: v for k, v in locals().items() if k != "beamline"}
    request = _focus_request(
        beamline,
        ScanType.SAMPLE_FOCUS,
        "sample_focus",
        plan_args,
        RowMode(mode),
        detectors,
        md,
    )
    line = Line(
        "SampleFineX",
        np.linspace(x_start_um, x_stop_um, n_points),
        "SampleFineY",
        np.full(n_points, float(y_um)),
    )
    return _focus_scan(beamline, request, line, zp_range_um, n_zp)


def osa_focus(
    beamline: Beamline,
    *,
    x_start_um: float = -40.0,
    x_stop_um: float = 40.0,
    y_um: float = 0.0,
    n_points: int = 81,
    zp_range_um: float = 400.0,
    n_zp: int = 21,
    dwell_ms: float = 1.0,
    detectors: Sequence[str] = ("counter",),
    md: Mapping[str, Any] | None = None,
) -> MsgGenerator:
    """A line of the OSA across the beam (OSA stage, µm) at each zone-plate Z."""
    plan_args = {k: v for k, v in locals().items() if k != "beamline"}
    request = _focus_request(
        beamline,
        ScanType.OSA_FOCUS,
        "osa_focus",
        plan_args,
        RowMode.STEP,
        detectors,
        md,
    )
    line = Line(
        "OSAX", np.linspace(x_start_um, x_stop_um, n_points), "OSAY", np.full(n_points, float(y_um))
    )
    return _focus_scan(beamline, request, line, zp_range_um, n_zp)
