"""Assemble an area-detector stack: frames linked (ours) vs copied into the file (the usual way).

Writes what a detector IOC would for a stack (one ADCore-layout stream file per energy,
uint16 frames chunked one per frame) and the documents the runs would emit (start,
descriptors, Resource AD_HDF5, a Datum per point, events with the datum and a Stats
total, stop), then assembles the same documents twice, each in a fresh child process:

- **link**: ``assemble_runs`` as is (a virtual dataset over the stream files);
- **copy**: the same assembly, then the frames read back datum by datum and written into
  the file as one dataset, holding them in memory first — what suitcase-nxstxm and
  apstools' NXWriter do (they fill the events, then write the stream's arrays).

Each child reports its wall time (assembly only, documents already loaded) and its peak
RSS (``resource.getrusage``). The default is the issue's case, 1 GiB of frames (32
energies × 32×32 points of 128×128 uint16); a second, smaller frame size shows whether
peak RSS follows frame data (``--sizes 64 128``).

    python benchmarks/assemble_links.py [--energies 32] [--points 32] [--sizes 128]
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from event_model import compose_run

RING_PV = "BENCH:energy:RingCurrent"
FRAMES = "entry0/instrument/det1_image/data"


def _roi(name: str, values: np.ndarray) -> dict:
    return {"NAME": name, "POSITIONER": name, "NPOINTS": len(values), "SETPOINTS": values.tolist()}


def write_ioc_file(path: Path, frames: int, size: int, rng: np.random.Generator) -> None:
    """A stream file as ADCore's NDFileHDF5 writes it, one chunk per frame."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        data = h5.create_dataset(
            "entry/instrument/detector/data",
            shape=(frames, size, size),
            dtype=np.uint16,
            chunks=(1, size, size),
        )
        for first in range(0, frames, 256):
            block = min(256, frames - first)
            data[first : first + block] = rng.integers(0, 4096, (block, size, size), np.uint16)
        h5["entry"].create_group("data")
        h5["entry/data/data"] = data


def stack_documents(root: Path, energies: int, points: int, size: int) -> list:
    """The documents of a stack of ``energies`` runs of points × points, frames in ``root``."""
    rng = np.random.default_rng(0)
    xs = np.linspace(-5, 5, points)
    ev = np.linspace(700, 720, energies)
    rois = {
        "0": {
            "X": _roi("SampleFineX", xs),
            "Y": _roi("SampleFineY", xs),
            "EV_ROIS": [{**_roi("Energy", ev), "DWELL": 1.0}],
        }
    }
    group = "bench-group"
    documents = []
    for e_idx in range(energies):
        file = f"ioc/run{e_idx:02d}_000000.h5"
        write_ioc_file(root / file, points * points, size, rng)
        md = {
            "scan_type": 7,
            "sp_id_lst": [0],
            "rois": rois,
            "dwell": 1.0,
            "primary_det": "det1",
            "img_idx_map": {"entry": "entry0", "e_idx": e_idx, "pol_idx": 0, "sp_id": 0},
            "rev_lu_dct": {"StorageRingCurrent": RING_PV},
            "scan_group": {"uid": group, "index": e_idx, "num_runs": energies},
        }
        t0 = 1.7e9 + 1000 * e_idx
        bundle = compose_run(metadata=md, time=t0)
        documents.append(("start", bundle.start_doc))
        resource_bundle = bundle.compose_resource(
            spec="AD_HDF5",
            root=str(root),
            resource_path=file,
            resource_kwargs={"frame_per_point": 1},
        )
        documents.append(("resource", resource_bundle.resource_doc))
        descriptor = bundle.compose_descriptor(
            name="primary",
            data_keys={
                "det1_image": {
                    "source": "PV:BENCH:det1:image1",
                    "dtype": "array",
                    "shape": [size, size],
                    "external": "FILESTORE:",
                },
                "det1_stats1_total": {
                    "source": "PV:BENCH:det1:Stats1:Total_RBV",
                    "dtype": "number",
                    "shape": [],
                },
                "ring_current": {"source": f"PV:{RING_PV}", "dtype": "number", "shape": []},
            },
            object_keys={
                "det1": ["det1_image", "det1_stats1_total"],
                "ring_current": ["ring_current"],
            },
            hints={"det1": {"fields": ["det1_stats1_total"]}},
        )
        documents.append(("descriptor", descriptor.descriptor_doc))
        for point in range(points * points):
            datum = resource_bundle.compose_datum(datum_kwargs={"point_number": point})
            documents.append(("datum", datum))
            data = {
                "det1_image": datum["datum_id"],
                "det1_stats1_total": 1.0,
                "ring_current": 500.0,
            }
            event = descriptor.compose_event(
                data=data,
                timestamps=dict.fromkeys(data, t0 + point),
                time=t0 + point,
                filled={"det1_image": False},
            )
            documents.append(("event", event))
        documents.append(("stop", bundle.compose_stop(exit_status="success", time=t0 + points**2)))
    return documents


def copy_frames_in(path: Path, runs: list) -> None:
    """Fill every event's frame from its datum (as a handler does), hold them, write them in."""
    frames, files = [], {}
    for run in runs:
        for event in run.stream("primary"):
            datum = run.datums[event["data"]["det1_image"]]
            resource = run.resources[datum["resource"]]
            if resource["uid"] not in files:
                ioc_file = Path(resource["root"]) / resource["resource_path"]
                files[resource["uid"]] = h5py.File(ioc_file, "r")
            ioc = files[resource["uid"]]
            frames.append(ioc["entry/data/data"][datum["datum_kwargs"]["point_number"]])
    for ioc in files.values():
        ioc.close()
    with h5py.File(path, "r+") as h5:
        del h5[FRAMES]
        h5.create_dataset(FRAMES, data=np.stack(frames))


def child(mode: str, documents_file: Path, out: Path) -> dict:
    """Assemble the pickled documents (``mode`` link or copy); time and peak RSS of this process."""
    from nxstxm import assemble_runs, collect_runs

    with documents_file.open("rb") as handle:
        runs = collect_runs(pickle.load(handle))
    start = time.perf_counter()
    # The IOC's files sit beside the output directory, as a detector's own data root would.
    path = assemble_runs(runs, out, allow_outside=[out.parent])
    if mode == "copy":
        copy_frames_in(path, runs)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mib": peak_mib, "file_mib": path.stat().st_size / 2**20}


def measure(mode: str, documents_file: Path, out: Path) -> dict:
    """Run :func:`child` in a fresh interpreter, so nothing of one run's memory stays."""
    command = [sys.executable, __file__, "--child", mode, str(documents_file), str(out)]
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--energies", type=int, default=32)
    parser.add_argument("--points", type=int, default=32, help="points per image side")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128], help="frame sides")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "DOCS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, documents_file, out = args.child
        print(json.dumps(child(mode, Path(documents_file), Path(out))))
        return
    frames = args.energies * args.points**2
    print(f"stack: {args.energies} energies × {args.points}×{args.points} points = {frames} frames")
    header = ("frame", "frames GiB", "mode", "wall s", "peak RSS MiB", "file MiB")
    print("{:>9} {:>10} {:>5} {:>8} {:>13} {:>9}".format(*header))
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="assemble-links-") as tmp:
            root = Path(tmp)
            documents_file = root / "documents.pickle"
            with documents_file.open("wb") as handle:
                pickle.dump(stack_documents(root, args.energies, args.points, size), handle)
            gib = frames * size * size * 2 / 2**30
            results = {
                mode: measure(mode, documents_file, root / mode) for mode in ("link", "copy")
            }
            for mode, r in results.items():
                print(
                    f"{size:>4}×{size:<4} {gib:>10.2f} {mode:>5} {r['seconds']:>8.2f} "
                    f"{r['peak_mib']:>13.0f} {r['file_mib']:>9.1f}"
                )
            ratio = results["copy"]["seconds"] / results["link"]["seconds"]
            print(f"{'':>9} {'':>10} copy/link wall time: {ratio:.1f}×")


if __name__ == "__main__":
    main()
