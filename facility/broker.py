"""The durable document stream: RunEngine documents as JSON on NATS JetStream.

Every document is one JetStream message on ``stxm.documents.<name>`` in the stream
``STXM_DOCUMENTS``, its body the document as JSON (``nxstxm.serve.serialize``; never
pickle: a message is data from whoever can reach the broker). The server keeps each
message until every durable consumer has acknowledged it, so a consumer that is down
finds the documents it missed when it comes back.

:class:`JetStreamPublisher` is a RunEngine callback that returns only once JetStream has
stored the document (its publish acknowledgement): a document the RunEngine emitted is
on the broker's disk before the plan goes on.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from nxstxm.serve import DOCUMENT_NAMES, serialize

STREAM = "STXM_DOCUMENTS"
SUBJECT_PREFIX = "stxm.documents"
#: Seconds a publish may wait for JetStream's acknowledgement before the callback raises.
PUBLISH_TIMEOUT = 10.0


def subject_of(name: str) -> str:
    """The subject a document named ``name`` is published on."""
    return f"{SUBJECT_PREFIX}.{name}"


def decode_message(subject: str, data: bytes) -> tuple[str, dict]:
    """(name, document) of one broker message; ValueError saying what is wrong otherwise."""
    prefix, _, name = subject.rpartition(".")
    if prefix != SUBJECT_PREFIX or name not in DOCUMENT_NAMES:
        raise ValueError(f"subject {subject[:80]!r} is not {SUBJECT_PREFIX}.<document name>")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"the {name} document is not JSON ({err})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"the {name} document is a JSON {type(doc).__name__}, not an object")
    return name, doc


async def ensure_stream(js: Any) -> None:
    """Create the document stream if the server does not have it (file storage, kept)."""
    from nats.js.api import StreamConfig
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=STREAM, subjects=[f"{SUBJECT_PREFIX}.>"]))


class JetStreamPublisher:
    """A RunEngine callback publishing each document to JetStream, waiting for its ack.

    The NATS client lives on its own event loop in a daemon thread (the RunEngine's loop
    must not be blocked by NATS I/O nor drive it); ``__call__`` hands the publish to
    that loop and waits at most :data:`PUBLISH_TIMEOUT` for the server's
    acknowledgement, raising if it does not come (the RunEngine then stops the plan:
    documents are never dropped silently).
    """

    def __init__(self, url: str) -> None:
        import nats

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="jetstream", daemon=True
        )
        self._thread.start()
        self._client = self._run(nats.connect(url, name="stxm-worker", max_reconnect_attempts=-1))
        self._js = self._client.jetstream()
        self._run(ensure_stream(self._js))

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(PUBLISH_TIMEOUT)

    def __call__(self, name: str, doc: dict) -> None:
        """Publish one document; return once JetStream has stored it."""
        self._run(self._js.publish(subject_of(name), serialize(doc), stream=STREAM))

    def close(self) -> None:
        """Flush and close the connection, then stop the I/O thread."""
        try:
            self._run(self._client.drain())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(PUBLISH_TIMEOUT)
