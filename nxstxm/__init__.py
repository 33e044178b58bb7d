"""The NXstxm assembler: bluesky documents of one STXM scan in, one NeXus file out.

Works from documents only (never imports devices, IOCs or plans). Entry points:
:func:`assemble_scan` (documents → file), :class:`NXstxmAssembler` (a RunEngine callback),
:class:`Journal` (the write-ahead journal it keeps), :func:`load_pystxm_json` /
:func:`load_jsonl` (document files), :func:`scan_documents`
(a Tiled catalog), :func:`check_file`, and ``serve`` (a 0MQ stream, :mod:`.serve`).
"""

from .assembler import (
    AssemblyError,
    NXstxmAssembler,
    assemble_documents,
    assemble_file,
    assemble_runs,
    assemble_scan,
)
from .catalog import CatalogError, open_catalog, scan_documents
from .check import CheckReport, check_file
from .collector import Run, RunCollector, ScanGroup, collect_runs, scan_group, split_scans
from .files import DEFAULT_PATTERN, DiskSpaceError, next_free_name
from .journal import Journal, space_guard
from .layout import LAYOUTS, Layout, Shape
from .links import LinkError
from .loaders import detect_format, dump_jsonl, load_documents, load_jsonl, load_pystxm_json
from .metadata import MetadataError, StxmMetadata, parse_metadata
from .scan_types import ScanType

__all__ = [
    "DEFAULT_PATTERN",
    "LAYOUTS",
    "AssemblyError",
    "CatalogError",
    "CheckReport",
    "DiskSpaceError",
    "Journal",
    "Layout",
    "LinkError",
    "MetadataError",
    "NXstxmAssembler",
    "Run",
    "RunCollector",
    "ScanGroup",
    "ScanType",
    "Shape",
    "StxmMetadata",
    "assemble_documents",
    "assemble_file",
    "assemble_runs",
    "assemble_scan",
    "check_file",
    "collect_runs",
    "detect_format",
    "dump_jsonl",
    "load_documents",
    "load_jsonl",
    "load_pystxm_json",
    "next_free_name",
    "open_catalog",
    "parse_metadata",
    "scan_documents",
    "scan_group",
    "space_guard",
    "split_scans",
]
