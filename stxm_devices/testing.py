"""Test helpers shipped with the package: sim IOC processes on loopback, stopped by PID.

``running_ioc`` starts a command (``stxm sim``, ``python -m iocs.<name>``) with the
loopback Channel Access environment for its own port, waits until a PV answers (not a sleep),
and always stops the process it started — terminate, then kill — even when the
test body raised. ``running_service`` does the same for any other process (the 0MQ
proxy, ``stxm serve``), waiting on a condition the caller gives.

Each process's output goes to a log file, ``stxm-process-*.log`` in the temporary
directory, deleted once its owner has stopped the process cleanly. It is kept, and its
path named (a note on the error, a warning logged, :func:`kept_logs`), when it can tell
something: the block raised, the process exited before it was stopped (or needed
SIGKILL), or :meth:`ServiceProcess.keep_log` asked (tests/conftest.py does, for every
process running while a test failed: :func:`keep_running_logs`).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

from iocs.prefixes import DEFAULT_PREFIX

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class ServiceProcess:
    """A process a test started: its PID, the file its output goes to, and its fate.

    ``keep_reasons`` collects why the log is to outlive the process (none: deleted);
    ``killed_by_owner`` is set by :meth:`kill`.
    """

    process: subprocess.Popen
    log_path: Path
    keep_reasons: list[str] = field(default_factory=list, init=False, repr=False)
    killed_by_owner: bool = field(default=False, init=False)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def keep_log(self, reason: str) -> None:
        """Keep the log once the process is stopped, ``reason`` said where it is reported."""
        self.keep_reasons.append(reason)

    def kill(self) -> None:
        """SIGKILL the process and reap it: a crash its owner causes (a fault test's).

        Deliberate, so it counts as the owner's stop: the log goes unless kept otherwise.
        """
        self.killed_by_owner = True
        self.process.kill()  # Popen's: never signals a PID it has already reaped
        self.process.wait(10)


@dataclass(eq=False)
class IocProcess(ServiceProcess):
    """A running IOC process: its PID, port and log file."""

    port: int = 0


_Service = TypeVar("_Service", bound=ServiceProcess)


def ioc_environment(port: int, client_ports: Sequence[int] = ()) -> dict[str, str]:
    """Environment for an IOC process serving on ``port`` of 127.0.0.1.

    ``client_ports`` are other IOCs' ports that this one follows over Channel Access.
    """
    ports = [port, *client_ports]
    return {
        "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1",
        "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
        "EPICS_CAS_BEACON_ADDR_LIST": "127.255.255.255",
        "EPICS_CAS_SERVER_PORT": str(port),
        "EPICS_CA_SERVER_PORT": str(port),
        "EPICS_CAS_BEACON_PORT": str(port + 1),
        "EPICS_CA_REPEATER_PORT": str(port + 1),
        "EPICS_CA_AUTO_ADDR_LIST": "NO",
        "EPICS_CA_ADDR_LIST": " ".join(f"127.0.0.1:{p}" for p in ports),
    }


def wait_for_pv(pvname: str, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Return once ``pvname`` answers a read; raise if the deadline passes or the IOC died.

    Each try is a fresh search (caproto's synchronous client): a libca channel made
    before the IOC is up backs its searches off, and would find a slow-starting IOC
    late, or after a restart on the same port not within the deadline at all.
    """
    from caproto import CaprotoError
    from caproto.sync.client import read

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"IOC exited with code {process.returncode} before {pvname} answered"
            )
        try:
            read(pvname, timeout=0.5, repeater=False)
            return
        except (CaprotoError, TimeoutError, OSError):
            time.sleep(0.1)
    raise TimeoutError(f"{pvname} did not answer within {timeout} s")


def stop_process(process: subprocess.Popen, grace: float = 5.0) -> bool:
    """Stop one process we started, by PID: SIGTERM, then SIGKILL after ``grace`` s.

    True when it is gone without SIGKILL (it stopped on SIGTERM, or had exited).
    """
    if process.poll() is not None:
        return True
    process.terminate()
    try:
        process.wait(grace)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)
        return False


#: Processes started here and not stopped yet (what :func:`keep_running_logs` marks).
_RUNNING: list[ServiceProcess] = []
#: The logs kept so far in this interpreter, each with why.
_KEPT: list[tuple[Path, tuple[str, ...]]] = []


def keep_running_logs(reason: str) -> list[Path]:
    """Keep the log of every process running now (a test failed while they ran): their paths."""
    for service in _RUNNING:
        service.keep_log(reason)
    return [service.log_path for service in _RUNNING]


def kept_logs() -> list[tuple[Path, tuple[str, ...]]]:
    """The logs kept so far in this interpreter, each with the reasons it was kept."""
    return list(_KEPT)


def _stop(service: ServiceProcess) -> None:
    """Stop the process; note in its keep reasons anything its log may explain."""
    process = service.process
    exited = process.poll()
    if exited is not None:
        if exited != 0 and not service.killed_by_owner:
            service.keep_log(f"exited with code {exited} before it was stopped")
    elif not stop_process(process):
        service.keep_log("did not stop on SIGTERM: killed")
    elif process.returncode not in (0, -signal.SIGTERM):
        service.keep_log(f"exited with code {process.returncode} on SIGTERM")


@contextmanager
def running_ioc(
    command: Sequence[str],
    *,
    port: int,
    ready_pv: str,
    client_ports: Sequence[int] = (),
    timeout: float = 60.0,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[IocProcess]:
    """Run ``command`` as an IOC on loopback ``port`` until the block ends."""
    env = {**os.environ, **ioc_environment(port, client_ports), **(extra_env or {})}
    with _spawned(command, env, partial(IocProcess, port=port)) as ioc:
        try:
            wait_for_pv(ready_pv, timeout=timeout, process=ioc.process)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{' '.join(command)}: {error}\n{ioc.log_tail()}") from error
        yield ioc


@contextmanager
def _spawned(
    command: Sequence[str], env: Mapping[str, str], record: Callable[..., _Service]
) -> Iterator[_Service]:
    """Start ``command``, its output in a log file; stop it by PID when the block ends.

    ``record(process=, log_path=)`` makes what the block gets. The log is deleted after
    a clean stop, else kept and named (module docstring).
    """
    log = tempfile.NamedTemporaryFile(prefix="stxm-process-", suffix=".log", delete=False)
    process = subprocess.Popen(
        list(command), env=dict(env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    service = record(process=process, log_path=Path(log.name))
    _RUNNING.append(service)
    try:
        yield service
    except Exception as error:
        service.keep_log(f"{type(error).__name__} raised while it ran")
        error.add_note(f"{' '.join(command)}: log kept at {service.log_path}")
        raise
    finally:
        _RUNNING.remove(service)
        _stop(service)
        log.close()
        _keep_or_delete(service, command)


def _keep_or_delete(service: ServiceProcess, command: Sequence[str]) -> None:
    """Delete the stopped process's log, unless there is a reason to keep it."""
    if not service.keep_reasons:
        service.log_path.unlink(missing_ok=True)
        return
    reasons = tuple(dict.fromkeys(service.keep_reasons))
    _KEPT.append((service.log_path, reasons))
    logger.warning(
        "%s: log kept at %s (%s)", " ".join(command), service.log_path, "; ".join(reasons)
    )


@contextmanager
def running_service(
    command: Sequence[str],
    *,
    ready: Callable[[ServiceProcess], bool],
    timeout: float = 60.0,
    poll_s: float = 0.1,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[ServiceProcess]:
    """Run ``command`` until the block ends, once ``ready(service)`` is true.

    ``ready`` is polled every ``poll_s`` until the deadline; it may act as well as look
    (publish a probe, then look for it in the log).
    """
    with _spawned(command, {**os.environ, **(extra_env or {})}, ServiceProcess) as service:
        process = service.process
        answered = wait_until(
            lambda: process.poll() is not None or ready(service), timeout=timeout, poll_s=poll_s
        )
        if process.poll() is not None or not answered:
            state = f"exited with {process.returncode}" if answered else "not ready in time"
            raise RuntimeError(f"{' '.join(command)}: {state}\n{service.log_tail()}")
        yield service


def wait_until(condition: Callable[[], bool], *, timeout: float, poll_s: float = 0.1) -> bool:
    """Poll ``condition`` every ``poll_s`` until it holds (True) or ``timeout`` s pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll_s)
    return True


def sim_command(port: int, prefix: str = DEFAULT_PREFIX, *extra: str) -> list[str]:
    """The ``stxm sim`` command line for this interpreter."""
    return [
        sys.executable,
        "-m",
        "stxm_devices.cli",
        "sim",
        "--port",
        str(port),
        "--prefix",
        prefix,
        *extra,
    ]


def ioc_command(module: str, prefix: str, *extra: str) -> list[str]:
    """``python -m iocs.<module> --prefix <prefix>`` for this interpreter."""
    return [sys.executable, "-m", f"iocs.{module}", "--prefix", prefix, *extra]
