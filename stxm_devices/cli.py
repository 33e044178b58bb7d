"""The ``stxm`` command: a composition root (wiring and printing; the work is in the layers).

Subcommands: ``sim`` runs the virtual STXM's IOCs on loopback; ``assemble`` writes NXstxm
files from document files or a Tiled catalog; ``check`` checks NXstxm files and their
links; ``serve`` runs the assembler on a 0MQ document stream, behind ``proxy``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import h5py

from iocs.loopback import free_port_pair
from iocs.sim import run_sim
from nxstxm import (
    AssemblyError,
    NXstxmError,
    assemble_documents,
    assemble_file,
    check_file,
    connect_tiled,
    scan_documents,
)
from nxstxm.loaders import FORMATS, detect_format, load_documents

from .channel_access import loopback_client_environment
from .config import ConfigError, load_config


def _sim(args: argparse.Namespace) -> int:
    config = load_config(os.environ, prefix=args.prefix)
    port = args.port or free_port_pair()
    served = " ".join(f"{host}:{port}" for host in args.interfaces or ["127.0.0.1"])
    print(f"STXM sim: prefix {config.prefix!r} on {served}. A client needs:", flush=True)
    client = {**loopback_client_environment([port]), "STXM_PREFIX": config.prefix}
    client["EPICS_CA_ADDR_LIST"] = served
    for key, value in client.items():
        print(f"  export {key}='{value}'", flush=True)
    run_sim(
        port=port,
        prefix=config.prefix,
        noise=not args.no_noise,
        seed=args.seed,
        interfaces=args.interfaces,
        list_pvs=args.list_pvs,
        # The session's data directory, and the temporary one (a device's default path).
        data_roots=args.data_roots or [str(config.data_dir), tempfile.gettempdir()],
    )
    return 0


def _add_sim(subparsers: argparse._SubParsersAction) -> None:
    sim = subparsers.add_parser(
        "sim",
        help="run the simulated STXM IOCs (one process, one loopback port)",
        description="Serve stage, OSA, zone plate, energy and counter IOCs, sharing one "
        "physics model, on 127.0.0.1 (docs/architecture.md).",
    )
    sim.add_argument(
        "--port",
        type=int,
        default=0,
        help="Channel Access server port (default: a free one; repeater is port+1)",
    )
    sim.add_argument("--prefix", help="beamline PV prefix (default: $STXM_PREFIX or SIM:)")
    sim.add_argument("--no-noise", action="store_true", help="counts without Poisson noise")
    sim.add_argument("--seed", type=int, default=0, help="noise seed")
    sim.add_argument(
        "--interfaces",
        nargs="+",
        default=None,
        help="serve on these interfaces instead of 127.0.0.1 (a real network: an explicit choice)",
    )
    sim.add_argument("--list-pvs", action="store_true", help="log every PV served")
    sim.add_argument(
        "--data-root",
        action="append",
        dest="data_roots",
        help="a directory the detector IOC may write in (repeatable; default: "
        "$STXM_DATA_DIR or ~/stxm-data, and the temporary directory)",
    )
    sim.set_defaults(func=_sim)


class InputError(Exception):
    """Bad arguments to a subcommand: printed as one line, exit status 2.

    Bad input the assembler finds is an :class:`nxstxm.NXstxmError`, handled the same way.
    """


def _data_dir(args: argparse.Namespace) -> Path:
    """``--data-dir``, else ``STXM_DATA_DIR``; created if missing (an error if it cannot be)."""
    try:
        data_dir = load_config(os.environ, required=["data_dir"], data_dir=args.data_dir).data_dir
    except ConfigError:
        raise InputError("give --data-dir DIR or set STXM_DATA_DIR") from None
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"data directory {data_dir}: {err.strerror or err}") from None
    return data_dir


def _where(path: Path, fmt: str | None, message: str) -> str:
    """``line N: `` of the document a message is about (by number, or a run's start)."""
    documents = load_documents(path, fmt)
    number = None
    if found := re.search(r"document (\d+):", message):
        number = int(found.group(1))
    elif found := re.search(r"run ([\w-]+)", message):
        starts = [i for i, (name, doc) in enumerate(documents, 1) if doc.get("uid") == found[1]]
        number = starts[0] if starts else None
    if number is None or detect_format(path) != "jsonl":
        return ""
    lines = [n for n, line in enumerate(path.read_bytes().split(b"\n"), 1) if line.strip()]
    return f"line {lines[number - 1]}: " if number <= len(lines) else ""


def _assemble_input(args: argparse.Namespace, data_dir: Path) -> list[Path]:
    path = Path(args.input)
    if path.suffix == ".ptyd" or path.suffix in (".nxs", ".h5", ".hdf5"):
        raise InputError(f"{path}: an HDF5 file, not documents (JSONL or pyStxm JSON)")
    try:
        return assemble_file(path, data_dir, fmt=args.format, allow_outside=args.allow_outside)
    except AssemblyError as err:  # located: the file and the line of the run it names
        message = str(err)
        line = _where(path, args.format, message)
        raise InputError(f"{path}: {line}{message}") from err


def _assemble(args: argparse.Namespace) -> int:
    if (args.input is None) == (args.tiled is None) or (args.tiled and not args.uid):
        raise InputError("give a document file, or --tiled URI with --uid")
    data_dir = _data_dir(args)
    if args.tiled:
        documents = scan_documents(connect_tiled(args.tiled, args.api_key), args.uid)
        paths = assemble_documents(documents, data_dir, allow_outside=args.allow_outside)
    else:
        paths = _assemble_input(args, data_dir)
    for path in paths:
        print(path)
    return 0


def _add_assemble(subparsers: argparse._SubParsersAction) -> None:
    assemble = subparsers.add_parser(
        "assemble",
        help="write NXstxm files from a document file (a journal) or a Tiled catalog",
        description="Assemble each scan of a document file (a scan's journal <stem>.jsonl, "
        "any JSONL or pyStxm JSON), or the scan of a run in a Tiled catalog (every run of "
        "its scan group), into one NXstxm file C<yymmdd><nnn>.nxs in the data directory "
        "(never overwriting; a journal's own stem when free); print the paths. Bad input: "
        "one line naming the file, line and key, exit status 2.",
    )
    assemble.add_argument(
        "input", nargs="?", help="document file: a journal, JSONL ([name, doc] a line), pyStxm JSON"
    )
    assemble.add_argument("--tiled", metavar="URI", help="a Tiled catalog of bluesky runs")
    assemble.add_argument("--uid", help="with --tiled: a run's uid or its scan group's uid")
    assemble.add_argument("--api-key", help="with --tiled: the Tiled API key")
    _add_data_dir(assemble)
    assemble.add_argument(
        "--format", choices=FORMATS, default=None, help="input format (default: detect it)"
    )
    assemble.set_defaults(func=_assemble)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", help="directory for the NXstxm files and journals (default: $STXM_DATA_DIR)"
    )
    parser.add_argument(
        "--allow-outside",
        metavar="DIR",
        action="append",
        default=[],
        help="also link frame files under DIR (default: only under the data directory)",
    )


def _check(args: argparse.Namespace) -> int:
    for path in map(Path, args.files):
        if not path.is_file():
            raise InputError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
        if not h5py.is_hdf5(path):
            raise InputError(f"{path}: not an HDF5 file")
    reports = [check_file(path) for path in args.files]
    for report in reports:
        print(report.text())
    return 0 if all(report.ok for report in reports) else 1


def _add_check(subparsers: argparse._SubParsersAction) -> None:
    check = subparsers.add_parser(
        "check",
        help="check NXstxm files: links, VDS sources, NXstxm validation, default NXdata",
        description="Report every broken link or missing virtual-dataset source, nexusformat's "
        "NXstxm validation errors and an invalid default NXdata; exit 1 on any problem, "
        "2 for a file that is missing or not HDF5.",
    )
    check.add_argument("files", nargs="+", help="NXstxm files to check")
    check.set_defaults(func=_check)


def _serve(args: argparse.Namespace) -> int:
    from nxstxm.serve import serve  # needs pyzmq, which the other subcommands do not

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    assembler = serve(args.zmq, _data_dir(args), allow_outside=args.allow_outside)
    return 1 if assembler.errors else 0


def _add_serve(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the NXstxm assembler on a 0MQ document stream (JSON documents)",
        description="Subscribe to the out side of a 0MQ proxy (stxm proxy) and write one "
        "NXstxm file per scan into the data directory until SIGTERM/SIGINT. Documents "
        "must be published as JSON: Publisher(address, serializer=nxstxm."
        "serve.serialize). Every document is journaled; a restart takes up the journals "
        "of scans not yet written.",
    )
    serve.add_argument("--zmq", required=True, metavar="HOST:PORT", help="the proxy's out address")
    _add_data_dir(serve)
    serve.set_defaults(func=_serve)


def _proxy(args: argparse.Namespace) -> int:
    from bluesky.callbacks.zmq import Proxy

    proxy = Proxy(f"tcp://{args.host}:{args.in_port}", f"tcp://{args.host}:{args.out_port}")
    print(
        f"0MQ proxy: publish to {args.host}:{args.in_port}, subscribe to "
        f"{args.host}:{args.out_port}",
        flush=True,
    )
    try:
        proxy.start()
    except KeyboardInterrupt:
        pass
    return 0


def _add_proxy(subparsers: argparse._SubParsersAction) -> None:
    proxy = subparsers.add_parser(
        "proxy",
        help="bluesky's 0MQ proxy, bound to 127.0.0.1 (not every interface)",
        description="Forward documents from RunEngines (publishing to IN_PORT) to "
        "subscribers such as stxm serve (OUT_PORT), on loopback unless --host says "
        "otherwise (bluesky-0MQ-proxy given bare ports binds 0.0.0.0).",
    )
    proxy.add_argument("in_port", type=int, help="port RunEngines publish to")
    proxy.add_argument("out_port", type=int, help="port subscribers (stxm serve) connect to")
    proxy.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (a real network: an explicit choice)"
    )
    proxy.set_defaults(func=_proxy)


def _demo(args: argparse.Namespace) -> int:
    from .demo import DemoSizes, run_demo, table

    config = load_config(os.environ, data_dir=args.data_dir)
    sizes = DemoSizes(
        n_image_points=args.points, n_stack_points=args.stack_points, n_energies=args.energies
    )
    results = run_demo(config.data_dir, sizes, prefix=config.prefix)
    print(table(results))
    print(f"NXstxm files and quick-looks in {config.data_dir.resolve()}")
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
        help="where the files go (default ./demo-data, never $STXM_DATA_DIR: the demo "
        "does not write among a beamline's data)",
    )
    demo.add_argument("--points", type=int, default=50, help="image points per side")
    demo.add_argument("--stack-points", type=int, default=30, help="stack points per side")
    demo.add_argument("--energies", type=int, default=24, help="stack energies (≥ 10)")
    demo.set_defaults(func=_demo)


def _facility(args: argparse.Namespace) -> int:
    from facility.cli import run_facility  # needs the facility extra

    return run_facility(args)


def _add_facility(subparsers: argparse._SubParsersAction) -> None:
    from facility.cli import add_arguments

    facility = subparsers.add_parser(
        "facility",
        help="start/stop/report the facility services (Tiled on PostgreSQL, queue, JetStream)",
        description="up: start PostgreSQL, Tiled, Redis, NATS JetStream, the sim, the "
        "assembler service and the queue server on 127.0.0.1, data and state under DIR; "
        "down: stop exactly what up started; status: each service, its address, running?",
    )
    add_arguments(facility)
    facility.set_defaults(func=_facility)


def build_parser() -> argparse.ArgumentParser:
    """The ``stxm`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="stxm", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks of failures")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_sim(subparsers)
    _add_demo(subparsers)
    _add_assemble(subparsers)
    _add_check(subparsers)
    _add_serve(subparsers)
    _add_proxy(subparsers)
    _add_facility(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``stxm`` console command.

    A failure is one line on stderr (exit status 2 for bad arguments or input: an
    :class:`InputError` or any :class:`nxstxm.NXstxmError`); ``--debug`` shows the
    traceback instead.
    """
    args = build_parser().parse_args(argv)
    if args.command in ("assemble", "check"):  # what went wrong is the one line printed
        logging.basicConfig(level=logging.INFO if args.debug else logging.ERROR)
    try:
        return args.func(args)
    except Exception as err:
        if args.debug:
            raise
        status = 2 if isinstance(err, (InputError, NXstxmError, OSError, ValueError)) else 1
        text = " ".join(str(err).split()) or type(err).__name__
        print(f"stxm {args.command}: {text}", file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
