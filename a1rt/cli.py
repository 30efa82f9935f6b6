"""The `a1rt` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
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
    serve.add_argument("--workers", type=_workers, metavar="N",
                       help="replica processes on the one port (A1RT_WORKERS, default 1); "
                       "more than 1 needs A1RT_REDIS_URL")  # fmt: skip
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
    _keys_parser(commands)
    return parser


def _keys_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    keys = commands.add_parser("keys", help="API keys: create, list, revoke")
    actions = keys.add_subparsers(dest="keys_command", required=True, parser_class=_Parser)
    create = actions.add_parser("create", help="create a key; it is printed once, alone on the "
                                "last line")  # fmt: skip
    create.add_argument("--name", default="", help="what or who the key is for")
    create.add_argument("--scope", choices=("read", "predict", "admin"), default="read",
                        help="read < predict < admin (default read)")  # fmt: skip
    actions.add_parser("list", help="every key: id, name, scope, created, last used, revoked")
    revoke = actions.add_parser("revoke", help="revoke a key (running servers stop accepting it "
                                "within about a second)")  # fmt: skip
    revoke.add_argument("key_id", metavar="KEY_ID")


def _workers(text: str) -> int:
    """`--workers`: a whole number from 1 to 64."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 64, not {text!r}")
    return value


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        k: v for k in ("host", "port", "workers") if (v := getattr(args, k, None)) is not None
    }
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
    if args.command == "keys":
        for line in anyio.run(_keys, settings, args):
            print(line)  # noqa: T201 - the command's output
        return 0
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
    async with database_conninfo(settings, share_running=True) as conninfo:
        if args.command == "cleanup":
            dropped = await drop_expired_partitions(conninfo, args.keep_days)
            return [f"dropped {name}" for name in dropped] or ["nothing to drop"]
        applied = await migrate(conninfo)
        created = await ensure_partitions(conninfo)
    return [f"applied {name}" for name in applied] + [f"created {name}" for name in created]


async def _keys(settings: Settings, args: argparse.Namespace) -> list[str]:
    from .store import create_key, database_conninfo, list_keys, migrate, revoke_key

    # Beside a running `a1rt serve` on the embedded server: use it, never stop it.
    async with database_conninfo(settings, share_running=True) as conninfo:
        await migrate(conninfo)  # a fresh data directory has no api_keys table yet
        if args.keys_command == "create":
            new = await create_key(conninfo, name=args.name, scope=args.scope)
            return [f"created API key {new.key_id} (scope {new.scope}); it is not shown again:",
                    new.key]  # fmt: skip
        if args.keys_command == "revoke":
            revoked = await revoke_key(conninfo, args.key_id)
            return [f"revoked {args.key_id} at {_when(revoked)}"]
        keys = await list_keys(conninfo)
    rows = [(k.key_id, k.name or "-", k.scope, _when(k.created_at), _when(k.last_used_at),
             _when(k.revoked_at)) for k in keys]  # fmt: skip
    header = ("KEY_ID", "NAME", "SCOPE", "CREATED", "LAST_USED", "REVOKED")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [header, *rows]]  # fmt: skip


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


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
