"""Test-wide settings: Channel Access pinned to loopback before any PV connects.

Ports are chosen here, at import, because pyepics reads the environment once: one
for the sim beamline and two for tests that run IOCs in processes of their own.
Also where the recorded pyStxm runs are (``pystxm_runs``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iocs.loopback import free_port_pair
from stxm_devices.channel_access import use_loopback_channel_access
from stxm_devices.testing import keep_running_logs, kept_logs


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port_pair()
        if all(abs(port - other) > 1 for other in ports):
            ports.append(port)
    return ports


SIM_PORT, STANDALONE_PORT_A, STANDALONE_PORT_B = _distinct_ports(3)
use_loopback_channel_access([SIM_PORT, STANDALONE_PORT_A, STANDALONE_PORT_B], force=True)


@pytest.fixture(scope="session")
def ca_ports() -> dict[str, int]:
    """Loopback ports: the sim beamline's and two for IOCs run on their own."""
    return {"sim": SIM_PORT, "a": STANDALONE_PORT_A, "b": STANDALONE_PORT_B}


#: The folder beside the repository holding design notes and recorded runs (not part of it).
SHARED = Path(os.environ.get("STXM_SHARED") or Path(__file__).resolve().parents[2] / "shared")


@pytest.fixture(scope="session")
def pystxm_runs() -> Path:
    """The recorded pyStxm runs: ../shared/pystxm-runs, or $STXM_SHARED/pystxm-runs."""
    folder = SHARED / "pystxm-runs"
    if not any(folder.glob("*.json")):
        pytest.skip(
            f"recorded pyStxm runs not found in {folder}: they live beside the repository "
            "in ../shared/pystxm-runs (set STXM_SHARED to the folder holding pystxm-runs)"
        )
    return folder


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test keeps the logs of the processes running as it failed, and names them.

    Processes a test started and stopped already keep theirs if their block raised;
    those cleanly stopped after passing tests are deleted (``stxm_devices.testing``).
    """
    report = yield
    if report.failed:
        paths = keep_running_logs(f"{item.nodeid} failed ({report.when}) while it ran")
        if paths:
            report.sections.append(("process logs kept", "\n".join(map(str, paths))))
    return report


def pytest_terminal_summary(terminalreporter) -> None:
    """Every process log kept in this run (and not deleted by a test since), with why."""
    kept = [(path, reasons) for path, reasons in kept_logs() if path.exists()]
    if kept:
        terminalreporter.section("process logs kept")
        for path, reasons in kept:
            terminalreporter.line(f"{path}: {'; '.join(reasons)}")
