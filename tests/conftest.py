"""Test-wide settings: Channel Access pinned to loopback before any PV connects.

Ports are chosen here, at import, because pyepics reads the environment once: one
for the sim beamline and two for tests that run IOCs in processes of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iocs.loopback import free_port_pair
from stxm_devices.channel_access import use_loopback_channel_access


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


@pytest.fixture(scope="session")
def pystxm_runs() -> Path:
    """The folder of recorded pyStxm runs (../shared/pystxm-runs or $STXM_SHARED/pystxm-runs)."""
    shared = os.environ.get("STXM_SHARED")
    folder = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared"
    folder = folder / "pystxm-runs"
    if not any(folder.glob("*.json")):
        pytest.skip(f"recorded pyStxm runs not found in {folder} (set STXM_SHARED to their parent)")
    return folder
