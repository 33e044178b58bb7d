"""ophyd-async's own ``SimDetector`` with its HDF writer, pointed at the sim's det1.

It connects (every PV it declares exists), ``bp.count(num=5)`` gives one StreamResource
and five StreamDatum, and the file holds five distinct frames of the declared shape,
chunked as the resource says.  ophyd-async leaves HDF1 with LazyOpen=Yes, its own
FileTemplate and SWMR on (as it would at a beamline); the settings are put back after,
so the tests that follow start from the sim's defaults.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import bluesky.plans as bp
import epics
import h5py
import numpy as np
import pytest

pytest.importorskip("ophyd_async.epics.adsimdetector")

PREFIX = "SIM:det1:"
#: What ophyd-async changes, restored after the test.
TOUCHED = (
    "HDF1:LazyOpen",
    "HDF1:FileTemplate",
    "HDF1:SWMRMode",
    "HDF1:NumCapture",
    "HDF1:FileWriteMode",
    "HDF1:AutoIncrement",
    "HDF1:FilePath",
    "HDF1:FileName",
    "cam1:ImageMode",
    "cam1:NumImages",
    "cam1:AcquireTime",
    "cam1:AcquirePeriod",
    "cam1:TriggerMode",
)


@pytest.fixture()
def restored(sim):
    saved = {pv: epics.caget(PREFIX + pv, use_monitor=False, timeout=5) for pv in TOUCHED}
    yield
    for pv, value in saved.items():
        if isinstance(value, np.ndarray):  # a CHAR waveform: put it back as text
            value = bytes(value.astype(np.uint8)).rstrip(b"\0").decode() or ""
        epics.caput(PREFIX + pv, value, wait=True, timeout=10)


def test_sim_detector_counts_five_frames_into_one_stream_resource(RE, restored, tmp_path):
    from ophyd_async.core import StaticPathProvider, UUIDFilenameProvider, init_devices
    from ophyd_async.epics.adcore import ADWriterFactory
    from ophyd_async.epics.adsimdetector import SimDetector

    provider = StaticPathProvider(UUIDFilenameProvider(), tmp_path)
    with init_devices():  # connects every signal, or fails naming the missing PVs
        det = SimDetector(PREFIX, ADWriterFactory.hdf(provider))
    documents = []
    RE(bp.count([det], num=5), lambda name, doc: documents.append((name, doc)))
    resources = [doc for name, doc in documents if name == "stream_resource"]
    datums = [doc for name, doc in documents if name == "stream_datum"]
    [descriptor] = [doc for name, doc in documents if name == "descriptor"]
    assert len(resources) == 1 and len(datums) == 5
    [resource] = resources
    shape = tuple(descriptor["data_keys"][resource["data_key"]]["shape"])
    path = Path(urlparse(resource["uri"]).path)
    with h5py.File(path, "r", swmr=True) as file:
        data = file[resource["parameters"]["dataset"]]
        assert data.shape == (5, *shape[-2:])
        assert data.chunks == tuple(resource["parameters"]["chunk_shape"])
        frames = data[()]
    assert len({frame.tobytes() for frame in frames}) == 5
    assert [d["indices"] for d in datums] == [{"start": i, "stop": i + 1} for i in range(5)]


def test_ptycho_scan_with_it_writes_an_nxstxm_file_linking_its_frames(
    RE, beamline, restored, tmp_path
):
    import dataclasses

    from ophyd_async.core import StaticPathProvider, UUIDFilenameProvider, init_devices
    from ophyd_async.epics.adcore import ADWriterFactory
    from ophyd_async.epics.adsimdetector import SimDetector

    import plans
    from iocs.physics import FarFieldDetector
    from nxstxm import NXstxmAssembler
    from nxstxm.check import check_file

    (tmp_path / "data" / "ioc").mkdir(parents=True)
    provider = StaticPathProvider(UUIDFilenameProvider(), tmp_path / "data" / "ioc")
    with init_devices():
        det1 = SimDetector(PREFIX, ADWriterFactory.hdf(provider))
    with_async_detector = dataclasses.replace(beamline, detector=det1)
    assembler = NXstxmAssembler(tmp_path / "data")
    documents = []
    plan = plans.ptycho_scan(
        with_async_detector,
        region=plans.Region(0, 1, 3, 0, 1, 2),
        dwell_ms=2,
        detectors=("counter", "detector"),  # the counter gives the per-point total
        detector_pixel_um=FarFieldDetector().detector_pixel_um(256),  # the sim's camera
        detector_distance_mm=FarFieldDetector().distance_mm,
    )
    RE(plan, [assembler, lambda name, doc: documents.append((name, doc))])
    assert assembler.errors == []
    [path] = assembler.written
    [resource] = [doc for name, doc in documents if name == "stream_resource"]
    ioc_file = Path(urlparse(resource["uri"]).path)
    with h5py.File(ioc_file, "r", swmr=True) as file:
        frames = file["/entry/data/data"][()]
    assert frames.shape[0] == 6

    def links_ioc_file(dataset: h5py.Dataset) -> bool:
        """A virtual dataset mapping the IOC's file (how the assembler links frames)."""
        sources = dataset.virtual_sources() if dataset.is_virtual else []
        return any(Path(source.file_name).name == ioc_file.name for source in sources)

    with h5py.File(path, "r") as nexus:
        linked = []
        nexus.visititems(
            lambda name, item: (
                linked.append(name)
                if isinstance(item, h5py.Dataset) and links_ioc_file(item)
                else None
            )
        )
        assert linked, f"no dataset of {path} links {ioc_file.name}"
        for name in linked:
            np.testing.assert_array_equal(nexus[name][()].reshape(frames.shape), frames)
    assert check_file(path).ok
