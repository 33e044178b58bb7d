"""Documents in, NXstxm file out: as a function, from a file, or live as a RunEngine callback.

A failed assembly loses nothing: the scan's documents are kept as JSONL beside a text
file saying what went wrong, under the name the NeXus file would have had.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from .build import build_scan
from .collector import Document, Run, RunCollector, collect_runs, scan_group, split_scans
from .files import DEFAULT_PATTERN, next_free_name, write_new
from .loaders import dump_jsonl, load_documents
from .ptyd import write_ptyds
from .writer import write_model

logger = logging.getLogger(__name__)


class AssemblyError(RuntimeError):
    """An assembly that failed; ``kept`` is the JSONL file holding the scan's documents."""

    def __init__(self, message: str, kept: Path) -> None:
        super().__init__(message)
        self.kept = kept


def _scan_time(runs: Sequence[Run]) -> datetime:
    times = [run.start["time"] for run in runs if "time" in run.start]
    return datetime.fromtimestamp(min(times)) if times else datetime.now()


def _keep(documents: Sequence[Document], data_dir: Path, when: datetime, pattern: str) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    stem = next_free_name(data_dir, when, pattern).split(".", 1)[0]
    (data_dir / f"{stem}.failed.txt").write_text(traceback.format_exc())
    return dump_jsonl(documents, data_dir / f"{stem}.failed.jsonl")


def assemble_runs(
    runs: Sequence[Run],
    data_dir: str | Path,
    *,
    name: str | None = None,
    pattern: str = DEFAULT_PATTERN,
    expected_runs: int | None = None,
) -> Path:
    """Write one NXstxm file from the runs of one scan; return its path.

    A ptychography scan also gets ``<stem>.ptyd`` beside it (ptypy's format, same frames).
    """
    data_dir = Path(data_dir)
    when = _scan_time(runs)
    if expected_runs is None and runs and (group := scan_group(runs[0].start)) is not None:
        expected_runs = group.num_runs
    try:
        model = build_scan(runs, expected_runs=expected_runs)
        path = write_new(
            data_dir,
            lambda tmp: write_model(model, tmp, data_dir),
            name=name,
            when=when,
            pattern=pattern,
        )
        write_ptyds(model, path)
        return path
    except Exception as err:
        documents = [doc for run in runs for doc in run.documents]
        kept = _keep(documents, data_dir, when, pattern)
        raise AssemblyError(f"{err} (the scan's documents are kept in {kept})", kept) from err


def assemble_scan(
    documents: Iterable[Document],
    data_dir: str | Path,
    *,
    name: str | None = None,
    pattern: str = DEFAULT_PATTERN,
) -> Path:
    """Write one NXstxm file from the documents of one scan (one or several runs)."""
    documents = list(documents)
    try:
        runs = collect_runs(documents)
    except Exception as err:
        kept = _keep(documents, Path(data_dir), datetime.now(), pattern)
        raise AssemblyError(f"{err} (the documents are kept in {kept})", kept) from err
    return assemble_runs(runs, data_dir, name=name, pattern=pattern)


def assemble_documents(documents: Iterable[Document], data_dir: str | Path) -> list[Path]:
    """Assemble every scan among ``documents`` (one or many scans); one path per scan."""
    runs = collect_runs(documents)
    return [assemble_runs(scan, data_dir) for scan in split_scans(runs)]


def assemble_file(path: str | Path, data_dir: str | Path, *, fmt: str | None = None) -> list[Path]:
    """Assemble every scan of a document file (pyStxm JSON or JSONL); one path per scan."""
    return assemble_documents(load_documents(path, fmt), data_dir)


class NXstxmAssembler:
    """A RunEngine callback writing one NXstxm file per scan: ``RE.subscribe(assembler)``.

    A scan is finalised when its group's last run stops, or as soon as one of its runs
    stops with exit_status abort/fail (the file then holds what was acquired and its
    entries say they are incomplete). A plan stopped between two runs of a scan leaves
    no such stop: the scan is then finalised when the next scan starts, or by
    :meth:`flush`. Errors never reach the RunEngine: they are logged and kept in
    :attr:`errors`, with the documents saved beside them.
    """

    def __init__(self, data_dir: str | Path, *, pattern: str = DEFAULT_PATTERN) -> None:
        self.data_dir = Path(data_dir)
        self.pattern = pattern
        self.written: list[Path] = []
        self.errors: list[AssemblyError] = []
        self._collector = RunCollector()
        self._pending: dict[str, list[Run]] = {}

    def __call__(self, name: str, doc: dict) -> None:
        """Take one document; write a file when it completes a scan."""
        if name == "start":
            group = scan_group(doc)
            self.flush(keep=group.uid if group is not None else None)
        run = self._collector(name, doc)
        if run is None:
            return
        group = scan_group(run.start)
        key = group.uid if group is not None else run.uid
        runs = self._pending.setdefault(key, [])
        runs.append(run)
        if group is None or len(runs) >= group.num_runs or run.exit_status != "success":
            self._finalise(self._pending.pop(key), group.num_runs if group else None)

    def flush(self, keep: str | None = None) -> None:
        """Write every scan still waiting for runs (all but scan group ``keep``)."""
        for key in [key for key in self._pending if key != keep]:
            runs = self._pending.pop(key)
            group = scan_group(runs[0].start)
            self._finalise(runs, group.num_runs if group else None)

    def _finalise(self, runs: list[Run], expected_runs: int | None) -> None:
        for run in runs:
            self._collector.forget(run.uid)
        try:
            path = assemble_runs(
                runs, self.data_dir, pattern=self.pattern, expected_runs=expected_runs
            )
        except AssemblyError as err:
            logger.error("NXstxm assembly failed: %s", err)
            self.errors.append(err)
            return
        logger.info("NXstxm file written: %s", path)
        self.written.append(path)
