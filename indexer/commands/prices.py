"""``depin-indexer prices import FILE.csv``: daily USD prices (columns day,symbol,usd)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from indexer.figures.prices import import_prices, parse_prices
from indexer.store.database import connect, database_url
from indexer.store.migrate import migrate
from schemas.config import Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("prices", help="import daily USD prices")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="import FILE.csv with columns day,symbol,usd (all or nothing)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    rows = parse_prices(args.file)  # validated before touching the database
    with database_url(config) as url:
        count = asyncio.run(_import(url, rows))
    print(f"imported {count} price(s) from {args.file}; run 'depin-indexer refresh' to update the figures")
    return 0


async def _import(url: str, rows: list) -> int:  # type: ignore[type-arg]
    conn = await connect(url)
    try:
        await migrate(conn)
        return await import_prices(conn, rows)
    finally:
        await conn.close()
