"""Fault tests: a sim of their own that a test may SIGKILL, SIGSTOP or restart.

The session ``sim`` of tests/integration is shared by other tests, so each test here
runs its own sim under a prefix ``T<n>FLT:`` on the spare loopback port ``b``
(tests/conftest.py), stopped by PID afterwards whatever the test did to it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from bluesky import RunEngine

from stxm_devices import make_beamline
from stxm_devices.channel_access import running_repeater
from stxm_devices.testing import IocProcess, running_ioc, sim_command

PREFIX = "FLT:"
#: Each test's sim gets fresh PV names (``T<n>FLT:``): libca backs off its searches for a
#: channel whose IOC is gone (to minutes), so names an earlier test's dead sim left
#: searching would reconnect late; within a test, a restart reconnects the same names.
_SIM_NUMBERS = itertools.count(1)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults" in str(item.fspath):
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def repeater() -> Iterator[None]:
    """The project's CA repeater on the client's repeater port, bound to 127.0.0.1."""
    with running_repeater():
        yield


class KillableSim:
    """The faults sim: start it, signal it, restart it on the same port."""

    def __init__(self, port: int, stack: ExitStack) -> None:
        self.port = port
        self.prefix = f"T{next(_SIM_NUMBERS)}{PREFIX}"
        self.process: IocProcess | None = None
        self._stack = stack

    def start(self) -> IocProcess:
        """Start (or restart) the sim; return once its PVs answer."""
        self.process = self._stack.enter_context(
            running_ioc(
                sim_command(self.port, self.prefix),
                port=self.port,
                ready_pv=f"{self.prefix}counter0:Noise",
                timeout=60,
            )
        )
        return self.process

    def signal(self, signum: int) -> None:
        os.kill(self.process.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL, and reap it, so the port is free for a restart (its log then goes)."""
        self.process.kill()


@pytest.fixture
def sim(ca_ports, repeater) -> Iterator[KillableSim]:
    """A sim this test may kill; every process it started is stopped by PID afterwards."""
    with ExitStack() as stack:
        sim = KillableSim(ca_ports["b"], stack)
        sim.start()
        yield sim


@pytest.fixture
def beamline(sim):
    """Devices of this test's sim (a restart within the test reconnects the same ones)."""
    return make_beamline(sim.prefix, timeout=60)


@pytest.fixture
def RE():
    return RunEngine({}, call_returns_result=True)


@pytest.fixture
def write_path(beamline, tmp_path) -> Iterator[Path]:
    """The detector writing under the test's directory."""
    hdf1 = beamline.detector.hdf1
    previous = hdf1.write_path_template
    hdf1.write_path_template = f"{tmp_path}/ioc/"
    yield tmp_path / "ioc"
    hdf1.write_path_template = previous
