"""Gather bluesky documents into runs, and runs into scans. Nothing else happens here.

A scan is one run or several runs sharing a group: our plans put
``start["scan_group"] = {"uid": ..., "index": ..., "num_runs": ...}`` in every run of a
multi-run scan (a stack is one run per image, as in pyStxm). Runs without a group (the
recorded pyStxm files) are taken together as one scan.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from event_model import unpack_datum_page, unpack_event_page

from .errors import NXstxmError

Document = tuple[str, dict]

logger = logging.getLogger(__name__)


class DocumentError(NXstxmError, ValueError):
    """A document that does not fit the stream (unknown run, descriptor or resource)."""


def _acquisition_order(event: dict) -> tuple[int, float]:
    return event.get("seq_num", 0), event["time"]


@dataclass
class Run:
    """The documents of one run, kept as received, indexed for the layout."""

    start: dict
    descriptors: dict[str, dict] = field(default_factory=dict)
    events: dict[str, list[dict]] = field(default_factory=dict)
    resources: dict[str, dict] = field(default_factory=dict)
    datums: dict[str, dict] = field(default_factory=dict)
    stream_resources: dict[str, dict] = field(default_factory=dict)
    stream_datums: list[dict] = field(default_factory=list)
    stop: dict | None = None
    documents: list[Document] = field(default_factory=list)
    _ordered: dict[str, tuple[list[dict], int, list[dict]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def uid(self) -> str:
        return str(self.start["uid"])

    @property
    def exit_status(self) -> str:
        """``success``/``abort``/``fail``, or ``running`` while no stop document came."""
        return "running" if self.stop is None else str(self.stop.get("exit_status", "success"))

    def stream(self, name: str) -> list[dict]:
        """The events of one stream in acquisition order (seq_num, not arrival order).

        A point redone after a pause (bluesky rewinds to the row's checkpoint and emits
        it again with the same seq_num) counts once: its last event. The order is kept
        until the stream gains events (building a run's model reads its streams several
        times); treat the list as read-only.
        """
        events = self.events.get(name, [])
        known = self._ordered.get(name)
        if known is not None and known[0] is events and known[1] == len(events):
            return known[2]
        latest: dict[object, dict] = {}
        for event in events:
            key = (event.get("descriptor"), event["seq_num"]) if "seq_num" in event else id(event)
            if key not in latest or event["time"] >= latest[key]["time"]:
                latest[key] = event
        try:  # in C when every event has its seq_num, as a RunEngine's do
            ordered = sorted(latest.values(), key=itemgetter("seq_num", "time"))
        except KeyError:
            ordered = sorted(latest.values(), key=_acquisition_order)
        self._ordered[name] = (events, len(events), ordered)
        return ordered

    def descriptor(self, name: str) -> dict | None:
        """The (first) descriptor of a stream, or None if the run has no such stream."""
        for doc in self.descriptors.values():
            if doc.get("name") == name:
                return doc
        return None


@dataclass(frozen=True)
class ScanMembership:
    """Which scan a run belongs to, its place in it, and how many runs the scan has."""

    uid: str
    index: int
    num_runs: int


def scan_membership(start: Mapping[str, Any]) -> ScanMembership | None:
    """Read ``start["scan_group"]``; None for a run that does not say (one scan on its own)."""
    group = start.get("scan_group")
    if not group:
        return None
    try:
        return ScanMembership(str(group["uid"]), int(group["index"]), int(group["num_runs"]))
    except (KeyError, TypeError, ValueError) as err:
        raise DocumentError(
            f"run {start.get('uid')}: start key 'scan_group' needs uid, index and num_runs "
            f"({err!r})"
        ) from None


class RunCollector:
    """Route documents to their runs; call it with ``(name, doc)`` like a bluesky callback."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self._by_descriptor: dict[str, Run] = {}
        self._by_resource: dict[str, Run] = {}
        self._open: list[Run] = []

    def __call__(self, name: str, doc: dict) -> Run | None:
        """Add one document; return its run when the document was that run's stop."""
        if name == "event_page":
            for event in unpack_event_page(doc):
                self("event", event)
            return None
        if name == "datum_page":
            for datum in unpack_datum_page(doc):
                self("datum", datum)
            return None
        if name == "start":
            run = Run(start=doc)
            self.runs[run.uid] = run
            self._open.append(run)
        else:
            run = self._owner(name, doc)
            if run is None:
                return None
        run.documents.append((name, doc))
        return self._file(run, name, doc)

    def forget(self, uid: str) -> None:
        """Drop a finished run (a long-lived callback must not keep every run it saw)."""
        run = self.runs.pop(uid, None)
        if run is None:
            return
        if run in self._open:
            self._open.remove(run)
        for index, keys in (
            (self._by_descriptor, run.descriptors),
            (self._by_resource, run.resources),
            (self._by_resource, run.stream_resources),
        ):
            for key in keys:
                index.pop(key, None)

    def _owner(self, name: str, doc: dict) -> Run | None:
        if name in ("descriptor", "stop"):
            return self._run(doc["run_start"], name)
        if name == "event":
            return self._lookup(self._by_descriptor, doc["descriptor"], "descriptor", name)
        if name == "resource":
            if doc.get("run_start"):
                return self._run(doc["run_start"], name)
            if not self._open:
                raise DocumentError(f"resource {doc.get('uid')} arrived outside any run")
            return self._open[-1]
        if name == "datum":
            return self._lookup(self._by_resource, doc["resource"], "resource", name)
        if name == "stream_resource":
            return self._run(doc["run_start"], name)
        if name == "stream_datum":
            return self._lookup(self._by_resource, doc["stream_resource"], "stream resource", name)
        return None  # unknown names are not ours

    def _run(self, uid: str, name: str) -> Run:
        return self._lookup(self.runs, uid, "run start", name)

    @staticmethod
    def _lookup(index: Mapping[str, Run], key: str, what: str, name: str) -> Run:
        try:
            return index[key]
        except KeyError:
            raise DocumentError(f"{name} document refers to unknown {what} {key}") from None

    def _file(self, run: Run, name: str, doc: dict) -> Run | None:
        if name == "descriptor":
            run.descriptors[doc["uid"]] = doc
            self._by_descriptor[doc["uid"]] = run
        elif name == "event":
            stream = self._by_descriptor_name(doc["descriptor"])
            run.events.setdefault(stream, []).append(doc)
        elif name == "resource":
            run.resources[doc["uid"]] = doc
            self._by_resource[doc["uid"]] = run
        elif name == "datum":
            run.datums[doc["datum_id"]] = doc
        elif name == "stream_resource":
            run.stream_resources[doc["uid"]] = doc
            self._by_resource[doc["uid"]] = run
        elif name == "stream_datum":
            run.stream_datums.append(doc)
        elif name == "stop":
            run.stop = doc
            if run in self._open:
                self._open.remove(run)
            return run
        return None

    def _by_descriptor_name(self, descriptor_uid: str) -> str:
        run = self._by_descriptor[descriptor_uid]
        return str(run.descriptors[descriptor_uid].get("name", "primary"))


def collect_runs(documents: Iterable[Document], *, strict: bool = True) -> list[Run]:
    """All runs of a document stream, in the order their start documents arrived.

    A document that fits no run is an error naming its place in the stream, or, when
    not ``strict``, skipped with a warning (a journal of a service started mid-run).
    """
    collector = RunCollector()
    skipped = 0
    for number, (name, doc) in enumerate(documents, start=1):
        try:
            collector(name, doc)
        except (DocumentError, KeyError, TypeError, AttributeError) as err:
            if isinstance(err, KeyError):
                err = DocumentError(f"a {name} document lacks key {err}")
            elif not isinstance(err, DocumentError):
                err = DocumentError(f"a {name} document is malformed ({err})")
            if strict:
                raise DocumentError(f"document {number}: {err}") from None
            skipped += 1
            if skipped <= 3:
                logger.warning("document %d skipped: %s", number, err)
    if skipped > 3:
        logger.warning("%d documents skipped in all", skipped)
    return list(collector.runs.values())


def split_scans(runs: Iterable[Run]) -> list[list[Run]]:
    """Group runs into scans by their scan group; ungrouped runs form one scan together."""
    grouped: dict[str, list[Run]] = {}
    ungrouped: list[Run] = []
    for run in runs:
        group = scan_membership(run.start)
        if group is None:
            ungrouped.append(run)
        else:
            grouped.setdefault(group.uid, []).append(run)
    scans = list(grouped.values())
    if ungrouped:
        scans.append(ungrouped)
    return scans
