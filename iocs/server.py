"""Serving a pvdb with Channel Access latency fit for scanning (a few ms per request).

caproto's asyncio server, out of the box, (1) leaves Nagle's algorithm on for client
circuits, so a request that follows a monitor burst waits for the client's delayed ACK
(~40 ms on Linux), and (2) holds each monitor burst 10 ms hoping to batch more.  A
step scan does thousands of such round trips.  We serve with TCP_NODELAY on every
circuit and a 0.5 ms batching window (caproto's own ``CAPROTO_SERVER_HIGH_LOAD_TIMEOUT_SEC``
knob, which still wins when set).

(3) caproto sends a put's completion as soon as the put handler returns, while the
monitors that handler posted still wait in the subscription queues; a real record posts
its monitors while it processes, before the put callback.  A client that reads its
monitor cache right after ``put(wait=True)`` (ophyd's ``set_current_position`` then
``position``) saw the old value.  Each circuit here sends a put's completion (or its
failure) only once the monitors queued before it are on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time

import caproto as ca
import caproto.server.common as server_common
from caproto.asyncio.server import Context, VirtualCircuit
from caproto.asyncio.utils import _TransportWrapper

#: Batching window for monitor updates unless CAPROTO_SERVER_HIGH_LOAD_TIMEOUT_SEC says otherwise.
LOW_LATENCY_BATCH_S = 0.0005
#: Longest a put's completion waits for earlier monitors (a monitor flood must not stall puts).
MONITOR_FLUSH_LIMIT_S = 0.2


class MonitorsFirstCircuit(VirtualCircuit):
    """A client circuit that sends a put's completion after the monitors the put caused."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._monitors_sent = asyncio.Event()

    async def get_from_sub_queue(self, timeout=None):
        # caproto's subscription loop waits without a timeout only when it holds no
        # batched monitor: everything it was given is on the wire.
        if timeout is None:
            self._monitors_sent.set()
        try:
            return await super().get_from_sub_queue(timeout)
        finally:
            if timeout is None:
                self._monitors_sent.clear()

    async def send(self, *commands) -> None:
        if any(isinstance(c, ca.WriteNotifyResponse | ca.ErrorResponse) for c in commands):
            await self._flush_monitors()
        await super().send(*commands)

    async def _flush_monitors(self) -> None:
        """Wait until the monitors queued so far (server-wide and on this circuit) are sent."""
        deadline = time.monotonic() + MONITOR_FLUSH_LIMIT_S
        while (remaining := deadline - time.monotonic()) > 0:
            if self.context.subscription_queue.qsize() or self.subscription_queue.qsize():
                await asyncio.sleep(0)  # the queue's consumer is about to run
            elif self._monitors_sent.is_set():
                return
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._monitors_sent.wait(), remaining)


class LowLatencyContext(Context):
    """caproto's asyncio server context: TCP_NODELAY, and monitors before put completions."""

    CircuitClass = MonitorsFirstCircuit

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
