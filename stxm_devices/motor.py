"""``StxmMotor``: ophyd's EpicsMotor made safe and quick for millisecond moves.

- Settings complete on the put callback: a motor record processes a VELO/ACCL put at
  once, so waiting for the callback is exact and takes ~1 ms, where ophyd's default
  (poll the readback every 10 ms) costs two polls per fly line.
- Move completion is race-free: ophyd's ``_done_moving`` runs the request-done
  callbacks and only then clears them.  A plan woken by the first callback may already
  have started the next move and registered its callback, which the clear then drops,
  so the next move never completes.  Here the callbacks are taken, cleared, then run.
- Moves cannot hang: each has a deadline from its distance, velocity and acceleration
  (plus ``move_timeout_margin_s``) and fails within a moment when the motor's IOC
  disconnects, naming the PV (``channel_access.guard_status``); a read or a move of a
  motor whose IOC just died names its IOC, not only pyepics's status code.
"""

from __future__ import annotations

import logging
import math
import time

from ophyd import Component as Cpt
from ophyd import EpicsMotor
from ophyd.status import MoveStatus

from .channel_access import GuardedSignal, NamedIocErrors, guard_status, naming_the_ioc

logger = logging.getLogger(__name__)


class StxmMotor(NamedIocErrors, EpicsMotor):
    """An EPICS motor record (positions in its EGU); velocity and acceleration put-complete."""

    velocity = Cpt(GuardedSignal, ".VELO", kind="config", auto_monitor=True, put_complete=True)
    acceleration = Cpt(GuardedSignal, ".ACCL", kind="config", auto_monitor=True, put_complete=True)

    #: Seconds allowed beyond the move's own duration (distance / VELO + 2 ACCL).
    move_timeout_margin_s = 5.0

    def expected_move_s(self, position: float) -> float:
        """How long a move to ``position`` takes at the record's VELO and ACCL, s."""
        distance = abs(float(position) - float(self.user_readback.get()))
        velocity = float(self.velocity.get())
        accel_s = float(self.acceleration.get())
        cruise = distance / velocity if velocity > 0 and math.isfinite(velocity) else 0.0
        ramps = 2 * accel_s if math.isfinite(accel_s) and accel_s > 0 else 0.0
        return cruise + ramps if math.isfinite(cruise) else 0.0

    def move(self, position, wait: bool = True, timeout=None, moved_cb=None) -> MoveStatus:
        """Move; the status fails on a disconnect or after the expected time + the margin."""
        if timeout is None:
            with naming_the_ioc(self.prefix, f"{self.name} was asked to move"):
                timeout = self.expected_move_s(position) + self.move_timeout_margin_s
        status = super().move(position, wait=False, moved_cb=moved_cb)
        guard_status(
            status,
            [self.user_setpoint, self.user_readback, self.motor_done_move],
            timeout=timeout,
            action=f"{self.name} moving to {position}",
        )
        if wait:
            status.wait()
        return status

    def stop(self, *, success: bool = False) -> None:
        """Stop the motor; one whose IOC is gone has nothing to stop (and is not an error)."""
        if not self.user_setpoint.connected or not self.motor_stop.connected:
            logger.info("%s: not stopped, its IOC is disconnected", self.name)
            return
        super().stop(success=success)

    def _done_moving(self, success=True, timestamp=None, value=None, **kwargs):
        if success:
            self._run_subs(sub_type=self.SUB_DONE, timestamp=timestamp, value=value)
        pending = list(self._callbacks[self._SUB_REQ_DONE].values())
        self._reset_sub(self._SUB_REQ_DONE)
        for callback in pending:
            callback(
                success=success,
                timestamp=timestamp or time.time(),
                sub_type=self._SUB_REQ_DONE,
                obj=self,
            )
