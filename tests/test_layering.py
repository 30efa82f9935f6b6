"""The design's layering, checked on the source: nothing imports upward."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> the a1rt packages it must never import (those above it in DESIGN.md's layering)
FORBIDDEN = {
    "actors": {"a1rt"},
    "a1rt/betting": {"a1rt.models", "a1rt.sources", "a1rt.store", "a1rt.pipeline", "a1rt.web",
                     "a1rt.cli"},
    "a1rt/models": {"a1rt.sources", "a1rt.store", "a1rt.pipeline", "a1rt.web", "a1rt.cli"},
    "a1rt/sources": {"a1rt.pipeline", "a1rt.web", "a1rt.cli", "a1rt.store", "a1rt.models"},
    "a1rt/store": {"a1rt.pipeline", "a1rt.web", "a1rt.cli", "a1rt.models", "a1rt.sources"},
    "a1rt/pipeline": {"a1rt.web", "a1rt.cli"},
    "a1rt/web": {"a1rt.cli"},
}  # fmt: skip


def _absolute_imports(path: Path) -> set[str]:
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layering_no_module_imports_upward(package: str) -> None:
    offending = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _absolute_imports(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[package]):
                offending.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offending == []


PUBLIC = ["actors", "a1rt.betting", "a1rt.models", "a1rt.sources", "a1rt.pipeline", "a1rt.web"]


@pytest.mark.parametrize("package", PUBLIC)
def test_layering_public_api_names_exist(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
