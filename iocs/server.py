"""Serving a pvdb with Channel Access latency fit for scanning (a few ms per request).

caproto's asyncio server, out of the box, (1) leaves Nagle's algorithm on for client
circuits, so a request that follows a monitor burst waits for the client's delayed ACK
(~40 ms on Linux), and (2) holds each monitor burst 10 ms hoping to batch more.  A
step scan does thousands of such round trips.  We serve with TCP_NODELAY on every
circuit and a 0.5 ms batching window (caproto's own ``CAPROTO_SERVER_HIGH_LOAD_TIMEOUT_SEC``
knob, which still wins when set).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

import caproto.server.common as server_common
from caproto.asyncio.server import Context
from caproto.asyncio.utils import _TransportWrapper

#: Batching window for monitor updates unless CAPROTO_SERVER_HIGH_LOAD_TIMEOUT_SEC says otherwise.
LOW_LATENCY_BATCH_S = 0.0005


class LowLatencyContext(Context):
    """caproto's asyncio server context with TCP_NODELAY on every client circuit."""

    async def server_accept_loop(self, sock):
        def new_client(reader, writer):
            client_socket = writer.get_extra_info("socket")
            if client_socket is not None:
                client_socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = _TransportWrapper(reader, writer)
            self.server_tasks.create(self.tcp_handler(transport, transport.getpeername()))

        await asyncio.start_server(new_client, sock=sock)


def serve(pvdb: dict, *, interfaces: list[str], log_pv_names: bool = False) -> None:
    """Run an asyncio Channel Access server for ``pvdb`` until interrupted."""
    server_common.HIGH_LOAD_TIMEOUT = float(
        os.environ.get("CAPROTO_SERVER_HIGH_LOAD_TIMEOUT_SEC", LOW_LATENCY_BATCH_S)
    )

    async def main() -> None:
        await LowLatencyContext(pvdb, interfaces).run(log_pv_names=log_pv_names)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
