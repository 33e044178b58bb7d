"""Frames are linked only from inside the data directory (or directories allowed explicitly).

A resource document is input like any other: one naming ``/etc/shadow`` must not make
the assembler open it, link it, or say anything about it. Paths are checked before any
file is touched, both as written (``..`` resolved) and with symbolic links followed, and
the refusal repeats only what the document said.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from .links import LinkError
from .model import ScanModel


class OutsideError(LinkError):
    """A frame file outside the data directory and every directory allowed."""


def _inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def confine(model: ScanModel, data_dir: Path, allowed: Iterable[str | Path] = ()) -> None:
    """Raise :class:`OutsideError` for the first frame file outside ``data_dir`` and ``allowed``."""
    places = [Path(data_dir), *(Path(extra) for extra in allowed)]
    lexical = [os.path.abspath(place) for place in places]
    real = [os.path.realpath(place) for place in places]
    seen: set[Path] = set()
    for frames in model.frame_sets:
        for file, _ in frames.used_sources():
            if file in seen:
                continue
            seen.add(file)
            if not (
                _inside(os.path.abspath(file), lexical) and _inside(os.path.realpath(file), real)
            ):
                raise OutsideError(
                    f"frame file {file} named by the documents is outside the data "
                    f"directory {data_dir}; not linked (allow its directory with "
                    "--allow-outside DIR, or allow_outside=[DIR])"
                )
