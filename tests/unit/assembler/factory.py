"""Synthetic documents as our plans and ophyd's area-detector mixins emit them (no IOC needed).

Values encode where they belong (energy index × 1000 + row × 100 + column) so a test can
tell a misplaced point from a right one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
from event_model import compose_run

from nxstxm import ScanType

#: 2023-11-14 12:00 UTC: the same date in every time zone, so file names are predictable.
T0 = 1_699_963_200.0
RING_PV = "SIM:energy:RingCurrent"
REV_LU = {
    "SampleFineX": "SIM:stage:FineX",
    "SampleFineY": "SIM:stage:FineY",
    "StorageRingCurrent": RING_PV,
}


def roi(name: str, positioner: str, values: Sequence[float]) -> dict:
    values = [float(v) for v in values]
    return {
        "NAME": name,
        "POSITIONER": positioner,
        "NPOINTS": len(values),
        "START": values[0] if values else None,
        "STOP": values[-1] if values else None,
        "SETPOINTS": values,
        "ENABLED": True,
    }


def region(nx: int, ny: int, energies: Sequence[float], *, zp_z: Sequence[float] = ()) -> dict:
    """A spatial region: X/Y µm grids starting at 10/20, energies, an OSA and zone-plate ROI."""
    return {
        "X": roi("X", "SampleFineX", 10.0 + np.arange(nx)),
        "Y": roi("Y", "SampleFineY", 20.0 + 0.5 * np.arange(ny)),
        "Z": roi("Z", "ZonePlate.Z", []),
        "ZP": {"Z": roi("ZP.Z", "ZonePlate.Z", zp_z)},
        "OSA": {"X": roi("OSA.X", "OSA.X", [1.0]), "Y": roi("OSA.Y", "OSA.Y", [2.0])},
        "EV_ROIS": [
            {
                **roi("EV", "ENERGY", energies),
                "DWELL": 2.0,
                "POL_ROIS": [{"POL": 0, "OFF": 0.0, "ANGLE": 0.0}],
            }
        ],
    }


def metadata(
    scan_type: ScanType,
    rois: dict,
    *,
    e_idx: int = 0,
    entry: str = "entry0",
    primary_det: str = "counter0",
    group: dict | None = None,
    sp_ids: Sequence[int] = (0,),
) -> dict:
    """Our plans' standard metadata: the seed's keys as structured values, a scan group."""
    md = {
        "entry_name": entry,
        "scan_type": int(scan_type),
        "sp_id_lst": list(sp_ids),
        "rois": rois,
        "dwell": 2.0,
        "primary_det": primary_det,
        "zp_def": {"zpD": 250.0, "zpOZone": 25.0, "zpCStop": 100.0, "zpA1": -5.067},
        "wdg_com": {"SINGLE_LST": {}},
        "img_idx_map": {
            "e_idx": e_idx,
            "entry": entry,
            "pol_idx": 0,
            "sp_id": sp_ids[0],
            "sp_idx": 0,
        },
        "rev_lu_dct": REV_LU,
        "plan_name": "synthetic",
    }
    if group is not None:
        md["scan_group"] = group
    return md


def write_ad_file(path: Path, frames: np.ndarray) -> None:
    """An HDF5 file in ADCore's default NeXus layout, /entry/data/data a hard link."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        detector = h5.create_group("entry/instrument/detector")
        detector.create_dataset("data", data=frames.astype(np.uint16))
        h5["entry"].create_group("data")
        h5["entry/data/data"] = detector["data"]


def frame_of(point: int, shape: tuple[int, int] = (8, 6)) -> np.ndarray:
    """A frame that says which point it belongs to."""
    return (np.arange(shape[0] * shape[1]).reshape(shape) + 100 * point).astype(np.uint16)


class AreaDetector:
    """Fake IOC files plus the resource/datum documents ophyd's HDF5 mixins emit for them.

    ``single=False``: one stream file per run, spec AD_HDF5 (FileStoreHDF5IterativeWrite);
    ``single=True``: one file per frame, spec AD_HDF5_SINGLE (FileStoreHDF5SingleIterativeWrite).
    """

    def __init__(
        self, root: Path, *, single: bool, folder: str = "ioc", shape: tuple[int, int] = (8, 6)
    ) -> None:
        self.root, self.single, self.folder, self.shape = root, single, folder, shape
        self.files: list[Path] = []
        self._runs = 0

    def resource(self, bundle, num_points: int, first_point: int) -> tuple[dict, list[dict]]:
        """Write the run's frames and return its resource and datum documents."""
        frames = np.stack([frame_of(first_point + i, self.shape) for i in range(num_points)])
        self._runs += 1
        if self.single:
            name = f"run{self._runs}"
            template = "%s%s_%6.6d.h5"
            folder = self.root / self.folder
            for i, frame in enumerate(frames):
                path = Path(template % (f"{folder}/", name, i))
                write_ad_file(path, frame[None])
                self.files.append(path)
            kwargs = {"template": template, "filename": name, "frame_per_point": 1}
            res = bundle.compose_resource(
                spec="AD_HDF5_SINGLE",
                root=str(self.root),
                resource_path=self.folder,
                resource_kwargs=kwargs,
            )
        else:
            rel = f"{self.folder}/run{self._runs}_000000.h5"
            write_ad_file(self.root / rel, frames)
            self.files.append(self.root / rel)
            res = bundle.compose_resource(
                spec="AD_HDF5",
                root=str(self.root),
                resource_path=rel,
                resource_kwargs={"frame_per_point": 1},
            )
        datums = [res.compose_datum(datum_kwargs={"point_number": i}) for i in range(num_points)]
        return res.resource_doc, datums


def run_documents(
    md: dict,
    values: Sequence,
    *,
    t0: float = T0,
    exit_status: str = "success",
    detector: AreaDetector | None = None,
    first_point: int = 0,
    ring: float = 500.0,
) -> list[tuple[str, dict]]:
    """One run: start, primary descriptor, events (a row waveform or a point each), stop.

    The ring current is read with every event; a baseline stream records it too.
    """
    bundle = compose_run(metadata=md, time=t0)
    docs: list[tuple[str, dict]] = [("start", bundle.start_doc)]
    row = np.ndim(values[0]) > 0
    data_keys = {
        "counter0": {
            "source": "PV:SIM:counter0:Counts_RBV",
            "dtype": "array" if row else "number",
            "shape": [len(values[0])] if row else [],
        },
        "ring_current": {"source": f"PV:{RING_PV}", "dtype": "number", "shape": []},
    }
    object_keys = {"counter0": ["counter0"], "ring_current": ["ring_current"]}
    datums: list[dict] = []
    if detector is not None:
        resource, datums = detector.resource(bundle, len(values), first_point)
        docs.append(("resource", resource))
        data_keys["det_image"] = {
            "source": "PV:SIM:det:image1",
            "dtype": "array",
            "shape": list(detector.shape),
            "external": "FILESTORE:",
        }
        data_keys["det_stats1_total"] = {
            "source": "PV:SIM:det:Stats1:Total_RBV",
            "dtype": "number",
            "shape": [],
        }
        object_keys["det"] = ["det_image", "det_stats1_total"]
    hints = {"det": {"fields": ["det_stats1_total"]}} if detector else {}  # as ophyd hints
    primary = bundle.compose_descriptor(
        name="primary", data_keys=data_keys, object_keys=object_keys, hints=hints
    )
    baseline = bundle.compose_descriptor(
        name="baseline",
        data_keys={
            "ring_current": data_keys["ring_current"],
            "theta": {"source": "PV:SIM:stage:GoniTheta.RBV", "dtype": "number", "shape": []},
        },
    )
    docs += [("descriptor", primary.descriptor_doc), ("descriptor", baseline.descriptor_doc)]
    docs.append(
        (
            "event",
            baseline.compose_event(
                data={"ring_current": ring, "theta": 0.0},
                timestamps={"ring_current": t0, "theta": t0},
                time=t0,
            ),
        )
    )
    for i, value in enumerate(values):
        data = {"counter0": value, "ring_current": ring + i}
        if detector is not None:
            docs.append(("datum", datums[i]))
            data["det_image"] = datums[i]["datum_id"]
            data["det_stats1_total"] = float(frame_of(first_point + i, detector.shape).sum())
        event = primary.compose_event(
            data=data,
            timestamps=dict.fromkeys(data, t0 + i),
            time=t0 + 1 + i,
            filled={"det_image": False} if detector else None,
        )
        docs.append(("event", event))
    docs.append(("stop", bundle.compose_stop(exit_status=exit_status, time=t0 + len(values) + 2)))
    return docs


def image_rows(nx: int, ny: int, e_idx: int = 0) -> list[np.ndarray]:
    """Row waveforms whose values encode (e_idx, row, column)."""
    return [e_idx * 1000 + r * 100 + np.arange(nx, dtype=float) for r in range(ny)]


def stack_scan(
    energies: Sequence[float],
    nx: int = 4,
    ny: int = 3,
    *,
    acquired: int | None = None,
    order: Sequence[int] | None = None,
    detector: AreaDetector | None = None,
    abort_last: bool = False,
    group_uid: str = "group-1",
    t0: float = T0,
) -> list[tuple[str, dict]]:
    """A stack as our plans run it: one run per energy, one scan group, in ``order`` of e_idx."""
    order = list(order if order is not None else range(len(energies)))[: acquired or len(energies)]
    docs: list[tuple[str, dict]] = []
    for index, e_idx in enumerate(order):
        md = metadata(
            ScanType.SAMPLE_IMAGE_STACK,
            {"0": region(nx, ny, energies)},
            e_idx=e_idx,
            group={"uid": group_uid, "index": index, "num_runs": len(energies)},
        )
        if detector is not None:
            values = [float(e_idx * 1000 + p) for p in range(nx * ny)]
        else:
            values = image_rows(nx, ny, e_idx)
        aborted = abort_last and index == len(order) - 1
        docs += run_documents(
            md,
            values[: len(values) // 2] if aborted else values,
            t0=t0 + 100 * index,
            exit_status="abort" if aborted else "success",
            detector=detector,
            first_point=index * nx * ny,
        )
    return docs


def image_scan(
    nx: int = 4, ny: int = 3, *, detector: AreaDetector | None = None, t0: float = T0
) -> list[tuple[str, dict]]:
    """A single sample image (one run, no scan group), step-scanned when a detector is given."""
    md = metadata(ScanType.SAMPLE_IMAGE, {"0": region(nx, ny, [700.0])})
    values = [float(p) for p in range(nx * ny)] if detector else image_rows(nx, ny)
    return run_documents(md, values, detector=detector, t0=t0)
