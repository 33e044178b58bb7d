"""Open an IOC's frame file even when its writer died with the file open (SIGKILL).

A file written in SWMR mode (``libver="latest"``) carries "open for write" flags in its
superblock until its writer closes it. A writer killed mid capture leaves them set, and
HDF5 then refuses every ordinary open (``file is already open for write (may use
<h5clear file> to clear file consistency flags)``) — for us, and for whoever follows a
link into the file later. The frames themselves are intact (a SWMR writer flushes in an
order readers can rely on), so the flags are cleared here exactly as ``h5clear -s``
would: the flags byte of the version 2/3 superblock set to 0 and its checksum (Jenkins'
lookup3, as HDF5 computes it) rewritten. Files are opened without file locking, so a
lock left behind (or a file system without locks) does not stop a read either.
"""

from __future__ import annotations

import logging
from pathlib import Path

import h5py

logger = logging.getLogger(__name__)

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Where HDF5 looks for the superblock: 0, then 512 doubling (a user block before it).
_OFFSETS = (0, *(512 << k for k in range(16)))
_OPEN_FOR_WRITE = "already open for write"
_MASK = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = ((a - c) & _MASK) ^ _rot(c, 4)
    c = (c + b) & _MASK
    b = ((b - a) & _MASK) ^ _rot(a, 6)
    a = (a + c) & _MASK
    c = ((c - b) & _MASK) ^ _rot(b, 8)
    b = (b + a) & _MASK
    a = ((a - c) & _MASK) ^ _rot(c, 16)
    c = (c + b) & _MASK
    b = ((b - a) & _MASK) ^ _rot(a, 19)
    a = (a + c) & _MASK
    c = ((c - b) & _MASK) ^ _rot(b, 4)
    b = (b + a) & _MASK
    return a, b, c


def _final(a: int, b: int, c: int) -> int:
    c = (c ^ b) - _rot(b, 14) & _MASK
    a = (a ^ c) - _rot(c, 11) & _MASK
    b = (b ^ a) - _rot(a, 25) & _MASK
    c = (c ^ b) - _rot(b, 16) & _MASK
    a = (a ^ c) - _rot(c, 4) & _MASK
    b = (b ^ a) - _rot(a, 14) & _MASK
    return (c ^ b) - _rot(b, 24) & _MASK


def _words(block: bytes) -> tuple[int, int, int]:
    return tuple(int.from_bytes(block[k : k + 4], "little") for k in (0, 4, 8))


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``: HDF5's metadata checksum (H5_checksum_lookup3)."""
    a = b = c = (0xDEADBEEF + len(data) + initval) & _MASK
    i = 0
    while len(data) - i > 12:
        x, y, z = _words(data[i : i + 12])
        a, b, c = _mix((a + x) & _MASK, (b + y) & _MASK, (c + z) & _MASK)
        i += 12
    if i == len(data):
        return c
    x, y, z = _words(data[i:] + bytes(12 - (len(data) - i)))
    return _final((a + x) & _MASK, (b + y) & _MASK, (c + z) & _MASK)


def clear_write_flags(path: str | Path) -> bool:
    """Clear a file's superblock consistency flags as ``h5clear -s`` does; True if any were set.

    Only version 2 and 3 superblocks carry the flags in a checksummed form HDF5 enforces;
    older superblocks are left alone (HDF5 does not refuse them).
    """
    with open(path, "r+b") as handle:
        for offset in _OFFSETS:
            handle.seek(offset)
            head = handle.read(12)
            if len(head) < 12:
                return False
            if head[:8] != _SIGNATURE:
                continue
            version, offsets = head[8], head[9]
            if version not in (2, 3) or head[11] == 0:
                return False
            size = 12 + 4 * offsets  # base, extension, end-of-file, root object header
            handle.seek(offset)
            block = bytearray(handle.read(size))
            block[11] = 0
            handle.seek(offset)
            handle.write(bytes(block) + lookup3(bytes(block)).to_bytes(4, "little"))
            return True
    return False


def open_frames(path: Path, *, repair: bool = True) -> h5py.File:
    """``path`` opened read-only without file locking; a dead writer's flags are cleared first.

    ``repair=False`` (a check, which must not write) raises HDF5's error instead. The
    caller closes the file (``with open_frames(path) as h5: ...``).
    """
    try:
        return h5py.File(path, "r", locking=False)
    except OSError as err:
        if not repair or _OPEN_FOR_WRITE not in str(err):
            raise
    if clear_write_flags(path):
        logger.warning(
            "frame file %s was left flagged open for write (its writer died); its "
            "consistency flags were cleared as h5clear -s would",
            path,
        )
    return h5py.File(path, "r", locking=False)
