"""Documents are routed to their runs; runs are grouped into scans by their scan group."""

from __future__ import annotations

import pytest
from event_model import pack_event_page

from nxstxm import RunCollector, collect_runs, scan_membership, split_scans
from nxstxm.collector import DocumentError

from .factory import AreaDetector, image_scan, stack_scan


def test_collector_routes_events_datums_and_returns_the_run_at_its_stop(tmp_path):
    collector = RunCollector()
    finished = [
        run
        for name, doc in image_scan(detector=AreaDetector(tmp_path, single=False))
        if (run := collector(name, doc)) is not None
    ]
    [run] = finished
    assert run.exit_status == "success"
    assert len(run.stream("primary")) == 12 and len(run.stream("baseline")) == 1
    assert len(run.resources) == 1 and len(run.datums) == 12
    assert [ev["seq_num"] for ev in run.stream("primary")] == list(range(1, 13))


def test_event_pages_are_unpacked():
    documents = image_scan()
    primary = next(doc["uid"] for name, doc in documents if name == "descriptor")
    rows = [doc for name, doc in documents if name == "event" and doc["descriptor"] == primary]
    paged = [(n, d) for n, d in documents if not (n == "event" and d["descriptor"] == primary)]
    paged.insert(-1, ("event_page", pack_event_page(*rows)))
    [run] = collect_runs(paged)
    assert [ev["seq_num"] for ev in run.stream("primary")] == [1, 2, 3]
    assert len(run.stream("baseline")) == 1


def test_events_are_ordered_by_seq_num_not_arrival():
    documents = image_scan()
    body = [item for item in documents if item[0] == "event"][::-1]
    rest = [item for item in documents if item[0] != "event"]
    [run] = collect_runs(rest[:-1] + body + rest[-1:])
    assert [ev["seq_num"] for ev in run.stream("primary")] == list(range(1, 4))


def test_a_document_of_an_unknown_run_is_an_error():
    _, descriptor = image_scan()[1]
    with pytest.raises(DocumentError, match="unknown run start"):
        RunCollector()("descriptor", descriptor)


def test_scan_group_is_read_and_runs_without_one_form_a_single_scan():
    stack = collect_runs(stack_scan([700.0, 710.0]))
    loose = collect_runs(image_scan() + image_scan())
    group = scan_membership(stack[1].start)
    assert (group.index, group.num_runs) == (1, 2)
    assert scan_membership(loose[0].start) is None
    scans = split_scans(stack + loose)
    assert [len(scan) for scan in scans] == [2, 2]


def test_malformed_scan_group_names_the_run():
    with pytest.raises(DocumentError, match="run r1: start key 'scan_group'"):
        scan_membership({"uid": "r1", "scan_group": {"uid": "g"}})


def test_forget_drops_a_finished_run():
    collector = RunCollector()
    for name, doc in image_scan():
        run = collector(name, doc) or None
    collector.forget(run.uid)
    assert collector.runs == {}
