"""What a result was measured on, recorded beside every figure."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
LIBRARIES = ("anyio", "uvloop", "litestar", "uvicorn", "msgspec", "numpy", "xgboost", "xgboost-cpu",
             "lightgbm", "scikit-learn", "treelite", "tl2cgen", "shap", "psycopg", "psycopg-pool",
             "redis", "websockets", "aiohttp", "httpx", "matplotlib")  # fmt: skip


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return round(pages / 2**30, 1)
    except (ValueError, OSError):
        return 0.0


def machine() -> dict[str, Any]:
    """Cores, CPU model, memory, Python and library versions."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "libraries": versions,
        "loadavg_at_start": os.getloadavg(),
        "proc_loadavg": _proc_loadavg(),
    }


def _proc_loadavg() -> str:
    """/proc/loadavg as it reads: 1, 5, 15-minute load, running/total tasks, last pid."""
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "unavailable"


def write_result(
    scenario: str,
    result: dict[str, Any],
    results: Path = RESULTS,
    at_start: dict[str, Any] | None = None,
) -> Path:
    """Write <results>/<scenario>.json with the machine and a timestamp (atomically).

    ``at_start`` is `machine()` as read before the run, so its load average is the one the
    run started under; the load at the end is added beside it.
    """
    results.mkdir(parents=True, exist_ok=True)
    path = results / f"{scenario}.json"
    described = (at_start or machine()) | {"proc_loadavg_at_end": _proc_loadavg()}
    document = {
        "scenario": scenario,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": described,
        **result,
    }
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(json.dumps(document, indent=2) + "\n")
    scratch.replace(path)
    return path
