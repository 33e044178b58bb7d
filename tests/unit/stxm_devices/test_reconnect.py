"""Renewing a disconnected channel keeps its pyepics PV; a probe of nothing says no.

The channel tests run in a fresh interpreter each: they replace and clear libca
channels, which must not touch the channels of the test session's other tests. The
whole path (an IOC SIGKILLed and restarted, the same session scanning again within
5 s) is tests/faults/test_reconnect.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from stxm_devices.reconnect import PROBE_TIMEOUT_S, _answers


def run_alone(code: str) -> None:
    """Run ``code`` (asserts) in a fresh interpreter; fail with its output if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_a_probe_of_a_name_nobody_serves_is_false_in_time():
    started = time.monotonic()
    assert not _answers("NOSUCHIOC:reconnect:probe")
    assert time.monotonic() - started < PROBE_TIMEOUT_S + 1.0


def test_renewing_points_the_same_pv_at_a_new_channel():
    run_alone(
        """
        from epics import PV, ca
        from stxm_devices.reconnect import clear_retired, renew_channel

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
        assert clear_retired() == 1
        assert old not in ca._chid_cache
        """
    )


def test_a_channel_a_thread_holds_is_kept_until_released():
    run_alone(
        """
        import threading
        from epics import PV, ca
        from stxm_devices.reconnect import _held_channels, clear_retired, renew_channel
        from stxm_devices.testing import wait_until

        pv = PV("NOSUCHIOC:reconnect:held")
        entry = ca.get_cache(pv.pvname)
        old = entry.chid

        def put_waiting_for_its_channel():  # as a put that met the disconnect: holds old
            ca.use_initial_context()
            ca.connect_channel(old, timeout=5)  # long enough for the asserts below

        holder = threading.Thread(target=put_waiting_for_its_channel, daemon=True)
        holder.start()
        # Inside connect_channel (not a fixed sleep: a loaded machine may start it late).
        assert wait_until(lambda: old.value in _held_channels(), timeout=10, poll_s=0.01)
        assert renew_channel(entry)
        assert clear_retired() == 0
        assert old.value in ca._chid_cache  # kept while the thread holds it
        holder.join(20)
        assert clear_retired() == 1
        assert old.value not in ca._chid_cache
        """
    )


def test_only_channels_of_a_known_server_are_probed():
    run_alone(
        """
        from epics import PV, ca
        from stxm_devices.reconnect import renew_restarted

        pv = PV("NOSUCHIOC:reconnect:unknown")
        cache = ca._cache[ca.current_context()]
        # Never connected: no server known, nothing to probe or renew.
        assert renew_restarted(cache, {}) == 0
        # A server that does not answer: nothing renewed either.
        assert renew_restarted(cache, {ca.get_cache(pv.pvname): "localhost:1"}) == 0
        """
    )


def test_a_channel_made_anew_on_a_cleared_name_is_not_taken_for_a_known_one():
    run_alone(
        """
        from epics import PV, ca
        from stxm_devices.reconnect import renew_restarted

        name = "NOSUCHIOC:reconnect:remade"
        PV(name)
        cleared = ca.get_cache(name)
        servers = {cleared: "localhost:1"}  # as if it had connected to a server
        ca.clear_channel(cleared.chid)  # what ophyd's destroy does to a PV's last holder
        PV(name)  # a device made later on the same name: a new channel, never connected
        cache = ca._cache[ca.current_context()]
        assert cache[name] is not cleared
        assert renew_restarted(cache, servers) == 0
        assert servers == {}  # the cleared channel is forgotten, the new one not yet known
        """
    )
