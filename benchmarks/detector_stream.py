"""Stream frames through the detector IOC at a requested rate; compare with plain h5py.

Starts its own sim on a free loopback port and, for 128×128 and 256×256 uint16 frames,
streams NumImages frames in Stream mode (SWMR, WaitForPlugins, the st.cmd plugins
enabled: image1, ROI1, Stats1, HDF1) at the rate the issue asks for (1000 fr/s at
128×128, 200 fr/s at 256×256) and as fast as the IOC can (AcquirePeriod 0, 1 µs
exposures).  Beside each run, plain h5py writes the same frames in this process (one
chunk per frame, an SWMR flush per frame): the practical limit.  Prints one table row
per run, with the date, the machine and its load average:

- ``IOC fr/s``: frames in the file / (Acquire put → its completion);
- ``ArrayRate``: the median of cam1:ArrayRate_RBV's monitors once a full second of the
  run has passed (ADCore's 1 s calc: the rate the IOC says it achieves);
- ``vs req``: ArrayRate / requested (100 % keeps the period);
- ``dropped``: frames asked for and not in the file, plus HDF1:DroppedArrays_RBV;
- ``vs h5py``: IOC fr/s / h5py fr/s.

Nothing is asserted.  The IOC code is whatever ``iocs`` imports (PYTHONPATH), so the
same script compares two checkouts: ``PYTHONPATH=/other/checkout python
benchmarks/detector_stream.py``.

    python benchmarks/detector_stream.py [--seconds 3] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from iocs.loopback import free_port_pair
from stxm_devices.channel_access import use_loopback_channel_access

PREFIX = "BENCH:"
#: (frame size, requested rate in frames/s; None: as fast as the IOC can).
RUNS = ((128, 1000.0), (256, 200.0), (128, None), (256, None))
#: The exposure of an as-fast-as-it-can run, s (AcquirePeriod 0).
FASTEST_EXPOSURE_S = 1e-6


def code_version() -> str:
    """Which checkout ``iocs`` comes from, and its commit."""
    import iocs

    directory = Path(iocs.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    return f"{directory} @ {commit}"


def machine() -> str:
    return f"{platform.node()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


class RateMonitor:
    """cam1:ArrayRate_RBV's monitor values, with when they came."""

    def __init__(self, epics, pv: str) -> None:
        self._values: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        # pyepics' cached PV: never garbage-collected mid-run (a dropped PV clears its
        # subscription whenever the collector gets to it).
        self._pv = epics.get_pv(pv, form="time", connect=True, auto_monitor=True)
        self._pv.add_callback(self._update)

    def _update(self, value=None, **_) -> None:
        with self._lock:
            self._values.append((time.monotonic(), float(value)))

    def median_between(self, start: float, end: float) -> float | None:
        with self._lock:
            values = [value for when, value in self._values if start <= when <= end]
        return statistics.median(values) if values else None


def ioc_stream(epics, detector: str, name: str, frames: int, rates: RateMonitor) -> dict:
    """Acquire ``frames`` frames into the stream file ``name``; time Acquire to the last write.

    Each run gets a file of its own: the IOC never replaces a file an earlier capture wrote.
    """

    def put(suffix, value):
        epics.caput(detector + suffix, value, wait=True, timeout=30)

    put("cam1:NumImages", frames)
    put("HDF1:FileName", name)
    put("HDF1:FileNumber", 0)
    put("HDF1:NumCapture", frames)
    put("HDF1:DroppedArrays", 0)
    put("HDF1:Capture", 1)
    start = time.perf_counter()
    began = time.monotonic()
    put("cam1:Acquire", 1)  # completes when the last frame is written (WaitForPlugins)
    elapsed = time.perf_counter() - start
    ended = time.monotonic()
    deadline = time.monotonic() + 30
    while epics.caget(detector + "HDF1:Capture_RBV", use_monitor=False) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.01)

    def get(suffix, **kwargs):
        return epics.caget(detector + suffix, use_monitor=False, **kwargs)

    return {
        "seconds": elapsed,
        "written": get("HDF1:NumCaptured_RBV"),
        "dropped_in_plugin": get("HDF1:DroppedArrays_RBV") or 0,
        "array_rate": rates.median_between(began + 1.5, ended),
        "path": Path(get("HDF1:FullFileName_RBV", as_string=True)),
    }


def h5py_stream(frames, path: Path) -> float:
    """Plain h5py writing the same frames, one chunk each, an SWMR flush each."""
    import h5py

    shape = frames.shape[1:]
    start = time.perf_counter()
    with h5py.File(path, "w", libver="latest") as file:
        data = file.create_dataset(
            "data", (0, *shape), maxshape=(None, *shape), chunks=(1, *shape), dtype=frames.dtype
        )
        file.swmr_mode = True
        for index, frame in enumerate(frames):
            data.resize(index + 1, axis=0)
            data[index] = frame
            file.flush()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="length of a rated run")
    parser.add_argument("--fastest-frames", type=int, default=2000, help="frames of a max run")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each row")
    args = parser.parse_args()

    port = free_port_pair()
    use_loopback_channel_access([port], force=True)
    import epics
    import h5py

    from stxm_devices.channel_access import closing_channel_access
    from stxm_devices.testing import running_ioc, sim_command

    detector = PREFIX + "det1:"
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine()}")
    print(f"code: {code_version()}; load average before: {load()}")
    with (
        tempfile.TemporaryDirectory() as directory,
        running_ioc(sim_command(port, PREFIX), port=port, ready_pv=detector + "cam1:Acquire"),
        closing_channel_access(),  # before the sim stops: no "Virtual circuit disconnect"
    ):
        for suffix, value in [
            ("cam1:ImageMode", "Multiple"),
            ("cam1:WaitForPlugins", "Yes"),
            ("HDF1:FilePath", directory),
            ("HDF1:FileTemplate", "%s%s_%3.3d.h5"),
            ("HDF1:FileWriteMode", "Stream"),
            ("HDF1:SWMRMode", "On"),
        ]:
            epics.caput(detector + suffix, value, wait=True, timeout=30)
        rates = RateMonitor(epics, detector + "cam1:ArrayRate_RBV")
        print(
            f"{'size':<9}{'requested':>10}{'frames':>8}{'IOC fr/s':>10}{'ArrayRate':>11}"
            f"{'vs req':>8}{'dropped':>9}{'h5py fr/s':>11}{'vs h5py':>9}"
        )
        rows = [row for row in RUNS for _ in range(args.repeat)]
        for run, (size, requested) in enumerate(rows):
            frames = args.fastest_frames if requested is None else round(requested * args.seconds)
            exposure = FASTEST_EXPOSURE_S if requested is None else 1.0 / requested
            for suffix, value in [
                ("cam1:SizeX", size),
                ("cam1:SizeY", size),
                ("cam1:AcquireTime", exposure),
                ("cam1:AcquirePeriod", 0.0 if requested is None else 1.0 / requested),
            ]:
                epics.caput(detector + suffix, value, wait=True, timeout=30)
            ioc = ioc_stream(epics, detector, f"stream_{run}", frames, rates)
            with h5py.File(ioc["path"], "r") as file:
                written = file["/entry/data/data"][()]
            limit = h5py_stream(written, Path(directory) / f"plain_{run}.h5")
            rate = ioc["written"] / ioc["seconds"]
            limit_rate = len(written) / limit
            array_rate = ioc["array_rate"]
            shown = f"{array_rate:.1f}" if array_rate is not None else "n/a"
            versus = (
                f"{array_rate / requested:.1%}"
                if requested is not None and array_rate is not None
                else "-"
            )
            dropped = frames - ioc["written"] + int(ioc["dropped_in_plugin"])
            asked = f"{requested:.0f}" if requested else "max"
            print(
                f"{f'{size}x{size}':<9}{asked:>10}{frames:>8}{rate:>10.1f}"
                f"{shown:>11}{versus:>8}{dropped:>9}{limit_rate:>11.1f}{rate / limit_rate:>9.0%}"
            )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
