"""The standard STXM metadata of a start document, parsed into typed values.

The contract itself (what plans write, what this parses, its JSON schema) is
:mod:`.contract`; the assembler's modules import its parsing side from here.
"""

from __future__ import annotations

from .contract import (
    MAX_ROI_POINTS,
    ImageIndex,
    MetadataError,
    Roi,
    SpatialRegion,
    StxmMetadata,
    decode_json,
    nexus_name,
    parse_metadata,
)

#: The assembler's name for a spatial region of interest (``rois[sp_id]``).
Region = SpatialRegion

__all__ = [
    "MAX_ROI_POINTS",
    "ImageIndex",
    "MetadataError",
    "Region",
    "Roi",
    "SpatialRegion",
    "StxmMetadata",
    "decode_json",
    "nexus_name",
    "parse_metadata",
]
