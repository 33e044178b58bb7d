"""The assembler as a service on a 0MQ document stream, behind a 0MQ proxy on loopback.

The RunEngine publishes with bluesky's ``Publisher(address, serializer=serialize)`` to the
proxy's in side (``stxm proxy``); this service subscribes to its out side and writes one
NXstxm file per scan, as the in-process callback would.

Whatever reaches the proxy is input from anyone who can connect, so messages are data,
never code: documents travel as JSON (:func:`serialize`; bluesky's default, pickle,
would run whatever a crafted message asks), and a message that is not ``prefix name
JSON-object`` with a known document name is logged and skipped (bluesky's
``RemoteDispatcher`` unpickles, and dies on an unknown name, so it is not used here).
Every document is journaled before it is processed: a service killed (even ``kill -9``)
and started again takes up the journals of the scans it had not written and finishes
them as their documents arrive. SIGTERM/SIGINT write every scan it holds, those whose
runs never stopped marked incomplete.
"""

from __future__ import annotations

import json
import logging
import signal
from collections.abc import Iterable
from pathlib import Path

import zmq

from .assembler import NXstxmAssembler
from .files import DEFAULT_PATTERN, extension, stem
from .journal import JOURNAL_SUFFIX
from .loaders import DocumentFileError, jsonable

logger = logging.getLogger(__name__)

#: The document names of the event model; any other name is skipped.
DOCUMENT_NAMES = frozenset(
    {
        "start",
        "descriptor",
        "event",
        "event_page",
        "resource",
        "datum",
        "datum_page",
        "stream_resource",
        "stream_datum",
        "stop",
    }
)
_POLL_MS = 200


def serialize(doc: dict) -> bytes:
    """A document as JSON bytes: ``Publisher(address, serializer=serialize)``."""
    return json.dumps(doc, default=jsonable).encode()


def decode(message: bytes) -> tuple[str, dict]:
    """``b"prefix name {json}"`` → (name, doc); ValueError saying what is wrong otherwise."""
    parts = message.split(b" ", 2)
    if len(parts) != 3:
        raise ValueError("not 'prefix name document'")
    name = parts[1].decode("ascii", errors="replace")
    if name not in DOCUMENT_NAMES:
        raise ValueError(f"unknown document name {name[:40]!r}")
    try:
        doc = json.loads(parts[2].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"the {name} document is not JSON ({err})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"the {name} document is a JSON {type(doc).__name__}, not an object")
    return name, doc


def unfinished_journals(data_dir: Path, pattern: str = DEFAULT_PATTERN) -> list[Path]:
    """Journals in ``data_dir`` whose NXstxm file was never written, oldest first."""
    ext = extension(pattern)
    journals = [
        path
        for path in data_dir.glob(f"*{JOURNAL_SUFFIX}")
        if not path.name.startswith(".") and not (data_dir / f"{stem(path.name)}{ext}").exists()
    ]
    return sorted(journals, key=lambda path: path.stat().st_mtime)


def resume_journals(assembler: NXstxmAssembler) -> None:
    """Take up every unfinished journal no live process holds (a service killed earlier)."""
    for path in unfinished_journals(assembler.data_dir, assembler.pattern):
        try:
            assembler.resume(path)
        except BlockingIOError:
            logger.info("journal %s belongs to a live process; left alone", path)
        except (DocumentFileError, ValueError, OSError) as err:
            logger.error("journal %s not taken up: %s", path, err)
        else:
            logger.info("took up journal %s", path)


def receive(assembler: NXstxmAssembler, message: bytes) -> None:
    """Hand one 0MQ message to the assembler, or log why it was skipped."""
    try:
        name, doc = decode(message)
    except ValueError as err:
        logger.warning("skipped a message of %d bytes: %s", len(message), err)
        return
    assembler(name, doc)


def _address(address: str) -> str:
    return address if "://" in address else f"tcp://{address}"


def serve(
    address: str,
    data_dir: str | Path,
    *,
    pattern: str = DEFAULT_PATTERN,
    allow_outside: Iterable[str | Path] = (),
) -> NXstxmAssembler:
    """Assemble every scan published at ``address`` (``host:port``) until SIGTERM/SIGINT."""
    assembler = NXstxmAssembler(data_dir, pattern=pattern, allow_outside=allow_outside)
    resume_journals(assembler)
    stopping: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda signum, _: stopping.append(signum))
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    context = zmq.Context()
    socket = context.socket(zmq.SUB)
    try:
        socket.connect(_address(address))
        socket.setsockopt(zmq.SUBSCRIBE, b"")
        logger.info("assembling scans from %s into %s", address, data_dir)
        while not stopping:
            if socket.poll(_POLL_MS):
                receive(assembler, socket.recv())
        logger.info("stopping (signal %d): writing every scan still held", stopping[0])
    finally:
        socket.close(linger=0)
        context.term()
        assembler.flush(running=True)
        assembler.journal.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return assembler
