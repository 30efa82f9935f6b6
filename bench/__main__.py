"""`python -m bench SCENARIO|all [--quick|--smoke]`, `python -m bench peers|report`.

A scenario writes bench/results/SCENARIO.json (or ``--results DIR``); ``all`` runs every
scenario and then the report (summary.md and the plots). ``--quick`` shortens every phase;
``--smoke`` runs each phase for about a second, to prove the scenario works, not to measure
(into a temporary results dir unless ``--results`` is given).
``peers`` installs the `rest` peers' venvs; ``rest`` and ``all`` install any that are missing
first, except in smoke mode (which records them as not measured instead).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCENARIOS = ("actors", "inference", "pipeline", "rest", "storage", "stream")
COMMANDS = ("all", "peers", "report")
SMOKE_RESULTS = Path(tempfile.gettempdir()) / "a1rt-bench-smoke"  # never over the real results


def accepts_smoke(module: Any) -> bool:
    """Whether the scenario's ``run`` takes ``smoke`` by name (not merely ``**overrides``)."""
    parameter = inspect.signature(module.run).parameters.get("smoke")
    return parameter is not None and parameter.kind is not inspect.Parameter.VAR_KEYWORD


def run_scenario(name: str, mode: str, results: Path) -> Path:
    """Run one scenario in ``mode`` (full, quick or smoke) and write its result."""
    from .machine import machine, write_result

    module = importlib.import_module(f"bench.{name}")
    at_start = machine()
    started = time.perf_counter()
    if mode == "smoke" and accepts_smoke(module):
        result = module.run(quick=True, smoke=True)
    else:
        result = module.run(quick=mode != "full")
    config = result.setdefault("config", {})
    config |= {"quick": mode != "full", "mode": mode, "argv": sys.argv[1:]}
    if mode == "smoke" and not accepts_smoke(module):
        config["smoke_unsupported"] = "run() takes no smoke argument; ran --quick instead"
    config["wall_s"] = round(time.perf_counter() - started, 3)  # a smoke run can take 40 ms
    return write_result(name, result, results, at_start)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenario", choices=(*SCENARIOS, *COMMANDS))
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--quick", action="store_true", help="shortened runs")
    modes.add_argument("--smoke", action="store_true", help="about a second per phase")
    parser.add_argument("--results", type=Path, default=None, help="default: bench/results")
    parser.add_argument("--force", action="store_true", help="peers: reinstall every venv")
    parser.add_argument("--no-report", action="store_true", help="all: skip the report")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .machine import RESULTS
    from .peers import install_peers
    from .report import write_report

    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    results = args.results or (SMOKE_RESULTS if mode == "smoke" else RESULTS)
    if args.scenario == "peers":
        print(json.dumps(install_peers(force=args.force), indent=2))
        return 0
    if args.scenario == "report":
        for path in write_report(results):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    if args.scenario in ("all", "rest") and mode != "smoke":
        install_peers()
    for name in SCENARIOS if args.scenario == "all" else (args.scenario,):
        path = run_scenario(name, mode, results)
        print(path.read_text())
        print(f"wrote {path}", file=sys.stderr)
    if args.scenario == "all" and not args.no_report:
        for path in write_report(results):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
