"""Check a written NXstxm file: links and virtual-dataset sources, NXstxm validity, NXdata.

Three independent looks, gathered into one :class:`CheckReport`:

* every external link and virtual-dataset source file exists and holds its dataset
  (HDF5 would silently return fill values for a missing VDS source);
* nexusformat's ``validate_application`` against NXstxm, entry by entry (its command
  line always exits 0, so the error count is read from its Python API);
* silx's ``is_valid_nxdata`` on the NXdata the ``@default`` chain leads to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import h5py

from .links import link_problems

_NEXUS_LOGGER = "NXValidate"


@dataclass
class CheckReport:
    """What is wrong with a file (``problems``) and what is merely worth knowing (``notes``)."""

    path: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    validation: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def validation_errors(self) -> int:
        return sum(errors for _, errors in self.validation.values())

    def text(self) -> str:
        """A readable report, one finding per line."""
        lines = [f"{self.path}: {'OK' if self.ok else f'{len(self.problems)} problem(s)'}"]
        for entry, (warnings, errors) in self.validation.items():
            lines.append(
                f"  NXstxm validation of /{entry}: {errors} error(s), {warnings} warning(s)"
            )
        lines += [f"  problem: {problem}" for problem in self.problems]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.ERROR:
            self.messages.append(record.getMessage().strip())


@contextmanager
def _nexus_messages() -> Iterator[_Records]:
    """Collect nexusformat's validation errors instead of letting it print them to stdout."""
    nexus_logger = logging.getLogger(_NEXUS_LOGGER)
    saved, level = nexus_logger.handlers[:], nexus_logger.level
    records = _Records()
    nexus_logger.handlers = [records]
    try:
        yield records
    finally:
        nexus_logger.handlers = saved
        nexus_logger.setLevel(level)


def validate_entries(path: Path) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """(warnings, errors) of nexusformat's NXstxm validation per entry, and the error texts."""
    from nexusformat.nexus.validate import validate_application

    with h5py.File(path, "r") as h5:
        entries = [name for name, obj in h5.items() if obj.attrs.get("NX_class") == "NXentry"]
    counts: dict[str, tuple[int, int]] = {}
    with _nexus_messages() as records:
        for entry in entries:
            result = validate_application(str(path), path=f"/{entry}", application="NXstxm")
            counts[entry] = tuple(result) if result else (0, 1)
    return counts, records.messages


def _default_nxdata(h5: h5py.File) -> h5py.Group | None:
    group: h5py.Group = h5
    while "default" in group.attrs:
        child = group.get(str(group.attrs["default"]))
        if not isinstance(child, h5py.Group):
            return None
        group = child
        if group.attrs.get("NX_class") == "NXdata":
            return group
    return None


def _nxdata_findings(path: Path, report: CheckReport) -> None:
    with h5py.File(path, "r") as h5:
        nxdata = _default_nxdata(h5)
        if nxdata is None:
            report.problems.append("the @default chain does not lead to an NXdata group")
            return
        try:
            from silx.io.nxdata import is_valid_nxdata
        except ImportError:
            report.notes.append("silx not installed: NXdata not checked with is_valid_nxdata")
        else:
            if not is_valid_nxdata(nxdata):
                report.problems.append(f"{nxdata.name} is not a valid NXdata (silx)")
        for name, entry in h5.items():
            status = entry.get("status/data")
            if status is not None and status.asstr()[()] != "complete":
                why = entry["status/description"].asstr()[()]
                report.notes.append(f"/{name} is marked incomplete: {why}")


def check_file(path: str | Path) -> CheckReport:
    """Check links, NXstxm validity and the default NXdata of one file (a .ptyd: links)."""
    report = CheckReport(Path(path))
    try:
        with h5py.File(report.path, "r"):
            pass
    except OSError as err:
        report.problems.append(f"cannot open as HDF5: {err}")
        return report
    report.problems += link_problems(report.path)
    if report.path.suffix == ".ptyd":  # ptypy's format: links only, no NeXus to validate
        return report
    report.validation, messages = validate_entries(report.path)
    report.problems += [f"NXstxm validation: {message}" for message in messages]
    if report.validation_errors and not messages:
        report.problems.append(f"NXstxm validation: {report.validation_errors} error(s)")
    _nxdata_findings(report.path, report)
    return report
