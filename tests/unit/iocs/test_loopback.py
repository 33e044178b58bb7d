import socket

from iocs.loopback import apply_defaults, free_port_pair, server_environment


def test_server_environment_binds_loopback_and_beacons_nowhere_else():
    env = server_environment(5100)
    assert env["EPICS_CAS_INTF_ADDR_LIST"] == "127.0.0.1"
    assert env["EPICS_CAS_AUTO_BEACON_ADDR_LIST"] == "NO"
    assert env["EPICS_CAS_BEACON_ADDR_LIST"].startswith("127.")
    assert env["EPICS_CAS_SERVER_PORT"] == "5100"
    assert env["EPICS_CA_REPEATER_PORT"] == "5101"


def test_caller_settings_are_kept():
    environ = {"EPICS_CAS_INTF_ADDR_LIST": "10.0.0.5"}
    apply_defaults(server_environment(), environ)
    assert environ["EPICS_CAS_INTF_ADDR_LIST"] == "10.0.0.5"
    assert environ["EPICS_CAS_AUTO_BEACON_ADDR_LIST"] == "NO"


def test_free_port_pair_is_free():
    port = free_port_pair()
    for candidate in (port, port + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", candidate))
