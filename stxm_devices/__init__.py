"""ophyd devices for a scanning transmission X-ray microscope, and the beamline factory.

``make_beamline(prefix)`` builds every device; ``stxm_devices.startup`` is the IPython
profile entry point; ``nxstxm`` assembles NXstxm files from documents.
"""

from .beamline import Beamline, BeamlineConnectionError, make_beamline
from .counter import CounterError, CounterMode, PointCounter
from .detector import AreaDetector, DetectorWriteError, SingleFileAreaDetector
from .energy import Epu, FocusedEnergy, Polarization
from .osa import Osa
from .stage import Goniometer, SampleStage
from .zoneplate import ZonePlate

__all__ = [
    "AreaDetector",
    "Beamline",
    "BeamlineConnectionError",
    "CounterError",
    "CounterMode",
    "DetectorWriteError",
    "Epu",
    "FocusedEnergy",
    "Goniometer",
    "Osa",
    "PointCounter",
    "Polarization",
    "SampleStage",
    "SingleFileAreaDetector",
    "ZonePlate",
    "make_beamline",
]
