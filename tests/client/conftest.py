"""Fixtures for the client's tests: one real server per module (the stream tests' harness; a
start costs a second or more, so the modules' tests share it and use channels of their own)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.test_stream import Served, serving


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def models(trained_binary: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("client-models")
    shutil.copytree(trained_binary.models_dir, target, dirs_exist_ok=True)
    return target


@pytest.fixture(scope="module")
async def served(models: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    async with serving(models, tmp_path_factory.mktemp("client-data")) as s:
        yield s


@pytest.fixture(scope="module")
def base_url(served: Served) -> str:
    return str(served.http.base_url).rstrip("/")
