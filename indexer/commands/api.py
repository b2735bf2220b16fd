"""``depin-indexer api [--host --port]``: serve the read-only JSON API."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

from indexer.api.environment import ENV_DSN, ENV_SETTINGS
from indexer.errors import DatabaseError, UsageError
from indexer.redact import redact_url
from indexer.store.database import connect, database_url
from indexer.store.sqlfiles import queries
from schemas.config import Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``api`` command to the CLI."""
    p = sub.add_parser("api", help="serve the read-only JSON API")
    p.add_argument("--host", help="address to listen on (default: [api] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: [api] port, 8000)")
    p.add_argument("--workers", type=int, help="worker processes (default: [api] workers, 1)")
    p.set_defaults(handler=run)


def reader_url(url: str) -> str:
    """The same server and database, as the read-only ``depin_reader`` role, no password."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"depin_reader@{host}", parts.path, parts.query, parts.fragment))


async def check_schema(dsn: str) -> None:
    """Fail with a clear message, before serving, when the API could not answer anything:
    the database is unreachable, the reader role is missing, or nothing was migrated."""
    try:
        conn = await connect(dsn)
    except DatabaseError as exc:
        if "does not exist" not in str(exc):
            raise
        raise DatabaseError(f"{exc}; run 'depin-indexer migrate' first (it creates the API's role)") from None
    try:
        missing = await conn.fetchval(queries("api")["analytics_views_missing"])
    finally:
        await conn.close()
    if missing:
        raise DatabaseError(
            f"{redact_url(dsn)}: the database has no analytics views; run 'depin-indexer migrate' first"
        )


def run(args: argparse.Namespace, config: Config) -> int:
    """Serve the API until stopped: in this process, or in ``--workers`` uvicorn workers."""
    # Imported here: the web stack is only needed by this command.
    import uvicorn

    from indexer.api.app import create_app

    host = args.host or config.api.host
    port = config.api.port if args.port is None else args.port
    workers = config.api.workers if args.workers is None else args.workers
    if workers < 1:
        raise UsageError(f"--workers: must be 1 or more, got {workers}")
    if not 1 <= port <= 65535:
        raise UsageError(f"--port: must be a TCP port from 1 to 65535, got {port}")
    with database_url(config) as url:
        dsn = config.api.database_url or reader_url(url)
        asyncio.run(check_schema(dsn))
        if workers == 1:
            app = create_app(dsn, statement_timeout_ms=config.api.statement_timeout_ms, pool_size=config.api.pool_size)
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
            return 0
        # Several processes: uvicorn imports the app in each worker from an import string,
        # so the settings travel in the environment, and metrics go through
        # prometheus-client's multiprocess files so that /metrics sums every worker.
        with tempfile.TemporaryDirectory(prefix="depin-api-metrics-") as metrics_dir:
            os.environ[ENV_DSN] = dsn
            os.environ[ENV_SETTINGS] = json.dumps(
                {"statement_timeout_ms": config.api.statement_timeout_ms, "pool_size": config.api.pool_size}
            )
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            uvicorn.run(
                "indexer.api.app:app_from_environment",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
                access_log=False,
            )
    return 0
