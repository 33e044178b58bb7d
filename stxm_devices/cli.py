"""The ``stxm`` command: a composition root (wiring and printing; the work is in the layers).

Subcommands: ``sim`` runs the virtual STXM's IOCs on loopback; ``assemble`` writes NXstxm
files from document files or a Tiled catalog; ``check`` checks NXstxm files and their
links; ``serve`` runs the assembler on a 0MQ document stream.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from iocs.loopback import free_port_pair
from iocs.sim import run_sim

from .channel_access import loopback_client_environment
from .nxstxm import (
    AssemblyError,
    CatalogError,
    assemble_documents,
    assemble_file,
    check_file,
    open_catalog,
    scan_documents,
)
from .nxstxm.loaders import FORMATS, DocumentFileError


def _sim(args: argparse.Namespace) -> int:
    port = args.port or free_port_pair()
    print(f"STXM sim: prefix {args.prefix!r} on 127.0.0.1:{port}. A client needs:", flush=True)
    for key, value in loopback_client_environment([port]).items():
        print(f"  export {key}='{value}'", flush=True)
    run_sim(
        port=port,
        prefix=args.prefix,
        noise=not args.no_noise,
        seed=args.seed,
        interfaces=args.interfaces,
        list_pvs=args.list_pvs,
    )
    return 0


def _add_sim(subparsers: argparse._SubParsersAction) -> None:
    sim = subparsers.add_parser(
        "sim",
        help="run the simulated STXM IOCs (one process, one loopback port)",
        description="Serve stage, OSA, zone plate, energy and counter IOCs, sharing one "
        "physics model, on 127.0.0.1 (DESIGN.md §2).",
    )
    sim.add_argument(
        "--port",
        type=int,
        default=0,
        help="Channel Access server port (default: a free one; repeater is port+1)",
    )
    sim.add_argument("--prefix", default="SIM:", help="beamline PV prefix (default SIM:)")
    sim.add_argument("--no-noise", action="store_true", help="counts without Poisson noise")
    sim.add_argument("--seed", type=int, default=0, help="noise seed")
    sim.add_argument(
        "--interfaces",
        nargs="+",
        default=None,
        help="serve on these interfaces instead of 127.0.0.1 (a real network: an explicit choice)",
    )
    sim.add_argument("--list-pvs", action="store_true", help="log every PV served")
    sim.set_defaults(func=_sim)


def _assemble(args: argparse.Namespace) -> int:
    if (args.input is None) == (args.tiled is None) or (args.tiled and not args.uid):
        print("stxm assemble: give a document file, or --tiled URI with --uid", file=sys.stderr)
        return 2
    try:
        if args.tiled:
            documents = scan_documents(open_catalog(args.tiled, args.api_key), args.uid)
            paths = assemble_documents(documents, args.data_dir)
        else:
            paths = assemble_file(args.input, args.data_dir, fmt=args.format)
    except (AssemblyError, DocumentFileError, CatalogError) as err:
        print(f"stxm assemble: {err}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


def _add_assemble(subparsers: argparse._SubParsersAction) -> None:
    assemble = subparsers.add_parser(
        "assemble",
        help="write NXstxm files from a document file or a Tiled catalog",
        description="Assemble each scan of a document file (pyStxm JSON or JSONL), or the "
        "scan of a run in a Tiled catalog (every run of its scan group), into one NXstxm "
        "file C<yymmdd><nnn>.nxs in the data directory (never overwriting); print the paths.",
    )
    assemble.add_argument(
        "input", nargs="?", help="document file: pyStxm JSON or JSONL ([name, doc] a line)"
    )
    assemble.add_argument("--tiled", metavar="URI", help="a Tiled catalog of bluesky runs")
    assemble.add_argument("--uid", help="with --tiled: a run's uid or its scan group's uid")
    assemble.add_argument("--api-key", help="with --tiled: the Tiled API key")
    assemble.add_argument("--data-dir", required=True, help="directory for the NXstxm files")
    assemble.add_argument(
        "--format", choices=FORMATS, default=None, help="input format (default: detect it)"
    )
    assemble.set_defaults(func=_assemble)


def _check(args: argparse.Namespace) -> int:
    reports = [check_file(path) for path in args.files]
    for report in reports:
        print(report.text())
    return 0 if all(report.ok for report in reports) else 1


def _add_check(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser(
        "check",
        help="check NXstxm files: links, VDS sources, NXstxm validation, default NXdata",
        description="Report every broken link or missing virtual-dataset source, nexusformat's "
        "NXstxm validation errors and an invalid default NXdata; exit 1 on any problem.",
    )
    check.add_argument("files", nargs="+", help="NXstxm files to check")
    check.set_defaults(func=_check)


def _serve(args: argparse.Namespace) -> int:
    from .nxstxm.serve import serve  # needs pyzmq, which the other subcommands do not

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    assembler = serve(args.zmq, args.data_dir)
    return 1 if assembler.errors else 0


def _add_serve(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the NXstxm assembler on a 0MQ document stream (bluesky's 0MQ proxy)",
        description="Subscribe to the out side of a bluesky-0MQ-proxy and write one NXstxm "
        "file per scan into the data directory until SIGTERM/SIGINT.",
    )
    serve.add_argument("--zmq", required=True, metavar="HOST:PORT", help="the proxy's out address")
    serve.add_argument("--data-dir", required=True, help="directory for the NXstxm files")
    serve.set_defaults(func=_serve)


def _demo(args: argparse.Namespace) -> int:
    from .demo import DemoSizes, run_demo, table

    sizes = DemoSizes(
        image_points=args.points, stack_points=args.stack_points, energies=args.energies
    )
    results = run_demo(args.data_dir, sizes)
    print(table(results))
    print(f"NXstxm files and quick-looks in {args.data_dir.resolve()}")
    failed = [r for r in results if not r.ok]
    for result in failed:
        print(f"FAILED: {result.title}: {'; '.join(result.problems)}", file=sys.stderr)
    return 1 if failed else 0


def _add_demo(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="the main job: scans on the sim, NXstxm files, checks and quick-looks",
        description="Start the sim beamline on a free loopback port, run a sample image, an "
        "image stack across the C K edge, a focus scan, point spectra and a "
        "ptychography scan, write and check an NXstxm file and a PNG per scan.",
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=Path("demo-data"),
        help="where the files go (default ./demo-data)",
    )
    demo.add_argument("--points", type=int, default=50, help="image points per side")
    demo.add_argument("--stack-points", type=int, default=30, help="stack points per side")
    demo.add_argument("--energies", type=int, default=24, help="stack energies (≥ 10)")
    demo.set_defaults(func=_demo)


def build_parser() -> argparse.ArgumentParser:
    """The ``stxm`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="stxm", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_sim(subparsers)
    _add_demo(subparsers)
    _add_assemble(subparsers)
    _add_check(subparsers)
    _add_serve(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stxm`` console command."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
