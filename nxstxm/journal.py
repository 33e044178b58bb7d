"""A write-ahead journal: every document on disk before anything else processes it.

``Journal`` is a RunEngine callback (subscribe it first) appending each document as one
JSONL line, ``[name, doc]``, to ``<stem>.jsonl`` beside the NXstxm files: one journal per
scan (all the runs of a scan group), whose stem is the name the scan's NXstxm file will
get, reserved when the scan starts (``O_EXCL``, so processes sharing a directory never
pick the same one). Each line goes to the kernel in one ``write`` as it arrives, so a
killed process (SIGINT, SIGKILL, a crash) loses nothing it received; start and stop
documents are also ``fsync``-ed. A write that fails (a full disk) is cut back to the
last whole line, logged and counted, never raised: the journal stays loadable and the
RunEngine and later callbacks carry on. ``stxm assemble <stem>.jsonl`` builds the file
from a journal whenever the live assembly did not happen.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from .collector import Document, scan_membership
from .files import DEFAULT_PATTERN, ensure_free_space, extension, reserve_name, stem
from .loaders import jsonable

logger = logging.getLogger(__name__)

JOURNAL_SUFFIX = ".jsonl"
#: Documents worth an fsync: a scan's journal exists on disk from its start to its stop.
_SYNCED = ("start", "stop")


def scan_key(start: dict) -> str:
    """Which scan a run belongs to: its scan group's uid, else its own uid."""
    try:
        group = scan_membership(start)
    except ValueError:
        group = None
    return group.uid if group is not None else str(start.get("uid"))


def _when(start: dict) -> datetime:
    try:
        return datetime.fromtimestamp(float(start["time"]))
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return datetime.now()


class _File:
    """One journal file open for appending, and the length of its whole lines."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # ours while we write: see resume()
        self.good = os.fstat(fd).st_size

    def append(self, line: bytes, sync: bool) -> None:
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(self.fd, view) :]
            if sync:
                os.fsync(self.fd)
        except OSError:
            os.ftruncate(self.fd, self.good)  # no torn line stays behind a failed write
            raise
        self.good += len(line)

    def close(self) -> None:
        try:
            os.fsync(self.fd)
        except OSError as err:
            logger.error("journal %s: fsync at close failed (%s)", self.path, err)
        os.close(self.fd)


class Journal:
    """A RunEngine callback keeping every document in a per-scan JSONL journal.

    ``paths`` maps each scan key (scan group uid, or run uid) to its journal; ``errors``
    holds what could not be written. Handing it the same document object twice in a
    row (subscribed to the RunEngine and called by the assembler too) writes it once.
    """

    def __init__(self, directory: str | Path, *, pattern: str = DEFAULT_PATTERN) -> None:
        self.directory = Path(directory)
        self.pattern = pattern
        self.paths: dict[str, Path] = {}
        self.names: dict[str, str] = {}
        self.errors: list[str] = []
        self._current: tuple[str, _File] | None = None
        self._scan: str | None = None  # the scan being journaled, even if its file failed
        self._dropped = 0
        self._last: Any = None

    def __call__(self, name: str, doc: dict) -> None:
        """Append one document; log (never raise) whatever goes wrong."""
        if doc is self._last:
            return
        self._last = doc
        try:
            self._append(name, doc)
        except Exception as err:  # a journal must never stop an acquisition
            self._failed(name, err)

    def name_of(self, key: str) -> str | None:
        """The NXstxm file name reserved for scan ``key`` (None if it has no journal)."""
        return self.names.get(key)

    def resume(self, path: Path, documents: list[Document]) -> str:
        """Append to a journal a dead process left (``documents``: what it holds); its key.

        A torn last line (its writer died mid-line) is cut off first. A journal another
        live process still holds (its lock) raises :class:`BlockingIOError`.
        """
        start = next((doc for name, doc in documents if name == "start"), None)
        if start is None:
            raise ValueError(f"{path}: journal without a start document")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.ftruncate(fd, sum(len(line) for line in _whole_lines(path)))
        except OSError:
            os.close(fd)
            raise
        key = scan_key(start)
        self._switch(key, _File(path, fd), f"{stem(path.name)}{extension(self.pattern)}")
        self._scan, self._dropped = key, 0
        return key

    def finish(self, key: str) -> None:
        """Scan ``key`` is over (its file written or failed): close its journal if open."""
        if self._current is not None and self._current[0] == key:
            self.close()
        if self._scan == key:
            self._scan = None

    def close(self) -> None:
        """Close the current journal (fsync-ed)."""
        if self._current is not None:
            self._current[1].close()
            self._current = None

    def _append(self, name: str, doc: dict) -> None:
        if name == "start":
            key = scan_key(doc)
            if self._scan != key:
                self._scan, self._dropped = key, 0
                self._open(key, doc)
        if self._scan is None:
            logger.warning("a %s document arrived outside any scan: not journaled", name)
            return
        if self._current is None:
            raise OSError(f"scan {self._scan} has no journal file")
        line = (json.dumps([name, doc], default=jsonable) + "\n").encode()
        self._current[1].append(line, sync=name in _SYNCED)

    def _open(self, key: str, start: dict) -> None:
        self.close()
        if key in self.paths:  # a scan seen before (its runs interleaved with another's)
            path = self.paths[key]
            self._switch(key, _File(path, os.open(path, os.O_WRONLY | os.O_APPEND)), None)
            return
        name, fd = reserve_name(self.directory, _when(start), self.pattern, JOURNAL_SUFFIX)
        path = self.directory / f"{stem(name)}{JOURNAL_SUFFIX}"
        self._switch(key, _File(path, fd), name)
        logger.info("journal of scan %s: %s", key, path)

    def _switch(self, key: str, file: _File, name: str | None) -> None:
        self.close()
        self._current = (key, file)
        self.paths[key] = file.path
        if name is not None:
            self.names[key] = name

    def _failed(self, name: str, err: Exception) -> None:
        """Log a document not written: once per scan, and again at its stop with the count."""
        self._dropped += 1
        if self._dropped > 1 and name != "stop":
            return  # one line per scan, not one per event of a full disk
        where = self._current[1].path if self._current is not None else f"scan {self._scan}"
        message = f"journal {where}: {name} document not written ({err})"
        if name == "stop":
            message += f"; {self._dropped} document(s) of this scan not journaled"
        logger.error(message)
        self.errors.append(message)


def _whole_lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        for line in handle:
            if line.endswith(b"\n"):
                yield line


def space_guard(directory: str | Path, minimum: int) -> Callable:
    """A RunEngine preprocessor refusing to start a plan with under ``minimum`` bytes free.

    ``RE.preprocessors.append(space_guard(data_dir, 50_000_000))``: the check runs
    before the plan's first message, so a refused scan leaves nothing half-acquired.
    """

    def preprocessor(plan):
        def guarded():
            ensure_free_space(Path(directory), minimum, "a scan (its journal and NXstxm file)")
            return (yield from plan)

        return guarded()

    return preprocessor
