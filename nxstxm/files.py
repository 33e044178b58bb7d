"""File names and safe publishing: ``C<yymmdd><nnn>.nxs``, written aside, never overwriting.

Several processes may write into one data directory at once, so nothing here trusts a
check made a moment earlier: a name is reserved by creating a file with ``O_EXCL``
(the scan's journal, ``<stem>.jsonl``), a temporary file has a name no other process
can choose (its PID and a random token), a finished file is published with a hard link
(which fails rather than replace an existing file; a rename would silently overwrite),
and a process only ever removes the temporary file it created itself.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from .errors import NXstxmError

#: pyStxm's naming: C, the scan date, a three-digit sequence number of that day.
DEFAULT_PATTERN = "C{date:%y%m%d}{seq:03d}.nxs"
_MAX_SEQUENCE = 100_000
#: Free space a data directory keeps beyond a file's own estimated size (bytes).
PUBLISH_MARGIN = 1 << 20


class DiskSpaceError(NXstxmError, OSError):
    """Too little free space in a data directory (names it, the space free and needed)."""


def stem(name: str) -> str:
    """A file name's stem up to its first dot (``C190712001.nxs`` → ``C190712001``)."""
    return name.split(".", 1)[0]


def extension(pattern: str = DEFAULT_PATTERN) -> str:
    """What the pattern's names end with after their stem (``.nxs``)."""
    sample = pattern.format(date=datetime(2000, 1, 1), seq=1)
    return sample[len(stem(sample)) :]


def next_free_name(directory: Path, when: datetime, pattern: str = DEFAULT_PATTERN) -> str:
    """The first ``pattern.format(date=when, seq=n)`` (n = 1, 2, ...) nothing in directory uses.

    A name is used when any file shares its stem: the file itself, or its journal
    (``<stem>.jsonl``). Only a reservation (:func:`reserve_name`) makes a name ours.
    """
    for name in _candidates(directory, when, pattern):
        return name
    raise FileExistsError(f"{directory}: no free name for pattern {pattern!r}")


def _candidates(directory: Path, when: datetime, pattern: str) -> Iterator[str]:
    if "{seq" not in pattern:
        raise ValueError(f"name pattern {pattern!r} needs a {{seq}} field")
    stems = {stem(path.name) for path in directory.iterdir()} if directory.is_dir() else set()
    for seq in range(1, _MAX_SEQUENCE):
        name = pattern.format(date=when, seq=seq)
        if stem(name) not in stems:
            yield name


def reserve_name(
    directory: Path, when: datetime, pattern: str = DEFAULT_PATTERN, suffix: str = ".jsonl"
) -> tuple[str, int]:
    """Reserve the next free name by creating ``<stem><suffix>`` exclusively (``O_EXCL``).

    Returns the NXstxm file name the stem stands for and the open descriptor (append
    mode) of the reserving file, which only this caller created.
    """
    directory.mkdir(parents=True, exist_ok=True)
    while True:
        for name in _candidates(directory, when, pattern):
            try:
                fd = os.open(
                    directory / f"{stem(name)}{suffix}",
                    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND,
                    0o644,
                )
            except FileExistsError:
                continue  # another process took it since we listed the directory
            return name, fd
        raise FileExistsError(f"{directory}: no free name for pattern {pattern!r}")


def free_bytes(directory: Path) -> int:
    """Bytes free to an unprivileged writer in ``directory`` (or its nearest existing parent)."""
    path = Path(directory)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def ensure_free_space(directory: Path, needed: int, what: str) -> None:
    """Raise :class:`DiskSpaceError` unless ``needed`` bytes are free in ``directory``."""
    free = free_bytes(directory)
    if free < needed:
        raise DiskSpaceError(
            f"{directory}: {free / 1e6:.2f} MB free, {what} needs {needed / 1e6:.2f} MB"
        )


def _temporary(directory: Path, final: str) -> Path:
    """A temporary name only this process can have chosen (its PID and a random token).

    The writer creates it exclusively (h5py's mode ``x``), so it is never someone else's.
    """
    return directory / f".{final}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def write_new(
    directory: Path,
    write: Callable[[Path], None],
    *,
    name: str | None = None,
    preferred: str | None = None,
    when: datetime,
    pattern: str = DEFAULT_PATTERN,
    size: int = 0,
) -> Path:
    """Call ``write(tmp_path)``, then publish the file under a name nothing else has.

    With an explicit ``name`` an existing file is an error; otherwise ``preferred`` (a
    name reserved for this scan) is tried first, then the next free sequence number,
    even if another writer took ours meanwhile. ``size`` (an estimate, bytes) plus a
    margin must be free before writing starts; a write that fails leaves nothing.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / (name or preferred or next_free_name(directory, when, pattern))
    if name is not None and final.exists():
        raise FileExistsError(f"{final} exists; the assembler never overwrites")
    ensure_free_space(directory, size + PUBLISH_MARGIN, f"writing {final.name}")
    tmp = _temporary(directory, final.name)
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
