"""The virtual STXM's physics: pure numpy, no Channel Access, testable alone.

``optics`` (zone plate, probe, OSA), ``sample`` (materials and the phantom) and
``model`` (``StxmModel``, which turns a ``BeamState`` into counts).
"""

from .model import BeamState, StxmModel
from .optics import ZONE_PLATES, Osa, ZonePlate, photon_wavelength_nm
from .sample import MATERIALS, POLARIZATIONS, Material, Phantom

__all__ = [
    "MATERIALS",
    "POLARIZATIONS",
    "ZONE_PLATES",
    "BeamState",
    "Material",
    "Osa",
    "Phantom",
    "StxmModel",
    "ZonePlate",
    "photon_wavelength_nm",
]
