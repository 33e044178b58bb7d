"""Read documents from files: pyStxm's recorded JSON and JSONL (one ``[name, doc]`` a line).

The loaders return the documents as recorded; decoding the metadata inside them is the
job of :mod:`.metadata`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .collector import Document
from .errors import NXstxmError

FORMATS = ("pystxm", "jsonl")

logger = logging.getLogger(__name__)


class DocumentFileError(NXstxmError, ValueError):
    """A document file that cannot be read as the format it claims (names the file)."""


def load_pystxm_json(path: str | Path) -> list[Document]:
    """Documents of a pyStxm recording: JSON encoded twice, ``{run_uid: [[name, doc], ...]}``."""
    path = Path(path)
    try:
        runs: Any = json.loads(path.read_bytes().decode("utf-8"))
        if isinstance(runs, str):
            runs = json.loads(runs)
    except OSError as err:
        raise DocumentFileError(f"{path}: cannot read ({err.strerror or err})") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DocumentFileError(f"{path}: not a pyStxm JSON recording ({err})") from err
    if not isinstance(runs, dict):
        raise DocumentFileError(f"{path}: expected a dict of runs, got {type(runs).__name__}")
    documents: list[Document] = []
    for uid, docs in runs.items():
        for number, item in enumerate(docs if isinstance(docs, list) else [docs]):
            try:
                documents.append(_pair(item))
            except ValueError as err:
                raise DocumentFileError(f"{path}: run {uid} item {number}: {err}") from None
    if not documents:
        raise DocumentFileError(f"{path}: holds no documents")
    return documents


def _pair(item: Any) -> Document:
    if not (isinstance(item, list) and len(item) == 2):
        raise ValueError("expected a [name, doc] pair")
    name, doc = item
    if not isinstance(name, str) or not isinstance(doc, dict):
        raise ValueError(f"expected [name, doc] with a string and a dict, got {type(doc).__name__}")
    return name, doc


def load_jsonl(path: str | Path, *, tolerate_torn_end: bool = True) -> list[Document]:
    """Documents of a JSONL file, one ``[name, doc]`` per line (blank lines skipped).

    A last line cut short after good ones (no newline: its writer was killed mid-write
    or the disk filled) is skipped with a warning when ``tolerate_torn_end``; any other
    bad line is an error naming the file and line.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DocumentFileError(f"{path}: cannot read ({err.strerror or err})") from err
    lines = raw.split(b"\n")
    documents: list[Document] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            documents.append(_pair(json.loads(line.decode("utf-8"))))
        except (UnicodeDecodeError, ValueError, TypeError) as err:
            if tolerate_torn_end and number == len(lines) and documents:
                logger.warning("%s:%d: a torn last line skipped (%s)", path, number, err)
                continue
            reason = "not UTF-8 text" if isinstance(err, UnicodeDecodeError) else str(err)
            raise DocumentFileError(f"{path}:{number}: not a [name, doc] line ({reason})") from err
    if not documents:
        raise DocumentFileError(f"{path}: holds no documents")
    return documents


def jsonable(value: Any) -> Any:
    """numpy values as JSON can hold them (``json.dumps(..., default=jsonable)``)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def dump_jsonl(documents: Iterable[Document], path: str | Path) -> Path:
    """Write documents as JSONL (numpy values as lists), the format :func:`load_jsonl` reads."""
    path = Path(path)
    with path.open("w") as out:
        for name, doc in documents:
            out.write(json.dumps([name, doc], default=jsonable) + "\n")
    return path


def detect_format(path: str | Path) -> str:
    """``"jsonl"`` when the first line is a ``[name, doc]`` pair, ``"pystxm"`` otherwise."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return "jsonl"
    try:
        with path.open("rb") as handle:
            first = handle.readline().strip()
    except OSError as err:
        raise DocumentFileError(f"{path}: cannot read ({err.strerror or err})") from err
    try:
        item = json.loads(first.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "pystxm"
    return "jsonl" if isinstance(item, list) and len(item) == 2 else "pystxm"


def load_documents(path: str | Path, fmt: str | None = None) -> list[Document]:
    """Documents of a file in either format (``fmt`` None: detect it)."""
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DocumentFileError(f"{path}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return load_pystxm_json(path) if fmt == "pystxm" else load_jsonl(path)
