"""``depin-indexer run``: the scheduled service, until SIGTERM (exit 0)."""

from __future__ import annotations

import argparse
import logging

from indexer import signals
from indexer.chains.registry import chains_to_run
from indexer.store.database import connect, database_url, pool
from indexer.store.migrate import migrate
from schemas.config import Config

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="keep every chain indexed and the figures fresh, until SIGTERM")
    p.add_argument("--no-refresh", action="store_true", help="ingest only; leave refreshes to another process")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    chains_to_run(config, None)
    with database_url(config) as url:
        signals.run(_serve(url, config, refresh=not args.no_refresh))
    return 0


async def _serve(url: str, config: Config, refresh: bool) -> None:
    from indexer.figures.reference import sync_reference
    from indexer.figures.refresh import refresh as refresh_figures
    from indexer.service import Service, start_metrics_server

    conn = await connect(url)
    try:
        await migrate(conn)
        await sync_reference(conn, config)
    finally:
        await conn.close()
    start_metrics_server(config.service.metrics_port)
    # One connection per chain's ingest, one each for the refresh and the verify, one spare.
    size = config.database.pool_size or len(config.chains) + 3
    async with pool(url, size=size) as connections:
        service = Service(config, connections, refresh_figures if refresh else None)
        await service.run()
