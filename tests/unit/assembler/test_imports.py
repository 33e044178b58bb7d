"""The assembler works from documents only: it imports no device, IOC, plan or RunEngine.

Two views: the package's source names no such module (static), and importing it in a
fresh interpreter loads none (``python -X importtime``: what really loads, imports of
imports included). event-model is fine; bluesky is not needed: ``stxm serve`` reads
0MQ itself rather than through bluesky's RemoteDispatcher.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nxstxm

PACKAGE = Path(nxstxm.__file__).parent
REPO = PACKAGE.parent
#: Top-level modules the assembler must never load.
FORBIDDEN = ("ophyd", "apstools", "caproto", "epics", "bluesky", "stxm_devices", "plans", "iocs")
EVERY_MODULE = "import " + ", ".join(f"nxstxm.{path.stem}" for path in PACKAGE.glob("[!_]*.py"))


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module or "")
        elif isinstance(node, ast.ImportFrom) and node.level > 1:
            names.append("stxm_devices")  # reaching out of the package
    return names


def test_assembler_modules_import_no_device_ioc_or_plan():
    offending = {
        f"{path.name}: {name}"
        for path in PACKAGE.glob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert offending == set()


def _loaded(statement: str) -> set[str]:
    """Every module a fresh interpreter loads to run ``statement`` (python -X importtime)."""
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = [line.split("|") for line in result.stderr.splitlines() if line.startswith("import")]
    return {fields[2].strip() for fields in report if len(fields) == 3} - {"imported package"}


@pytest.mark.parametrize(
    "statement",
    ["import nxstxm", "import nxstxm.serve", "from nxstxm import NXstxmAssembler", EVERY_MODULE],
    ids=["package", "serve", "assembler", "every-module"],
)
def test_importing_the_assembler_loads_no_device_ioc_plan_or_run_engine(statement):
    loaded = _loaded(statement)
    assert "nxstxm" in loaded  # the report was read
    offending = sorted(name for name in loaded if name.split(".")[0] in FORBIDDEN)
    assert offending == []


def test_the_import_report_sees_a_forbidden_module_when_one_loads():
    assert "ophyd" in _loaded("import nxstxm, ophyd")
