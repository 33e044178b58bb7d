"""The profile's local catalog gives its runs back as documents (re-export, then assemble)."""

from __future__ import annotations

import h5py
import numpy as np

from nxstxm import assemble_documents, scan_documents
from stxm_devices.catalog import open_catalog

from .factory import image_rows, stack_scan


def test_local_catalog_re_exports_a_scan_that_assembles(tmp_path):
    catalog = open_catalog(tmp_path)
    writer = catalog.writer()
    documents = stack_scan([700.0, 710.0])
    for name, doc in documents:
        writer(name, doc)
    uid = documents[0][1]["scan_group"]["uid"]
    back = scan_documents(catalog.client, uid)  # refused with 406 before the exporter
    assert [name for name, _ in back].count("start") == 2
    [path] = assemble_documents(back, tmp_path / "out")
    with h5py.File(path) as h5:
        data = h5["entry0/counter0/data"][()]
    np.testing.assert_array_equal(data[1], image_rows(4, 3, 1))
