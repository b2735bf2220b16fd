"""``depin-indexer migrate``: bring the database schema up to date (idempotent)."""

from __future__ import annotations

import argparse
import asyncio

from indexer.store.database import connect, database_url
from indexer.store.migrate import migrate
from schemas.config import Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("migrate", help="apply database migrations (safe to repeat)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    with database_url(config) as url:
        applied = asyncio.run(_migrate(url))
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("database is up to date")
    return 0


async def _migrate(url: str) -> list[str]:
    conn = await connect(url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
