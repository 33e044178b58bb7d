"""A put's completion reaches the client after the monitors the put caused, even when the
server process stalls while the completion waits for them (iocs/server.py).

The stall is made on purpose: the putter schedules a blocking sleep that runs just as
the completion starts waiting, as a loaded machine or a long garbage collection would.
A wait bounded in wall-clock time gave up on waking and sent the completion first (the
sim logged "put completion sent before monitors still queued" and the motor-record
monitor test failed at load 8).
"""

from __future__ import annotations

import sys
import textwrap
import threading

import epics

from stxm_devices.testing import running_ioc

PREFIX = "PUTORDER:"
#: Longer than the wait's bound (MONITOR_FLUSH_LIMIT_S, in time the server ran).
STALL_S = 2.5

SERVER = textwrap.dedent(
    f"""
    import asyncio
    import time

    from caproto.server import PVGroup, pvproperty

    from iocs.server import serve


    class Stalling(PVGroup):
        done = pvproperty(name="Done", value=0)
        go = pvproperty(name="Go", value=0)

        @go.putter
        async def go(self, instance, value):
            await self.done.write(value)  # a monitor the completion must follow
            asyncio.get_running_loop().call_soon(time.sleep, {STALL_S})
            return value


    serve(Stalling(prefix={PREFIX!r}).pvdb, interfaces=["127.0.0.1"])
    """
)


def test_the_completion_follows_the_monitors_across_a_stall(ca_ports):
    port = ca_ports["a"]
    with running_ioc([sys.executable, "-c", SERVER], port=port, ready_pv=PREFIX + "Done"):
        seen: list[int] = []
        done = epics.PV(PREFIX + "Done", callback=lambda value, **kw: seen.append(int(value)))
        go = epics.PV(PREFIX + "Go")
        completed = threading.Event()
        at_completion: list[list[int]] = []

        def on_completion(**kwargs) -> None:
            at_completion.append(list(seen))
            completed.set()

        try:
            assert done.wait_for_connection(30) and go.wait_for_connection(30)
            done.get()  # the first monitor has arrived
            for value in (1, 2):
                completed.clear()
                go.put(value, callback=on_completion)
                assert completed.wait(30), f"no put completion for {value}"
                assert at_completion[-1][-1:] == [value], at_completion
        finally:
            for pv in (done, go):  # before the IOC stops: no libca disconnect warning
                pv.disconnect()
