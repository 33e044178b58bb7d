"""Renewing a disconnected channel keeps its pyepics PV; a probe of nothing says no.

The whole path (an IOC SIGKILLed and restarted, the same session scanning again within
5 s) is tests/faults/test_reconnect.py.
"""

from __future__ import annotations

import threading
import time

from stxm_devices.reconnect import (
    PROBE_TIMEOUT_S,
    _answers,
    clear_retired,
    renew_channel,
    renew_restarted,
)


def test_a_probe_of_a_name_nobody_serves_is_false_in_time():
    started = time.monotonic()
    assert not _answers("NOSUCHIOC:reconnect:probe")
    assert time.monotonic() - started < PROBE_TIMEOUT_S + 1.0


def test_renewing_points_the_same_pv_at_a_new_channel():
    from epics import PV, ca

    pv = PV("NOSUCHIOC:reconnect:renewed", auto_monitor=True)
    entry = ca.get_cache(pv.pvname)
    old = entry.chid.value
    assert not entry.conn
    assert renew_channel(entry)
    assert entry.chid.value != old
    assert pv.chid.value == entry.chid.value
    assert ca._chid_cache[entry.chid.value] is entry
    assert pv.pvname == ca.name(pv.chid)  # a live channel of the same name
    # The old channel is retired (its events reach no callback), then cleared.
    assert ca._chid_cache[old].callbacks == []
    assert clear_retired() >= 1
    assert old not in ca._chid_cache


def test_a_channel_a_thread_holds_is_kept_until_released():
    from epics import PV, ca

    pv = PV("NOSUCHIOC:reconnect:held")
    entry = ca.get_cache(pv.pvname)
    old = entry.chid
    inside = threading.Event()

    def put_waiting_for_its_channel():  # as a put that met the disconnect: holds ``old``
        ca.use_initial_context()
        inside.set()
        ca.connect_channel(old, timeout=2)

    holder = threading.Thread(target=put_waiting_for_its_channel, daemon=True)
    holder.start()
    inside.wait(5)
    time.sleep(0.2)  # inside connect_channel
    assert renew_channel(entry)
    clear_retired()
    assert old.value in ca._chid_cache  # kept while the thread holds it
    holder.join(10)
    assert clear_retired() >= 1
    assert old.value not in ca._chid_cache


def test_only_channels_of_a_known_server_are_probed():
    from epics import PV, ca

    pv = PV("NOSUCHIOC:reconnect:unknown")
    # Never connected: no server known, nothing to probe or renew.
    assert renew_restarted(ca._cache[ca.current_context()], {}) == 0
    # A server that does not answer: nothing renewed either.
    servers = {pv.pvname: "localhost:1"}
    assert renew_restarted(ca._cache[ca.current_context()], servers) == 0
