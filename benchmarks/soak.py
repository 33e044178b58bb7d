"""Soak: short scans back to back while the sim is SIGKILLed and restarted at random.

Starts its own sim on a free loopback port (and a CA repeater), runs ``--scans`` 3 × 3
step images with the counter and the area detector, and every 5–15 scans SIGKILLs the
sim at a random moment of a scan, restarts it on the same port and carries on in the
same session. Every document goes through the write-ahead journal first. Prints scans
complete / incomplete (failed, journal holds its start and stop) / lost (anything
emitted but not journaled), the longest hang (SIGKILL to the RunEngine raising), the
time from a restarted sim answering to all devices connected and to the next scan
complete (issue 9: within 5 s), and documents journaled vs emitted.

    python benchmarks/soak.py [--scans 100] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from iocs.loopback import free_port_pair
from iocs.prefixes import DEFAULT_PREFIX, ready_pv
from stxm_devices.channel_access import running_repeater, use_loopback_channel_access


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    port = free_port_pair()
    use_loopback_channel_access([port], force=True)
    from bluesky import RunEngine

    import plans
    from nxstxm.journal import Journal
    from stxm_devices import make_beamline
    from stxm_devices.testing import running_ioc, sim_command

    work = Path(tempfile.mkdtemp(prefix="stxm-soak-"))
    journal = Journal(work / "journal")
    emitted: Counter = Counter()
    outcome = Counter()
    hangs: list[float] = []
    reconnects: list[float] = []
    rescans: list[float] = []  # restarted sim answering -> the next scan complete
    restarted_at: float | None = None
    killed_at: list[float] = []

    def count(name: str, doc: dict) -> None:
        emitted[doc.get("run_start", doc.get("uid")) if name != "start" else doc["uid"]] += 1

    with ExitStack() as stack:
        stack.enter_context(running_repeater())

        def start_sim():
            command = sim_command(port, DEFAULT_PREFIX, "--no-noise")
            ready = ready_pv(DEFAULT_PREFIX)
            return stack.enter_context(running_ioc(command, port=port, ready_pv=ready, timeout=90))

        sim = start_sim()
        beamline = make_beamline(DEFAULT_PREFIX, connect=False)
        beamline.connect(timeout=60)
        beamline.detector.hdf1.write_path_template = f"{work}/ioc/"
        engine = RunEngine({})
        engine.subscribe(journal)
        engine.subscribe(count)
        next_kill = rng.randint(5, 15)
        for index in range(args.scans):
            plan = plans.stxm_image(
                beamline,
                x_center_um=0,
                x_range_um=1,
                nx=3,
                y_center_um=0,
                y_range_um=1,
                ny=3,
                dwell_ms=20,
                mode="step",
                detectors=("counter", "detector"),
            )
            timer = None
            if index == next_kill:
                process = sim.process

                def kill(process=process) -> None:
                    process.send_signal(signal.SIGKILL)
                    killed_at.append(time.monotonic())

                timer = threading.Timer(rng.uniform(0.1, 1.0), kill)
                timer.start()
            try:
                engine(plan)
                outcome["complete"] += 1
                if restarted_at is not None:
                    rescans.append(time.monotonic() - restarted_at)
                    restarted_at = None
            except Exception as error:  # noqa: BLE001 - counted; the soak goes on
                outcome["failed"] += 1
                if timer is not None and killed_at:  # the scan the sim was killed in
                    hangs.append(time.monotonic() - killed_at[-1])
                print(f"scan {index}: {type(error).__name__}: {str(error)[:120]}", flush=True)
            if timer is not None:
                timer.join()
                sim.process.wait(30)
                sim = start_sim()
                restarted_at = time.monotonic()
                beamline.connect(timeout=60)
                reconnects.append(time.monotonic() - restarted_at)
                next_kill = index + rng.randint(5, 15)

    journaled: Counter = Counter()
    stops = {}
    for path in (work / "journal").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            name, doc = json.loads(line)
            key = doc["uid"] if name == "start" else doc.get("run_start", doc.get("uid"))
            journaled[key] += 1
            if name == "stop":
                stops[doc["run_start"]] = doc["exit_status"]
    lost = sum(max(emitted[run] - journaled[run], 0) for run in emitted)
    incomplete = sum(1 for status in stops.values() if status != "success")
    print(f"scans: {args.scans}, sim kills: {len(killed_at)}")
    print(f"complete: {outcome['complete']}, incomplete: {incomplete}, failed: {outcome['failed']}")
    print(
        f"lost documents: {lost}; journaled {sum(journaled.values())} vs emitted "
        f"{sum(emitted.values())}"
    )
    print(f"longest hang (SIGKILL to the RunEngine raising): {max(hangs, default=0):.2f} s")
    if reconnects:
        print(
            f"restarted sim ready to all devices connected: longest {max(reconnects):.2f} s, "
            f"mean {sum(reconnects) / len(reconnects):.2f} s"
        )
    if rescans:
        print(
            f"restarted sim ready to the next scan complete: longest {max(rescans):.2f} s, "
            f"mean {sum(rescans) / len(rescans):.2f} s"
        )
    print(f"files under {work}")


if __name__ == "__main__":
    main()
