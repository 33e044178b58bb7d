"""The assembler works from documents only: it imports no device, IOC or plan."""

from __future__ import annotations

import ast
from pathlib import Path

import nxstxm

FORBIDDEN = ("iocs", "plans", "ophyd", "stxm_devices")


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
    package = Path(nxstxm.__file__).parent
    offending = {
        f"{path.name}: {name}"
        for path in package.glob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert offending == set()
