"""``stxm facility up|down|status``: the arguments and the printing."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .services import Layout, down, status, up


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``facility`` subcommand's arguments."""
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("STXM_FACILITY_DIR", "facility-data")),
        help="data and state of the services (default $STXM_FACILITY_DIR or ./facility-data)",
    )


def run_facility(args: argparse.Namespace) -> int:
    """Run one action; 1 if a recorded service is not running (status)."""
    if args.action == "up":
        for service in up(args.dir):
            print(f"{service.name:<13} pid {service.pid:<8} {service.address}", flush=True)
        layout = Layout(args.dir.resolve())
        print(f"data in {layout.data}; a Tiled client needs the API key:")
        print(f"  export STXM_TILED_API_KEY=$(cat {layout.state / 'tiled-api-key'})")
        return 0
    if args.action == "down":
        for line in down(args.dir):
            print(line)
        return 0
    services = status(args.dir)
    if not services:
        print(f"no services recorded under {args.dir}")
        return 1
    for service, running in services:
        state = "running" if running else "NOT RUNNING"
        print(f"{service.name:<13} pid {service.pid:<8} {state:<12} {service.address}")
    return 0 if all(running for _, running in services) else 1
