"""The project's CA repeater confirms libca's empty-datagram registration and forwards beacons.

caproto's repeater recorded an empty-datagram client without confirming it, so libca
(which registers that way) printed "unable to contact CA repeater after 50 tries" a
minute into every session (the demo, the soak).  Real datagrams over 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator

import caproto as ca
import pytest

from iocs.loopback import free_port_pair
from stxm_devices.channel_access import repeater_command

CONFIRM = ca.RepeaterConfirmResponse


@pytest.fixture
def repeater() -> Iterator[int]:
    """Our repeater on a free loopback port; stopped by PID afterwards."""
    port = free_port_pair() + 1
    env = {**os.environ, "EPICS_CA_REPEATER_PORT": str(port)}
    process = subprocess.Popen(repeater_command(), env=env)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.settimeout(0.2)
            for _ in range(100):  # until it answers (its interpreter is starting)
                client.sendto(b"", ("127.0.0.1", port))
                try:
                    client.recvfrom(1024)
                    break
                except OSError:
                    continue
            else:
                pytest.fail("the repeater never answered")
        yield port
    finally:
        process.terminate()
        process.wait(10)


def client_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    return sock


def received(sock: socket.socket) -> list:
    data, _ = sock.recvfrom(ca.MAX_UDP_RECV)
    return ca.Broadcaster(our_role=ca.CLIENT).recv(data, ("127.0.0.1", 0))


@pytest.mark.parametrize(
    "registration",
    [b"", bytes(ca.RepeaterRegisterRequest("127.0.0.1"))],
    ids=["empty datagram (libca)", "REPEATER_REGISTER"],
)
def test_every_form_of_registration_is_confirmed(repeater, registration):
    with client_socket() as client:
        client.sendto(registration, ("127.0.0.1", repeater))
        (confirmation,) = received(client)
        assert isinstance(confirmation, CONFIRM)
        assert confirmation.repeater_address == "127.0.0.1"


def test_a_beacon_reaches_registered_clients_with_the_sender_address(repeater):
    with client_socket() as first, client_socket() as second, client_socket() as server:
        for client in (first, second):
            client.sendto(b"", ("127.0.0.1", repeater))
            assert isinstance(received(client)[0], CONFIRM)
        beacon = ca.Beacon(13, 5064, 7, "0.0.0.0")  # address left for the repeater
        server.sendto(bytes(beacon), ("127.0.0.1", repeater))
        for client in (first, second):
            (forwarded,) = received(client)
            assert isinstance(forwarded, ca.Beacon)
            assert (forwarded.server_port, forwarded.beacon_id) == (5064, 7)
            assert forwarded.address == "127.0.0.1"


def test_a_malformed_datagram_is_ignored(repeater):
    with client_socket() as client:
        client.sendto(b"\xff" * 7, ("127.0.0.1", repeater))  # shorter than a header
        client.sendto(b"", ("127.0.0.1", repeater))
        assert isinstance(received(client)[0], CONFIRM)


def test_a_second_repeater_on_the_port_exits_at_once(repeater):
    env = {**os.environ, "EPICS_CA_REPEATER_PORT": str(repeater)}
    assert subprocess.run(repeater_command(), env=env, timeout=30).returncode == 0
