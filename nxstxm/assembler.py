"""Documents in, NXstxm file out: as a function, from a file, or live as a RunEngine callback.

Nothing is lost when an assembly fails or never happens: the live callback journals every
document before it processes it (:mod:`.journal`), and ``stxm assemble <journal>``
builds the file later from what was acquired.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import h5py
import numpy as np

from .build import build_scan
from .collector import (
    Document,
    DocumentError,
    Run,
    RunCollector,
    collect_runs,
    scan_membership,
    split_scans,
)
from .confine import confine
from .errors import NXstxmError
from .files import DEFAULT_PATTERN, extension, write_new
from .journal import JOURNAL_SUFFIX, Journal, scan_key
from .loaders import load_documents, load_jsonl
from .model import ScanModel
from .ptyd import write_ptyds
from .writer import write_model

logger = logging.getLogger(__name__)


class AssemblyError(NXstxmError, RuntimeError):
    """An assembly that failed; ``journal`` is the JSONL file holding the scan's documents."""

    def __init__(self, message: str, journal: Path | None = None) -> None:
        super().__init__(message)
        self.journal = journal


def _scan_time(runs: Sequence[Run]) -> datetime:
    times = [run.start["time"] for run in runs if "time" in run.start]
    return datetime.fromtimestamp(min(times)) if times else datetime.now()


def _size(model: ScanModel) -> int:
    """The bytes a file of ``model`` takes at least: its arrays (linked frames take none)."""
    arrays = [
        array
        for entry in model.entries
        for array in (
            entry.energy,
            entry.monitor,
            *(nxdata.data for nxdata in entry.nxdata),
            *(det.data for det in entry.detectors if isinstance(det.data, np.ndarray)),
            *entry.baseline.values(),
        )
    ]
    return sum(np.asarray(array).nbytes for array in arrays)


def _write(model: ScanModel, tmp: Path, data_dir: Path) -> None:
    """Write the file and open it again: only a file HDF5 reads back is ever published."""
    write_model(model, tmp, data_dir)
    with h5py.File(tmp, "r", locking=False):
        pass


def assemble_runs(
    runs: Sequence[Run],
    data_dir: str | Path,
    *,
    name: str | None = None,
    preferred: str | None = None,
    pattern: str = DEFAULT_PATTERN,
    expected_runs: int | None = None,
    allow_outside: Iterable[str | Path] = (),
    journal: Path | None = None,
) -> Path:
    """Write one NXstxm file from the runs of one scan; return its path.

    ``preferred`` is the name reserved for the scan (its journal's stem), ``name`` one
    that must be used; frame files must lie in ``data_dir`` or ``allow_outside``. A
    ptychography scan also gets ``<stem>.ptyd`` beside it (ptypy's format, same frames).
    """
    data_dir = Path(data_dir)
    when = _scan_time(runs)
    if expected_runs is None and runs and (group := scan_membership(runs[0].start)) is not None:
        expected_runs = group.num_runs
    try:
        model = build_scan(runs, expected_runs=expected_runs)
        confine(model, data_dir, allow_outside)
        path = write_new(
            data_dir,
            lambda tmp: _write(model, tmp, data_dir),
            name=name,
            preferred=preferred,
            when=when,
            pattern=pattern,
            size=_size(model),
        )
        write_ptyds(model, path)
        return path
    except Exception as err:
        kept = f" (the scan's documents are in {journal})" if journal is not None else ""
        raise AssemblyError(f"{err}{kept}", journal) from err


def assemble_scan(
    documents: Iterable[Document],
    data_dir: str | Path,
    *,
    name: str | None = None,
    pattern: str = DEFAULT_PATTERN,
    allow_outside: Iterable[str | Path] = (),
) -> Path:
    """Write one NXstxm file from the documents of one scan (one or several runs)."""
    try:
        runs = collect_runs(documents)
    except DocumentError as err:
        raise AssemblyError(str(err)) from err
    return assemble_runs(runs, data_dir, name=name, pattern=pattern, allow_outside=allow_outside)


def assemble_documents(
    documents: Iterable[Document],
    data_dir: str | Path,
    *,
    preferred: str | None = None,
    allow_outside: Iterable[str | Path] = (),
    journal: Path | None = None,
) -> list[Path]:
    """Assemble every scan among ``documents`` (one or many scans); one path per scan.

    Documents of runs whose start is not among them are skipped (a journal of a service
    started mid-run holds some); ``preferred`` names a lone scan's file.
    """
    documents = list(documents)
    try:
        scans = split_scans(collect_runs(documents, strict=False))
    except DocumentError as err:
        raise AssemblyError(str(err)) from err
    if not scans:
        try:
            collect_runs(documents)  # strictly: the first document that fits no run
        except DocumentError as err:
            raise AssemblyError(f"no run to assemble: {err}") from err
        raise AssemblyError("no run to assemble: the documents hold no start document")
    preferred = preferred if len(scans) == 1 else None
    return [
        assemble_runs(
            scan, data_dir, preferred=preferred, allow_outside=allow_outside, journal=journal
        )
        for scan in scans
    ]


def assemble_file(
    path: str | Path,
    data_dir: str | Path,
    *,
    fmt: str | None = None,
    allow_outside: Iterable[str | Path] = (),
    pattern: str = DEFAULT_PATTERN,
) -> list[Path]:
    """Assemble every scan of a document file (pyStxm JSON or JSONL); one path per scan.

    A journal in ``data_dir`` gives its file the name it reserved (``C…001.jsonl`` →
    ``C…001.nxs``) unless that name is taken by now.
    """
    path, data_dir = Path(path), Path(data_dir)
    documents = load_documents(path, fmt)
    is_journal = path.suffix == JOURNAL_SUFFIX and path.resolve().parent == data_dir.resolve()
    preferred = f"{path.stem}{extension(pattern)}" if is_journal else None
    return assemble_documents(
        documents,
        data_dir,
        preferred=preferred,
        allow_outside=allow_outside,
        journal=path if is_journal else None,
    )


class NXstxmAssembler:
    """A RunEngine callback writing one NXstxm file per scan: ``RE.subscribe(assembler)``.

    Every document goes to :attr:`journal` first (``<stem>.jsonl`` beside the files);
    subscribe ``assembler.journal`` before every other callback so a document is on disk
    before anything else can fail on it. A scan is finalised when its group's last run
    stops, or as soon as one of its runs stops with exit_status abort/fail (the file then
    holds what was acquired and its entries say they are incomplete). A plan stopped
    between two runs of a scan leaves no such stop: the scan is then finalised when the
    next scan starts, or by :meth:`flush`. Nothing raises into the RunEngine: errors are
    logged and kept in :attr:`errors`; the scan's journal holds its documents.
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        pattern: str = DEFAULT_PATTERN,
        allow_outside: Iterable[str | Path] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.pattern = pattern
        self.allow_outside = list(allow_outside)
        self.journal = Journal(self.data_dir, pattern=pattern)
        self.written: list[Path] = []
        self.errors: list[AssemblyError] = []
        self._collector = RunCollector()
        self._pending: dict[str, list[Run]] = {}

    def __call__(self, name: str, doc: dict) -> None:
        """Journal one document, then take it; write a file when it completes a scan."""
        self.journal(name, doc)
        self._safely(name, doc)

    def resume(self, path: Path) -> None:
        """Take up the journal of a process that died mid-scan, and keep appending to it.

        Its documents are taken as if they had just arrived (a scan they complete is
        written now); a journal another live process holds raises BlockingIOError.
        """
        documents = load_jsonl(path)
        self.journal.resume(path, documents)
        for name, doc in documents:
            self._safely(name, doc)

    def _safely(self, name: str, doc: dict) -> None:
        try:
            self._take(name, doc)
        except DocumentError as err:
            logger.warning("skipped a %s document: %s", name, err)
        except (KeyError, TypeError, AttributeError) as err:  # a document missing its keys
            logger.warning("skipped a malformed %s document (%r)", name, err)
        except Exception as err:  # an assembler bug must not stop an acquisition
            logger.exception("NXstxm assembler failed on a %s document", name)
            self.errors.append(AssemblyError(f"{name} document: {err!r}"))

    def _take(self, name: str, doc: dict) -> None:
        if name == "start":
            group = scan_membership(doc)
            self.flush(keep=group.uid if group is not None else None)
        run = self._collector(name, doc)
        if run is None:
            return
        group = scan_membership(run.start)
        runs = self._pending.setdefault(scan_key(run.start), [])
        runs.append(run)
        if group is None or len(runs) >= group.num_runs or run.exit_status != "success":
            self._finalise(self._pending.pop(scan_key(run.start)))

    def flush(self, keep: str | None = None, *, running: bool = False) -> None:
        """Write every scan still waiting for runs (all but scan ``keep``).

        ``running``: also the runs that never stopped (a service told to stop mid-scan);
        their entries say they are incomplete.
        """
        if running:
            for run in list(self._collector.runs.values()):
                if run.stop is None:
                    self._pending.setdefault(scan_key(run.start), []).append(run)
        for key in [key for key in self._pending if key != keep]:
            self._finalise(self._pending.pop(key))

    def _finalise(self, runs: list[Run]) -> None:
        for run in runs:
            self._collector.forget(run.uid)
        key = scan_key(runs[0].start)
        group = scan_membership(runs[0].start)
        self.journal.finish(key)
        try:
            path = assemble_runs(
                sorted(runs, key=lambda run: run.start.get("time", 0.0)),
                self.data_dir,
                preferred=self.journal.name_of(key),
                pattern=self.pattern,
                expected_runs=group.num_runs if group else None,
                allow_outside=self.allow_outside,
                journal=self.journal.paths.get(key),
            )
        except AssemblyError as err:
            logger.error("NXstxm assembly failed: %s", err)
            self.errors.append(err)
            return
        except Exception as err:  # never into the RunEngine, whatever failed
            logger.exception("NXstxm assembly failed")
            self.errors.append(AssemblyError(repr(err), self.journal.paths.get(key)))
            return
        logger.info("NXstxm file written: %s", path)
        self.written.append(path)
