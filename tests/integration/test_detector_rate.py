"""The detector IOC keeps AcquirePeriod, says truthfully what rate it achieves, and its
frames are the physics model's frames for where the stage is.

The sim's own detector (``SIM:det1:``) streams into a file over Channel Access; no
timing is asserted, only that what the IOC reports agrees with what it wrote.
"""

from __future__ import annotations

import contextlib
import threading
import time

import epics
import h5py
import numpy as np
import pytest

from iocs.physics import FarFieldDetector, StxmModel
from iocs.positions import MOTOR_AXES, SETTINGS, beam_state
from iocs.prefixes import SUBSYSTEM_PREFIXES
from stxm_devices.testing import wait_until

from .conftest import SIM_PREFIX

P = SIM_PREFIX + SUBSYSTEM_PREFIXES["detector"]
#: Everything these tests change, put back afterwards for the rest of the session.
CHANGED = (
    [
        f"cam1:{name}"
        for name in (
            "SizeX",
            "SizeY",
            "AcquireTime",
            "AcquirePeriod",
            "ImageMode",
            "NumImages",
            "WaitForPlugins",
        )
    ]
    + [
        f"HDF1:{name}"
        for name in (
            "FilePath",
            "FileName",
            "FileTemplate",
            "FileWriteMode",
            "SWMRMode",
            "NumCapture",
        )
    ]
    + ["image1:MinCallbackTime", "image1:EnableCallbacks"]
)


def put(suffix: str, value, timeout: float = 30) -> None:
    epics.caput(P + suffix, value, wait=True, timeout=timeout)


def get(suffix: str, **kwargs):
    return epics.caget(P + suffix, use_monitor=False, timeout=5, **kwargs)


@pytest.fixture
def camera(sim, noiseless, tmp_path):
    """The sim's camera streaming into ``tmp_path``, its settings put back afterwards."""
    saved = {suffix: get(suffix) for suffix in CHANGED}
    for suffix, value in [
        ("cam1:WaitForPlugins", "Yes"),
        ("HDF1:FilePath", str(tmp_path)),
        ("HDF1:FileTemplate", "%s%s_%3.3d.h5"),
        ("HDF1:FileWriteMode", "Stream"),
        ("HDF1:SWMRMode", "On"),
    ]:
        put(suffix, value)
    yield
    if get("cam1:Acquire"):
        put("cam1:Acquire", 0)
    for suffix, value in saved.items():
        put(suffix, value)


class Sampler:
    """A PV read every 20 ms while the ``with`` block runs: (when here, IOC timestamp, value).

    Reads, not a monitor of its own: a pyepics PV made and dropped here would clear its
    subscription whenever the garbage collector gets to it, and a disconnect would close
    the channel the session's ophyd devices share.
    """

    def __init__(self, pv: str) -> None:
        self.values: list[tuple[float, float, float]] = []
        self._pv = epics.get_pv(pv, form="time", connect=True)
        self._done = threading.Event()
        self._thread = epics.ca.CAThread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            reading = self._pv.get_with_metadata(use_monitor=False, form="time", timeout=5)
            if reading is not None:
                self.values.append(
                    (time.monotonic(), float(reading["timestamp"]), float(reading["value"]))
                )
            self._done.wait(0.02)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._done.set()
        self._thread.join(10)

    def between(self, start: float, end: float) -> list[float]:
        return [value for when, _, value in self.values if start <= when <= end]

    def series(self) -> tuple[np.ndarray, np.ndarray]:
        """(IOC timestamps, values) of each distinct post."""
        posts = sorted({(stamp, value) for _, stamp, value in self.values})
        return np.array([p[0] for p in posts]), np.array([p[1] for p in posts])


def posts_while_counting(counter: Sampler, rates: Sampler) -> tuple[np.ndarray, np.ndarray]:
    """ArrayRate_RBV's posts (IOC timestamps, values) from a full second after the run's
    first count (the first post read may be an earlier run's) to its last."""
    counter_stamps, _ = counter.series()
    rate_stamps, reported = rates.series()
    if len(counter_stamps) < 2:
        return rate_stamps[:0], reported[:0]
    inside = (rate_stamps > counter_stamps[1] + 1.1) & (rate_stamps < counter_stamps[-1])
    return rate_stamps[inside], reported[inside]


def reported_and_counted(counter: Sampler, rates: Sampler) -> tuple[np.ndarray, np.ndarray]:
    """Each ArrayRate_RBV post and the rate ArrayCounter_RBV rose at over the second before it.

    Both by the IOC's timestamps (the load on this machine cannot blur them).
    """
    counter_stamps, counts = counter.series()
    ticks, reported = posts_while_counting(counter, rates)
    assert len(ticks) >= 2, "ArrayRate_RBV was not posted every second while acquiring"
    counted = np.diff(np.interp(ticks, counter_stamps, counts)) / np.diff(ticks)
    return reported[1:], counted


def stream(
    size: int, rate_hz: float, frames: int, name: str, sampled: tuple[Sampler, ...] = ()
) -> h5py.File:
    """Stream ``frames`` frames at ``rate_hz`` into a file, ``sampled`` sampling meanwhile."""
    for suffix, value in [
        ("cam1:SizeX", size),
        ("cam1:SizeY", size),
        ("cam1:AcquireTime", 1.0 / rate_hz),
        ("cam1:AcquirePeriod", 1.0 / rate_hz),
        ("cam1:ImageMode", "Multiple"),
        ("cam1:NumImages", frames),
        ("HDF1:FileName", name),
        ("HDF1:NumCapture", frames),
        ("HDF1:Capture", 1),
    ]:
        put(suffix, value)
    with contextlib.ExitStack() as sampling:
        for sampler in sampled:
            sampling.enter_context(sampler)
        put("cam1:Acquire", 1, timeout=frames / rate_hz + 60)
    deadline = time.monotonic() + 10
    while get("HDF1:Capture_RBV") and time.monotonic() < deadline:
        time.sleep(0.02)
    path = get("HDF1:FullFileName_RBV", as_string=True)
    return h5py.File(path, "r")


def test_array_rate_is_the_rate_frames_reach_the_file(camera):
    rate_hz, frames = 250.0, 1250  # five seconds: three whole ones of ArrayRate_RBV posts
    samplers = {
        f"{port}:{record}": Sampler(f"{P}{port}:{record}")
        for port in ("cam1", "HDF1")
        for record in ("ArrayCounter_RBV", "ArrayRate_RBV")
    }
    file = stream(128, rate_hz, frames, "rate", tuple(samplers.values()))
    with file:
        data = file["entry/data/data"]
        ids = file["entry/instrument/NDAttributes/NDArrayUniqueId"][()]
        stamps = file["entry/instrument/NDAttributes/NDArrayTimeStamp"][()]
        assert data.shape == (frames, 128, 128)  # none dropped
    assert np.all(np.diff(ids) == 1)
    # Each frame is read out on the schedule: AcquirePeriod kept, never stretched.
    np.testing.assert_allclose(np.diff(stamps), 1.0 / rate_hz, atol=1e-6)
    # Each port's rate, second by second, is the rate its frames came: HDF1's the rate
    # they reached the file.
    for port in ("cam1", "HDF1"):
        reported, counted = reported_and_counted(
            samplers[f"{port}:ArrayCounter_RBV"], samplers[f"{port}:ArrayRate_RBV"]
        )
        np.testing.assert_allclose(reported, counted, rtol=0.1, err_msg=port)


def test_a_rate_out_of_reach_is_reported_as_achieved(camera):
    """1 µs frames cannot be made here: ArrayRate_RBV counts what comes, and the camera says so.

    Each ArrayRate_RBV post is compared with ArrayCounter_RBV over the second before it,
    both by the IOC's timestamps (the load on this machine cannot blur them).
    """
    for suffix, value in [
        ("cam1:SizeX", 256),
        ("cam1:SizeY", 256),
        ("cam1:AcquireTime", 1e-6),
        ("cam1:AcquirePeriod", 1e-6),
        ("cam1:ImageMode", "Continuous"),
    ]:
        put(suffix, value)
    with (
        Sampler(P + "cam1:ArrayCounter_RBV") as counter,
        Sampler(P + "cam1:ArrayRate_RBV") as rates,
    ):
        epics.caput(P + "cam1:Acquire", 1)  # no file: HDF1 is not capturing
        try:
            # Until the IOC has posted three rates while counting (~4.5 s when quiet; a
            # loaded machine may start the camera late), not for a fixed time.
            assert wait_until(
                lambda: len(posts_while_counting(counter, rates)[0]) >= 3, timeout=60
            ), "ArrayRate_RBV was not posted every second while acquiring"
            message = get("cam1:StatusMessage_RBV", as_string=True)
        finally:
            put("cam1:Acquire", 0)
    assert "behind AcquirePeriod" in message
    reported, counted = reported_and_counted(counter, rates)
    assert np.all(reported < 0.5e6)
    np.testing.assert_allclose(reported, counted, rtol=0.1)


def test_image1_takes_frames_no_sooner_than_min_callback_time(camera):
    """Frames 5 ms apart, MinCallbackTime 50 ms: image1 takes every tenth (by their
    timestamps, so exactly); disabled, it takes none.  The file gets every frame."""
    put("image1:EnableCallbacks", "Enable")
    put("image1:MinCallbackTime", 0.05)
    before = get("image1:ArrayCounter_RBV")
    file = stream(64, 200.0, 40, "throttled")
    with file:
        assert file["entry/data/data"].shape[0] == 40
    assert get("image1:ArrayCounter_RBV") - before == 4
    put("image1:EnableCallbacks", "Disable")
    before = get("image1:ArrayCounter_RBV")
    file = stream(64, 200.0, 20, "disabled")
    file.close()
    assert get("image1:ArrayCounter_RBV") == before


class StillPositions:
    """The beam state's inputs read over Channel Access from a stage standing still."""

    def position(self, axis: str, times):
        ioc, _, suffix = MOTOR_AXES[axis]
        value = epics.caget(f"{SIM_PREFIX}{SUBSYSTEM_PREFIXES[ioc]}{suffix}.RBV", timeout=5)
        return np.full(np.shape(times), value, dtype=float)

    def setting(self, name: str):
        ioc, _, suffix = SETTINGS[name]
        name = f"{SIM_PREFIX}{SUBSYSTEM_PREFIXES[ioc]}{suffix}"
        return epics.caget(name, as_string=name.endswith("Polarization"), timeout=5)


def test_frames_equal_the_model_frame_at_the_stage_position(camera, beamline):
    fine_x = beamline.stage.fine_x
    start = fine_x.position
    fine_x.move(start + 1.7, wait=True)
    try:
        file = stream(128, 200.0, 40, "physics")
        state = beam_state(StillPositions(), 0.0)
    finally:
        fine_x.move(start, wait=True)
    with file:
        frames = file["entry/data/data"][()]
        sample_x = file["entry/instrument/NDAttributes/SampleX"][()]
        ring_ma = file["entry/instrument/NDAttributes/RingCurrent"][()]
    np.testing.assert_allclose(sample_x, state.sample_x_um, atol=1e-3)
    # Each frame at the ring current it was made at (posted every second, topped up every
    # 120 s), which the frame's RingCurrent attribute records; not the one read afterwards.
    camera = FarFieldDetector(shape=(128, 128))
    expected = {
        ring: camera.frame(StxmModel(), state.with_(ring_current_ma=ring), 1 / 200.0, rng=None)
        for ring in set(ring_ma.tolist())
    }
    assert all(frame.sum() > 0 for frame in expected.values())
    for frame, ring in zip(frames, ring_ma.tolist(), strict=True):
        np.testing.assert_array_equal(frame, expected[ring])
