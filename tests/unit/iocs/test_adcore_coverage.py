"""Every record of each served plugin's template chain exists, with its type and enum strings.

Reads ADCore's and ADSimDetector's real templates from ../shared/epics-reference (or
$STXM_SHARED/epics-reference; skipped if absent) with a parser of its own, follows
their ``include``s as dbLoadRecords does, and checks the detector IOC's database, built
in process: 100 % of the records, the CA class name (record type) and enum strings.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from iocs.detector import DetectorIOC
from iocs.physics import StxmModel
from iocs.positions import LocalPositions

PREFIX = "COV:det1:"
#: Served prefix → the template dbLoadRecords loads there (the commonPlugins set).
SERVED = {
    "cam1:": "adsimdetector/simDetector.template",
    "image1:": "adcore/NDStdArrays.template",
    "HDF1:": "adcore/NDFileHDF5.template",
    "TIFF1:": "adcore/NDFileTIFF.template",
    **{f"ROI{n}:": "adcore/NDROI.template" for n in range(1, 5)},
    **{f"Stats{n}:": "adcore/NDStats.template" for n in range(1, 6)},
    "Proc1:": "adcore/NDProcess.template",
    "Trans1:": "adcore/NDTransform.template",
    "Over1:": "adcore/NDOverlay.template",
    **{f"Over1:{n}:": "adcore/NDOverlayN.template" for n in range(1, 9)},
}
_RECORD = re.compile(
    r'^\s*record\(\s*(\w+)\s*,\s*"\$\(P\)\$\(R\)([^"]+)"\s*\)\s*\{(.*?)^\s*\}', re.M | re.S
)
_FIELD = re.compile(r'field\(\s*(\w+)\s*,\s*"([^"]*)"\s*\)')
_INCLUDE = re.compile(r'^\s*include\s+"([^"]+)"', re.M)
_STATES = [p + "ST" for p in "ZR ON TW TH FR FV SX SV EI NI TE EL TV TT FT FF".split()]


def reference() -> Path:
    repo = Path(__file__).resolve().parents[3]
    root = Path(os.environ.get("STXM_SHARED", repo.parent / "shared")) / "epics-reference"
    if not root.is_dir():
        pytest.skip(f"EPICS reference templates not found at {root} (set STXM_SHARED)")
    return root


def records(path: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Record name → (type, enum strings) of a template and its includes (later ones win)."""
    found = _raw(path)
    return {name: (rtype, _strings(rtype, fields)) for name, (rtype, fields) in found.items()}


def _included(path: Path, name: str) -> Path:
    """An included template: beside ``path``, else in ADCore's directory (simDetector → ADBase)."""
    beside = path.parent / name
    return beside if beside.exists() else path.parent.parent / "adcore" / name


def _raw(path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    text = re.sub(r"#[^\n]*", "", path.read_text())
    result = {}
    for included in _INCLUDE.findall(text):
        result.update(_raw(_included(path, included)))
    for rtype, name, body in _RECORD.findall(text):
        fields = dict(_FIELD.findall(body))
        earlier = result.get(name)
        result[name] = (earlier[0], {**earlier[1], **fields}) if earlier else (rtype, fields)
    return result


def _strings(rtype: str, fields: dict[str, str]) -> tuple[str, ...]:
    if rtype in ("bi", "bo", "busy"):
        return (fields.get("ZNAM", ""), fields.get("ONAM", ""))
    if rtype in ("mbbi", "mbbo"):
        states = [fields.get(name, "") for name in _STATES]
        while states and not states[-1]:
            states.pop()
        return tuple(states)
    return ()


@pytest.fixture(scope="module")
def pvdb():
    ioc = DetectorIOC(prefix=PREFIX, model=StxmModel(), positions=LocalPositions({}))
    return ioc.pvdb


@pytest.mark.parametrize("suffix", list(SERVED))
def test_every_template_record_is_served_as_the_template_has_it(pvdb, suffix):
    expected = records(reference() / SERVED[suffix])
    missing, wrong = [], []
    for name, (rtype, strings) in expected.items():
        name = name.replace("$(NAME)", "")
        channel = pvdb.get(PREFIX + suffix + name)
        if channel is None:
            missing.append(name)
        elif channel.reported_record_type != rtype:
            wrong.append(f"{name}: {channel.reported_record_type} (template: {rtype})")
        elif strings and tuple(channel.enum_strings) != strings:
            wrong.append(f"{name}: {channel.enum_strings} (template: {strings})")
    assert not missing, f"{len(missing)}/{len(expected)} records missing: {missing}"
    assert not wrong, f"{len(wrong)} records differ: {wrong}"
    assert len(expected) > 0
