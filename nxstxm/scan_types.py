"""The STXM scan types of pyStxm's standard metadata (``scan_type`` in every start document)."""

from __future__ import annotations

from enum import IntEnum


class ScanType(IntEnum):
    """pyStxm's ``scan_types`` enum; the value is what a start document's metadata carries."""

    DETECTOR_IMAGE = 0
    OSA_IMAGE = 1
    OSA_FOCUS = 2
    SAMPLE_FOCUS = 3
    SAMPLE_POINT_SPECTRA = 4
    SAMPLE_LINE_SPECTRA = 5
    SAMPLE_IMAGE = 6
    SAMPLE_IMAGE_STACK = 7
    GENERIC_SCAN = 8
    COARSE_IMAGE_SCAN = 9
    COARSE_GONI_SCAN = 10
    TOMOGRAPHY_SCAN = 11
    PATTERN_GEN_SCAN = 12
    PTYCHOGRAPHY_SCAN = 13
