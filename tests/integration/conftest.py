"""Fixtures that run the virtual STXM over Channel Access on loopback."""

from __future__ import annotations

import pytest
from bluesky import RunEngine

from stxm_devices import make_beamline
from stxm_devices.testing import running_ioc, sim_command

SIM_PREFIX = "SIM:"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def sim(ca_ports):
    """The whole sim beamline in one process on its own port, torn down by PID."""
    port = ca_ports["sim"]
    with running_ioc(
        sim_command(port, SIM_PREFIX), port=port, ready_pv=f"{SIM_PREFIX}counter0:Noise"
    ) as process:
        yield process


@pytest.fixture(scope="session")
def beamline(sim):
    return make_beamline(SIM_PREFIX)


@pytest.fixture
def noiseless(beamline):
    """Counts without Poisson noise for this test (restored afterwards)."""
    beamline.counter.noise.set("Off").wait(5)
    yield beamline
    beamline.counter.noise.set("On").wait(5)


class RingCurrentSpread:
    """The ring current's posts while a test runs: how far apart the flux of two counts can be.

    Every count scales with the ring current, which the sim posts every second (decaying
    0.003 % a post) and tops up by 0.33 % every 120 s: noiseless counts of one place taken
    seconds apart differ by that much beside their rounding.
    """

    def __init__(self, ring_current) -> None:
        self.values: list[float] = []
        self._signal = ring_current
        self._cid = None

    def __enter__(self) -> RingCurrentSpread:
        self._cid = self._signal.subscribe(self._record)  # the current value first
        return self

    def __exit__(self, *_) -> None:
        self._signal.unsubscribe(self._cid)

    def _record(self, value, **kwargs) -> None:
        self.values.append(float(value))

    def relative(self) -> float:
        """(highest - lowest) / lowest of the posts seen so far (0 before any)."""
        if not self.values:
            return 0.0
        return (max(self.values) - min(self.values)) / min(self.values)


@pytest.fixture
def ring_current_spread(beamline):
    """The sim's ring current watched for the whole test (:class:`RingCurrentSpread`)."""
    with RingCurrentSpread(beamline.ring_current) as spread:
        yield spread


@pytest.fixture
def RE():
    """A RunEngine; one a failing test left paused is aborted afterwards.

    The abort runs the plan's cleanup, which unstages the session beamline's devices:
    left staged, they would fail every later test that stages them (RedundantStaging).
    """
    engine = RunEngine({}, call_returns_result=True)
    yield engine
    if engine.state == "paused":
        engine.abort("left paused by a failing test")


@pytest.fixture
def camera_restored(sim):
    """The sim camera's size and exposure put back after a test that changes them."""
    import epics

    names = [f"{SIM_PREFIX}det1:cam1:{record}" for record in ("SizeX", "SizeY", "AcquireTime")]
    saved = {name: epics.caget(name, use_monitor=False, timeout=5) for name in names}
    yield
    for name, value in saved.items():
        epics.caput(name, value, wait=True, timeout=10)
