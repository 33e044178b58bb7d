"""Geometry of the cameras this package knows by model name (the ``.ptyd`` needs it).

A far-field frame's sample-plane sampling follows from the detector pixel and its
distance; a camera reports neither over areaDetector, so a known model's are listed
here and any other camera's are given to the plan.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CameraGeometry:
    """A camera ``width_mm`` wide, ``distance_mm`` behind the sample."""

    model: str
    width_mm: float
    distance_mm: float

    def pixel_um(self, columns: int) -> float:
        """The pixel (µm) when the width is read out as ``columns`` pixels (binning grows it)."""
        return self.width_mm * 1e3 / columns


#: The simulated far-field camera (``iocs.physics.FarFieldDetector``; a test keeps them equal).
SIM_CAMERA = CameraGeometry(model="Far-field diffraction", width_mm=14.08, distance_mm=100.0)

#: Known cameras by the model name their driver reports (``cam1:Model_RBV``).
KNOWN_CAMERAS: dict[str, CameraGeometry] = {SIM_CAMERA.model: SIM_CAMERA}
