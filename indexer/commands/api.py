"""``depin-indexer api [--host --port]``: serve the read-only JSON API."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit, urlunsplit

from indexer.store.database import database_url
from schemas.config import Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("api", help="serve the read-only JSON API")
    p.add_argument("--host", help="address to listen on (default: [api] host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: [api] port, 8000)")
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
    with database_url(config) as url:
        app = create_app(
            config.api.database_url or reader_url(url),
            statement_timeout_ms=config.api.statement_timeout_ms,
        )
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    return 0
