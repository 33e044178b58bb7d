"""The assembler service's document handling, without servers: journal first, skip repeats.

A consumer killed (SIGKILL) after journaling part of a stack and a new one fed the
messages JetStream would redeliver (the last ones not acknowledged, then the rest)
writes the stack once, equal to an undisturbed assembly.
"""

from __future__ import annotations

import multiprocessing
import os
import signal

import h5py
import numpy as np
import pytest

from facility.broker import decode_message, subject_of
from facility.consumer import DocumentConsumer, assembler_consumer
from nxstxm import NXstxmAssembler, assemble_documents
from nxstxm.serve import resume_journals, serialize
from tests.unit.assembler.factory import stack_scan

DOCUMENTS = stack_scan([700.0, 705.0, 710.0], nx=4, ny=3)
MESSAGES = [(subject_of(name), serialize(doc)) for name, doc in DOCUMENTS]
CUT = len(MESSAGES) // 2
REDELIVERED = 3  # taken and journaled, not acknowledged when the consumer died


def _take_then_die(data_dir: str) -> None:
    consumer = assembler_consumer(NXstxmAssembler(data_dir))
    for subject, data in MESSAGES[:CUT]:
        consumer.take(subject, data)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_consumer_restarted_writes_the_stack_once(tmp_path):
    live, whole = tmp_path / "live", tmp_path / "whole"
    live.mkdir()
    child = multiprocessing.get_context("fork").Process(target=_take_then_die, args=(live,))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert not list(live.glob("*.nxs"))

    assembler = NXstxmAssembler(live)
    resume_journals(assembler)
    consumer = assembler_consumer(assembler)
    taken = [consumer.take(subject, data) for subject, data in MESSAGES[CUT - REDELIVERED :]]
    assembler.journal.close()

    assert taken[:REDELIVERED] == [False] * REDELIVERED  # already in the journal
    assert all(taken[REDELIVERED:])
    (path,) = live.glob("*.nxs")
    (journal,) = live.glob("*.jsonl")
    assert len(journal.read_text().splitlines()) == len(DOCUMENTS)
    (expected,) = assemble_documents(DOCUMENTS, whole)
    with h5py.File(path) as got, h5py.File(expected) as want:
        np.testing.assert_array_equal(got["entry0/counter0/data"], want["entry0/counter0/data"])


def test_a_message_that_is_not_a_document_is_skipped(tmp_path, caplog):
    consumer = DocumentConsumer(NXstxmAssembler(tmp_path))
    assert not consumer.take("stxm.documents.start", b"[1, 2]", 7)
    assert not consumer.take("stxm.documents.exec", b"{}", 8)
    assert not consumer.take("elsewhere.start", b"{}", 9)
    assert consumer.skipped == 3
    assert "skipped broker message 7" in caplog.text
    assert "a JSON list, not an object" in caplog.text


def test_documents_travel_as_json_objects():
    for (name, doc), (subject, data) in zip(DOCUMENTS, MESSAGES, strict=True):
        decoded_name, decoded = decode_message(subject, data)
        assert (decoded_name, sorted(decoded)) == (name, sorted(doc))


def test_a_document_the_callback_fails_on_is_not_taken():
    taken = []

    def flaky(name, doc):
        if not taken and name == "descriptor":
            taken.append("failed once")
            raise ConnectionError("catalog server away")
        taken.append(name)

    consumer = DocumentConsumer(flaky)
    subject, data = MESSAGES[1]
    assert decode_message(subject, data)[0] == "descriptor"
    with pytest.raises(ConnectionError):
        consumer.take(subject, data)
    assert consumer.take(subject, data)  # delivered again: taken now, not seen as a repeat
    assert taken == ["failed once", "descriptor"]
