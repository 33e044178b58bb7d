"""A sim's log file: deleted after a clean stop, kept and named when it can tell something.

Real sims on the spare loopback port ``b`` (prefix ``LOG<n>:``): stopped by their owner,
SIGKILLed behind their owner's back (the log kept, the error naming it), killed by their
owner on purpose; and, in a pytest run of its own, a test failing beside a running
process (the failure report and the run's summary name its kept log).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from caproto.sync.client import read

from stxm_devices.testing import kept_logs, running_ioc, sim_command

pytestmark = pytest.mark.faults

_PREFIXES = (f"LOG{n}:" for n in itertools.count(1))


def sim(ca_ports):
    """A sim of its own on port ``b`` under fresh PV names."""
    prefix = next(_PREFIXES)
    port = ca_ports["b"]
    return running_ioc(sim_command(port, prefix), port=port, ready_pv=f"{prefix}counter0:Noise")


def process_prefix(process) -> str:
    """The PV prefix the sim was started with (its --prefix argument)."""
    argv = process.process.args
    return argv[argv.index("--prefix") + 1]


def test_a_sim_stopped_cleanly_leaves_no_log(ca_ports):
    with sim(ca_ports) as process:
        log = process.log_path
        assert log.exists()
    assert process.process.returncode is not None
    assert not log.exists()
    assert log not in [path for path, _ in kept_logs()]


def test_a_sim_that_dies_keeps_its_log_and_the_error_names_it(ca_ports):
    with pytest.raises(TimeoutError) as raised, sim(ca_ports) as process:
        log = process.log_path
        os.kill(process.process.pid, signal.SIGKILL)  # behind its owner's back
        process.process.wait(10)
        read(f"{process_prefix(process)}counter0:Noise", timeout=1, repeater=False)
    try:
        assert log.exists() and log.stat().st_size > 0  # the sim's own startup output
        assert f"log kept at {log}" in "\n".join(raised.value.__notes__)
        [reasons] = [reasons for path, reasons in kept_logs() if path == log]
        assert f"exited with code {-signal.SIGKILL} before it was stopped" in reasons
    finally:
        log.unlink(missing_ok=True)


def test_a_sim_that_died_while_nothing_failed_keeps_its_log_with_a_warning(ca_ports, caplog):
    with caplog.at_level(logging.WARNING, "stxm_devices.testing"), sim(ca_ports) as process:
        log = process.log_path
        os.kill(process.process.pid, signal.SIGKILL)
        process.process.wait(10)
    try:
        assert log.exists()
        assert f"log kept at {log}" in caplog.text and "before it was stopped" in caplog.text
    finally:
        log.unlink(missing_ok=True)


def test_a_sim_its_owner_kills_leaves_no_log(ca_ports):
    with sim(ca_ports) as process:
        log = process.log_path
        process.kill()  # a fault test's deliberate crash
        assert process.process.returncode == -signal.SIGKILL
    assert not log.exists()


INNER_TESTS = """
import os, sys
from pathlib import Path
from stxm_devices.testing import running_service

SLEEPER = [sys.executable, "-u", "-c", "print('sleeper up'); import time; time.sleep(60)"]


def run_beside(name):
    ready = lambda service: "sleeper up" in service.log_text()
    with running_service(SLEEPER, ready=ready, timeout=30) as service:
        Path(os.environ["LOG_LIST"]).open("a").write(f"{name} {service.log_path}\\n")
        yield service


import pytest


@pytest.fixture
def passing_sleeper():
    yield from run_beside("passing")


@pytest.fixture
def failing_sleeper():
    yield from run_beside("failing")


def test_passes(passing_sleeper):
    assert passing_sleeper.process.poll() is None


def test_fails(failing_sleeper):
    assert False, "this test fails on purpose"
"""


def test_a_failing_test_keeps_and_names_the_logs_of_the_processes_beside_it(tmp_path):
    """The hooks of tests/conftest.py, in a pytest run of their own."""
    (tmp_path / "test_inner.py").write_text(INNER_TESTS)
    log_list = tmp_path / "logs.txt"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "LOG_LIST": str(log_list), "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider"]
        + ["-q", str(tmp_path / "test_inner.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    logs = dict(line.split() for line in log_list.read_text().splitlines())
    try:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "1 failed, 1 passed" in result.stdout
        failing, passing = Path(logs["failing"]), Path(logs["passing"])
        assert not passing.exists()
        assert failing.read_text().startswith("sleeper up")
        # Named in the failure's report, then in the run's summary with why.
        section = re.escape(f" process logs kept {'-' * 31}\n{failing}\n")
        assert re.search(f"-{section}", result.stdout), result.stdout
        assert f"{failing}: test_inner.py::test_fails failed (call) while it ran" in result.stdout
    finally:
        for path in logs.values():
            Path(path).unlink(missing_ok=True)
