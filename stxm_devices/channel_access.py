"""Client-side Channel Access: loopback settings, and statuses that cannot hang.

``use_loopback_channel_access`` is called by the composition roots (the ``stxm``
command, the startup profile, tests) before the first PV connects; pyepics reads these
variables once, at import; ``start_repeater`` runs a CA repeater on loopback first, so
libca finds one.  ``guard_status`` gives a device's status a deadline and
fails it when a PV it depends on disconnects, naming the PV and its IOC.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from ophyd import EpicsSignal, Signal, Staged
from ophyd.status import StatusBase
from ophyd.utils import DisconnectedError, InvalidState

logger = logging.getLogger(__name__)


def loopback_client_environment(ports: Iterable[int] = ()) -> dict[str, str]:
    """``EPICS_CA_*`` for a client that searches only 127.0.0.1 (on each port)."""
    ports = list(ports)
    addresses = " ".join(f"127.0.0.1:{port}" for port in ports) or "127.0.0.1"
    env = {"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": addresses}
    if ports:
        env["EPICS_CA_REPEATER_PORT"] = str(ports[0] + 1)
    return env


def use_loopback_channel_access(ports: Iterable[int] = (), *, force: bool = False) -> None:
    """Apply the loopback client settings; keep the caller's unless ``force``."""
    for key, value in loopback_client_environment(ports).items():
        if force:
            os.environ[key] = value
        else:
            os.environ.setdefault(key, value)


@contextmanager
def closing_channel_access() -> Iterator[None]:
    """Close this process's Channel Access as the block ends (inside the IOC's block)."""
    try:
        yield
    finally:
        close_channel_access()


def close_channel_access() -> None:
    """Clear every channel and destroy this process's CA context (pyepics), for good.

    Call it before stopping an IOC this session talks to (the demo's sim): the
    circuits then close from this side, and libca prints no "CA.Client.Exception …
    Virtual circuit disconnect" block when the IOC goes.  No PV works afterwards.
    """
    try:
        from epics import ca
    except ImportError:  # another control layer: nothing of libca's to close
        return
    ca.finalize_libca()


# --- Statuses that end: a deadline from the exposure, and a disconnect fails them at once ---

#: Seconds a put to an IOC may take to complete when nothing longer is expected.
PUT_TIMEOUT_S = 10.0


class IocDisconnectedError(DisconnectedError):
    """A PV a running acquisition or move depends on disconnected (its IOC died or left)."""


class IocTimeoutError(TimeoutError):
    """An IOC did not finish an acquisition or move within the time it should take."""


def ioc_of(signal: Signal) -> str:
    """``PV (IOC host:port)`` for messages, as far as the control layer knows the host."""
    pvname = getattr(signal, "setpoint_pvname", None) or getattr(signal, "pvname", signal.name)
    pv = getattr(signal, "_read_pv", None)
    try:
        host = pv.host if pv is not None else ""
    except Exception:  # noqa: BLE001 - a dead channel may not know its host any more
        host = ""
    return f"{pvname} (IOC {host})" if host and "unknown" not in str(host) else pvname


def settle_status(status: StatusBase, error: Exception | None = None) -> None:
    """Finish ``status`` (failed with ``error`` if given) unless something finished it first.

    A disconnect, the deadline and the IOC's own answer race to finish a status; the
    first wins and the others are no-ops.
    """
    if status.done:
        return
    try:
        if error is None:
            status.set_finished()
        else:
            status.set_exception(error)
    except InvalidState:
        pass


class Deadlines:
    """One thread that runs callbacks at their deadlines, cancelled ones skipped.

    A ``threading.Timer`` per status costs a thread start (~1 ms on a loaded 2-core
    machine), and a fly row guards half a dozen statuses; here a deadline is a heap entry.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._pending: set[int] = set()
        self._keys = itertools.count()
        self._thread: threading.Thread | None = None

    def call_later(self, delay: float, callback: Callable[[], None]) -> int:
        """Run ``callback`` in the deadline thread ``delay`` s from now; a key to cancel it."""
        with self._condition:
            key = next(self._keys)
            heapq.heappush(self._heap, (time.monotonic() + delay, key, callback))
            self._pending.add(key)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            if self._heap[0][1] == key:  # earlier than the deadline the thread waits for
                self._condition.notify()
        return key

    def cancel(self, key: int) -> None:
        """Forget the deadline ``key`` (nothing happens if it already ran)."""
        with self._condition:
            self._pending.discard(key)

    def _due(self) -> Callable[[], None]:
        with self._condition:
            while True:
                while self._heap and self._heap[0][1] not in self._pending:
                    heapq.heappop(self._heap)  # cancelled
                if not self._heap:
                    self._condition.wait()
                    continue
                due, key, callback = self._heap[0]
                if due <= time.monotonic():
                    heapq.heappop(self._heap)
                    self._pending.discard(key)
                    return callback
                self._condition.wait(due - time.monotonic())

    def _run(self) -> None:
        while True:
            callback = self._due()
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing deadline must not stop the others
                logger.exception("deadline callback %r failed", callback)


_deadlines = Deadlines()


def guard_status(
    status: StatusBase, signals: Sequence[Signal], *, timeout: float | None, action: str
) -> StatusBase:
    """Make ``status`` end: failed when any of ``signals`` disconnects, or after ``timeout`` s.

    ``action`` says what the status waits for ("counter0 acquiring 100 points"); the
    error names it and the PV.  A signal already disconnected fails the status at once.
    Subscriptions and the timer go when the status finishes, however it finishes.
    """
    names = {id(signal): ioc_of(signal) for signal in signals}
    tokens: list[tuple[Signal, int]] = []

    def on_connection(*, obj: Signal, connected: bool = True, **_) -> None:
        if not connected:
            settle_status(
                status, IocDisconnectedError(f"{names[id(obj)]} disconnected while {action}")
            )

    for signal in signals:
        if not signal.connected:
            settle_status(
                status, IocDisconnectedError(f"{names[id(signal)]} is not connected: {action}")
            )
            break
        tokens.append((signal, signal.subscribe(on_connection, event_type="meta", run=False)))
    deadline = None
    if timeout is not None and not status.done:
        pvs = ", ".join(dict.fromkeys(names.values()))
        message = f"{action}: not finished within {timeout:.1f} s (waiting on {pvs})"
        error = IocTimeoutError(message)
        deadline = _deadlines.call_later(timeout, lambda: settle_status(status, error))

    def release(_: StatusBase) -> None:
        if deadline is not None:
            _deadlines.cancel(deadline)
        for signal, token in tokens:
            signal.unsubscribe(token)

    status.add_callback(release)
    return status


def _clear_stuck_gets(pvname: str) -> bool:
    """Forget a pyepics get that can never complete; True if there was one.

    pyepics marks a channel's get as pending *before* asking libca, and when libca
    refuses (the channel is disconnected at that instant) the mark stays: every later
    get of that PV then waits for a reply that never comes, even after the IOC is back.
    """
    try:
        from epics import ca
    except ImportError:  # another control layer
        return False
    entry = ca.get_cache(pvname)
    if not entry:
        return False
    stuck = False
    with entry.lock:
        for ftype, (last,) in list(entry.get_results.items()):
            if last is ca.GET_PENDING:
                entry.get_results[ftype] = [None]
                stuck = True
    return stuck


def fresh_read(signal: Signal, **kwargs):
    """``signal.get(use_monitor=False)``, immune to a get stuck since a disconnect.

    A control layer's failure (the IOC died under the get) is re-raised naming the PV.
    """
    with naming_the_ioc(signal.pvname, "read"):
        try:
            return signal.get(use_monitor=False, **kwargs)
        except TimeoutError:
            if not (signal.connected and _clear_stuck_gets(signal.pvname)):
                raise
            logger.info("%s: a get pending since a disconnect was dropped", signal.pvname)
            return signal.get(use_monitor=False, **kwargs)


@contextmanager
def naming_the_ioc(prefix: str, action: str) -> Iterator[None]:
    """Re-raise a control layer's own error (pyepics's say no PV) naming the IOC's prefix.

    A Channel Access get on a channel whose IOC just died raises, e.g.,
    ``ChannelAccessGetFailure: Get failed; status code: 192``, which names nothing.
    """
    try:
        yield
    except Exception as error:
        if type(error).__module__.split(".")[0] not in ("epics", "caproto"):
            raise
        raise IocDisconnectedError(
            f"{prefix} did not answer while {action}: {type(error).__name__}: {error}"
        ) from error


class GuardedSignal(EpicsSignal):
    """An EpicsSignal whose ``set`` fails on a disconnect and within ``PUT_TIMEOUT_S``.

    Stock ophyd's put-complete status waits forever for a callback an IOC that died
    never sends.
    """

    def set(self, value, *, timeout=None, settle_time=None) -> StatusBase:
        timeout = timeout or self.write_timeout or PUT_TIMEOUT_S
        # Connected first: ophyd would otherwise make a Status, then fail the put, and
        # leave that Status to time out (and warn) on its own later.
        self.wait_for_connection(timeout=self.connection_timeout)
        # A put-complete status needs no deadline of ophyd's (a thread per status): the
        # guard's names the PV. Otherwise ophyd's, a little later, so the guard's fires first.
        backstop = None if self._put_complete else timeout + 1.0
        status = super().set(value, timeout=backstop, settle_time=settle_time)
        return guard_status(status, [self], timeout=timeout, action=f"setting {value!r}")


class NamedIocErrors:
    """Mixin: a device's stage and read name its IOC when the control layer's error does not."""

    def stage(self) -> list:
        with naming_the_ioc(self.prefix, f"{self.name} was staged"):
            return super().stage()

    def read(self) -> dict:
        with naming_the_ioc(self.prefix, f"{self.name} was read"):
            return super().read()


class CleanUnstage:
    """Mixin for a staged device whose IOC may be gone: unstaging always ends unstaged.

    ophyd's ``unstage`` stops at the first value it cannot restore and leaves the device
    (and the children it had not reached) staged, so the next scan raises
    ``RedundantStaging``.  Here a failed restore still unstages the whole tree; a
    disconnected IOC (nothing to restore until it restarts) is logged, not raised, so
    cleanup never hides the error that stopped the scan.
    """

    def unstage(self) -> list:
        try:
            return super().unstage()
        except Exception as error:
            self._forget_staging()
            if isinstance(error, DisconnectedError | TimeoutError):
                logger.warning("%s unstaged without restoring its settings: %s", self.name, error)
                return [self]
            raise

    def _forget_staging(self) -> None:
        for _, device in self.walk_subdevices(include_lazy=False):
            device._staged = Staged.no
            device._original_vals.clear()
        self._staged = Staged.no
        self._original_vals.clear()


# --- The CA repeater: ours (iocs.repeater), on the repeater port of 127.0.0.1 ------------


def repeater_command() -> list[str]:
    """The CA repeater of ``iocs.repeater``: 127.0.0.1 only, confirms libca's registration.

    It serves ``EPICS_CA_REPEATER_PORT`` of its environment, exits at once if a
    repeater already holds that port, and exits when the process that started it ends.
    """
    return [sys.executable, "-m", "iocs.repeater"]


def start_repeater() -> subprocess.Popen:
    """Start a CA repeater for this session's clients, before the first PV connects.

    libca looks for a repeater when its context starts; without one it prints
    "caRepeater couldn't be located" (pyepics ships no caRepeater executable) and
    runs its own in a thread bound to every interface.  The repeater uses no network
    beyond 127.0.0.1 and ends with this session (a later session starts its own).
    Returns the process (it has already exited if a repeater was running).
    """
    process = subprocess.Popen(
        repeater_command(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_repeater_port(process)
    return process


def _repeater_port_taken() -> bool:
    port = int(os.environ.get("EPICS_CA_REPEATER_PORT", "5065"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _wait_for_repeater_port(process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not _repeater_port_taken() and process.poll() is None:
        if time.monotonic() > deadline:
            logger.warning("the CA repeater did not bind its port within %s s", timeout)
            return
        time.sleep(0.05)


@contextmanager
def running_repeater() -> Iterator[subprocess.Popen]:
    """A CA repeater for the block (tests): started, then stopped by its PID."""
    process = start_repeater()
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(5)
