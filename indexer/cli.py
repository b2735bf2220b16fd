"""``depin-indexer [--config PATH] COMMAND``: the command-line contract of design.md.

Exit codes: 0 ok, 2 bad usage or bad config (the message names the key and the problem),
1 runtime failure, 130 stopped by a signal (SIGINT, SIGTERM or SIGHUP) before the work was
done; what was committed is kept. ``run`` and ``api`` are services: a signal is their
normal end, exit 0. Each command lives in ``indexer/commands/``; this module only parses
arguments, loads the config and maps errors to exit codes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from indexer import __version__, signals
from indexer.commands import api as api_command
from indexer.commands import backfill as backfill_command
from indexer.commands import db as db_command
from indexer.commands import demo as demo_command
from indexer.commands import discover as discover_command
from indexer.commands import migrate as migrate_command
from indexer.commands import prices as prices_command
from indexer.commands import refresh as refresh_command
from indexer.commands import run as run_command
from indexer.commands import verify as verify_command
from indexer.config import load_config
from indexer.errors import DepinError
from indexer.logs import setup_logging
from indexer.redact import redact_text

log = logging.getLogger("indexer")

# Each command module exposes register(subparsers) and run(args, config) -> int | None.
COMMANDS = (
    migrate_command,
    backfill_command,
    refresh_command,
    run_command,
    verify_command,
    discover_command,
    prices_command,
    api_command,
    demo_command,
    db_command,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="depin-indexer",
        description="Index payments and rewards of GPU DePIN networks into Postgres.",
    )
    parser.add_argument("--config", metavar="PATH", help="config file (default: $DEPIN_CONFIG or ./depin.toml)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    parser.add_argument("--log-format", choices=("plain", "json"), default=None, help="log line format")
    parser.add_argument("--version", action="version", version=f"depin-indexer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    signals.install()
    try:
        config = load_config(args.config)
        setup_logging(-1 if args.quiet else args.verbose, args.log_format or config.service.log_format)
        handler: Callable[..., int | None] = args.handler
        return handler(args, config) or 0
    except DepinError as exc:
        print(f"depin-indexer: error: {redact_text(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("depin-indexer: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
