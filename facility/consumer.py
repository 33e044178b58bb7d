"""The assembler service as a durable JetStream consumer: ``python -m facility.consumer``.

With ``--tiled URI`` instead of ``--data-dir`` the same loop writes every run into a Tiled
server (bluesky-tiled-plugins' ``TiledWriter``) under its own durable name: a second
consumer reading the same stream independently. A document its callback fails on is not
acknowledged: it and those after it come again (given up after five deliveries, logged).

It pulls the documents of ``STXM_DOCUMENTS`` under a durable consumer name, hands each
to the NXstxm assembler (which journals it first, ``nxstxm/journal.py``) and only then
acknowledges it. A consumer killed (even ``kill -9``) and started again takes up the
journals of the scans it had not written (``nxstxm.serve.resume_journals``) and
JetStream redelivers whatever it had not acknowledged; a redelivered document the
journal already holds is recognised by its uid and skipped, so each scan is written
once, complete. A message that is not a document is logged, acknowledged (so it is
never redelivered) and skipped. SIGTERM/SIGINT write every scan held, unfinished ones
marked incomplete, as ``stxm serve`` does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from nxstxm import NXstxmAssembler, load_jsonl
from nxstxm.serve import resume_journals

from .broker import STREAM, SUBJECT_PREFIX, decode_message, ensure_stream

logger = logging.getLogger(__name__)

DURABLE = "nxstxm-assembler"
TILED_DURABLE = "tiled-writer"
#: Seconds JetStream waits for an acknowledgement before redelivering a document.
ACK_WAIT_S = 10.0
_FETCH_BATCH = 64
_FLUSH_TIMEOUT_S = 5
_MAX_DELIVERIES = 5
_RETRY_DELAY_S = 2.0
_SEEN_KEPT = 200_000


def identity(name: str, doc: dict) -> tuple:
    """What makes a document the same document when it is delivered again."""
    if name in ("event_page", "datum_page"):
        ids = doc.get("uid") or doc.get("datum_id") or ()
        return (name, *map(str, ids))
    return (name, str(doc.get("uid") or doc.get("datum_id") or ""))


class DocumentConsumer:
    """Documents in, handed to ``callback`` (the assembler, which journals first), once each.

    ``journaled``: journals taken up after a restart; the documents they hold are not
    handed on again when JetStream redelivers them.
    """

    def __init__(
        self, callback: Callable[[str, dict], Any], journaled: Iterable[Path] = ()
    ) -> None:
        self.callback = callback
        self.skipped = 0
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        for path in journaled:
            for name, doc in load_jsonl(path):
                self._remember(identity(name, doc))

    def _remember(self, key: tuple) -> None:
        self._seen[key] = None
        if len(self._seen) > _SEEN_KEPT:
            self._seen.popitem(last=False)

    def take(self, subject: str, data: bytes, sequence: int | None = None) -> bool:
        """Hand one message on; False if it was skipped (logged why).

        Whatever the callback raises propagates: the message is then not acknowledged.
        """
        try:
            name, doc = decode_message(subject, data)
        except ValueError as err:
            self.skipped += 1
            logger.warning(
                "skipped broker message %s (%d bytes on %r): %s",
                sequence,
                len(data),
                subject[:80],
                err,
            )
            return False
        key = identity(name, doc)
        if key in self._seen:
            logger.info("skipped redelivered %s %s: already taken", name, key[1][:36])
            return False
        self.callback(name, doc)
        self._remember(key)
        return True


def assembler_consumer(assembler: NXstxmAssembler) -> DocumentConsumer:
    """The consumer feeding ``assembler``, knowing what the journals it took up hold."""
    return DocumentConsumer(assembler, list(assembler.journal.paths.values()))


async def consume(
    url: str,
    consumer: DocumentConsumer,
    stopping: asyncio.Event,
    *,
    durable: str = DURABLE,
) -> None:
    """Pull, take and acknowledge documents from ``url`` until ``stopping`` is set."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    client = await nats.connect(url, name=f"stxm-{durable}", max_reconnect_attempts=-1)
    try:
        js = client.jetstream()
        await ensure_stream(js)
        config = ConsumerConfig(
            durable_name=durable, ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_S
        )
        subscription = await js.pull_subscribe(
            f"{SUBJECT_PREFIX}.>", durable=durable, stream=STREAM, config=config
        )
        logger.info("consuming %s from %s as durable %r", STREAM, url, durable)
        while not stopping.is_set():
            try:
                messages = await subscription.fetch(_FETCH_BATCH, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):  # nothing new yet
                continue
            for index, message in enumerate(messages):
                try:
                    consumer.take(message.subject, message.data, _sequence(message))
                except Exception as err:  # not taken: this and the rest come again, in order
                    await _retry_later(messages[index:], err)
                    break
                await message.ack()  # only now: the document is in the journal
        logger.info("stopping: no more documents taken")
    finally:  # acks out, then close (drain waits forever on a pull subscription)
        try:
            await client.flush(timeout=_FLUSH_TIMEOUT_S)
        except Exception as err:  # a broker gone: unacknowledged documents come again
            logger.warning("acknowledgements not flushed (%s): they will be redelivered", err)
        await client.close()


async def _retry_later(messages: list, err: Exception) -> None:
    first = messages[0]
    deliveries = first.metadata.num_delivered
    if deliveries >= _MAX_DELIVERIES:
        logger.error(
            "gave up on broker message %s after %d deliveries: %r",
            _sequence(first),
            deliveries,
            err,
        )
        await first.term()
        messages = messages[1:]
    else:
        logger.warning("broker message %s not taken (%r): redelivered later", _sequence(first), err)
    for message in messages:
        await message.nak(delay=_RETRY_DELAY_S)


def _sequence(message: Any) -> int | None:
    try:
        return message.metadata.sequence.stream
    except Exception:  # not a JetStream message: no sequence to report
        return None


def run(
    url: str,
    data_dir: str | Path,
    *,
    allow_outside: Iterable[str | Path] = (),
    durable: str = DURABLE,
) -> NXstxmAssembler:
    """Assemble every scan of the document stream at ``url`` until SIGTERM/SIGINT."""
    assembler = NXstxmAssembler(data_dir, allow_outside=allow_outside)
    resume_journals(assembler)
    try:
        _serve(url, assembler_consumer(assembler), durable)
    finally:
        logger.info("writing every scan still held")
        assembler.flush(running=True)
        assembler.journal.close()
    return assembler


def _serve(url: str, consumer: DocumentConsumer, durable: str) -> None:
    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await consume(url, consumer, stopping, durable=durable)

    asyncio.run(main())


def run_tiled_writer(url: str, tiled_uri: str, api_key: str | None, durable: str) -> None:
    """Write every run of the stream into the Tiled server at ``tiled_uri``: a second consumer."""
    from bluesky_tiled_plugins import TiledWriter
    from tiled.client import from_uri

    writer = TiledWriter(from_uri(tiled_uri, api_key=api_key))
    _serve(url, DocumentConsumer(writer), durable)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m facility.consumer --nats URL --data-dir DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", required=True, help="NATS server URL (nats://127.0.0.1:4222)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--data-dir", help="assemble: where NXstxm files and journals go")
    target.add_argument(
        "--tiled", metavar="URI", help="write runs to this Tiled server (key: $STXM_TILED_API_KEY)"
    )
    parser.add_argument("--durable", default=None, help="the durable consumer's name")
    parser.add_argument("--allow-outside", action="append", default=[], metavar="DIR")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.tiled:
        api_key = os.environ.get("STXM_TILED_API_KEY")
        run_tiled_writer(args.nats, args.tiled, api_key, args.durable or TILED_DURABLE)
        return 0
    assembler = run(
        args.nats, args.data_dir, allow_outside=args.allow_outside, durable=args.durable or DURABLE
    )
    return 1 if assembler.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
