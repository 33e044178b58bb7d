"""A Channel Access repeater on 127.0.0.1 that confirms every form of registration.

A CA client registers with the repeater of its host, and libca keeps asking until the
repeater confirms: after 50 unconfirmed tries it prints "CA client library is unable to
contact CA repeater after 50 tries".  libca (EPICS 7, as pyepics ships it) registers
with an empty datagram; caproto's repeater records such a client but confirms only the
REPEATER_REGISTER message, so a session beside it printed that line a minute in.  This
repeater confirms both, as EPICS's caRepeater does, and forwards beacons (with the
sender's address filled in) to its registered clients.

It listens on ``EPICS_CA_REPEATER_PORT`` of 127.0.0.1 only and takes no datagram from
another address; it exits at once if the port is taken (a repeater already runs) and
when the process that started it ends.  ``python -m iocs.repeater``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
import time

import caproto as ca

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


def repeater_port() -> int:
    """The port to serve: the session's ``EPICS_CA_REPEATER_PORT`` (CA's default 5065)."""
    return int(os.environ.get("EPICS_CA_REPEATER_PORT", "5065"))


def serve(sock: socket.socket) -> None:
    """Answer registrations and forward beacons on ``sock`` until the process ends."""
    broadcaster = ca.Broadcaster(our_role=ca.SERVER)
    clients: set[tuple[str, int]] = set()
    while True:
        try:
            data, sender = sock.recvfrom(ca.MAX_UDP_RECV)
        except ConnectionRefusedError:  # a client we sent to has gone: pruned at its turn
            continue
        if not ipaddress.ip_address(sender[0]).is_loopback:
            continue
        try:
            commands = broadcaster.recv(data, sender) if data else []
        except ca.CaprotoError:
            logger.warning("ignored a malformed datagram from %s:%d", *sender)
            continue
        registering = not data or any(isinstance(c, ca.RepeaterRegisterRequest) for c in commands)
        if registering:
            clients = {c for c in clients if _port_in_use(c[1])} | {sender}
            confirmation = ca.RepeaterConfirmResponse(sender[0])
            _send(sock, broadcaster.send(confirmation), sender, clients)
            continue
        for command in commands:
            if isinstance(command, ca.Beacon) and command.header.parameter2 == 0:
                command.header.parameter2 = ca.ipv4_to_int32(sender[0])
        forwarded = b"".join(bytes(c) for c in commands)
        for client in list(clients - {sender}):
            _send(sock, forwarded, client, clients)


def _send(sock: socket.socket, data: bytes, client: tuple[str, int], clients: set) -> None:
    """Send to ``client``; forget it if its port is gone (ICMP port unreachable)."""
    try:
        sock.sendto(data, client)
    except OSError:
        clients.discard(client)


def _port_in_use(port: int) -> bool:
    """Whether a client still holds its UDP ``port`` (it cannot be bound on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def _exit_with(parent: int) -> None:
    """End this process once ``parent`` (the session that started it) has ended."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main() -> None:
    """Serve the repeater port of 127.0.0.1, unless a repeater already does."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((HOST, repeater_port()))
    except OSError:  # a repeater already holds the port: it serves this host
        return
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    serve(sock)


if __name__ == "__main__":
    main()
