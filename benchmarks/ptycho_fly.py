"""Ptychography: step vs fly vs ideal, side by side in one run.

Starts its own sim on a free loopback port and takes the same N×N ptychography grid
(``plans.ptycho_scan``, 256×256 frames streamed into a temporary directory) twice:

- step: the stage stops at each point, the camera takes one frame (an event per point);
- fly: fine X flies each row while the camera free-runs at one frame per dwell, each
  frame placed where the stage was mid-exposure (an event per frame).

Prints, against the ideal (points × exposure): the whole plan's wall time (run
documents, staging, the file, every frame) and the acquisition's (first frame to last,
from the frames' own timestamps, the times they were exposed: the run's fixed costs
left out), their ratios, and step/fly, with the date, the machine and its load average.
Then where each plan's wall time went: before the first exposure (checks, run start,
baseline, staging, settings, arming), the exposures, the sim rendering behind them (its
frames' documents reach the plan after their exposure: CPU the two cores lack), and
after the last frame's document (settings restored, unstaging and the file closed, the
closing baseline, the stop document).  Nothing is asserted.

    python benchmarks/ptycho_fly.py [--points 30] [--dwell-ms 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

from iocs.loopback import free_port_pair
from stxm_devices.channel_access import use_loopback_channel_access

#: Across the right edge of the phantom's first particle (µm).
CENTRE_UM = (-0.13, 2.05)
STEP_UM = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=30, help="grid side")
    parser.add_argument("--dwell-ms", type=float, default=2.0)
    args = parser.parse_args()

    port = free_port_pair()
    use_loopback_channel_access([port], force=True)
    from bluesky import RunEngine

    import plans
    from stxm_devices import make_beamline
    from stxm_devices.channel_access import closing_channel_access
    from stxm_devices.testing import running_ioc, sim_command

    side = args.points
    extent = STEP_UM * (side - 1)
    region = plans.Region(CENTRE_UM[0], extent, side, CENTRE_UM[1], extent, side)
    ideal = side * side * args.dwell_ms / 1000
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.node()}, "
        f"{os.cpu_count()} cores; load average {load}; ptycho {side}x{side} at "
        f"{args.dwell_ms} ms, 256x256 frames"
    )
    with (
        tempfile.TemporaryDirectory() as data,
        running_ioc(sim_command(port), port=port, ready_pv="SIM:counter0:Noise"),
        closing_channel_access(),
    ):
        beamline = make_beamline("SIM:")
        beamline.detector.hdf1.write_path_template = f"{data}/"
        RE = RunEngine({})  # noqa: N806
        total_key = beamline.detector.stats1.total.name
        walls, spans, phases = {}, {}, {}
        print(
            f"{'mode':<6}{'ideal s':>8}{'wall s':>8}{'x ideal':>9}"
            f"{'acquiring s':>13}{'x ideal':>9}{'per point ms':>14}"
        )
        for mode in ("step", "fly"):
            stamps: list[float] = []
            arrivals: list[float] = []

            def note(name, doc, stamps=stamps, arrivals=arrivals):
                times = _frame_times(name, doc, total_key)
                if times:
                    stamps.extend(times)
                    arrivals.append(time.time())

            plan = plans.ptycho_scan(beamline, region=region, dwell_ms=args.dwell_ms, mode=mode)
            begun, start = time.time(), time.perf_counter()
            RE(plan, note)
            walls[mode] = wall = time.perf_counter() - start
            spans[mode] = span = max(stamps) - min(stamps) + args.dwell_ms / 1000
            exposed = max(stamps) + args.dwell_ms / 2000  # the last frame's exposure ends
            phases[mode] = (
                min(stamps) - args.dwell_ms / 2000 - begun,
                span,
                max(arrivals) - exposed,
                begun + wall - max(arrivals),
            )
            per_point = wall / (side * side) * 1000
            print(
                f"{mode:<6}{ideal:8.2f}{wall:8.2f}{wall / ideal:9.2f}"
                f"{span:13.2f}{span / ideal:9.2f}{per_point:14.2f}"
            )
        print(
            f"fly is {walls['step'] / walls['fly']:.1f}x faster than step "
            f"({spans['step'] / spans['fly']:.1f}x acquiring)"
        )
        print("where the wall time went (s): before the first exposure, exposures,")
        print("last frame's document after its exposure, after the last frame's document")
        for mode, (before, exposures, behind, after) in phases.items():
            print(f"  {mode:<6}{before:8.3f}{exposures:8.3f}{behind:8.3f}{after:8.3f}")


def _frame_times(name: str, doc: dict, key: str) -> list[float]:
    """The frames' own timestamps (their Stats totals') in an event or event page."""
    if name == "event" and key in doc["timestamps"]:
        return [doc["timestamps"][key]]
    if name == "event_page" and key in doc["timestamps"]:
        return list(doc["timestamps"][key])
    return []


if __name__ == "__main__":
    main()
