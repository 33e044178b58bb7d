"""Every scan type has a layout, and its label is one the NXstxm definition allows."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import nexusformat

from nxstxm import LAYOUTS, ScanType, Shape

NXSTXM = Path(nexusformat.__file__).parent / "definitions" / "applications" / "NXstxm.nxdl.xml"


def _allowed_labels() -> set[str]:
    namespace = {"nx": "http://definition.nexusformat.org/nxdl/3.1"}
    field = ET.parse(NXSTXM).find(".//nx:field[@name='stxm_scan_type']", namespace)
    return {item.attrib["value"] for item in field.iterfind(".//nx:item", namespace)}


def test_every_scan_type_of_the_seed_enum_has_a_layout():
    assert set(LAYOUTS) == set(ScanType)
    assert [int(t) for t in ScanType] == list(range(14))


def test_every_label_is_in_the_nxstxm_enumeration():
    allowed = _allowed_labels()
    assert "sample image stack" in allowed
    assert {layout.label for layout in LAYOUTS.values()} <= allowed


def test_scan_types_map_to_the_shapes_the_definition_documents():
    assert LAYOUTS[ScanType.SAMPLE_IMAGE].shape is Shape.IMAGE
    assert LAYOUTS[ScanType.SAMPLE_IMAGE_STACK].shape is Shape.STACK
    assert LAYOUTS[ScanType.TOMOGRAPHY_SCAN].shape is Shape.STACK
    assert LAYOUTS[ScanType.SAMPLE_LINE_SPECTRA].shape is Shape.LINE
    assert LAYOUTS[ScanType.OSA_FOCUS].shape is Shape.FOCUS
    assert LAYOUTS[ScanType.SAMPLE_POINT_SPECTRA].shape is Shape.POINT
    assert LAYOUTS[ScanType.GENERIC_SCAN].shape is Shape.GENERIC
    assert LAYOUTS[ScanType.PTYCHOGRAPHY_SCAN].shape is Shape.SCATTER


def test_each_shape_is_one_layout_class():
    classes = {layout.shape: type(layout) for layout in LAYOUTS.values()}
    assert set(classes) == set(Shape)
    assert len(set(classes.values())) == len(Shape)
    for layout in LAYOUTS.values():
        assert type(layout) is classes[layout.shape]
