"""EpicsMotor drives the simulated motor record like a real one."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import epics
import pytest
from ophyd.utils.errors import LimitError

from stxm_devices.testing import wait_until


@pytest.fixture
def osa_x(beamline):
    motor = beamline.osa.x
    motor.velocity.set(50.0).wait(5)
    motor.move(0.0, wait=True)
    yield motor
    motor.velocity.set(1000.0).wait(5)
    motor.move(0.0, wait=True)


def moving_time(motor, target: float) -> float:
    """Move ``motor`` to ``target``: seconds from DMOV 0 to DMOV 1 by the IOC's timestamps.

    The client's wall clock would add whatever a loaded machine puts between the put
    and its completion reaching the client; the record's DMOV posts carry the IOC's time.
    """
    posts: list[tuple[int, float]] = []

    def record(value, timestamp, **kwargs):
        posts.append((int(value), float(timestamp)))

    cid = motor.motor_done_move.subscribe(record, run=False)
    try:
        motor.move(target, wait=True)
        # The DMOV monitor may trail the put's completion.
        assert wait_until(lambda: len(posts) == 2, timeout=10), posts
    finally:
        motor.motor_done_move.unsubscribe(cid)
    (low, started), (high, done) = posts
    assert (low, high) == (0, 1)
    return done - started


def test_move_takes_distance_over_velocity(osa_x):
    distance, velocity = 20.0, 50.0
    elapsed = moving_time(osa_x, distance)
    assert osa_x.position == pytest.approx(distance, abs=1e-6)
    # Never faster than the trajectory; slower only by the IOC's own update lag.
    assert distance / velocity * 0.95 <= elapsed < distance / velocity + 5.0


def test_short_move_is_short(beamline):
    motor = beamline.stage.fine_x
    assert moving_time(motor, motor.position + 0.01) < 0.2


def test_dmov_goes_low_then_high_exactly_once(osa_x):
    seen: list[int] = []
    done = threading.Event()

    def record(value, **kwargs):
        seen.append(int(value))
        if value == 1 and 0 in seen:
            done.set()

    cid = osa_x.motor_done_move.subscribe(record, run=False)
    try:
        osa_x.move(5.0, wait=True)
        assert done.wait(2)
    finally:
        osa_x.motor_done_move.unsubscribe(cid)
    assert seen == [0, 1]


def test_limits_are_the_records_hlm_llm(beamline):
    for motor in (beamline.osa.x, beamline.stage.fine_x, beamline.zoneplate.z):
        low = epics.caget(motor.prefix + ".LLM")
        high = epics.caget(motor.prefix + ".HLM")
        assert motor.limits == (low, high)
        assert low < high


def test_move_beyond_limit_is_refused_without_motion(osa_x):
    low, high = osa_x.limits
    with pytest.raises(LimitError):
        osa_x.move(high + 1.0)
    assert osa_x.position == pytest.approx(0.0)
    # A raw put past the limit (no client-side check) is refused by the record itself.
    epics.caput(osa_x.prefix, high + 1.0, wait=True)
    assert epics.caget(osa_x.prefix + ".LVIO") == 1
    assert epics.caget(osa_x.prefix) == pytest.approx(0.0)
    assert epics.caget(osa_x.prefix + ".RBV") == pytest.approx(0.0)


def test_stop_mid_move_leaves_readback_between_start_and_target(osa_x):
    status = osa_x.move(40.0, wait=False)
    while osa_x.position < 5.0:
        time.sleep(0.01)
    osa_x.stop()
    status.wait(5)
    assert 0.0 < osa_x.position < 40.0
    assert osa_x.user_setpoint.get() == pytest.approx(osa_x.position, abs=1e-3)


def test_set_current_position_redefines_without_moving(osa_x):
    dial_before = epics.caget(osa_x.prefix + ".DRBV")
    osa_x.set_current_position(7.0)
    try:
        assert osa_x.user_readback.get(use_monitor=False) == pytest.approx(7.0)
        assert epics.caget(osa_x.prefix + ".DRBV") == pytest.approx(dial_before)
    finally:
        osa_x.set_current_position(dial_before)
        osa_x.user_offset.set(0.0).wait(5)


WATCHED_MOTOR = "SIM:osa:Y"
WATCHED_FIELDS = (
    "VAL RBV DRBV OFF DIR FOFF SET HLM LLM DHLM DLLM VELO ACCL SPMG STOP DMOV MOVN"
).split()
#: Restored after each test, in this order (DIR and OFF before the dial limits they map).
RESTORED_FIELDS = ("SPMG", "SET", "FOFF", "DIR", "OFF", "DHLM", "DLLM", "VELO", "ACCL")


@pytest.fixture
def put_and_watch(sim):
    """Put one field with a completion callback; the monitors seen when it completed.

    Monitors and put completions arrive on one circuit and run in pyepics' CA thread in
    the order they arrived, so the snapshot is what a client's monitor cache held.
    """
    saved = {f: epics.caget(f"{WATCHED_MOTOR}.{f}", use_monitor=False) for f in RESTORED_FIELDS}
    seen: dict[str, object] = {}
    monitors = [
        epics.PV(f"{WATCHED_MOTOR}.{field}", callback=_remember(seen, field))
        for field in WATCHED_FIELDS
    ]
    for monitor in monitors:
        assert monitor.wait_for_connection(10), monitor.pvname
        monitor.get()  # the first monitor has arrived

    def put(field: str, value: float) -> dict[str, object]:
        completed = threading.Event()
        at_completion: dict[str, object] = {}

        def on_completion(**kwargs) -> None:
            at_completion.update(seen)
            completed.set()

        epics.PV(f"{WATCHED_MOTOR}.{field}").put(value, callback=on_completion)
        assert completed.wait(10), f"no put completion for {field}"
        return at_completion

    yield put
    for monitor in monitors:
        monitor.clear_callbacks()
    for field, value in saved.items():
        epics.caput(f"{WATCHED_MOTOR}.{field}", value, wait=True, timeout=10)
    epics.caput(WATCHED_MOTOR, 0.0, wait=True, timeout=10)


def _remember(seen: dict, field: str):
    def on_monitor(value, **kwargs) -> None:
        seen[field] = value

    return on_monitor


@pytest.mark.parametrize(
    ("puts", "changed"),
    [
        ([("VAL", 3.0)], "VAL RBV DRBV DMOV MOVN"),
        ([("OFF", 2.0)], "OFF VAL RBV HLM LLM"),
        ([("DIR", 1)], "DIR VAL RBV HLM LLM"),
        ([("FOFF", 1)], "FOFF"),
        ([("SET", 1), ("VAL", 10.0), ("SET", 0)], "SET VAL RBV OFF HLM LLM DMOV"),
        ([("FOFF", 1), ("SET", 1), ("VAL", 10.0), ("SET", 0)], "SET VAL RBV DRBV OFF DMOV"),
        ([("VELO", 500.0)], "VELO"),
        ([("ACCL", 0.2)], "ACCL"),
        ([("HLM", 4000.0)], "HLM DHLM"),
        ([("LLM", -4000.0)], "LLM DLLM"),
        ([("DHLM", 4500.0)], "DHLM HLM"),
        ([("DLLM", -4500.0)], "DLLM LLM"),
        ([("SPMG", 1), ("SPMG", 3)], "SPMG"),
        ([("STOP", 1)], "STOP VAL"),
    ],
    ids=lambda spec: " ".join(f"{f}={v}" for f, v in spec) if isinstance(spec, list) else None,
)
def test_monitors_arrive_before_the_put_completes(put_and_watch, puts, changed):
    for field, value in puts:
        at_completion = put_and_watch(field, value)
        assert at_completion[field] == epics.caget(f"{WATCHED_MOTOR}.{field}", use_monitor=False)
    for field in changed.split():
        truth = epics.caget(f"{WATCHED_MOTOR}.{field}", use_monitor=False)
        assert at_completion[field] == pytest.approx(truth), field


def _shared_reference() -> Path:
    root = Path(os.environ.get("STXM_SHARED", Path(__file__).resolve().parents[3] / "shared"))
    dbd = root / "epics-reference" / "motor" / "motorRecord.dbd"
    if not dbd.exists():
        pytest.skip(f"motor record definition not found at {dbd} (set STXM_SHARED)")
    return dbd


#: Motor-record fields ophyd's EpicsMotor and apstools' motor mixins read or write.
CLIENT_FIELDS = (
    "VAL RBV OFF DIR FOFF SET VELO ACCL EGU MOVN DMOV HLS LLS HLM LLM TDIR STOP HOMF "
    "HOMR DRBV DVAL CNEN RRBV RVAL MRES SREV UREV SPMG DHLM DLLM VMAX VBAS TWV TWF TWR "
    "RLV LVIO ATHM PREC"
).split()
#: How a real IOC serves each DBF type over Channel Access (pyepics' type names).
CA_TYPE = {
    "DBF_DOUBLE": "double",
    "DBF_SHORT": "short",
    "DBF_LONG": "long",
    "DBF_MENU": "enum",
    "DBF_STRING": "string",
}


def test_client_fields_match_the_motor_record_definition(sim):
    text = _shared_reference().read_text()
    menus = {
        name: re.findall(r'choice\(\s*\w+\s*,\s*"([^"]*)"\s*\)', body)
        for name, body in re.findall(r"menu\((\w+)\)\s*\{(.*?)\}", text, re.S)
    }
    fields = {
        name: (dbf, re.search(r"menu\((\w+)\)", body))
        for name, dbf, body in re.findall(r"field\((\w+),\s*(\w+)\)\s*\{(.*?)\n\s*\}", text, re.S)
    }
    for field in CLIENT_FIELDS:
        dbf, menu = fields[field]
        pv = epics.PV(f"SIM:stage:FineX.{field}", form="ctrl")
        assert pv.wait_for_connection(5), f"{pv.pvname} is not served"
        assert pv.type.split("_", 1)[1] == CA_TYPE[dbf], (field, dbf, pv.type)
        if menu is not None:
            assert list(pv.get_ctrlvars()["enum_strs"]) == menus[menu.group(1)], field
