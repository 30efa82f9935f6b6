"""`python -m bench SCENARIO [--quick]`: run a scenario and write bench/results/SCENARIO.json."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

SCENARIOS = ("actors", "inference", "pipeline", "rest", "storage")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("scenario", choices=(*SCENARIOS, "all"))
    parser.add_argument("--quick", action="store_true", help="shortened runs")
    args = parser.parse_args(argv)
    from .machine import write_result

    for name in SCENARIOS if args.scenario == "all" else (args.scenario,):
        module = importlib.import_module(f"bench.{name}")
        result = module.run(quick=args.quick)
        result.setdefault("config", {})["quick"] = args.quick
        path = write_result(name, result)
        print(json.dumps(result, indent=2))
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
