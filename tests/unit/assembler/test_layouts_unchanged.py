"""The NXstxm layout of every shape stays as it is: a digest of every number in the files.

Synthetic scans of every scan type, plus aborted, snaked, out-of-order and
area-detector cases, are assembled and each numeric dataset is digested;
``layouts.txt`` beside this file holds the digests of the reviewed layout. A change
that moves, reshapes or recomputes any value fails here with the datasets it changed.
After an intended change, regenerate it and review the diff::

    cd tests/unit/assembler
    PYTHONPATH=../../.. python -m tests.unit.assembler.test_layouts_unchanged > layouts.txt
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import h5py

from nxstxm import ScanType, assemble_scan

from .factory import (
    AreaDetector,
    image_rows,
    image_scan,
    metadata,
    region,
    run_documents,
    stack_scan,
)
from .test_assembler import _scan

EXPECTED = Path(__file__).with_name("layouts.txt")
PTYCHO_DETECTOR = {"detector_pixel_um": 55.0, "detector_distance_mm": 100.0}


def _cases(root: Path) -> Iterator[tuple[str, list]]:
    """(name, documents) of every shape and the ways a scan can end."""
    for scan_type in ScanType:
        yield scan_type.name, _scan(scan_type)[0]
    yield "stack_aborted", stack_scan([700.0 + i for i in range(6)], acquired=3, abort_last=True)
    yield "stack_out_of_order", stack_scan([700.0, 705.0, 710.0, 715.0], order=[2, 0, 3, 1])
    yield "stack_stopped_between_runs", stack_scan([700.0 + i for i in range(4)], acquired=2)
    yield "image_frames", image_scan(detector=AreaDetector(root / "image_frames", single=False))
    single = AreaDetector(root / "image_frames_single", single=True)
    yield "image_frames_single", image_scan(detector=single)
    stack_frames = AreaDetector(root / "stack_frames", single=False)
    yield "stack_frames", stack_scan([700.0, 701.0], detector=stack_frames)
    image = metadata(ScanType.SAMPLE_IMAGE, {"0": region(4, 3, [700.0])})
    yield "image_snaked_steps", run_documents({**image, "snaking": [False, True]}, [*range(10)])
    yield "image_aborted_rows", run_documents(image, image_rows(4, 3)[:2], exit_status="abort")
    line = metadata(ScanType.SAMPLE_LINE_SPECTRA, {"0": region(5, 5, [700.0, 701.0, 702.0])})
    yield "line_aborted", run_documents(line, image_rows(5, 3)[:2], exit_status="abort")
    generic = metadata(ScanType.GENERIC_SCAN, {"0": region(6, 1, [700.0])})
    yield "generic_aborted", run_documents(generic, [1.0, 2.0, 3.0], exit_status="abort")
    ptycho = metadata(ScanType.PTYCHOGRAPHY_SCAN, {"0": region(4, 3, [700.0])})
    frames = AreaDetector(root / "ptycho_grid_frames", single=False)
    ptycho = {**ptycho, "plan_args": PTYCHO_DETECTOR}
    yield "ptycho_grid_frames", run_documents(ptycho, [*map(float, range(12))], detector=frames)
    energies = [700.0, 701.0, 702.0]
    points = metadata(
        ScanType.SAMPLE_POINT_SPECTRA,
        {"0": region(1, 1, energies), "1": region(1, 1, energies)},
        sp_ids=(0, 1),
    )
    yield "points_aborted", run_documents(points, [0.0, 1.0, 2.0], exit_status="abort")


def digests() -> list[str]:
    """One line per numeric dataset of every case: case, path, dtype, shape, SHA-256."""
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, documents in _cases(root):
            path = assemble_scan(documents, root / name)

            def visit(key: str, obj, case: str = name) -> None:
                if not isinstance(obj, h5py.Dataset) or obj.dtype.kind in "OSU":
                    return  # strings: uids, times, JSON of the request
                digest = hashlib.sha256(obj[()].tobytes()).hexdigest()[:16]
                lines.append(f"{case} {key} {obj.dtype} {obj.shape} {digest}")

            with h5py.File(path) as h5:
                h5.visititems(visit)
    return lines


def test_every_number_of_every_layout_is_as_reviewed():
    expected = EXPECTED.read_text().splitlines()
    actual = digests()
    changed = sorted(set(expected) ^ set(actual))
    assert actual == expected, "changed datasets:\n" + "\n".join(changed[:40])


if __name__ == "__main__":
    print("\n".join(digests()))
