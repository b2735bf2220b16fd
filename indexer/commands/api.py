"""``depin-indexer api [--host --port]``: serve the read-only JSON API."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

from indexer.api.environment import ENV_DSN, ENV_SETTINGS
from indexer.errors import ConfigError
from indexer.store.database import database_url
from schemas.config import Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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


def run(args: argparse.Namespace, config: Config) -> int:
    # Imported here: the web stack is only needed by this command.
    import uvicorn

    from indexer.api.app import create_app

    host = args.host or config.api.host
    port = args.port or config.api.port
    workers = args.workers or config.api.workers
    if workers < 1:
        raise ConfigError("--workers: must be at least 1")
    with database_url(config) as url:
        dsn = config.api.database_url or reader_url(url)
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
