"""Step-mode image: points counted one by one from bluesky vs hardware-timed step rows.

Starts its own sim on a free loopback port and takes an N×N step image at 1 ms dwell
with the project's devices, twice in one run:

- per point: ``bp.grid_scan([counter], fine_y, ..., fine_x, ...)``, the counter in
  Single mode (a move, a trigger and an event per point);
- hardware-timed rows: per row, a fine Y move and one trigger of the counter in StepLine
  mode (``PointCounter.step_line_settings``), which moves fine X, settles and counts
  every point of the row itself; one event per row.

Prints wall time, the ideal (points × dwell), their ratio and the overhead per point,
with the date, the machine and its load average.  Nothing is asserted.

    python benchmarks/step_row.py [--points 30] [--dwell-ms 1] [--settle-ms 0]
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
    parser.add_argument("--settle-ms", type=float, default=0.0)
    args = parser.parse_args()

    port = free_port_pair()
    use_loopback_channel_access([port], force=True)
    import bluesky.plan_stubs as bps
    import bluesky.plans as bp
    import bluesky.preprocessors as bpp
    from bluesky import RunEngine

    from stxm_devices import make_beamline
    from stxm_devices.testing import running_ioc, sim_command

    side = args.points
    xs = np.linspace(-EXTENT_UM / 2, EXTENT_UM / 2, side)
    ys = np.linspace(-EXTENT_UM / 2, EXTENT_UM / 2, side)
    ideal = side * side * args.dwell_ms / 1000
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.node()}, "
        f"{os.cpu_count()} cores; load average {load}; {side}x{side} at {args.dwell_ms} ms"
    )
    with running_ioc(sim_command(port), port=port, ready_pv="SIM:counter0:Noise"):
        beamline = make_beamline("SIM:")
        counter, stage = beamline.counter, beamline.stage
        RE = RunEngine({})  # noqa: N806

        def per_point():
            yield from bps.mv(counter.mode, "Single", counter.dwell, args.dwell_ms)
            yield from bp.grid_scan(
                [counter], stage.fine_y, ys[0], ys[-1], side, stage.fine_x, xs[0], xs[-1], side
            )

        def hardware_rows():
            settings = counter.step_line_settings(xs, args.dwell_ms, settle_ms=args.settle_ms)
            yield from bps.mv(*[item for pair in settings.items() for item in pair])

            @bpp.run_decorator()
            def rows():
                for y in ys:
                    yield from bps.mv(stage.fine_y, y)
                    yield from bps.trigger_and_read([counter, stage.fine_y])

            yield from rows()

        print(f"{'how':<22}{'wall s':>8}{'ideal s':>9}{'ratio':>7}{'overhead/point ms':>19}")
        runs = (("per point (grid_scan)", per_point), ("hardware-timed rows", hardware_rows))
        for name, plan in runs:
            start = time.perf_counter()
            RE(plan())
            wall = time.perf_counter() - start
            overhead = (wall - ideal) / (side * side) * 1000
            print(f"{name:<22}{wall:8.2f}{ideal:9.2f}{wall / ideal:7.2f}{overhead:19.2f}")


if __name__ == "__main__":
    main()
