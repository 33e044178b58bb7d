"""A motor-record simulation that ophyd's ``EpicsMotor`` drives like a real one.

``SimMotor`` is one PVGroup publishing a full motor record (``record="stxm_sim_motor"``,
all of caproto's motor fields) whose VAL moves a simulated axis along a trapezoidal
``Trajectory``.  Behaviour follows the EPICS motor record:

- VAL/DVAL/RLV/TWF/TWR start a move, and their put completes when it ends (DMOV=1),
  as a real record's put callback does; RBV/DRBV/RRBV follow the trajectory (published
  every ``update_period`` s, exact at the end, so a short move is short); DMOV goes
  0→1 once per move and MOVN 1→0; TDIR gives the direction; MSTA carries the
  DIRECTION/DONE/MOVING/HOMED bits.
- The controller keeps its last ``HISTORY_MOVES`` trajectories, its position record:
  ``position_at`` answers for past times too (a detector renders a frame at where the
  stage was mid-exposure, after a new move may have begun).
- HLM/LLM (and DHLM/DLLM) are enforced: a target outside them is refused — VAL snaps
  back, LVIO is set, nothing moves — and published as VAL's control limits, so
  ``EpicsMotor.limits`` is right.
- STOP and SPMG (Stop/Pause/Move/Go), SET with FOFF (Variable/Frozen), OFF, DIR,
  HOMF/HOMR (home at dial 0), VELO/ACCL/VBAS with VMAX.
- SET mode, as the record's ``load_pos``: VAL posts OFF (or the dial) and the limits,
  DMOV drops while the controller loads the position, then RBV and DMOV=1 follow the
  controller's answer (LOAD_POSITION_S later) before the put completes.
- Every float field refuses NaN/±inf (the record's own ranges: VELO in (0, VMAX],
  ACCL in 0..MAX_ACCELERATION_S) with the IOC's ``Message_RBV`` saying why
  (:mod:`iocs.refusal`); VAL outside HLM/LLM is the record's business (LVIO).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from caproto.server import PVGroup, menus, pvproperty
from caproto.server.records import MotorFields, register_record
from caproto.server.server import PvpropertyDouble, PvpropertyShort

from .motion import Axis, StepProfile, Trajectory
from .refusal import CheckedEnum, RangedDouble, Refusing, finite_copies, out_of_range

MSTA_DIRECTION = 1 << 0
MSTA_DONE = 1 << 1
MSTA_PLUS_LS = 1 << 2
MSTA_HOME = 1 << 7
MSTA_MOVING = 1 << 10
MSTA_MINUS_LS = 1 << 13
MSTA_HOMED = 1 << 14

#: How many past trajectories a motor keeps (its position record).
HISTORY_MOVES = 64
#: ACCL's range (seconds to reach VELO).
MAX_ACCELERATION_S = 100.0
#: SET mode: how long the controller takes to load a position and answer (a serial
#: controller's round trip), between the record posting OFF and posting RBV.
LOAD_POSITION_S = 0.05


class _UnlimitedDouble(PvpropertyDouble):
    """A double whose control limits are for display only (caproto would enforce them)."""

    async def verify_value(self, value):
        if self.putter is not None:
            return await self.putter(self, value)
        return value


class MotorSetpoint(Refusing, _UnlimitedDouble):
    """VAL: NaN/±inf refused; out-of-limit targets are the record's business (LVIO)."""

    def refusal(self, value: object) -> str | None:
        return out_of_range(value, 0.0, 0.0)


def _owner(fields: PVGroup) -> SimMotor:
    return fields.parent.group


#: caproto's motor fields with every float field refusing NaN/±inf.
_FiniteMotorFields = type(MotorFields)(
    "FiniteMotorFields", (MotorFields,), finite_copies(MotorFields)
)


@register_record
class SimMotorFields(_FiniteMotorFields):
    """Motor fields with the behaviour of a real motor record attached."""

    _record_type = "stxm_sim_motor"

    stop = pvproperty(name="STOP", dtype=PvpropertyShort, doc="Stop")
    stop_pause_move_go = pvproperty(
        name="SPMG",
        dtype=CheckedEnum,
        enum_strings=menus.motorSPMG.get_string_tuple(),
        value="Go",
        doc="Stop/Pause/Move/Go",
    )
    set_use_switch = pvproperty(
        name="SET",
        dtype=CheckedEnum,
        enum_strings=menus.motorSET.get_string_tuple(),
        value="Use",
        doc="Set/Use Switch",
    )
    offset_freeze_switch = pvproperty(
        name="FOFF",
        dtype=CheckedEnum,
        enum_strings=menus.motorFOFF.get_string_tuple(),
        value="Variable",
        doc="Offset-Freeze Switch",
    )
    user_direction = pvproperty(
        name="DIR",
        dtype=CheckedEnum,
        enum_strings=menus.motorDIR.get_string_tuple(),
        value="Pos",
        doc="User Direction",
    )
    user_offset = pvproperty(name="OFF", dtype=RangedDouble, doc="User Offset (EGU)")
    user_high_limit = pvproperty(name="HLM", dtype=RangedDouble, doc="User High Limit")
    user_low_limit = pvproperty(name="LLM", dtype=RangedDouble, doc="User Low Limit")
    dial_high_limit = pvproperty(name="DHLM", dtype=RangedDouble, doc="Dial High Limit")
    dial_low_limit = pvproperty(name="DLLM", dtype=RangedDouble, doc="Dial Low Limit")
    dial_desired_value = pvproperty(name="DVAL", dtype=RangedDouble, doc="Dial Desired Value (EGU)")
    relative_value = pvproperty(name="RLV", dtype=RangedDouble, doc="Relative Value (EGU)")
    tweak_motor_forward = pvproperty(name="TWF", dtype=PvpropertyShort, doc="Tweak motor Forward")
    tweak_motor_reverse = pvproperty(name="TWR", dtype=PvpropertyShort, doc="Tweak motor Reverse")
    home_forward = pvproperty(name="HOMF", dtype=PvpropertyShort, doc="Home Forward")
    home_reverse = pvproperty(name="HOMR", dtype=PvpropertyShort, doc="Home Reverse")
    velocity = pvproperty(name="VELO", dtype=RangedDouble, doc="Velocity (EGU/s)")
    seconds_to_velocity = pvproperty(
        name="ACCL",
        dtype=RangedDouble,
        value=0.2,
        lower_ctrl_limit=0.0,
        upper_ctrl_limit=MAX_ACCELERATION_S,
        units="s",
        doc="Seconds to Velocity",
    )

    @stop.putter
    async def stop(self, instance, value):
        if value:
            await _owner(self).stop_motion(keep_target=False)
        return 0

    @stop_pause_move_go.putter
    async def stop_pause_move_go(self, instance, value):
        await _owner(self).spmg_changed(value)
        return value

    @user_offset.putter
    async def user_offset(self, instance, value):
        await _owner(self).calibration_changed(offset=value)
        return value

    @user_direction.putter
    async def user_direction(self, instance, value):
        await _owner(self).calibration_changed(direction=value)
        return value

    @user_high_limit.putter
    async def user_high_limit(self, instance, value):
        await _owner(self).user_limit_changed(high=value)
        return value

    @user_low_limit.putter
    async def user_low_limit(self, instance, value):
        await _owner(self).user_limit_changed(low=value)
        return value

    @dial_high_limit.putter
    async def dial_high_limit(self, instance, value):
        await _owner(self).dial_limit_changed(high=value)
        return value

    @dial_low_limit.putter
    async def dial_low_limit(self, instance, value):
        await _owner(self).dial_limit_changed(low=value)
        return value

    @dial_desired_value.putter
    async def dial_desired_value(self, instance, value):
        owner = _owner(self)
        await owner.motor.write(owner.user_from_dial(value))
        return owner.dial_from_user(owner.motor.value)

    @relative_value.putter
    async def relative_value(self, instance, value):
        owner = _owner(self)
        await owner.motor.write(owner.motor.value + value)
        return 0.0

    @tweak_motor_forward.putter
    async def tweak_motor_forward(self, instance, value):
        if value:
            owner = _owner(self)
            await owner.motor.write(owner.motor.value + self.tweak_step_size.value)
        return 0

    @tweak_motor_reverse.putter
    async def tweak_motor_reverse(self, instance, value):
        if value:
            owner = _owner(self)
            await owner.motor.write(owner.motor.value - self.tweak_step_size.value)
        return 0

    @home_forward.putter
    async def home_forward(self, instance, value):
        if value:
            await _owner(self).home()
        return 0

    @home_reverse.putter
    async def home_reverse(self, instance, value):
        if value:
            await _owner(self).home()
        return 0

    @velocity.putter
    async def velocity(self, instance, value):
        vmax = self.max_velocity.value
        if not 0 < value <= vmax:
            raise ValueError(f"{value:g} is outside 0 < VELO <= VMAX = {vmax:g}")
        return max(value, self.base_velocity.value)  # the record raises VELO to VBAS


class SimMotor(PVGroup):
    """One simulated motor record.  PV: ``<prefix>`` (VAL) and ``<prefix>.<FIELD>``.

    Positions are in ``egu``; limits are user limits; ``velocity`` in egu/s (VMAX,
    ``max_velocity``, is 10× that unless given); ``acceleration`` is ACCL (seconds to
    reach velocity).
    """

    motor = pvproperty(
        value=0.0,
        name="",
        record="stxm_sim_motor",
        dtype=MotorSetpoint,
        doc="User desired value (VAL)",
    )

    def __init__(
        self,
        *args,
        egu: str = "um",
        position: float = 0.0,
        limits: tuple[float, float] = (-100.0, 100.0),
        velocity: float = 100.0,
        acceleration: float = 0.05,
        max_velocity: float | None = None,
        resolution: float = 1e-4,
        precision: int = 4,
        description: str = "",
        update_period: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._initial = dict(
            egu=egu,
            position=position,
            limits=limits,
            velocity=velocity,
            acceleration=acceleration,
            max_velocity=max_velocity or 10.0 * velocity,
            resolution=resolution,
            precision=precision,
            description=description,
        )
        self.update_period = update_period
        self.clock = clock
        self._history: deque[Trajectory] = deque(maxlen=HISTORY_MOVES)
        self.trajectory = Trajectory.at_rest(position, clock())
        self._dial_position = position
        self._move_task: asyncio.Task | None = None
        self._homing = False
        self._motion_done = asyncio.Event()
        self._motion_done.set()

    # -- conversions -----------------------------------------------------------------
    @property
    def fields(self) -> SimMotorFields:
        return self.motor.field_inst

    @property
    def _dir_sign(self) -> int:
        return -1 if self.fields.user_direction.value == "Neg" else 1

    def user_from_dial(self, dial: float) -> float:
        return self._dir_sign * dial + self.fields.user_offset.value

    def dial_from_user(self, user: float) -> float:
        return (user - self.fields.user_offset.value) * self._dir_sign

    @property
    def trajectory(self) -> Trajectory:
        """The move under way (or the last one): where the axis is going."""
        return self._history[-1]

    @trajectory.setter
    def trajectory(self, trajectory: Trajectory) -> None:
        self._history.append(trajectory)

    def position_at(self, t: float | np.ndarray) -> np.ndarray:
        """User position at monotonic time(s) ``t``: each time on the move under way then."""
        t = np.asarray(t, dtype=float)
        moves = list(self._history)
        earliest = float(t.min()) if t.size else 0.0
        first = max((k for k, move in enumerate(moves) if move.t0 <= earliest), default=0)
        dial = moves[first].position_at(t)
        for move in moves[first + 1 :]:
            dial = np.where(t >= move.t0, move.position_at(t), dial)
        return self.user_from_dial(dial)

    @property
    def position(self) -> float:
        return float(self.position_at(self.clock()))

    # -- start-up --------------------------------------------------------------------
    @motor.startup
    async def motor(self, instance, async_lib):
        init = self._initial
        f = self.fields
        await f.engineering_units.write(init["egu"])
        await f.description.write(init["description"][:40])
        await f.display_precision.write(init["precision"])
        await f.motor_step_size.write(init["resolution"])
        await f.max_velocity.write(init["max_velocity"])
        await f.velocity.write(
            init["velocity"], lower_ctrl_limit=0.0, upper_ctrl_limit=init["max_velocity"]
        )
        await f.seconds_to_velocity.write(init["acceleration"])
        await f.tweak_step_size.write(1.0)
        await f.limit_violation.write(0)
        low, high = init["limits"]
        await f.dial_low_limit.write(low, verify_value=False)
        await f.dial_high_limit.write(high, verify_value=False)
        await self._publish_limits()
        await instance.write(init["position"], verify_value=False)
        await self._publish_position(init["position"], moving=False)

    # -- hooks called by the fields ---------------------------------------------------
    @motor.putter
    async def motor(self, instance, value):
        f = self.fields
        if f.set_use_switch.value == "Set":
            await self._redefine_position(value)
            return value
        low, high = f.user_low_limit.value, f.user_high_limit.value
        if low != high and not (low <= value <= high):
            await f.limit_violation.write(1)
            return instance.value
        await f.limit_violation.write(0)
        await f.dial_desired_value.write(self.dial_from_user(value), verify_value=False)
        if f.stop_pause_move_go.value in ("Stop", "Pause"):
            return value
        self._start_move(self.dial_from_user(value))
        # VAL is posted at once; the put completes when the move does (DMOV=1).
        await instance.write(value, verify_value=False)
        await self._motion_done.wait()
        return instance.value  # a STOP meanwhile set VAL to where the axis stopped

    async def step_through(self, targets: np.ndarray, hold: float) -> np.ndarray:
        """The controller moves through ``targets`` (user units), holding ``hold`` s at each.

        One motion as the record sees it (a wave table run by the controller, not a put
        per point): see :meth:`run_profile`.  Returns when it arrived at each target
        (monotonic).
        """
        targets = np.asarray(targets, dtype=float)
        await self.check_targets(targets)
        f = self.fields
        profile = StepProfile.through(
            float(self.trajectory.position_at(self.clock())),
            np.array([self.dial_from_user(target) for target in targets]),
            self.clock(),
            hold,
            velocity=f.velocity.value,
            accel_time=f.seconds_to_velocity.value,
            base_velocity=f.base_velocity.value,
        )
        await self.run_profile(profile)
        return profile.arrivals

    async def check_targets(self, targets: np.ndarray) -> None:
        """Refuse (LVIO, ValueError) a target outside the user limits, or a motor not in Go."""
        f = self.fields
        low, high = f.user_low_limit.value, f.user_high_limit.value
        outside = np.flatnonzero((targets < low) | (targets > high)) if low != high else []
        if len(outside):
            await f.limit_violation.write(1)
            index = int(outside[0])
            raise ValueError(
                f"point {index}'s {targets[index]:.4f} {self._initial['egu']} is not within "
                f"the limits [{low:g}, {high:g}]"
            )
        if f.set_use_switch.value == "Set" or f.stop_pause_move_go.value != "Go":
            raise ValueError(
                f"the motor is in SET={f.set_use_switch.value}, SPMG={f.stop_pause_move_go.value}"
            )
        await f.limit_violation.write(0)

    async def run_profile(self, profile: StepProfile) -> None:
        """Run a controller's profile (dial units, checked first) as one motion.

        VAL/DVAL post the last target, DMOV stays 0 and RBV follows the axis every
        ``update_period`` until it arrived; a STOP meanwhile raises ValueError.
        """
        f = self.fields
        await f.dial_desired_value.write(profile.target, verify_value=False)
        await self.motor.write(self.user_from_dial(profile.target), verify_value=False)
        if self._move_task is not None and not self._move_task.done():
            self._move_task.cancel()
        self.trajectory = profile
        self._motion_done.clear()
        self._move_task = asyncio.get_running_loop().create_task(self._run_move(profile))
        await self._motion_done.wait()
        if self.trajectory is not profile:
            raise ValueError("the axis was stopped before the last point")

    def axis(self) -> Axis:
        """Its motion settings and dial position now (for a controller's profile)."""
        f = self.fields
        return Axis(
            position=float(self.trajectory.position_at(self.clock())),
            velocity=f.velocity.value,
            accel_time=f.seconds_to_velocity.value,
            base_velocity=f.base_velocity.value,
        )

    def motion_settings(self) -> dict[str, float]:
        """The record's velocity, accel_time and base_velocity (a Trajectory's keywords)."""
        f = self.fields
        return {
            "velocity": float(f.velocity.value),
            "accel_time": float(f.seconds_to_velocity.value),
            "base_velocity": float(f.base_velocity.value),
        }

    async def follow(self, moves: list[Trajectory]) -> None:
        """The controller runs ``moves`` (user units, each from its own t0: a wave table).

        One motion as the record sees it, as :meth:`step_through`: VAL/DVAL post the
        last target, DMOV stays 0 and RBV follows until the last move ends.  Returns
        once it started; a target outside the user limits is refused (ValueError).
        """
        f = self.fields
        targets = np.array([move.target for move in moves])
        low, high = f.user_low_limit.value, f.user_high_limit.value
        if low != high and np.any((targets < low) | (targets > high)):
            await f.limit_violation.write(1)
            raise ValueError(f"a target is not within the limits [{low:g}, {high:g}]")
        if f.set_use_switch.value == "Set" or f.stop_pause_move_go.value != "Go":
            raise ValueError(
                f"the motor is in SET={f.set_use_switch.value}, SPMG={f.stop_pause_move_go.value}"
            )
        await f.limit_violation.write(0)
        await f.dial_desired_value.write(self.dial_from_user(targets[-1]), verify_value=False)
        await self.motor.write(float(targets[-1]), verify_value=False)
        profile = StepProfile(
            [
                replace(
                    move,
                    start=self.dial_from_user(move.start),
                    target=self.dial_from_user(move.target),
                )
                for move in moves
            ]
        )
        if self._move_task is not None and not self._move_task.done():
            self._move_task.cancel()
        self.trajectory = profile
        self._motion_done.clear()
        self._move_task = asyncio.get_running_loop().create_task(self._run_move(profile))

    async def stop_motion(self, *, keep_target: bool) -> None:
        """Stop where the axis is now; VAL follows RBV unless pausing."""
        if self._move_task is not None and not self._move_task.done():
            now = self.clock()
            here = float(self.trajectory.position_at(now))
            self.trajectory = Trajectory.at_rest(here, now)
            self._move_task.cancel()
            self._move_task = None
            await self._finish_move(here)
        if not keep_target:
            await self.motor.write(self.position, verify_value=False)
            await self.fields.dial_desired_value.write(
                self.dial_from_user(self.position), verify_value=False
            )

    async def spmg_changed(self, mode: str) -> None:
        if mode == "Stop":
            await self.stop_motion(keep_target=False)
        elif mode == "Pause":
            await self.stop_motion(keep_target=True)
        elif abs(self.dial_from_user(self.motor.value) - self._dial_position) > 0:
            self._start_move(self.dial_from_user(self.motor.value))

    async def home(self) -> None:
        self._homing = True
        await self.motor.write(self.user_from_dial(0.0), verify_value=False)
        self._start_move(0.0)
        await self._motion_done.wait()

    async def calibration_changed(
        self, *, offset: float | None = None, direction: str | None = None
    ) -> None:
        """OFF or DIR changed: the dial position stays, the user values follow."""
        f = self.fields
        dial_target = self.dial_from_user(self.motor.value)
        if offset is not None:
            await f.user_offset.write(offset, verify_value=False)
        if direction is not None:
            await f.user_direction.write(direction, verify_value=False)
        await self._publish_limits()
        await self.motor.write(self.user_from_dial(dial_target), verify_value=False)
        await self._publish_position(self._dial_position, moving=self._is_moving)

    async def user_limit_changed(
        self, *, low: float | None = None, high: float | None = None
    ) -> None:
        f = self.fields
        if self._dir_sign > 0:
            if high is not None:
                await f.dial_high_limit.write(self.dial_from_user(high), verify_value=False)
            if low is not None:
                await f.dial_low_limit.write(self.dial_from_user(low), verify_value=False)
        else:
            if high is not None:
                await f.dial_low_limit.write(self.dial_from_user(high), verify_value=False)
            if low is not None:
                await f.dial_high_limit.write(self.dial_from_user(low), verify_value=False)
        await self._publish_limits()

    async def dial_limit_changed(
        self, *, low: float | None = None, high: float | None = None
    ) -> None:
        f = self.fields
        if high is not None:
            await f.dial_high_limit.write(high, verify_value=False)
        if low is not None:
            await f.dial_low_limit.write(low, verify_value=False)
        await self._publish_limits()

    # -- motion ----------------------------------------------------------------------
    @property
    def _is_moving(self) -> bool:
        return self._move_task is not None and not self._move_task.done()

    def _start_move(self, dial_target: float) -> None:
        f = self.fields
        now = self.clock()
        start = float(self.trajectory.position_at(now))
        if self._move_task is not None and not self._move_task.done():
            self._move_task.cancel()
        self.trajectory = Trajectory(
            start=start,
            target=dial_target,
            t0=now,
            velocity=f.velocity.value,
            accel_time=f.seconds_to_velocity.value,
            base_velocity=f.base_velocity.value,
        )
        self._motion_done.clear()
        self._move_task = asyncio.get_running_loop().create_task(self._run_move(self.trajectory))

    async def _run_move(self, trajectory: Trajectory | StepProfile) -> None:
        f = self.fields
        if f.done_moving_to_value.value != 0:
            await f.direction_of_travel.write(1 if trajectory.direction > 0 else 0)
            await f.done_moving_to_value.write(0)
            await f.motor_is_moving.write(1)
        while True:
            now = self.clock()
            if now >= trajectory.end_time:
                break
            await self._publish_position(float(trajectory.position_at(now)), moving=True)
            await asyncio.sleep(min(self.update_period, trajectory.end_time - now))
        await self._finish_move(trajectory.target)

    async def _finish_move(self, dial_position: float) -> None:
        f = self.fields
        if self._homing:
            self._homing = False
            await f.at_home.write(1)
        await self._publish_position(dial_position, moving=False)
        await f.motor_is_moving.write(0)
        await f.done_moving_to_value.write(1)
        self._motion_done.set()
        if f.stop_pause_move_go.value == "Move":
            await f.stop_pause_move_go.write("Pause", verify_value=False)

    async def _redefine_position(self, user_value: float) -> None:
        """SET mode: change OFF (Variable) or the dial position (Frozen); nothing moves.

        As the record's ``load_pos``: OFF and the limits are posted, DMOV drops while the
        controller loads the position, and the readbacks and DMOV=1 follow its answer.
        """
        f = self.fields
        if f.offset_freeze_switch.value == "Variable":
            await f.user_offset.write(
                user_value - self._dir_sign * self._dial_position, verify_value=False
            )
            await self._publish_limits()
            dial = self._dial_position
        else:
            dial = self.dial_from_user(user_value)
        await f.done_moving_to_value.write(0)
        await asyncio.sleep(LOAD_POSITION_S)
        if dial != self._dial_position:
            self.trajectory = Trajectory.at_rest(dial, self.clock())
        await self._publish_position(dial, moving=False)
        await f.done_moving_to_value.write(1)

    async def _publish_limits(self) -> None:
        f = self.fields
        user_a = self.user_from_dial(f.dial_low_limit.value)
        user_b = self.user_from_dial(f.dial_high_limit.value)
        low, high = min(user_a, user_b), max(user_a, user_b)
        await f.user_low_limit.write(low, verify_value=False)
        await f.user_high_limit.write(high, verify_value=False)
        for channel in (self.motor, f.user_readback_value):
            await channel.write_metadata(
                units=self._initial["egu"],
                precision=self._initial["precision"],
                lower_ctrl_limit=low,
                upper_ctrl_limit=high,
                lower_disp_limit=low,
                upper_disp_limit=high,
            )

    async def _publish_position(self, dial: float, *, moving: bool) -> None:
        f = self.fields
        self._dial_position = dial
        resolution = f.motor_step_size.value or 1.0
        timestamp = time.time()
        await f.dial_readback_value.write(dial, timestamp=timestamp)
        await f.user_readback_value.write(self.user_from_dial(dial), timestamp=timestamp)
        await f.raw_readback_value.write(int(round(dial / resolution)), timestamp=timestamp)
        high_switch = dial > f.dial_high_limit.value
        low_switch = dial < f.dial_low_limit.value
        if f.user_high_limit_switch.value != high_switch:
            await f.user_high_limit_switch.write(int(high_switch))
        if f.user_low_limit_switch.value != low_switch:
            await f.user_low_limit_switch.write(int(low_switch))
        status = MSTA_MOVING if moving else MSTA_DONE
        if self.trajectory.direction > 0:
            status |= MSTA_DIRECTION
        if high_switch:
            status |= MSTA_PLUS_LS
        if low_switch:
            status |= MSTA_MINUS_LS
        if f.at_home.value:
            status |= MSTA_HOMED | (MSTA_HOME if abs(dial) < resolution else 0)
        if f.motor_status.value != status:
            await f.motor_status.write(status)
