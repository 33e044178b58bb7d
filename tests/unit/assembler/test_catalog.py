"""Documents read back from a catalog are put back in the order a RunEngine emits them."""

from __future__ import annotations

from nxstxm import assemble_scan
from nxstxm.catalog import document_order

from .factory import image_scan


def test_documents_grouped_by_kind_are_put_back_in_run_order(tmp_path):
    documents = image_scan()
    by_kind = sorted(documents, key=lambda item: item[0] != "event")  # events first, as exported
    ordered = document_order(by_kind)
    assert [name for name, _ in ordered] == [name for name, _ in documents]
    assert assemble_scan(ordered, tmp_path).exists()
