"""Running one IOC alone: caproto's usual arguments, on loopback by default."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from caproto.server import PVGroup, template_arg_parser

from .loopback import apply_server_defaults
from .server import serve


def run_standalone(
    group_class: type[PVGroup],
    *,
    default_prefix: str,
    desc: str,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    make_ioc: Callable[[argparse.Namespace, str], PVGroup] | None = None,
    argv: list[str] | None = None,
) -> None:
    """``python -m iocs.<name> --prefix ... --list-pvs`` for one PVGroup.

    Loopback defaults are applied before caproto reads the environment;
    ``--interfaces`` or the EPICS variables choose another network explicitly.
    ``add_arguments``/``make_ioc`` let an IOC take extra options (e.g. the prefixes of
    the IOCs it follows over Channel Access).
    """
    apply_server_defaults()
    parser, split_args = template_arg_parser(
        default_prefix=default_prefix, desc=desc, supported_async_libs=("asyncio",)
    )
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    ioc_options, run_options = split_args(args)
    if make_ioc is None:
        ioc = group_class(prefix=ioc_options["prefix"])
    else:
        ioc = make_ioc(args, ioc_options["prefix"])
    serve(ioc.pvdb, interfaces=run_options["interfaces"], log_pv_names=args.list_pvs)
