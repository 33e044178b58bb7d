"""Step-mode image side by side: per point, hardware-timed rows, stock bluesky, its floor.

Starts its own sim on a free loopback port and takes an N×N step image (20 µm square)
at 1 ms dwell four ways in one run:

- project, per point: ``stxm_image(mode="point")`` (a move, a trigger and an event per
  point from bluesky, a checkpoint per row);
- project, hardware-timed: ``stxm_image(mode="step")`` (per row a fine Y move and one
  trigger of the counter in StepLine mode, which steps fine X, settles and counts each
  point itself; one event per row);
- stock: ``bp.grid_scan`` with stock ``ophyd.EpicsMotor`` on the same sim's fine X/Y and
  the counter in Single mode;
- floor: ``bp.grid_scan`` over ``ophyd.sim`` devices (bluesky alone, no EPICS, no dwell).

The project's rows are whole plans (start document, baseline, configuring the counter).
Prints wall time, the ideal (points × dwell; 0 for the floor), the overhead per point and
how many times less overhead than stock, with the date, the machine and its load.
Nothing is asserted.

    python benchmarks/step_row.py [--points 30] [--dwell-ms 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from iocs.loopback import free_port_pair
from stxm_devices.channel_access import use_loopback_channel_access

EXTENT_UM = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=30, help="image side")
    parser.add_argument("--dwell-ms", type=float, default=1.0)
    args = parser.parse_args()

    port = free_port_pair()
    use_loopback_channel_access([port], force=True)
    import bluesky.plan_stubs as bps
    import bluesky.plans as bp
    from bluesky import RunEngine
    from ophyd import EpicsMotor
    from ophyd.sim import det, motor1, motor2

    import plans
    from iocs.prefixes import subsystem_prefix
    from stxm_devices import make_beamline
    from stxm_devices.channel_access import closing_channel_access
    from stxm_devices.testing import running_ioc, sim_command

    side = args.points
    low, high = -EXTENT_UM / 2, EXTENT_UM / 2
    points = side * side
    ideal = points * args.dwell_ms / 1000
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.node()}, "
        f"{os.cpu_count()} cores; load average {load}; {side}x{side} at {args.dwell_ms} ms"
    )
    with (
        running_ioc(sim_command(port), port=port, ready_pv="SIM:counter0:Noise"),
        closing_channel_access(),
    ):
        beamline = make_beamline("SIM:")
        counter = beamline.counter
        stage_prefix = subsystem_prefix("stage", "SIM:")
        stock_x = EpicsMotor(stage_prefix + "FineX", name="stock_fine_x")
        stock_y = EpicsMotor(stage_prefix + "FineY", name="stock_fine_y")
        for motor in (stock_x, stock_y):
            motor.wait_for_connection(timeout=30)
        RE = RunEngine({})  # noqa: N806

        def image(mode: str):
            return plans.stxm_image(
                beamline,
                x_center_um=0.0,
                x_range_um=EXTENT_UM,
                nx=side,
                y_center_um=0.0,
                y_range_um=EXTENT_UM,
                ny=side,
                dwell_ms=args.dwell_ms,
                mode=mode,
            )

        def stock():
            yield from bps.mv(counter.mode, "Single", counter.dwell, args.dwell_ms)
            yield from bp.grid_scan([counter], stock_y, low, high, side, stock_x, low, high, side)

        def floor():
            yield from bp.grid_scan([det], motor1, low, high, side, motor2, low, high, side)

        runs = (
            ("project, per point", image("point"), ideal),
            ("project, hardware-timed", image("step"), ideal),
            ("stock grid_scan+EpicsMotor", stock(), ideal),
            ("ophyd.sim floor", floor(), 0.0),
        )
        results = []
        for name, plan, plan_ideal in runs:
            start = time.perf_counter()
            RE(plan)
            wall = time.perf_counter() - start
            results.append((name, wall, plan_ideal, (wall - plan_ideal) / points * 1000))
        stock_overhead = results[2][3]
        print(f"{'how':<28}{'wall s':>8}{'ideal s':>9}{'overhead/point ms':>19}{'vs stock':>10}")
        for name, wall, plan_ideal, overhead in results:
            print(
                f"{name:<28}{wall:8.2f}{plan_ideal:9.2f}{overhead:19.2f}"
                f"{stock_overhead / overhead:9.1f}x"
            )
        ratio = np.round(results[1][1] / ideal, 2)
        print(f"hardware-timed image = {ratio}x ideal; target <= 3 ms overhead per point")


if __name__ == "__main__":
    main()
