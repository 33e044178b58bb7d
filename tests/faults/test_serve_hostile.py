"""``stxm serve`` behind ``stxm proxy``: hostile messages are skipped, never executed, and a
service killed mid scan (kill -9) and started again ends with the scan's file.

Also: the proxy binds 127.0.0.1 only, and SIGTERM mid scan writes what the service holds,
marked incomplete (into STXM_DATA_DIR when no --data-dir is given).
"""

from __future__ import annotations

import pickle
import signal
import socket
import sys
import uuid
from pathlib import Path

import h5py
import pytest
import zmq
from bluesky.callbacks.zmq import Publisher

from nxstxm import load_jsonl
from nxstxm.serve import serialize
from stxm_devices.testing import running_service, wait_until
from tests.unit.assembler.factory import image_scan

pytestmark = pytest.mark.faults

HOST = "127.0.0.1"


class FileMaker:
    """Unpickling this would create ``path``: what a crafted message could do to a pickle user."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _listening_on_loopback_only(port: int) -> bool:
    """Whether /proc/net/tcp lists ``port`` listening, and only on 127.0.0.1."""
    local = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        address, state = line.split()[1], line.split()[3]
        if state == "0A" and int(address.split(":")[1], 16) == port:
            local.append(address.split(":")[0])
    return bool(local) and set(local) == {"0100007F"}


@pytest.fixture
def proxy():
    """``stxm proxy`` on two free loopback ports: (in, out)."""
    in_port, out_port = _free_port(), _free_port()
    command = [sys.executable, "-m", "stxm_devices.cli", "proxy", str(in_port), str(out_port)]
    ready = lambda _: all(map(_listening_on_loopback_only, (in_port, out_port)))  # noqa: E731
    with running_service(command, ready=ready, timeout=30):
        yield in_port, out_port


@pytest.fixture
def publisher(proxy):
    publisher = Publisher(f"{HOST}:{proxy[0]}", serializer=serialize)
    yield publisher
    publisher.close()


def serve(proxy, publisher, data_dir: Path, *, from_env: bool = False):
    """``stxm serve`` on the proxy's out side, ready once a probe shows up in its log.

    ``from_env``: the data directory given as STXM_DATA_DIR instead of --data-dir.
    """
    probe = f"readiness-probe-{uuid.uuid4()}"

    def ready(service) -> bool:
        publisher("stop", {"uid": str(uuid.uuid4()), "run_start": probe, "time": 0.0})
        return probe in service.log_text()

    command = [sys.executable, "-m", "stxm_devices.cli", "serve", "--zmq", f"{HOST}:{proxy[1]}"]
    env = {"STXM_DATA_DIR": str(data_dir)} if from_env else {}
    if not from_env:
        command += ["--data-dir", str(data_dir)]
    return running_service(command, ready=ready, timeout=60, poll_s=0.3, extra_env=env)


def _journaled(data_dir: Path, count: int) -> bool:
    journals = list(data_dir.glob("*.jsonl"))  # reserved empty first, then written
    return (
        bool(journals) and journals[0].stat().st_size > 0 and len(load_jsonl(journals[0])) >= count
    )


def test_hostile_messages_skipped_and_kill_9_mid_scan_still_ends_with_the_file(
    proxy, publisher, tmp_path
):
    data_dir, marker = tmp_path / "served", tmp_path / "unpickled-here"
    hostile = {
        b"\x00garbage\xff": "not 'prefix name document'",
        b" bogus " + pickle.dumps({}): "unknown document name 'bogus'",
        b" start " + pickle.dumps(FileMaker(marker)): "the start document is not JSON",
        b" event [1, 2]": "a JSON list, not an object",
        b" event {}": "skipped a malformed event document (KeyError('descriptor'))",
    }
    context = zmq.Context()
    raw = context.socket(zmq.PUB)
    raw.connect(f"tcp://{HOST}:{proxy[0]}")
    documents = image_scan(nx=4, ny=6)
    half = len(documents) // 2
    try:
        with serve(proxy, publisher, data_dir) as service:

            def all_skipped() -> bool:
                for message in hostile:
                    raw.send(message)
                return all(reason in service.log_text() for reason in hostile.values())

            assert wait_until(all_skipped, timeout=30, poll_s=0.3), service.log_tail()
            assert service.process.poll() is None  # still serving
            for name, doc in documents[:half]:
                publisher(name, doc)
            assert wait_until(lambda: _journaled(data_dir, half), timeout=30)
            service.kill()
        assert not list(data_dir.glob("*.nxs"))
        with serve(proxy, publisher, data_dir) as service:
            assert "took up journal" in service.log_text()
            for name, doc in documents[half:]:
                publisher(name, doc)
            assert wait_until(lambda: any(data_dir.glob("*.nxs")), timeout=30), service.log_tail()
    finally:
        raw.close(linger=0)
        context.term()
    assert not marker.exists()  # the pickle was never unpickled
    [path] = data_dir.glob("*.nxs")
    [journal] = data_dir.glob("*.jsonl")
    assert path.stem == journal.stem
    with h5py.File(path) as h5:
        assert h5["entry0/status/data"].asstr()[()] == "complete"
        assert h5["entry0/counter0/data"].shape == (6, 4)


def test_sigterm_mid_scan_writes_what_the_service_holds(proxy, publisher, tmp_path):
    data_dir = tmp_path / "served"
    documents = image_scan(nx=4, ny=6)
    half = len(documents) // 2
    with serve(proxy, publisher, data_dir, from_env=True) as service:
        for name, doc in documents[:half]:
            publisher(name, doc)
        assert wait_until(lambda: _journaled(data_dir, half), timeout=30)
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(30) == 0, service.log_tail()
    [path] = data_dir.glob("*.nxs")
    with h5py.File(path) as h5:
        assert h5["entry0/status/data"].asstr()[()] == "incomplete"
        assert "no stop document" in h5["entry0/status/description"].asstr()[()]
