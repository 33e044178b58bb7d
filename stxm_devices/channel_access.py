"""Client-side Channel Access settings: loopback unless the caller chose a network.

Called by the composition roots (the ``stxm`` command, the startup profile, tests)
before the first PV connects; pyepics reads these variables once, at import.
"""

from __future__ import annotations

import os
from collections.abc import Iterable


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
