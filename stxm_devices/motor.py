"""``StxmMotor``: ophyd's EpicsMotor made safe and quick for millisecond moves.

- Settings complete on the put callback: a motor record processes a VELO/ACCL put at
  once, so waiting for the callback is exact and takes ~1 ms, where ophyd's default
  (poll the readback every 10 ms) costs two polls per fly line.
- Move completion is race-free: ophyd's ``_done_moving`` runs the request-done
  callbacks and only then clears them.  A plan woken by the first callback may already
  have started the next move and registered its callback, which the clear then drops,
  so the next move never completes.  Here the callbacks are taken, cleared, then run.
"""

from __future__ import annotations

import time

from ophyd import Component as Cpt
from ophyd import EpicsMotor, EpicsSignal


class StxmMotor(EpicsMotor):
    """An EPICS motor record (positions in its EGU); velocity and acceleration put-complete."""

    velocity = Cpt(EpicsSignal, ".VELO", kind="config", auto_monitor=True, put_complete=True)
    acceleration = Cpt(EpicsSignal, ".ACCL", kind="config", auto_monitor=True, put_complete=True)

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
