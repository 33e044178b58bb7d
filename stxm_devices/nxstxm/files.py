"""File names and safe publishing: ``C<yymmdd><nnn>.nxs``, written as ``.tmp``, never overwriting.

A finished temporary file is published with a hard link, which fails rather than replace
an existing file (a rename would silently overwrite), so two assemblers racing for the
same sequence number both end up with files of their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

#: pyStxm's naming: C, the scan date, a three-digit sequence number of that day.
DEFAULT_PATTERN = "C{date:%y%m%d}{seq:03d}.nxs"
_MAX_SEQUENCE = 100_000


def next_free_name(directory: Path, when: datetime, pattern: str = DEFAULT_PATTERN) -> str:
    """The first ``pattern.format(date=when, seq=n)`` (n = 1, 2, ...) nothing in directory uses.

    A name is used when any file shares its stem: the file itself, its ``.tmp``, or what
    a failed assembly kept beside it (``<stem>.failed.jsonl``).
    """
    if "{seq" not in pattern:
        raise ValueError(f"name pattern {pattern!r} needs a {{seq}} field")
    stems = (
        {path.name.split(".", 1)[0] for path in directory.iterdir()}
        if directory.is_dir()
        else set()
    )
    for seq in range(1, _MAX_SEQUENCE):
        name = pattern.format(date=when, seq=seq)
        if name.split(".", 1)[0] not in stems:
            return name
    raise FileExistsError(f"{directory}: no free name for pattern {pattern!r}")


def write_new(
    directory: Path,
    write: Callable[[Path], None],
    *,
    name: str | None = None,
    when: datetime,
    pattern: str = DEFAULT_PATTERN,
) -> Path:
    """Call ``write(tmp_path)``, then publish the file under a name nothing else has.

    With an explicit ``name`` an existing file is an error; with the pattern the next free
    sequence number is taken, even if another writer took ours meanwhile.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / (name or next_free_name(directory, when, pattern))
    if final.exists():
        raise FileExistsError(f"{final} exists; the assembler never overwrites")
    tmp = final.with_name(final.name + ".tmp")
    try:
        write(tmp)
        while True:
            try:
                os.link(tmp, final)
                break
            except FileExistsError:
                if name is not None:
                    raise FileExistsError(
                        f"{final} appeared while writing; not overwritten"
                    ) from None
                final = directory / next_free_name(directory, when, pattern)
    finally:
        tmp.unlink(missing_ok=True)
    return final
