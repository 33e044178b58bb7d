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
A trigger cannot hang: it fails when the detector IOC disconnects (naming the PV) or
when the frames are not done AcquireTime × NumImages + ``acquire_timeout_margin_s``
after the trigger.  LazyOpen is staged No, so the file is open (and named) at stage
whatever another client left; the IOC may create every level of the write path below
its top directory, so the default path works on a fresh machine.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import PurePosixPath

from apstools.devices import SimDetectorCam_V34, SingleTrigger_V34
from ophyd import ADComponent as ADCpt
from ophyd import Component as Cpt
from ophyd import DetectorBase, Device, EpicsSignalRO, EpicsSignalWithRBV, Staged
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

from .channel_access import (
    PUT_TIMEOUT_S,
    CleanUnstage,
    NamedIocErrors,
    fresh_read,
    guard_status,
    naming_the_ioc,
    settle_status,
)

#: Where the IOC writes unless told otherwise (strftime codes allowed; ends with "/").
#: Only its top directory (/tmp) must exist: the IOC creates the levels below it.
DEFAULT_WRITE_PATH = "/tmp/stxm/det1/%Y/%m/%d/"


class DetectorWriteError(RuntimeError):
    """The detector IOC could not write a file; the message is its WriteMessage."""


def write_error(plugin, context: str) -> DetectorWriteError | None:
    """The IOC's write error (WriteStatus, WriteMessage) as an exception, if there is one."""
    if not fresh_read(plugin.write_status):
        return None
    message = fresh_read(plugin.write_message)
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


class SettingsTogether:
    """Mixin: a device's ``stage_sigs`` put at once and waited together, not one by one.

    ophyd's stage sets each stage_sig in turn, each a put and a read-back: two round
    trips to the IOC after one another, ~30 of them for this detector.  The camera's and
    the plugins' settings do not depend on each other's order (counts, modes, enables,
    the file name's parts), so their originals are read, then all are set at once and
    their statuses waited together; those named in ``staged_after`` (HDF1's Capture,
    which opens the file the others describe) follow, in order.  The device's children
    are staged first (they have no settings here); unstaging is ophyd's (in reverse).
    """

    #: stage_sigs keys set after the others have completed, in order.
    staged_after: tuple[str, ...] = ()

    def stage(self) -> list:
        settings, self.stage_sigs = self.stage_sigs, OrderedDict()
        try:
            staged = super().stage()
        finally:
            self.stage_sigs = settings
        try:
            self._set_together(settings)
        except Exception:
            self.unstage()
            raise
        return staged

    def _set_together(self, settings: OrderedDict) -> None:
        first = [(key, value) for key, value in settings.items() if key not in self.staged_after]
        then = [(key, value) for key, value in settings.items() if key in self.staged_after]
        signals = {key: getattr(self, key) if isinstance(key, str) else key for key in settings}
        originals = {key: signals[key].get() for key in settings}
        statuses = []
        for key, value in first:
            statuses.append(signals[key].set(value))
            self._original_vals[signals[key]] = originals[key]  # restored even if it failed
        errors = []
        for status in statuses:
            try:
                status.wait()
            except Exception as error:  # noqa: BLE001 - every status waited, the first raised
                errors.append(error)
        if errors:
            raise errors[0]
        for key, value in then:
            signals[key].set(value).wait()
            self._original_vals[signals[key]] = originals[key]


class IocWrittenFiles:
    """Mixin for an HDF5 plugin whose files the IOC writes: paths made first, errors raised.

    ``create_directory_depth`` (AD's CreateDirectory) is put before FilePath, since the
    IOC creates directories when FilePath is put.  None (the default): −(levels − 1),
    every level below the path's top directory, so ``/tmp/stxm/det1/%Y/%m/%d/`` needs
    only /tmp; a typo in the top directory still fails rather than creating it.
    """

    create_directory_depth: int | None = None
    #: Build offline (make_beamline(connect=False)); signals still connect before use.
    lazy_wait_for_connection = False

    def directory_depth(self, write_path: str) -> int:
        """CreateDirectory for ``write_path``: the set depth, or all below the top level."""
        if self.create_directory_depth is not None:
            return self.create_directory_depth
        levels = len([part for part in PurePosixPath(write_path).parts if part != "/"])
        return -max(levels - 1, 1)

    def make_filename(self):
        filename, read_path, write_path = super().make_filename()
        depth = self.directory_depth(write_path)
        self.create_directory.set(depth).wait(PUT_TIMEOUT_S)
        self.file_path.set(write_path).wait(PUT_TIMEOUT_S)
        error = write_error(self, "FilePath")
        if error is not None or not self.file_path_exists.get(use_monitor=False):
            raise error or DetectorWriteError(f"{self.prefix} FilePath {write_path} missing")
        return filename, read_path, write_path


class StreamHDF5Plugin(
    IocWrittenFiles, FileStoreHDF5IterativeWrite, SettingsTogether, HDF5Plugin_V34
):
    """HDF1 streaming a run's frames into one file (spec AD_HDF5), SWMR on.

    LazyOpen is staged No: Capture opens the file (and advances FileNumber) at once,
    so the name the resource gives is the file's, whatever another client left set
    (under LazyOpen ADCore would open it, and advance the number, at the first frame).
    Capture is staged after the other settings have completed.
    """

    capture = ADCpt(CaptureSignal, "Capture")
    staged_after = ("capture",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stage_sigs["swmr_mode"] = "On"
        self.stage_sigs["lazy_open"] = "No"
        self.stage_sigs.move_to_end("capture")


class SingleHDF5Plugin(
    IocWrittenFiles, FileStoreHDF5SingleIterativeWrite, SettingsTogether, HDF5Plugin_V34
):
    """HDF1 writing one file per frame (spec AD_HDF5_SINGLE); Capture is not used."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stage_sigs.pop("capture", None)


class DetectorCam(SettingsTogether, SimDetectorCam_V34):
    """The camera: one frame per trigger; AcquireBusy waits for the file to be written.

    TriggerMode is staged Internal: a fly scan sets External (start with fine X's
    motion) for its own rows only, and a camera left so would wait for motion.
    """

    lazy_wait_for_connection = False
    #: TriggerMode External: series of NumImages frames per acquisition (ADEiger's record;
    #: the sim's camera has it, a real ADSimDetector not: used by fly scans only, never
    #: staged, so a real camera connects, stages and counts without it).
    num_triggers = ADCpt(EpicsSignalWithRBV, "NumTriggers", auto_monitor=True, lazy=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stage_sigs.update(
            num_images=1,
            num_exposures=1,
            wait_for_plugins="Yes",
            array_callbacks="Enable",
            trigger_mode="Internal",
        )


class TotalStats(SettingsTogether, StatsPlugin_V34):
    """Stats1 with its total in every event (the per-frame sum NXstxm shows as an image)."""

    lazy_wait_for_connection = False
    _default_read_attrs = ("total",)
    total = ADCpt(EpicsSignalRO, "Total_RBV", kind="hinted", lazy=False)


class RegionPlugin(SettingsTogether, ROIPlugin_V34):
    """ROI1, its settings staged together."""


class ArrayPlugin(SettingsTogether, ImagePlugin_V34):
    """image1 (the last frame as a waveform), its settings staged together."""


class FrameRecord(Device):
    """``FrameRec:``: per frame of the last acquisition, where the stage was and its total.

    Fine X/Y (µm) at each frame's mid-exposure from the stage controller's position
    record, that time (POSIX s) and the frame's total counts: a fly scan's per-frame
    positions, read as each row ends.  The IOC posts them after each series (a
    raster's row) and before NumFrames_RBV and Acquire drop.  NumFrames_RBV is
    monitored; the arrays are read (a get each) once NumFrames_RBV shows a row: a
    monitor of each would cost the client more than the read, as pyepics formats every
    array update it receives as text (``repr``, ~3 µs an element: ~0.3 s of CPU over a
    900-frame raster, taken from the IOC rendering the frames on the same machine).
    """

    #: Frames the IOC's records keep (the latest): a fly raster records at most so many.
    max_frames = 4096
    num_frames = Cpt(EpicsSignalRO, "NumFrames_RBV", auto_monitor=True)
    fine_x = Cpt(EpicsSignalRO, "FineX_RBV")
    fine_y = Cpt(EpicsSignalRO, "FineY_RBV")
    mid_time = Cpt(EpicsSignalRO, "MidTime_RBV")
    total = Cpt(EpicsSignalRO, "Total_RBV")


class _AreaDetector(NamedIocErrors, CleanUnstage, SingleTrigger_V34, DetectorBase):
    """Camera and plugins shared by both file layouts (subclasses add ``hdf1``).

    Attributes
    ----------
    cam : acquire_time (s, NXstxm count_time), num_images, image_mode, size …
    hdf1 : the file writer; its datum key ``<name>_image`` holds each frame —
        NXstxm ``instrument/<det>/data`` links to the files it wrote
    stats1 : ``total`` per frame, counts — an NXdata image beside the frames
    roi1 : MinX/MinY, SizeX/SizeY of a region (feed Stats1 from ROI1 for a region total)
    image1 : the last frame as a waveform
    frame_record : per frame of a series, fine X/Y mid-exposure and total (fly scans)
    """

    lazy_wait_for_connection = False
    #: Seconds allowed beyond AcquireTime × NumImages before a trigger times out (file
    #: writing and plugin time included).
    acquire_timeout_margin_s = 10.0
    #: ADBase reads nothing by default; the frame's datum and the total go in every event.
    _default_read_attrs = ("hdf1", "stats1")
    cam = ADCpt(DetectorCam, "cam1:")
    stats1 = ADCpt(TotalStats, "Stats1:")
    roi1 = ADCpt(RegionPlugin, "ROI1:")
    image1 = ADCpt(ArrayPlugin, "image1:")
    frame_record = Cpt(FrameRecord, "FrameRec:", kind="omitted")

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
        self._trigger_datum: str | None = None
        self.hdf1.write_path_template = write_path_template
        self.hdf1.read_path_template = read_path_template

    def expected_acquire_s(self) -> float:
        """How long one trigger's frames take: the period × NumImages × NumTriggers.

        The period is max(AcquireTime, AcquirePeriod); NumTriggers counts only once a fly
        scan has connected it (a fly raster's rows, externally triggered): a camera
        without that record is read as one series.
        """
        cam = self.cam
        frame_s = max(float(cam.acquire_time.get()), float(cam.acquire_period.get()))
        series = max(int(cam.num_triggers.get()), 1) if cam.num_triggers.connected else 1
        return frame_s * max(int(cam.num_images.get()), 1) * series

    def trigger(self) -> DeviceStatus:
        """Acquire; fail with the IOC's WriteMessage if a frame was not written.

        The status fails too when the detector IOC disconnects (``IocDisconnectedError``)
        or the frames take longer than ``expected_acquire_s`` + the margin
        (``IocTimeoutError``) — stock ophyd waits for AcquireBusy forever.

        SingleTrigger's own ``trigger`` returns ``self._status``, which its callback
        resets to None when a fast frame is done before ``trigger`` returns; the status
        is kept in a local here.
        """
        if self._staged != Staged.yes:
            raise RuntimeError(f"{self.name} is not staged: stage it before triggering")
        status = DeviceStatus(self)
        with naming_the_ioc(self.prefix, f"{self.name} was triggered"):
            action = f"{self.name} acquiring {int(self.cam.num_images.get())} frame(s)"
            timeout = self.expected_acquire_s() + self.acquire_timeout_margin_s
            guard_status(
                status,
                [self._acquisition_signal, self._acquisition_busy_signal],
                timeout=timeout,
                action=action,
            )
            if status.done:
                return status
            acquired = self._status = self._status_type(self)

        def check() -> None:
            if not acquired.success:
                settle_status(status, acquired.exception())
                return
            try:
                error = write_error(self.hdf1, f"frame {self.cam.array_counter.get()}")
            except Exception as read_error:  # noqa: BLE001 - the status carries it
                error = read_error
            settle_status(status, error)

        # A thread of its own: the check reads PVs, which a CA callback must not wait for.
        acquired.add_callback(lambda _: threading.Thread(target=check, daemon=True).start())
        self._acquisition_signal.put(1, wait=False)
        self._trigger_datum = self.hdf1.generate_datum(self._image_name, time.time(), {})
        return status

    def frame_datums(self, count: int) -> list[str]:
        """Datum ids of the last trigger's next ``count`` frames (a free-running series).

        A trigger makes the datum of its first frame; each further frame NumImages (×
        NumTriggers) > 1 wrote gets its own, so each frame can be an event of its own;
        a fly raster asks for each row's as the row ends.
        """
        first = [self._trigger_datum] if self._trigger_datum is not None else []
        self._trigger_datum = None
        more = [
            self.hdf1.generate_datum(self._image_name, time.time(), {})
            for _ in range(count - len(first))
        ]
        return [*first, *more]

    def _forget_staging(self) -> None:
        super()._forget_staging()
        self._acquisition_busy_signal.clear_sub(self._acquire_changed)
        self._status = None


class AreaDetector(_AreaDetector):
    """The STXM's area detector, a run's frames streamed into one HDF5 file (AD_HDF5)."""

    hdf1 = ADCpt(StreamHDF5Plugin, "HDF1:", write_path_template=DEFAULT_WRITE_PATH, kind="normal")


class SingleFileAreaDetector(_AreaDetector):
    """The STXM's area detector, one HDF5 file per frame (AD_HDF5_SINGLE)."""

    hdf1 = ADCpt(SingleHDF5Plugin, "HDF1:", write_path_template=DEFAULT_WRITE_PATH, kind="normal")
