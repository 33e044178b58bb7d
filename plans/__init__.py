"""Bluesky plans, one per STXM scan type, carrying the standard scan metadata.

Every plan takes the beamline (``stxm_devices.make_beamline``) first, geometry as
keyword arguments in µm / eV / ms, and ``md`` last; it checks its arguments against the
motors' limits before anything moves and raises :class:`PlanArgumentError` naming the
argument.  ``stxm_devices.startup`` binds the beamline so that ``RE(stxm_image(...))``.
"""

from .acquisition import RowMode
from .checks import PlanArgumentError, rehearse
from .focus import osa_focus, sample_focus
from .generic_scan import generic_scan
from .image_stack import image_stack
from .line_spectrum import line_spectrum
from .pattern_gen import pattern_gen
from .point_spectra import point_spectra
from .ptycho_scan import ptycho_scan
from .regions import Region
from .stage_images import coarse_image, detector_image, goni_image, osa_image
from .stxm_image import stxm_image
from .tomography import tomography

#: Every plan by name (the startup profile binds each to the beamline).
PLANS = {
    plan.__name__: plan
    for plan in (
        stxm_image,
        image_stack,
        point_spectra,
        line_spectrum,
        sample_focus,
        osa_focus,
        osa_image,
        detector_image,
        coarse_image,
        goni_image,
        generic_scan,
        tomography,
        pattern_gen,
        ptycho_scan,
    )
}

__all__ = [
    "PLANS",
    "PlanArgumentError",
    "Region",
    "RowMode",
    "rehearse",
    "coarse_image",
    "detector_image",
    "generic_scan",
    "goni_image",
    "image_stack",
    "line_spectrum",
    "osa_focus",
    "osa_image",
    "pattern_gen",
    "point_spectra",
    "ptycho_scan",
    "sample_focus",
    "stxm_image",
    "tomography",
]
