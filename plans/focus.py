"""Focus scans: sample focus (type 3) and OSA focus (type 2), a line at each zone-plate Z.

The sharpest line marks the focus; the sweep is centred on the focus the energy
positioner expects (A1·E + offset), so a scan reads as "how far off is the calibration".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from bluesky import preprocessors as bpp
from bluesky.utils import MsgGenerator

from nxstxm.scan_types import ScanType
from stxm_devices import Beamline

from ._lines import Line, Rows, check_line_scan, line_run
from ._patterns import axis_points
from ._runs import ScanLabel
from .acquisition import RowMode
from .checks import check_count
from .metadata import DESCRIPTIVE_NAMES, PolarizationSetting, ScanGroup, resolve, roi


def _focus_scan(
    beamline: Beamline,
    scan_type: ScanType,
    plan_name: str,
    plan_args: Mapping[str, Any],
    line: Line,
    *,
    zp_range_um: float,
    n_zp: int,
    dwell_ms: float,
    mode: RowMode,
    detectors: Sequence[str],
    md: Mapping[str, Any] | None,
) -> MsgGenerator:
    check_count(n_zp, "n_zp")
    energy = float(beamline.energy.mono.position)
    zp_values = axis_points(beamline.energy.focus_z(energy), zp_range_um, n_zp)
    rows = Rows(beamline.zoneplate.z, zp_values, "zp_range_um (zone-plate Z)")
    check_line_scan(beamline, line, rows, mode, dwell_ms)
    label = ScanLabel(scan_type, plan_name, plan_args, dwell_ms, ScanGroup(1))
    plan = line_run(
        beamline,
        label,
        line,
        rows,
        mode=mode,
        detector_names=detectors,
        energies=np.array([energy]),
        polarizations=[PolarizationSetting()],
        zp={"Z": roi("ZonePlateZ", "ZonePlateZ", zp_values)},
        md=md,
    )
    # Zone plate and the scanned stage go back: an OSA left off axis, or a defocused
    # zone plate, would spoil every later scan.
    movers = [
        beamline.zoneplate.z,
        *(resolve(beamline, DESCRIPTIVE_NAMES[name]) for name in (line.x_name, line.y_name)),
    ]
    return bpp.reset_positions_wrapper(plan, movers)


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
    check_count(n_points, "n_points")
    line = Line(
        "SampleFineX",
        np.linspace(x_start_um, x_stop_um, n_points),
        "SampleFineY",
        np.full(n_points, float(y_um)),
    )
    return _focus_scan(
        beamline,
        ScanType.SAMPLE_FOCUS,
        "sample_focus",
        plan_args,
        line,
        zp_range_um=zp_range_um,
        n_zp=n_zp,
        dwell_ms=dwell_ms,
        mode=RowMode(mode),
        detectors=detectors,
        md=md,
    )


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
    check_count(n_points, "n_points")
    line = Line(
        "OSAX", np.linspace(x_start_um, x_stop_um, n_points), "OSAY", np.full(n_points, float(y_um))
    )
    return _focus_scan(
        beamline,
        ScanType.OSA_FOCUS,
        "osa_focus",
        plan_args,
        line,
        zp_range_um=zp_range_um,
        n_zp=n_zp,
        dwell_ms=dwell_ms,
        mode=RowMode.STEP,
        detectors=detectors,
        md=md,
    )
