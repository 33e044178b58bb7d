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
failure) only once the monitors queued before it are on the wire; monitors queued
after it do not delay it.  The wait is bounded (a client that stops reading must not
stall puts) in time the server process ran, so a process stalled by a loaded machine
does not give up on waking before its subscription loop has had a turn.
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
#: Longest a put's completion waits for earlier monitors (a stuck client must not stall puts),
#: counted in time the server ran: longer than caproto's longest batching hold (MAX_LATENCY,
#: 1 s, under a flood of monitors).
MONITOR_FLUSH_LIMIT_S = 2.0
#: A gap between two looks at the clock longer than this counts only this much: the server
#: process was not running (a loaded machine, SIGSTOP, a long garbage collection).
RUNNING_STEP_S = 0.05


class _RunningTime:
    """Seconds the server ran since this was made, a stalled process's gaps left out.

    A deadline in wall-clock time passes while the whole process is stalled: the put
    that was waiting for its monitors then gives up on waking, though the subscription
    loop has not yet had a chance to send them.
    """

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._elapsed = 0.0

    def __call__(self) -> float:
        now = time.monotonic()
        self._elapsed += min(now - self._last, RUNNING_STEP_S)
        self._last = now
        return self._elapsed


class _CountingQueue(asyncio.Queue):
    """An asyncio queue that counts what was ever put in it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.put_count = 0

    def put_nowait(self, item) -> None:
        super().put_nowait(item)
        self.put_count += 1


class MonitorsFirstCircuit(VirtualCircuit):
    """A client circuit that sends a put's completion after the monitors queued before it.

    Monitors reach the client through caproto's per-circuit subscription loop, which may
    hold a batch back; the loop is the only consumer of the circuit's queue, so once it
    has sent (or parked with nothing held) everything it took, the monitors counted
    into the queue up to then are on the wire.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.subscription_queue = _CountingQueue(ca.MAX_TOTAL_SUBSCRIPTION_BACKLOG)
        self._taken = 0  # monitors the subscription loop took from the queue
        self._sent = 0  # ... of which all are sent (or dropped, for a cancelled subscription)
        self._waiters: list[tuple[int, asyncio.Future]] = []

    def _all_taken_are_sent(self) -> None:
        self._sent = self._taken
        for target, waiter in self._waiters:
            if target <= self._sent and not waiter.done():
                waiter.set_result(None)

    async def get_from_sub_queue(self, timeout=None):
        if timeout is None:  # the loop waits with nothing held back
            self._all_taken_are_sent()
        ref = await super().get_from_sub_queue(timeout)
        if ref is not None:
            self._taken += 1
        return ref

    async def send(self, *commands) -> None:
        if asyncio.current_task() is self._sub_task:  # the subscription loop sends its batch
            await super().send(*commands)
            self._all_taken_are_sent()
            return
        if any(isinstance(c, ca.WriteNotifyResponse | ca.ErrorResponse) for c in commands):
            await self._flush_monitors()
        await super().send(*commands)

    async def _flush_monitors(self) -> None:
        """Wait until the monitors queued so far (server-wide, then here) are sent."""
        running = _RunningTime()
        context = self.context
        routed = context.subscriptions_routed + context.subscription_queue.qsize()
        while context.subscriptions_routed < routed and running() < MONITOR_FLUSH_LIMIT_S:
            await asyncio.sleep(0)  # the server's subscription loop is ready to run
        target = self.subscription_queue.put_count
        if self._sent >= target:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((target, waiter))
        try:
            while not waiter.done() and running() < MONITOR_FLUSH_LIMIT_S:
                await asyncio.wait([waiter], timeout=RUNNING_STEP_S)
            if not waiter.done():
                self.log.warning("put completion sent before monitors still queued")
        finally:
            self._waiters.remove((target, waiter))


class LowLatencyContext(Context):
    """caproto's asyncio server context: TCP_NODELAY, and monitors before put completions."""

    CircuitClass = MonitorsFirstCircuit

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.subscriptions_routed = 0  # updates taken from the server-wide queue to circuits

    async def _subscription_queue_iteration(self, *args, **kwargs) -> None:
        try:
            await super()._subscription_queue_iteration(*args, **kwargs)
        finally:
            self.subscriptions_routed += 1

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
