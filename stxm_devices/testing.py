"""Test helpers shipped with the package: sim IOC processes on loopback, stopped by PID.

``running_ioc`` starts a command (``stxm sim``, ``python -m iocs.<name>``) with the
loopback Channel Access environment for its own port, waits until a PV answers (not a sleep),
and always stops the process it started — terminate, then kill — even when the
test body raised. ``running_service`` does the same for any other process (the 0MQ
proxy, ``stxm serve``), waiting on a condition the caller gives.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from iocs.prefixes import DEFAULT_PREFIX


@dataclass(frozen=True)
class ServiceProcess:
    """A process a test started: its PID and the file its output goes to."""

    process: subprocess.Popen
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


@dataclass(frozen=True)
class IocProcess(ServiceProcess):
    """A running IOC process: its PID, port and log file."""

    port: int = 0


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


def stop_process(process: subprocess.Popen, grace: float = 5.0) -> None:
    """Stop one process we started, by PID: SIGTERM, then SIGKILL after ``grace`` s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)


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
    with _spawned(command, env) as (process, log_path):
        ioc = IocProcess(process=process, port=port, log_path=log_path)
        try:
            wait_for_pv(ready_pv, timeout=timeout, process=process)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{' '.join(command)}: {error}\n{ioc.log_tail()}") from error
        yield ioc


@contextmanager
def _spawned(
    command: Sequence[str], env: Mapping[str, str]
) -> Iterator[tuple[subprocess.Popen, Path]]:
    """Start ``command`` with its output in a log file; stop it by PID when the block ends."""
    log = tempfile.NamedTemporaryFile(prefix="stxm-process-", suffix=".log", delete=False)
    process = subprocess.Popen(
        list(command), env=dict(env), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    try:
        yield process, Path(log.name)
    finally:
        stop_process(process)
        log.close()


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
    with _spawned(command, {**os.environ, **(extra_env or {})}) as (process, log_path):
        service = ServiceProcess(process=process, log_path=log_path)
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
