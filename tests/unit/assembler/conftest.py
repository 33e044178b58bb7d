"""Fixtures of the assembler tests: where the recorded pyStxm runs are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def _shared_runs() -> Path:
    shared = os.environ.get("STXM_SHARED")
    base = Path(shared) if shared else REPO_ROOT.parent / "shared"
    return base / "pystxm-runs"


@pytest.fixture(scope="session")
def pystxm_runs() -> Path:
    """The folder of recorded pyStxm runs (../shared/pystxm-runs or $STXM_SHARED/pystxm-runs)."""
    folder = _shared_runs()
    if not any(folder.glob("*.json")):
        pytest.skip(f"recorded pyStxm runs not found in {folder} (set STXM_SHARED to their parent)")
    return folder
