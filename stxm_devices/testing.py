"""Test helpers shipped with the package: sim IOC processes on loopback, stopped by PID.

``running_ioc`` starts a command (``stxm sim``, ``python -m iocs.<name>``) with the
DESIGN.md §2 environment for its own port, waits until a PV answers (not a sleep),
and always stops the process it started — terminate, then kill — even when the
test body raised.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class IocProcess:
    """A running IOC process: its PID, port and log file."""

    process: subprocess.Popen
    port: int
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


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
    """Return once ``pvname`` answers a caget; raise if the deadline passes or the IOC died."""
    import epics

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"IOC exited with code {process.returncode} before {pvname} answered"
            )
        if epics.caget(pvname, timeout=0.5, connection_timeout=0.5) is not None:
            return
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
    timeout: float = 30.0,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[IocProcess]:
    """Run ``command`` as an IOC on loopback ``port`` until the block ends."""
    env = {**os.environ, **ioc_environment(port, client_ports), **(extra_env or {})}
    log = tempfile.NamedTemporaryFile(prefix="stxm-ioc-", suffix=".log", delete=False)
    process = subprocess.Popen(
        list(command), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    ioc = IocProcess(process=process, port=port, log_path=Path(log.name))
    try:
        try:
            wait_for_pv(ready_pv, timeout=timeout, process=process)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{' '.join(command)}: {error}\n{ioc.log_tail()}") from error
        yield ioc
    finally:
        stop_process(process)
        log.close()


def sim_command(port: int, prefix: str = "SIM:", *extra: str) -> list[str]:
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
