"""``depin-indexer refresh``: sync labels from the config, recompute figures of dirty days."""

from __future__ import annotations

import argparse
import asyncio

import asyncpg

from indexer.errors import DatabaseError
from indexer.figures.reference import sync_reference
from indexer.figures.refresh import database_now, record_failure, refresh
from indexer.store.database import connect, database_url
from indexer.store.migrate import migrate
from schemas.config import Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("refresh", help="recompute rollups and analytics views for the days that changed")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    with database_url(config) as url:
        asyncio.run(_refresh(url, config))
    return 0


async def _refresh(url: str, config: Config) -> None:
    conn = await connect(url)
    try:
        await migrate(conn)
        started = await database_now(conn)
        try:
            changes = await sync_reference(conn, config)
            stats = await refresh(conn)
        except Exception as exc:
            # As the service does: analytics.freshness (and /readyz, the dashboard) say the
            # figures are behind, not only this process's stderr.
            if conn.is_closed():
                raise
            error = await record_failure(conn, exc, started)
            if isinstance(exc, asyncpg.PostgresError):
                raise DatabaseError(f"refresh failed: {error}") from exc
            raise
    finally:
        await conn.close()
    if changes.labels_changed or changes.tokens_changed or changes.assumptions_changed:
        print(
            f"reference data: {changes.tokens_changed} token(s), {changes.labels_changed} label(s) changed"
            f"{', assumptions changed' if changes.assumptions_changed else ''}; {changes.days_marked} day(s) marked"
        )
    print(
        f"refreshed {stats.chain_days} chain-day(s), {stats.days} day(s), {stats.months} month(s) "
        f"in {stats.seconds:.2f} s"
    )
