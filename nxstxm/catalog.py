"""Read the documents of one scan back from a Tiled catalog (bluesky-tiled-plugins' runs).

A scan is every run sharing the scan group of the run asked for (or the group asked for
by its own uid). The documents come from ``BlueskyRun.documents()``, which needs the
server to export ``application/json-seq`` (bluesky-tiled-plugins' ``json_seq_exporter``
in its ``media_types``). They arrive grouped by kind, not in the order they were
emitted, so they are put back in document order here: start, descriptors, resources,
datums, events by time, stop.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .collector import Document, scan_membership
from .errors import NXstxmError

#: Where each document kind goes in a run's document order.
_ORDER = {"start": 0, "descriptor": 1, "resource": 2, "datum": 3, "event": 4, "stop": 5}


class CatalogError(NXstxmError, LookupError):
    """Nothing in the catalog answers to the uid asked for."""


def document_order(documents: Iterable[Document]) -> list[Document]:
    """One run's documents in the order a RunEngine emits them (events by time)."""

    def rank(item: Document) -> tuple[int, float, int]:
        name, doc = item
        return (_ORDER.get(name, 4), float(doc.get("time", 0.0)), int(doc.get("seq_num", 0)))

    return sorted(documents, key=rank)


def _runs_of_scan(catalog: Any, uid: str) -> list[Any]:
    from tiled.queries import Key

    try:
        run = catalog[uid]
    except KeyError:
        runs = list(catalog.search(Key("start.scan_group.uid") == uid).values())
        if not runs:
            raise CatalogError(f"no run and no scan group with uid {uid} in the catalog") from None
        return runs
    group = scan_membership(run.start)
    if group is None:
        return [run]
    return list(catalog.search(Key("start.scan_group.uid") == group.uid).values())


def _documents(run: Any) -> list[Document]:
    from tiled.client.utils import ClientError

    try:
        return document_order(run.documents())
    except ClientError as err:
        raise CatalogError(
            f"run {run.start['uid']}: the Tiled server did not export its documents ({err}); "
            "its config needs media_types: BlueskyRun: application/json-seq: "
            "bluesky_tiled_plugins.exporters:json_seq_exporter"
        ) from err


def scan_documents(catalog: Any, uid: str) -> list[Document]:
    """The documents of every run of the scan of ``uid`` (a run's or a scan group's uid)."""
    runs = sorted(_runs_of_scan(catalog, uid), key=lambda run: run.start["time"])
    return [item for run in runs for item in _documents(run)]


def connect_tiled(uri: str, api_key: str | None = None) -> Any:
    """A Tiled client for ``uri`` (an API key may also be in the URI's query)."""
    from tiled.client import from_uri

    return from_uri(uri, api_key=api_key)
