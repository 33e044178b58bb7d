"""Read documents from files: pyStxm's recorded JSON and JSONL (one ``[name, doc]`` a line).

The loaders return the documents as recorded; decoding the metadata inside them is the
job of :mod:`.metadata`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .collector import Document

FORMATS = ("pystxm", "jsonl")


class DocumentFileError(ValueError):
    """A document file that cannot be read as the format it claims (names the file)."""


def load_pystxm_json(path: str | Path) -> list[Document]:
    """Documents of a pyStxm recording: JSON encoded twice, ``{run_uid: [[name, doc], ...]}``."""
    path = Path(path)
    try:
        runs: Any = json.loads(path.read_text())
        if isinstance(runs, str):
            runs = json.loads(runs)
    except (OSError, json.JSONDecodeError) as err:
        raise DocumentFileError(f"{path}: not a pyStxm JSON recording ({err})") from err
    if not isinstance(runs, dict):
        raise DocumentFileError(f"{path}: expected a dict of runs, got {type(runs).__name__}")
    documents: list[Document] = []
    for uid, docs in runs.items():
        for item in docs:
            if not (isinstance(item, list) and len(item) == 2):
                raise DocumentFileError(f"{path}: run {uid} holds a non-[name, doc] item")
            documents.append((str(item[0]), item[1]))
    return documents


def load_jsonl(path: str | Path) -> list[Document]:
    """Documents of a JSONL file, one ``[name, doc]`` per line (blank lines skipped)."""
    path = Path(path)
    documents: list[Document] = []
    try:
        lines = path.read_text().splitlines()
    except OSError as err:
        raise DocumentFileError(f"{path}: cannot read ({err})") from err
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            name, doc = json.loads(line)
        except (json.JSONDecodeError, ValueError, TypeError) as err:
            raise DocumentFileError(f"{path}:{number}: not a [name, doc] line ({err})") from err
        documents.append((str(name), doc))
    return documents


def _jsonable(value: Any) -> Any:
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
            out.write(json.dumps([name, doc], default=_jsonable) + "\n")
    return path


def detect_format(path: str | Path) -> str:
    """``"jsonl"`` when the first line is a ``[name, doc]`` pair, ``"pystxm"`` otherwise."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return "jsonl"
    with path.open() as handle:
        first = handle.readline().strip()
    try:
        item = json.loads(first)
    except json.JSONDecodeError:
        return "pystxm"
    return "jsonl" if isinstance(item, list) and len(item) == 2 else "pystxm"


def load_documents(path: str | Path, fmt: str | None = None) -> list[Document]:
    """Documents of a file in either format (``fmt`` None: detect it)."""
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DocumentFileError(f"{path}: unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return load_pystxm_json(path) if fmt == "pystxm" else load_jsonl(path)
