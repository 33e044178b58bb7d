"""The assembler as a service on a 0MQ document stream, behind bluesky's 0MQ proxy.

The RunEngine publishes (``bluesky.callbacks.zmq.Publisher``) to the proxy's in side
(``bluesky-0MQ-proxy``); this service subscribes to its out side with bluesky's
``RemoteDispatcher`` and writes one NXstxm file per scan, as the in-process callback
would. A service started in the middle of a run sees documents of runs whose start it
missed: it skips those with a warning rather than stop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from pathlib import Path

from bluesky.callbacks.zmq import RemoteDispatcher

from .assembler import NXstxmAssembler
from .collector import DocumentError
from .files import DEFAULT_PATTERN

logger = logging.getLogger(__name__)


def skipping_strays(assembler: NXstxmAssembler) -> Callable[[str, dict], None]:
    """``assembler`` as a callback that skips (and logs) documents of runs it never saw."""

    def callback(name: str, doc: dict) -> None:
        try:
            assembler(name, doc)
        except DocumentError as err:
            logger.warning("skipped a %s document: %s", name, err)

    return callback


def serve(address: str, data_dir: str | Path, *, pattern: str = DEFAULT_PATTERN) -> NXstxmAssembler:
    """Assemble every scan published at ``address`` (``host:port``) until SIGTERM/SIGINT.

    On the way out, scans still waiting for runs are written with what arrived.
    """
    assembler = NXstxmAssembler(data_dir, pattern=pattern)
    loop = asyncio.new_event_loop()
    dispatcher = RemoteDispatcher(address, loop=loop)
    dispatcher.subscribe(skipping_strays(assembler))

    def shut_down() -> None:
        for task in asyncio.all_tasks(loop):
            task.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shut_down)
    logger.info("assembling scans from %s into %s", address, data_dir)
    try:
        dispatcher.start()
    except asyncio.CancelledError:
        logger.info("stopping")
    finally:
        assembler.flush()
    return assembler
