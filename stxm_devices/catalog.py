"""The run catalog: a local Tiled catalog (SQLite under the data directory) or a server.

bluesky-tiled-plugins' ``TiledWriter`` writes every run into it; reading
``catalog[uid]["primary"]`` gives the counter data and, through the AD_HDF5 resources,
the area-detector frames from the files the detector IOC wrote.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Catalog:
    """A Tiled client of the run catalog."""

    client: Any

    def writer(self) -> Any:
        """A RunEngine callback writing every run into this catalog."""
        from bluesky_tiled_plugins import TiledWriter

        return TiledWriter(self.client)


def open_catalog(data_dir: Path, *, uri: str | None = None, api_key: str | None = None) -> Catalog:
    """The Tiled catalog at ``uri``, or a local one in ``data_dir/catalog``.

    The local catalog (SQLite for the metadata, DuckDB for tables) is served in this
    process, without a network socket; it reads the detector's files anywhere under
    ``data_dir``.  Point ``uri`` at a Tiled server to share a catalog between machines.
    """
    if uri:
        from tiled.client import from_uri

        return Catalog(client=from_uri(uri, api_key=api_key))
    from tiled.catalog import from_uri as catalog_from_uri
    from tiled.client import Context, from_context
    from tiled.server.app import build_app

    directory = Path(data_dir) / "catalog"
    (directory / "data").mkdir(parents=True, exist_ok=True)
    catalog = catalog_from_uri(
        directory / "catalog.db",
        writable_storage=[directory / "data", f"duckdb:///{directory / 'tables.duckdb'}"],
        readable_storage=[Path(data_dir)],
        init_if_not_exists=True,
    )
    app = build_app(catalog, serialization_registry=_exporters())
    return Catalog(client=from_context(Context.from_app(app)))


def _exporters() -> Any:
    """Tiled's exporters plus bluesky-tiled-plugins' JSON-seq export of a run's documents.

    A server is configured for it (``media_types: BlueskyRun: application/json-seq``); the
    local catalog is built here, so its app needs the same, or ``run.documents()`` (and
    ``stxm assemble --tiled``) is refused with ``406 Not Acceptable``.
    """
    from bluesky_tiled_plugins.exporters import json_seq_exporter
    from tiled.media_type_registration import default_serialization_registry

    registry = copy.deepcopy(default_serialization_registry)
    registry.register("BlueskyRun", "application/json-seq", json_seq_exporter)
    return registry
