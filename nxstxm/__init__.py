"""The NXstxm assembler: bluesky documents of one STXM scan in, one NeXus file out.

Works from documents only (never imports devices, IOCs or plans). Entry points:
:func:`assemble_scan` (documents → file), :class:`NXstxmAssembler` (a RunEngine callback),
:class:`Journal` (the write-ahead journal it keeps), :func:`load_pystxm_json` /
:func:`load_jsonl` (document files), :func:`scan_documents`
(a Tiled catalog), :func:`check_file`, and ``serve`` (a 0MQ stream, :mod:`.serve`).
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import NXstxmError

#: Public name → the module defining it, imported on first use: ``import nxstxm.contract``
#: (what plans need) stays free of h5py and event-model.
_EXPORTS = {
    "assemble_documents": "assembler",
    "assemble_file": "assembler",
    "assemble_runs": "assembler",
    "assemble_scan": "assembler",
    "AssemblyError": "assembler",
    "CatalogError": "catalog",
    "check_file": "check",
    "CheckReport": "check",
    "collect_runs": "collector",
    "connect_tiled": "catalog",
    "DEFAULT_PATTERN": "files",
    "detect_format": "loaders",
    "DiskSpaceError": "files",
    "dump_jsonl": "loaders",
    "Journal": "journal",
    "Layout": "layout",
    "LAYOUTS": "layout",
    "LinkError": "links",
    "load_documents": "loaders",
    "load_jsonl": "loaders",
    "load_pystxm_json": "loaders",
    "MetadataError": "metadata",
    "next_free_name": "files",
    "NXstxmAssembler": "assembler",
    "parse_metadata": "metadata",
    "Run": "collector",
    "RunCollector": "collector",
    "scan_documents": "catalog",
    "scan_membership": "collector",
    "ScanMembership": "collector",
    "ScanType": "scan_types",
    "Shape": "layout",
    "space_guard": "journal",
    "split_scans": "collector",
    "StxmMetadata": "metadata",
}

__all__ = ["NXstxmError", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'nxstxm' has no attribute {name!r}") from None
    return getattr(importlib.import_module(f".{module}", __name__), name)
