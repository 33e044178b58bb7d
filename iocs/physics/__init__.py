"""The virtual STXM's physics: pure numpy, no Channel Access, testable alone.

``optics`` (zone plate, probe, OSA), ``sample`` (materials and the phantom),
``model`` (``StxmModel``, which turns a ``BeamState`` into counts) and ``diffraction``
(``FarFieldDetector``, the area detector's far-field frames; ``FrameSeries``, many of
them at the cost of their noise).
"""

from .diffraction import SIM_CAMERA_MODEL, FarFieldDetector, FrameSeries, poisson_counts
from .model import BeamState, StxmModel
from .optics import DETECTOR_APERTURE, ZONE_PLATES, Aperture, Osa, ZonePlate, photon_wavelength_nm
from .sample import MATERIALS, POLARIZATIONS, Material, Phantom

__all__ = [
    "DETECTOR_APERTURE",
    "MATERIALS",
    "POLARIZATIONS",
    "SIM_CAMERA_MODEL",
    "ZONE_PLATES",
    "Aperture",
    "BeamState",
    "FarFieldDetector",
    "FrameSeries",
    "Material",
    "Osa",
    "Phantom",
    "StxmModel",
    "ZonePlate",
    "photon_wavelength_nm",
    "poisson_counts",
]
