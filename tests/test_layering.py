"""The design's layering, checked on the source: nothing imports upward."""

from __future__ import annotations

import ast
import importlib
import sys
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


# a1rt.client is for bots that install it without the server: the standard library, its own
# dependencies and itself, nothing else of a1rt (not even a1rt.messages).
CLIENT_MAY_IMPORT = {"aiohttp", "anyio", "msgspec"}


def test_layering_client_imports_nothing_of_the_server() -> None:
    offending = []
    for path in sorted((ROOT / "a1rt/client").rglob("*.py")):
        for name in _absolute_imports(path):
            top = name.split(".")[0]
            own = name == "a1rt.client" or name.startswith("a1rt.client.")
            if not own and top not in CLIENT_MAY_IMPORT and top not in sys.stdlib_module_names:
                offending.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offending == []


PUBLIC = ["actors", "a1rt.betting", "a1rt.models", "a1rt.sources", "a1rt.pipeline", "a1rt.web",
          "a1rt.client"]  # fmt: skip


@pytest.mark.parametrize("package", PUBLIC)
def test_layering_public_api_names_exist(package: str) -> None:
    module = importlib.import_module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
