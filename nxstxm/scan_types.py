"""The STXM scan types (``scan_type`` in every start document), defined in :mod:`.contract`."""

from __future__ import annotations

from .contract import ScanType

__all__ = ["ScanType"]
