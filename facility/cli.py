"""``stxm facility up|down|status``: the arguments and the printing."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from .services import Layout, down, status, up


def _up(directory: Path) -> int:
    for service in up(directory):
        print(f"{service.name:<13} pid {service.pid:<8} {service.address}", flush=True)
    layout = Layout(directory.resolve())
    print(f"data in {layout.data}; a Tiled client needs the API key:")
    print(f"  export STXM_TILED_API_KEY=$(cat {layout.state / 'tiled-api-key'})")
    return 0


def _down(directory: Path) -> int:
    for line in down(directory):
        print(line)
    return 0


def _status(directory: Path) -> int:
    """1 if nothing is recorded or a recorded service is not running."""
    services = status(directory)
    if not services:
        print(f"no services recorded under {directory}")
        return 1
    for service, running in services:
        state = "running" if running else "NOT RUNNING"
        print(f"{service.name:<13} pid {service.pid:<8} {state:<12} {service.address}")
    return 0 if all(running for _, running in services) else 1


#: Each action, what it does (its help) and the function running it.
ACTIONS: dict[str, tuple[str, Callable[[Path], int]]] = {
    "up": ("start every service, print each one's pid and address", _up),
    "down": ("stop exactly what up started (the PIDs it recorded)", _down),
    "status": ("each recorded service: running or not (exit 1 if one is not)", _status),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``facility`` subcommand's actions, each taking ``--dir``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("STXM_FACILITY_DIR", "facility-data")),
        help="data and state of the services (default $STXM_FACILITY_DIR or ./facility-data)",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    for name, (text, run) in ACTIONS.items():
        action = actions.add_parser(name, parents=[common], help=text, description=text)
        action.set_defaults(run_action=run)


def run_facility(args: argparse.Namespace) -> int:
    """Run the action given; its exit status."""
    return args.run_action(args.dir)
