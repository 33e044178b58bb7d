"""What readers nobody here wrote make of an NXstxm file: pynxtools, nexusformat, silx, HyperSpy.

Shared by the tests of recorded runs and of every plan's live output. pynxtools logs
every finding as a warning; an *error* here is any finding other than an undocumented
concept (a field or attribute NXstxm and its base classes do not name), which
docs/nxstxm.md lists with the reason each stays.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (compressed frames readable, as HyperSpy users have it)

#: pynxtools' findings that are not errors: concepts the definitions do not document...
PYNXTOOLS_WARNING = "ValidationProblem.MissingDocumentation"
#: ...and only those docs/nxstxm.md lists with the reason each stays.
DOCUMENTED_WARNINGS = ("/@data_key", "/instrument/zone_plate", "/instrument/osa/")


def pynxtools_findings(path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) of pynxtools' validator over every NXentry of ``path``.

    An undocumented concept that docs/nxstxm.md does not list counts as an error.
    """
    from pynxtools.dataconverter import helpers
    from pynxtools.dataconverter.validation import validate_hdf_group_against

    errors: list[str] = []
    warnings: list[str] = []
    with h5py.File(path, "r") as h5:
        entries = [name for name, obj in h5.items() if obj.attrs.get("NX_class") == "NXentry"]
        assert entries, f"{path}: no NXentry"
        for entry in entries:
            helpers.collector.clear()
            helpers.collector.logging = False
            try:
                validate_hdf_group_against("NXstxm", h5[entry], str(path), False)
                found = sorted(helpers.collector.get())
            finally:
                helpers.collector.logging = True
                helpers.collector.clear()
            for message in found:
                documented = any(path in message for path in DOCUMENTED_WARNINGS)
                kind = warnings if PYNXTOOLS_WARNING in message and documented else errors
                kind.append(message)
    return errors, warnings


def pynx_validate_cli(path: Path) -> subprocess.CompletedProcess:
    """``pynx validate path`` as a user runs it (exit status 0 unless it crashes)."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("pynx")), "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def hyperspy_signals(path: Path) -> list:
    """Every signal HyperSpy's ``hs.load`` finds in ``path`` (lazily, no frames read)."""
    import hyperspy.api as hs

    signals = hs.load(str(path), lazy=True, use_default=False, dataset_key=None)
    return signals if isinstance(signals, list) else [signals]


def signal_titled(signals: list, title: str):
    """The signal HyperSpy titled ``title`` (NXdata: its name; a dataset: its path with _)."""
    for signal in signals:
        if signal.metadata.General.title == title:
            return signal
    titles = sorted(s.metadata.General.title for s in signals)
    raise AssertionError(f"HyperSpy made no signal titled {title}; it made {titles}")
