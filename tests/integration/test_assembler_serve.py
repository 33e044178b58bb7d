"""``stxm serve`` behind bluesky's 0MQ proxy writes the file the in-process callback writes."""

from __future__ import annotations

import socket
import sys
import uuid
from pathlib import Path

import h5py
import numpy as np
import pytest
from bluesky.callbacks.zmq import Publisher

import plans
from nxstxm import NXstxmAssembler
from nxstxm.serve import serialize
from stxm_devices.testing import running_service, wait_until

HOST = "127.0.0.1"
#: Root attributes that say when the file was written, not what it holds.
WHEN_WRITTEN = {"file_time"}


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((HOST, port)) == 0


@pytest.fixture
def proxy():
    """bluesky-0MQ-proxy on two loopback ports: (in port, out port); stopped by PID."""
    in_port, out_port = _free_tcp_port(), _free_tcp_port()
    command = [
        str(Path(sys.executable).with_name("bluesky-0MQ-proxy")),
        "--in-address",
        f"tcp://{HOST}:{in_port}",
        "--out-address",
        f"tcp://{HOST}:{out_port}",
    ]
    with running_service(command, ready=lambda _: _listening(out_port), timeout=20):
        yield in_port, out_port


@pytest.fixture
def publisher(proxy):
    """A Publisher to the proxy, closed while the proxy still runs.

    Left to the garbage collector, its 0MQ context would wait for ever (linger) to send
    to a proxy that is gone, blocking whichever thread collects it.
    """
    publisher = Publisher(f"{HOST}:{proxy[0]}", serializer=serialize)
    yield publisher
    publisher.close()


@pytest.fixture
def service(proxy, publisher, tmp_path):
    """``stxm serve`` in a process of its own, ready once a probe got through the proxy."""
    probe = f"readiness-probe-{uuid.uuid4()}"

    def ready(process) -> bool:
        publisher("stop", {"uid": str(uuid.uuid4()), "run_start": probe, "time": 0.0})
        return probe in process.log_text()

    data_dir = tmp_path / "served"
    command = [sys.executable, "-m", "stxm_devices.cli", "serve"]
    command += ["--zmq", f"{HOST}:{proxy[1]}", "--data-dir", str(data_dir)]
    with running_service(command, ready=ready, timeout=30, poll_s=0.2) as process:
        yield data_dir, process


def _tree(path: Path) -> dict:
    """Every group's and dataset's attributes and every dataset's value, by path."""
    tree = {}
    with h5py.File(path) as h5:
        tree["/"] = {k: v for k, v in h5.attrs.items() if k not in WHEN_WRITTEN}

        def visit(name, obj):
            attrs = dict(obj.attrs)
            value = obj[()] if isinstance(obj, h5py.Dataset) else None
            tree[name] = (attrs, value)

        h5.visititems(visit)
    return tree


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind == "f")
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_service_writes_the_file_the_in_process_callback_writes(
    RE, beamline, service, publisher, tmp_path
):
    served_dir, process = service
    local = NXstxmAssembler(tmp_path / "local")
    plan = plans.image_stack(
        beamline, regions=[plans.Region(0, 3, 4, 0, 3, 3)], energy_regions=[(700, 705, 2)]
    )
    try:
        RE(plan, [local, publisher])
    finally:
        beamline.energy.move(700.0, wait=True)
    [expected] = local.written
    assert wait_until(lambda: any(served_dir.glob("*.nxs")), timeout=30), process.log_tail()
    [served] = served_dir.glob("*.nxs")
    assert served.name == expected.name
    served_tree, expected_tree = _tree(served), _tree(expected)
    assert served_tree.keys() == expected_tree.keys()
    different = [key for key in expected_tree if not _same(served_tree[key], expected_tree[key])]
    assert different == []
    assert "NXstxm file written" in process.log_text()
