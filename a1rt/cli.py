"""The `a1rt` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import anyio

from . import __version__
from .config import Settings, load_settings
from .errors import A1rtError, ConfigError
from .logs import configure_logging
from .models import ModelError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> _Parser:
    parser = _Parser(prog="a1rt", description="Realtime sports-betting prediction server.")
    parser.add_argument("--version", action="version", version=f"a1rt {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = commands.add_parser("serve", help="run the server (actors + HTTP) until a signal")
    serve.add_argument("--host", help="listen address (A1RT_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (A1RT_PORT, default 8000)")
    train = commands.add_parser("train", help="simulate seasons and train model ensembles")
    train.add_argument("models", nargs="*", metavar="MODEL",
                       help="model names (default: every default model)")  # fmt: skip
    train.add_argument("--seed", type=int, default=7, help="simulation and training seed")
    evaluate = commands.add_parser(
        "evaluate", help="score a model on held-out seasons against the Bayes floor and market"
    )
    evaluate.add_argument("model", metavar="MODEL", help="e.g. basketball_nba_h2h")
    evaluate.add_argument("--version", help="a version directory (default: the newest)")
    commands.add_parser("migrate", help="apply pending database migrations and create partitions")
    cleanup = commands.add_parser("cleanup", help="drop daily partitions past the retention")
    cleanup.add_argument("--keep-days", type=int, default=30, help="days to keep (default 30)")
    backup = commands.add_parser("backup", help="pg_dump the database (custom format)")
    backup.add_argument(
        "--output", type=Path, metavar="PATH",
        help="archive file, or directory for it (default A1RT_DATA_DIR/backups/)",
    )  # fmt: skip
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {k: v for k in ("host", "port") if (v := getattr(args, k, None)) is not None}
    return load_settings(**overrides)


def _run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "serve":
        from .web.server import serve

        return serve(settings)
    if args.command == "train":
        return _train(settings, args)
    if args.command == "evaluate":
        return _evaluate(settings, args)
    if args.command == "backup":
        from .store import backup

        path = anyio.run(backup, settings, args.output)
        print(f"backup written to {path} ({path.stat().st_size} bytes)")  # noqa: T201
        return 0
    if args.command in ("migrate", "cleanup"):
        lines = anyio.run(_storage_command, settings, args)
        for line in lines:
            print(line)  # noqa: T201 - the command's output
        return 0
    raise AssertionError(args.command)  # argparse only lets known commands through


def _train(settings: Settings, args: argparse.Namespace) -> int:
    from .models import DEFAULT_MODELS, train_models

    unknown = [m for m in args.models if m not in DEFAULT_MODELS]
    if unknown:
        raise ConfigError(
            f"unknown model {unknown[0]!r}; expected one of {', '.join(DEFAULT_MODELS)}"
        )
    manifests = train_models(settings.models_dir, args.models or None, seed=args.seed)
    for manifest in manifests:
        print(f"{manifest.name} {manifest.version}")  # noqa: T201 - the command's output
    return 0


async def _storage_command(settings: Settings, args: argparse.Namespace) -> list[str]:
    from .store import database_conninfo, drop_expired_partitions, ensure_partitions, migrate

    if args.command == "cleanup" and args.keep_days < 0:
        raise ConfigError("--keep-days must be 0 or more")
    async with database_conninfo(settings) as conninfo:
        if args.command == "cleanup":
            dropped = await drop_expired_partitions(conninfo, args.keep_days)
            return [f"dropped {name}" for name in dropped] or ["nothing to drop"]
        applied = await migrate(conninfo)
        created = await ensure_partitions(conninfo)
    return [f"applied {name}" for name in applied] + [f"created {name}" for name in created]


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from .models import evaluate_model

    figures = evaluate_model(settings.models_dir, args.model, args.version,
                             build_dir=settings.data_dir / "build")  # fmt: skip
    for key in ("n", "log_loss", "bayes_optimal_log_loss", "market_log_loss", "brier", "ece",
                "accuracy"):  # fmt: skip
        print(f"{key:>24}  {figures[key]}")  # noqa: T201 - the command's output
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: exit status 0 on success, 2 on bad input, 1 on failure."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (A1rtError, ModelError) as exc:
        print(f"a1rt: error: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's one line
        return 2
    except KeyboardInterrupt:
        return 130


def entry() -> NoReturn:
    """The console script."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
