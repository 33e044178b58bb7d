"""Channel Access stays on this machine unless the caller says otherwise.

Every IOC entry point calls :func:`apply_server_defaults` before caproto reads the
environment, so a bare ``python -m iocs.stage`` binds 127.0.0.1 and never beacons onto
a real network.  Variables the caller already set are left alone: serving a real
network is an explicit choice (``--interfaces`` or the EPICS variables).
"""

from __future__ import annotations

import os
import socket
from collections.abc import MutableMapping


def server_environment(port: int | None = None) -> dict[str, str]:
    """The loopback server settings; with ``port``, also the server/repeater ports."""
    env = {
        "EPICS_CAS_INTF_ADDR_LIST": "127.0.0.1",
        "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
        "EPICS_CAS_BEACON_ADDR_LIST": "127.255.255.255",
    }
    if port is not None:
        env.update(
            EPICS_CAS_SERVER_PORT=str(port),
            EPICS_CA_SERVER_PORT=str(port),
            EPICS_CAS_BEACON_PORT=str(port + 1),
            EPICS_CA_REPEATER_PORT=str(port + 1),
        )
    return env


def apply_defaults(
    defaults: dict[str, str], environ: MutableMapping[str, str] = os.environ
) -> None:
    """Set each variable of ``defaults`` that the caller has not set already."""
    for key, value in defaults.items():
        environ.setdefault(key, value)


def apply_server_defaults(port: int | None = None) -> None:
    """Loopback defaults for an IOC process (and for the CA client inside it).

    An explicit ``port`` (``stxm sim --port``) wins over the environment; the
    interface and beacon settings stay the caller's where already set.
    """
    apply_defaults(server_environment())
    # The IOC's own Channel Access client (a standalone IOC following others).
    apply_defaults({"EPICS_CA_AUTO_ADDR_LIST": "NO", "EPICS_CA_ADDR_LIST": "127.0.0.1"})
    if port is not None:
        os.environ.update({k: v for k, v in server_environment(port).items() if k.endswith("PORT")})


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A port P such that P (TCP and UDP) and P+1 (UDP, the repeater) are free now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
        if port >= 65535:
            continue
        try:
            for candidate, kind in ((port, socket.SOCK_DGRAM), (port + 1, socket.SOCK_DGRAM)):
                with socket.socket(socket.AF_INET, kind) as probe:
                    probe.bind((host, candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free loopback port pair found")
