"""How long a sample image takes in line and step mode, against the ideal (points × dwell).

Starts its own sim on a free loopback port, runs ``stxm_image`` at 1 ms dwell as
unidirectional and bidirectional (serpentine) fly lines and in step mode, and prints
wall time, the ratio to the ideal and the overhead per row and per point, side by side.
Line-mode images are flown whole by the counter's controller (its FlyImage mode: the
sim hosts the stage in the counter's process); row by row, one trigger per row, where not.
Targets (issue 13): line mode within 1.25× of ideal unidirectional, 1.10× bidirectional.

    python benchmarks/image_timing.py [--line-points 100] [--step-points 30]
"""

from __future__ import annotations

import argparse
import time

from iocs.loopback import free_port_pair
from stxm_devices.channel_access import use_loopback_channel_access


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--line-points", type=int, default=100, help="line-mode image side")
    parser.add_argument("--step-points", type=int, default=30, help="step-mode image side")
    parser.add_argument("--dwell-ms", type=float, default=1.0)
    args = parser.parse_args()

    port = free_port_pair()
    use_loopback_channel_access([port], force=True)
    from bluesky import RunEngine

    import plans
    from stxm_devices import make_beamline
    from stxm_devices.channel_access import closing_channel_access
    from stxm_devices.testing import running_ioc, sim_command

    with (
        running_ioc(sim_command(port), port=port, ready_pv="SIM:counter0:Noise"),
        closing_channel_access(),
    ):
        beamline = make_beamline("SIM:")
        RE = RunEngine({})  # noqa: N806
        print(
            f"{'mode':14} {'points':>9} {'wall s':>8} {'ideal s':>8} {'ratio':>6} "
            f"{'overhead/row ms':>16} {'overhead/point ms':>18}"
        )
        runs = (
            ("line", False, args.line_points),
            ("line", True, args.line_points),
            ("step", False, args.step_points),
        )
        for mode, bidirectional, side in runs:
            plan = plans.stxm_image(
                beamline,
                x_center_um=0,
                x_range_um=40,
                nx=side,
                y_center_um=0,
                y_range_um=40,
                ny=side,
                dwell_ms=args.dwell_ms,
                mode=mode,
                bidirectional=bidirectional,
            )
            start = time.perf_counter()
            RE(plan)
            wall = time.perf_counter() - start
            ideal = side * side * args.dwell_ms / 1000
            overhead = wall - ideal
            label = f"{mode} {'bidir' if bidirectional else 'unidir'}" if mode == "line" else mode
            print(
                f"{label:14} {side}x{side:<6} {wall:8.2f} {ideal:8.2f} {wall / ideal:6.2f} "
                f"{overhead / side * 1000:16.2f} {overhead / (side * side) * 1000:18.2f}"
            )


if __name__ == "__main__":
    main()
