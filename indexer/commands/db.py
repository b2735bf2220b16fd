"""``depin-indexer db url|psql|start|stop|status``: the embedded database by hand."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from indexer.errors import UsageError
from indexer.store.embedded import EmbeddedPostgres, embedded_server
from schemas.config import Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("db", help="the embedded database: url, psql, start, stop, status")
    p.add_argument("action", choices=("url", "psql", "start", "stop", "status"))
    p.add_argument("psql_args", nargs=argparse.REMAINDER, help="extra arguments for psql")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    server = EmbeddedPostgres()
    if config.database.url and args.action != "status":
        raise UsageError(
            "a database URL is configured ([database] url or DEPIN_DATABASE_URL); "
            "'db' manages only the embedded server. Use psql with your URL directly."
        )
    if args.action == "status":
        state = "running" if server.is_running() else "stopped"
        print(f"embedded Postgres: {state}; data in {server.pgdata}")
        return 0
    if args.action in ("url", "start"):
        url = server.start()
        print(url)
        if args.action == "url":
            print("(the embedded server keeps running; stop it with 'depin-indexer db stop')", file=sys.stderr)
        return 0
    if args.action == "stop":
        server.stop()
        return 0
    with embedded_server():
        command = server.psql_command() + list(args.psql_args)
        env = {**os.environ, "PSQLRC": os.environ.get("PSQLRC", "/dev/null")}
        return subprocess.call(command, env=env)
