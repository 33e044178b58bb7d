"""One small, fast call of every plan, and what its NXstxm file's default NXdata holds.

Shared by the plan tests and the live assembler tests, so both run the same scans.
The OSA and detector images stay near the beam (their counts stay > 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bluesky.utils import MsgGenerator

import plans
from stxm_devices import Beamline

REGION = plans.Region(0.0, 4.0, 5, 0.0, 4.0, 4)
ENERGIES = [(700.0, 710.0, 2)]


@dataclass(frozen=True)
class PlanCase:
    """A plan factory, and the @axes and shape of the default NXdata it makes.

    ``shape`` None: one value per point visited (``scan_positions`` in the start).
    """

    make: Callable[[Beamline], MsgGenerator]
    axes: list[str]
    shape: tuple[int, ...] | None


PLAN_CASES: dict[str, PlanCase] = {
    "stxm_image": PlanCase(
        lambda b: plans.stxm_image(
            b, x_center_um=0, x_range_um=4, nx=6, y_center_um=0, y_range_um=4, ny=3
        ),
        ["sample_y", "sample_x"],
        (3, 6),
    ),
    "image_stack": PlanCase(
        lambda b: plans.image_stack(b, regions=[REGION], energy_regions=ENERGIES),
        ["energy", "sample_y", "sample_x"],
        (2, 4, 5),
    ),
    "point_spectra": PlanCase(  # the 1-D default beside MANTiS's (2, 1, 1)
        lambda b: plans.point_spectra(b, points_um=[(0, 0), (2, 1)], energy_regions=ENERGIES),
        ["energy"],
        (2,),
    ),
    "line_spectrum": PlanCase(
        lambda b: plans.line_spectrum(
            b, start_um=(-2, 0), stop_um=(2, 0), n_points=8, energy_regions=ENERGIES
        ),
        ["energy", "line_position"],
        (2, 8),
    ),
    "sample_focus": PlanCase(
        lambda b: plans.sample_focus(
            b, x_start_um=-1, x_stop_um=1, y_um=0, n_points=10, zp_range_um=4, n_zp=3
        ),
        ["zoneplate_z", "line_position"],
        (3, 10),
    ),
    "osa_focus": PlanCase(
        lambda b: plans.osa_focus(b, n_points=5, zp_range_um=40, n_zp=3),
        ["zoneplate_z", "line_position"],
        (3, 5),
    ),
    "osa_image": PlanCase(
        lambda b: plans.osa_image(b, region=plans.Region(0, 20, 4, 0, 20, 3)),
        ["sample_y", "sample_x"],
        (3, 4),
    ),
    "detector_image": PlanCase(
        lambda b: plans.detector_image(b, region=plans.Region(0, 300, 4, 0, 300, 3)),
        ["sample_y", "sample_x"],
        (3, 4),
    ),
    "coarse_image": PlanCase(
        lambda b: plans.coarse_image(b, region=plans.Region(0, 50, 3, 0, 50, 3)),
        ["sample_y", "sample_x"],
        (3, 3),
    ),
    "goni_image": PlanCase(
        lambda b: plans.goni_image(b, region=plans.Region(0, 20, 3, 0, 20, 3)),
        ["sample_y", "sample_x"],
        (3, 3),
    ),
    "generic_scan": PlanCase(
        lambda b: plans.generic_scan(b, b.osa.z, start=-510, stop=-490, npoints=4),
        ["sample_x"],
        (4,),
    ),
    "tomography": PlanCase(
        lambda b: plans.tomography(
            b, angles_deg=[-10, 10], region=REGION, energy_regions=[(700, 700, 1)]
        ),
        ["energy", "sample_y", "sample_x"],
        (1, 4, 5),
    ),
    "pattern_gen": PlanCase(
        lambda b: plans.pattern_gen(
            b, x_center_um=0, y_center_um=0, pads=2, pad_points=2, gap_points=1
        ),
        ["sample_y", "sample_x"],
        (5, 5),
    ),
    "ptycho_scan": PlanCase(  # a spiral: one value per point
        lambda b: plans.ptycho_scan(
            b, spiral_center_um=(0, 0), spiral_radius_um=0.5, spiral_step_um=0.25, dwell_ms=2
        ),
        ["sample_x"],
        None,
    ),
}
