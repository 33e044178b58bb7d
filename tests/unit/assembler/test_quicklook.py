"""A quick-look for every scan type's file, with or without linked frames: a real PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nxstxm import ScanType, assemble_scan
from stxm_devices.quicklook import quicklook

from .factory import AreaDetector, image_scan, stack_scan
from .test_assembler import _scan
from .test_ptyd import _ptycho_scan


def _drawn(png) -> np.ndarray:
    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.std() > 10, f"{png} looks blank"
    return pixels


@pytest.mark.parametrize("scan_type", list(ScanType), ids=lambda t: t.name)
def test_every_scan_type_gets_a_quicklook(tmp_path, scan_type):
    documents, _ = _scan(scan_type)
    _drawn(quicklook(assemble_scan(documents, tmp_path)))


FRAME = (32, 32)  # large enough to be drawn as diffraction


@pytest.mark.parametrize(
    "documents",
    [
        lambda root: image_scan(detector=AreaDetector(root, single=False, shape=FRAME)),
        lambda root: stack_scan(
            [700.0, 710.0], detector=AreaDetector(root, single=False, shape=FRAME)
        ),
        lambda root: _ptycho_scan(root, shape=FRAME)[0],
    ],
    ids=["image", "stack", "spiral"],
)
def test_frames_give_summed_diffraction_and_a_transmission_map(tmp_path, documents):
    _drawn(quicklook(assemble_scan(documents(tmp_path), tmp_path)))


def test_a_single_image_fills_a_square_figure(tmp_path):
    documents, _ = _scan(ScanType.SAMPLE_IMAGE)
    height, width = _drawn(quicklook(assemble_scan(documents, tmp_path))).shape
    assert 0.8 < width / height < 1.4  # not an image in half of a wide figure
