"""``stxm assemble --tiled``: a scan TiledWriter put in a local Tiled catalog, assembled again."""

from __future__ import annotations

import copy
from urllib.parse import parse_qs, urlparse

import h5py
import numpy as np
import pytest
import tiled.server.app
from bluesky import RunEngine
from bluesky_tiled_plugins import TiledWriter
from bluesky_tiled_plugins.exporters import json_seq_exporter
from tiled.client import from_uri
from tiled.media_type_registration import default_serialization_registry
from tiled.server import SimpleTiledServer

import plans
from nxstxm import (
    CatalogError,
    NXstxmAssembler,
    assemble_documents,
    connect_tiled,
    scan_documents,
)
from stxm_devices.cli import main

FRAMES = "entry0/instrument/det1_image/data"


@pytest.fixture(scope="module")
def ioc_dir(tmp_path_factory):
    """Where the detector IOC writes for these tests (storage the catalog may read)."""
    return tmp_path_factory.mktemp("ioc")


@pytest.fixture(scope="module")
def catalog_server(tmp_path_factory, ioc_dir):
    """A Tiled server on 127.0.0.1 (SQLite catalog) exporting runs' documents.

    The server is configured as a site would (``media_types`` with bluesky-tiled-plugins'
    json_seq_exporter), here by handing build_app a registry that has it.
    """
    registry = copy.deepcopy(default_serialization_registry)
    registry.register("BlueskyRun", "application/json-seq", json_seq_exporter)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tiled.server.app, "default_serialization_registry", registry)
        directory = tmp_path_factory.mktemp("tiled")
        with SimpleTiledServer(directory=directory, readable_storage=[ioc_dir]) as server:
            assert urlparse(server.uri).hostname == "127.0.0.1"
            yield server


@pytest.fixture(scope="module")
def stack_in_catalog(beamline, catalog_server, tmp_path_factory):
    """A two-energy stack, written to the catalog and assembled in process: (start docs, file)."""
    local = NXstxmAssembler(tmp_path_factory.mktemp("local"))
    starts = []
    writer = TiledWriter(from_uri(catalog_server.uri))
    plan = plans.image_stack(
        beamline, regions=[plans.Region(0, 3, 4, 0, 3, 3)], energy_regions=[(700, 705, 2)]
    )
    run_engine = RunEngine({})
    try:
        run_engine(
            plan, [local, writer, lambda name, doc: starts.append(doc) if name == "start" else 0]
        )
    finally:
        beamline.energy.move(700.0, wait=True)
    [path] = local.written
    return starts, path


def test_assemble_from_tiled_by_run_uid_writes_the_in_process_file(
    catalog_server, stack_in_catalog, tmp_path, capsys
):
    starts, expected = stack_in_catalog
    uri = catalog_server.uri.split("?")[0]
    api_key = parse_qs(urlparse(catalog_server.uri).query)["api_key"][0]
    out = tmp_path / "from_tiled"
    argv = ["assemble", "--tiled", uri, "--api-key", api_key, "--uid", starts[1]["uid"]]
    assert main([*argv, "--data-dir", str(out)]) == 0
    [path] = out.glob("*.nxs")
    assert capsys.readouterr().out.strip() == str(path)
    assert path.name == expected.name
    with h5py.File(path) as got, h5py.File(expected) as want:
        for name in (
            "counter0/data",
            "counter0/energy",
            "control/data",
            "instrument/sample_x/data",
        ):
            np.testing.assert_array_equal(got[f"entry0/{name}"][()], want[f"entry0/{name}"][()])
        assert sorted(got["entry0"]) == sorted(want["entry0"])
        uids = got["entry0/scan_request/run_uids"].asstr()[()].tolist()
        assert uids == [start["uid"] for start in starts]


def test_a_scan_group_uid_finds_every_run_and_an_unknown_uid_is_an_error(
    catalog_server, stack_in_catalog
):
    starts, _ = stack_in_catalog
    catalog = connect_tiled(catalog_server.uri)
    documents = scan_documents(catalog, starts[0]["scan_group"]["uid"])
    assert [doc["uid"] for name, doc in documents if name == "start"] == [s["uid"] for s in starts]
    with pytest.raises(CatalogError, match="no run and no scan group"):
        scan_documents(catalog, "no-such-uid")


def test_area_detector_frames_come_back_from_the_catalog_linked(
    RE, beamline, catalog_server, ioc_dir, tmp_path
):
    hdf1 = beamline.detector.hdf1
    previous, hdf1.write_path_template = hdf1.write_path_template, f"{ioc_dir}/"
    documents = []
    plan = plans.stxm_image(
        beamline,
        x_center_um=0,
        x_range_um=1,
        nx=2,
        y_center_um=0,
        y_range_um=1,
        ny=2,
        mode="step",
        detectors=("counter", "detector"),
    )
    try:
        RE(plan, [TiledWriter(from_uri(catalog_server.uri)), lambda n, d: documents.append((n, d))])
    finally:
        hdf1.write_path_template = previous
    [resource] = [doc for name, doc in documents if name == "resource"]
    with h5py.File(f"{resource['root']}/{resource['resource_path']}", "r") as ioc:
        frames = ioc["entry/data/data"][()]
    back = scan_documents(connect_tiled(catalog_server.uri), documents[0][1]["uid"])
    assert "stream_datum" in {name for name, _ in back}  # TiledWriter's form of the datums
    [path] = assemble_documents(back, tmp_path, allow_outside=[ioc_dir])
    with h5py.File(path) as h5:
        assert h5[FRAMES].is_virtual
        np.testing.assert_array_equal(h5[FRAMES][()], frames)
