"""The area detector ``det1`` (the detector IOC): ophyd's areaDetector classes, file store.

``AreaDetector`` streams every frame of a run into one HDF5 file (ophyd's
``FileStoreHDF5IterativeWrite``, spec AD_HDF5); ``SingleFileAreaDetector`` writes one
file per frame (``FileStoreHDF5SingleIterativeWrite``, spec AD_HDF5_SINGLE, as in the
apstools single-mode recipe).  Both are ``SingleTrigger`` + ``DetectorBase`` with the
camera, HDF5, Stats, ROI and image plugins; the image key (a datum of the HDF5 plugin)
and the Stats total reach every event.

Where stock ophyd waits forever or reports only "Path does not exist", these devices
raise ``DetectorWriteError`` with the IOC's WriteMessage: at stage when FilePath cannot
be made or Capture cannot open the file, at trigger when a frame could not be written.
"""

from __future__ import annotations

import threading
import time

from apstools.devices import SimDetectorCam_V34, SingleTrigger_V34
from ophyd import ADComponent as ADCpt
from ophyd import DetectorBase, EpicsSignalRO, EpicsSignalWithRBV, Staged
from ophyd.areadetector.filestore_mixins import (
    FileStoreHDF5IterativeWrite,
    FileStoreHDF5SingleIterativeWrite,
)
from ophyd.areadetector.plugins import (
    HDF5Plugin_V34,
    ImagePlugin_V34,
    ROIPlugin_V34,
    StatsPlugin_V34,
)
from ophyd.status import DeviceStatus

#: Where the IOC writes unless told otherwise (strftime codes allowed; ends with "/").
DEFAULT_WRITE_PATH = "/tmp/stxm/det1/%Y/%m/%d/"
#: Seconds a put to the IOC may take (opening a file on a slow disk included).
PUT_TIMEOUT_S = 10.0


class DetectorWriteError(RuntimeError):
    """The detector IOC could not write a file; the message is its WriteMessage."""


def write_error(plugin, context: str) -> DetectorWriteError | None:
    """The IOC's write error (WriteStatus, WriteMessage) as an exception, if there is one."""
    if not plugin.write_status.get(use_monitor=False):
        return None
    message = plugin.write_message.get(use_monitor=False)
    return DetectorWriteError(f"{plugin.prefix} {context}: {message}")


class CaptureSignal(EpicsSignalWithRBV):
    """Capture that fails with the IOC's WriteMessage when the file does not open.

    The IOC answers a Capture put once the file is open (or failed to open); stock
    ophyd would instead wait forever for Capture_RBV.
    """

    def _set_and_wait(self, value, timeout, **kwargs):
        if value in (0, "Done"):
            return super()._set_and_wait(value, timeout, **kwargs)
        answered = threading.Event()
        self.put(value, use_complete=True, callback=lambda **_: answered.set())
        if not answered.wait(timeout or PUT_TIMEOUT_S):
            raise TimeoutError(f"{self.setpoint_pvname} did not answer in {PUT_TIMEOUT_S} s")
        error = write_error(self.parent, "Capture")
        if error is not None:
            raise error
        # Not super()._set_and_wait: it would put Capture again, and a second Capture
        # opens a second file.  The IOC set Capture_RBV before answering; read it fresh.
        if self.get(use_monitor=False) not in (1, "Capture", "Capturing"):
            raise DetectorWriteError(f"{self.pvname}: Capture did not start")


class IocWrittenFiles:
    """Mixin for an HDF5 plugin whose files the IOC writes: paths made first, errors raised.

    ``create_directory_depth`` (AD's CreateDirectory, −3: at most the last three levels)
    is put before FilePath, since the IOC creates directories when FilePath is put.
    """

    create_directory_depth = -3
    #: Build offline (make_beamline(connect=False)); signals still connect before use.
    lazy_wait_for_connection = False

    def make_filename(self):
        filename, read_path, write_path = super().make_filename()
        self.create_directory.set(self.create_directory_depth).wait(PUT_TIMEOUT_S)
        self.file_path.set(write_path).wait(PUT_TIMEOUT_S)
        error = write_error(self, "FilePath")
        if error is not None or not self.file_path_exists.get(use_monitor=False):
            raise error or DetectorWriteError(f"{self.prefix} FilePath {write_path} missing")
        return filename, read_path, write_path


class StreamHDF5Plugin(IocWrittenFiles, FileStoreHDF5IterativeWrite, HDF5Plugin_V34):
    """HDF1 streaming a run's frames into one file (spec AD_HDF5), SWMR on."""

    capture = ADCpt(CaptureSignal, "Capture")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stage_sigs["swmr_mode"] = "On"
        self.stage_sigs.move_to_end("capture")


class SingleHDF5Plugin(IocWrittenFiles, FileStoreHDF5SingleIterativeWrite, HDF5Plugin_V34):
    """HDF1 writing one file per frame (spec AD_HDF5_SINGLE); Capture is not used."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stage_sigs.pop("capture", None)


class DetectorCam(SimDetectorCam_V34):
    """The camera: one frame per trigger; AcquireBusy waits for the file to be written."""

    lazy_wait_for_connection = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stage_sigs.update(
            num_images=1, num_exposures=1, wait_for_plugins="Yes", array_callbacks="Enable"
        )


class TotalStats(StatsPlugin_V34):
    """Stats1 with its total in every event (the per-frame sum NXstxm shows as an image)."""

    lazy_wait_for_connection = False
    _default_read_attrs = ("total",)
    total = ADCpt(EpicsSignalRO, "Total_RBV", kind="hinted", lazy=False)


class _AreaDetector(SingleTrigger_V34, DetectorBase):
    """Camera and plugins shared by both file layouts (subclasses add ``hdf1``).

    Attributes
    ----------
    cam : acquire_time (s, NXstxm count_time), num_images, image_mode, size …
    hdf1 : the file writer; its datum key ``<name>_image`` holds each frame —
        NXstxm ``instrument/<det>/data`` links to the files it wrote
    stats1 : ``total`` per frame, counts — an NXdata image beside the frames
    roi1 : MinX/MinY, SizeX/SizeY of a region (feed Stats1 from ROI1 for a region total)
    image1 : the last frame as a waveform
    """

    lazy_wait_for_connection = False
    #: ADBase reads nothing by default; the frame's datum and the total go in every event.
    _default_read_attrs = ("hdf1", "stats1")
    cam = ADCpt(DetectorCam, "cam1:")
    stats1 = ADCpt(TotalStats, "Stats1:")
    roi1 = ADCpt(ROIPlugin_V34, "ROI1:")
    image1 = ADCpt(ImagePlugin_V34, "image1:")

    def __init__(
        self,
        prefix: str,
        name: str = "",
        *,
        write_path_template: str = DEFAULT_WRITE_PATH,
        read_path_template: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(prefix, name=name, **kwargs)
        self.hdf1.write_path_template = write_path_template
        self.hdf1.read_path_template = read_path_template

    def trigger(self) -> DeviceStatus:
        """Acquire one frame; fail with the IOC's WriteMessage if it was not written.

        SingleTrigger's own ``trigger`` returns ``self._status``, which its callback
        resets to None when a fast frame is done before ``trigger`` returns; the status
        is kept in a local here.
        """
        if self._staged != Staged.yes:
            raise RuntimeError(f"{self.name} is not staged: stage it before triggering")
        acquired = self._status = self._status_type(self)
        self._acquisition_signal.put(1, wait=False)
        self.generate_datum(self._image_name, time.time(), {})
        status = DeviceStatus(self)

        def check() -> None:
            if not acquired.success:
                status.set_exception(acquired.exception())
                return
            error = write_error(self.hdf1, f"frame {self.cam.array_counter.get()}")
            if error is None:
                status.set_finished()
            else:
                status.set_exception(error)

        # A thread of its own: the check reads PVs, which a CA callback must not wait for.
        acquired.add_callback(lambda _: threading.Thread(target=check, daemon=True).start())
        return status


class AreaDetector(_AreaDetector):
    """The STXM's area detector, a run's frames streamed into one HDF5 file (AD_HDF5)."""

    hdf1 = ADCpt(StreamHDF5Plugin, "HDF1:", write_path_template=DEFAULT_WRITE_PATH, kind="normal")


class SingleFileAreaDetector(_AreaDetector):
    """The STXM's area detector, one HDF5 file per frame (AD_HDF5_SINGLE)."""

    hdf1 = ADCpt(SingleHDF5Plugin, "HDF1:", write_path_template=DEFAULT_WRITE_PATH, kind="normal")
