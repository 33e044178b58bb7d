"""After an IOC restarts, search its channels afresh, so the same session scans at once.

libca searches for the channels of an IOC that went away with a backoff: the longer the
IOC was down, the later its channels find it again (seconds after it is back; beacons
do not shorten it, docs/faults.md).  A channel created anew is searched at once.  So a
watcher thread keeps the last server of every pyepics channel that connected, probes
each server whose channels are disconnected with fresh UDP searches (caproto's
protocol objects, no libca state): one name per record (``P:det1:cam1``,
``P:stage:FineX``), all in one datagram, since names of an IOC that never comes back
(another prefix once served on the same port) must not hide the records that are back.
Every disconnected channel of a record that answers is replaced by a new libca channel
of the same name.  The pyepics ``PV`` objects (and so the ophyd signals holding them)
stay the same: each is pointed at the new channel, and its monitor is made again when
the channel connects.

A server is remembered per channel (pyepics's cache entry), not per PV name: ophyd's
``destroy`` (or a device's finalizer) clears the channels no other signal holds, and a
device made later on the same names gets new channels that have not connected yet.
Remembered by name, those looked like channels of a restarted IOC and were renewed
while connecting; the replaced channel's connection event then reached the PV with the
new, unconnected channel (field type -1), and its next read asked for DBR_STS_DOUBLE
(-1 + 14) and failed (tests/integration/test_destroyed_device.py).

``watch_restarts()`` starts the watcher once per process; ``Beamline.connect`` calls it.
It does nothing under another control layer than pyepics.
"""

from __future__ import annotations

import ctypes
import logging
import random
import sys
import threading
import time
from collections import defaultdict

logger = logging.getLogger(__name__)

#: Seconds between looks at the channels (and between probes of a server that is down).
POLL_S = 0.1
#: Seconds a probe waits for the server's answer to its search.
PROBE_TIMEOUT_S = 0.2
#: Searches per probe datagram (about 40 bytes each: well inside one loopback datagram).
SEARCHES_PER_DATAGRAM = 100
_retired: list = []  # replaced channels (chids) not cleared yet: a thread holds them

_watcher: threading.Thread | None = None
_watcher_lock = threading.Lock()


def watch_restarts() -> None:
    """Start (once per process) the thread that renews the channels of a restarted IOC."""
    global _watcher
    import ophyd

    if ophyd.cl.name != "pyepics":
        return
    from epics import ca

    with _watcher_lock:
        if _watcher is not None and _watcher.is_alive():
            return
        _watcher = ca.CAThread(target=_watch, name="stxm-ca-restarts", daemon=True)
        _watcher.start()


def _watch() -> None:
    from epics import ca

    context = ca.current_context()
    servers: dict = {}  # cache entry -> host:port of the server that last served it
    while True:
        time.sleep(POLL_S)
        if ca.libca is ca._LIBCA_FINALIZED:  # close_channel_access(): nothing left to watch
            return
        try:
            renew_restarted(ca._cache.get(context, {}), servers)
            clear_retired()
        except Exception:  # noqa: BLE001 - the watcher must outlive any one failure
            logger.exception("renewing the channels of a restarted IOC failed")


def renew_restarted(cache: dict, servers: dict) -> int:
    """One look: renew the disconnected channels of every record that answers again.

    ``cache`` is pyepics's channel cache (PV name -> entry) of this context; ``servers``
    remembers across looks which server served each entry (a channel that connected).
    An entry no longer cached (its channel cleared) is forgotten; a new entry of the
    same name is not down until it has connected once.  Returns the number renewed.
    """
    from epics import ca

    entries = [
        entry
        for entry in list(cache.values())
        if isinstance(entry, ca._CacheItem) and entry.chid is not None
    ]
    for gone in servers.keys() - set(entries):
        del servers[gone]
    down: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for entry in entries:
        if entry.conn:
            if entry not in servers:
                servers[entry] = ca.host_name(entry.chid)
        elif entry in servers:
            down[servers[entry]][record_of(entry.pvname)].append(entry)
    renewed = 0
    for server, records in down.items():
        back = _answering([entries[0].pvname for entries in records.values()])
        count = 0
        for entries in records.values():
            if entries[0].pvname not in back:
                continue
            for entry in entries:
                if renew_channel(entry):  # else connected meanwhile: nothing to renew
                    servers.pop(entry, None)
                    count += 1
        if count:
            clear_retired()
            logger.info("%s is back: %d channels searched afresh", server, count)
        renewed += count
    return renewed


def record_of(pvname: str) -> str:
    """The record (or areaDetector port) a PV name belongs to: up to its last ``:``/``.``.

    ``P:stage:FineX.RBV`` -> ``P:stage:FineX``; ``P:det1:cam1:Acquire`` -> ``P:det1:cam1``.
    """
    if "." in pvname:
        return pvname.split(".", 1)[0]
    return pvname.rsplit(":", 1)[0]


def _answers(pvname: str) -> bool:
    """Whether a server answers a fresh search for ``pvname`` now."""
    return pvname in _answering([pvname])


def _answering(pvnames: list[str]) -> set[str]:
    """The names of ``pvnames`` some server answers a fresh search for now.

    The searches go in datagrams of up to ``SEARCHES_PER_DATAGRAM`` to each address of
    ``EPICS_CA_ADDR_LIST`` (caproto's protocol objects; no libca state, no repeater
    registration); answers are awaited ``PROBE_TIMEOUT_S``.
    """
    import caproto as ca

    broadcaster = ca.Broadcaster(our_role=ca.CLIENT)
    first = random.randint(0, 0xFFFF - len(pvnames))
    by_cid = {first + i: name for i, name in enumerate(pvnames)}
    datagrams = []
    cids = list(by_cid)
    for start in range(0, len(cids), SEARCHES_PER_DATAGRAM):
        searches = [
            ca.SearchRequest(by_cid[cid], cid, ca.DEFAULT_PROTOCOL_VERSION)
            for cid in cids[start : start + SEARCHES_PER_DATAGRAM]
        ]
        datagrams.append(
            broadcaster.send(ca.VersionRequest(0, ca.DEFAULT_PROTOCOL_VERSION), *searches)
        )
    answered: set[str] = set()
    deadline = time.monotonic() + PROBE_TIMEOUT_S
    with ca.bcast_socket() as udp:
        try:
            for address in ca.get_client_address_list():
                for datagram in datagrams:
                    udp.sendto(datagram, address)
            while len(answered) < len(by_cid) and (left := deadline - time.monotonic()) > 0:
                udp.settimeout(left)
                data, address = udp.recvfrom(ca.MAX_UDP_RECV)
                for command in broadcaster.recv(data, address):
                    if isinstance(command, ca.SearchResponse) and command.cid in by_cid:
                        answered.add(by_cid[command.cid])
        except (OSError, ca.CaprotoError):  # a timeout is an OSError
            pass
    return answered


def renew_channel(entry) -> bool:
    """Replace the disconnected libca channel of ``entry`` by a new one of the same name.

    The cache entry (its connection and access callbacks) stays; every pyepics ``PV``
    on that name is pointed at the new channel, and forgets its monitor (made again
    on connection) and any get left pending.
    """
    from epics import PV, ca, dbr

    with entry.lock:
        old = entry.chid
        if old is None or entry.conn:
            return False
        new = dbr.chid_t()
        status = ca.libca.ca_create_channel(
            ctypes.c_char_p(entry.pvname.encode()), ca._CB_CONNECT, 0, 0, ctypes.byref(new)
        )
        ca.PySEVCHK("create_channel", status)
        ca._chid_cache[new.value] = entry
        entry.chid = new
        entry.get_results.clear()
        for callback in entry.callbacks:
            pv = getattr(callback, "__self__", None)
            if isinstance(pv, PV):
                pv._clear_auto_monitor_subscription()  # the old channel's: remade on connection
                pv.chid = pv._args["chid"] = new
        # The old channel is retired: its events reach an entry without callbacks, and it
        # is cleared by clear_retired() once no thread's pyepics call holds it.
        ca._chid_cache[old.value] = ca._CacheItem(chid=None, pvname=entry.pvname)
        _retired.append(old)
        ca.libca.ca_replace_access_rights_event(new, ca._CB_ACCESS)
    ca.libca.ca_flush_io()
    return True


def clear_retired() -> int:
    """Clear every replaced channel no thread holds any more; how many were cleared.

    A thread inside pyepics's ``ca`` functions may hold a channel it was given before it
    was replaced (a put that met the disconnect waits in ``connect_channel`` until that
    channel connects); clearing it under that call would let libca reuse its memory for
    another channel.  Such a channel is kept until the call has returned; the others
    are cleared at once, so they do not also search for and connect to the server.
    """
    from epics import ca

    held = _held_channels()
    kept = [chid for chid in _retired if chid.value in held]
    cleared = 0
    for chid in _retired:
        if chid.value not in held:
            ca._chid_cache.pop(chid.value, None)
            ca.libca.ca_clear_channel(chid)
            cleared += 1
    _retired[:] = kept
    return cleared


def _held_channels() -> set[int]:
    """The channels (chid values) some thread is inside a pyepics ``ca`` function with."""
    from epics import ca

    held = set()
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code.co_filename == ca.__file__:
                chid = frame.f_locals.get("chid")
                if chid is not None:
                    held.add(ca._chid_to_int(chid))
            frame = frame.f_back
    return held
