"""Stream N frames of 256×256 uint16 through the detector IOC; compare with plain h5py.

Starts its own sim on a free loopback port and streams in Stream mode (no compression,
then LZ4), first at 100 frames/s requested (AcquireTime 10 ms), then as fast as the IOC
can (AcquireTime 0.1 ms).  Prints frames/s and MB/s of the IOC next to plain h5py
writing the same frames in this process (the practical limit), the ratio, and how many
frames were dropped.

    python benchmarks/detector_stream.py [--frames 300] [--size 256]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from iocs.loopback import free_port_pair
from stxm_devices.channel_access import use_loopback_channel_access

PREFIX = "BENCH:"


def ioc_stream(epics, detector: str, name: str, frames: int, compression: str) -> dict:
    """Acquire ``frames`` frames into the stream file ``name``; time Acquire to the last write.

    Each run gets a file of its own: the IOC never replaces a file an earlier capture wrote.
    """

    def put(suffix, value):
        epics.caput(detector + suffix, value, wait=True, timeout=10)

    put("HDF1:Compression", compression)
    put("HDF1:FileName", name)
    put("HDF1:FileNumber", 0)
    put("HDF1:NumCapture", frames)
    put("HDF1:Capture", 1)
    start = time.perf_counter()
    put("cam1:Acquire", 1)  # completes when the last frame is written (WaitForPlugins)
    elapsed = time.perf_counter() - start
    deadline = time.monotonic() + 30
    while epics.caget(detector + "HDF1:Capture_RBV", use_monitor=False) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.01)
    written = epics.caget(detector + "HDF1:NumCaptured_RBV", use_monitor=False)
    path = epics.caget(detector + "HDF1:FullFileName_RBV", as_string=True, use_monitor=False)
    return {"seconds": elapsed, "written": written, "path": Path(path)}


def h5py_stream(frames, path: Path, compression: str) -> float:
    """Plain h5py writing the same frames, one chunk each, as fast as it can."""
    import h5py
    import hdf5plugin

    options = dict(hdf5plugin.LZ4()) if compression == "LZ4" else {}
    shape = frames.shape[1:]
    start = time.perf_counter()
    with h5py.File(path, "w", libver="latest") as file:
        data = file.create_dataset(
            "data",
            (0, *shape),
            maxshape=(None, *shape),
            chunks=(1, *shape),
            dtype=frames.dtype,
            **options,
        )
        file.swmr_mode = True
        for index, frame in enumerate(frames):
            data.resize(index + 1, axis=0)
            data[index] = frame
            file.flush()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()

    port = free_port_pair()
    use_loopback_channel_access([port], force=True)
    import epics
    import h5py

    from stxm_devices.testing import running_ioc, sim_command

    detector = PREFIX + "det1:"
    megabytes = args.frames * args.size * args.size * 2 / 1e6
    with (
        tempfile.TemporaryDirectory() as directory,
        running_ioc(sim_command(port, PREFIX), port=port, ready_pv=detector + "cam1:Acquire"),
    ):
        for suffix, value in [
            ("cam1:SizeX", args.size),
            ("cam1:SizeY", args.size),
            ("cam1:AcquirePeriod", 0.0),
            ("cam1:ImageMode", "Multiple"),
            ("cam1:NumImages", args.frames),
            ("cam1:WaitForPlugins", "Yes"),
            ("HDF1:FilePath", directory),
            ("HDF1:FileTemplate", "%s%s_%3.3d.h5"),
            ("HDF1:FileWriteMode", "Stream"),
            ("HDF1:SWMRMode", "On"),
        ]:
            epics.caput(detector + suffix, value, wait=True, timeout=10)
        print(
            f"{time.strftime('%Y-%m-%d')}: {args.frames} frames of {args.size}x{args.size} "
            f"uint16 ({megabytes:.1f} MB) per run"
        )
        print(
            f"{'requested':<11}{'compression':<12}{'IOC fr/s':>10}{'IOC MB/s':>10}"
            f"{'h5py fr/s':>11}{'h5py MB/s':>11}{'ratio':>8}{'dropped':>9}"
        )
        for (requested, exposure), compression in itertools.product(
            [("100 fr/s", 0.01), ("max", 0.0001)], ("None", "LZ4")
        ):
            epics.caput(detector + "cam1:AcquireTime", exposure, wait=True, timeout=10)
            name = f"stream_{requested.split()[0]}_{compression}"
            ioc = ioc_stream(epics, detector, name, args.frames, compression)
            with h5py.File(ioc["path"], "r") as file:
                frames = file["/entry/data/data"][()]
            limit = h5py_stream(frames, Path(directory) / f"plain_{compression}.h5", compression)
            rate, limit_rate = args.frames / ioc["seconds"], args.frames / limit
            print(
                f"{requested:<11}{compression:<12}{rate:>10.1f}{megabytes / ioc['seconds']:>10.1f}"
                f"{limit_rate:>11.1f}{megabytes / limit:>11.1f}{rate / limit_rate:>8.0%}"
                f"{args.frames - ioc['written']:>9d}"
            )


if __name__ == "__main__":
    main()
