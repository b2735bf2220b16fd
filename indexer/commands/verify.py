"""``depin-indexer verify [--chain NAME] [--repair]``: reconcile the database with the chain."""

from __future__ import annotations

import argparse
import asyncio
import sys

from indexer.chains.registry import build_client, build_ingestor, chains_to_run
from indexer.store.database import connect, database_url
from schemas.config import Config


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "verify",
        help="check indexed flows against the chain (EVM balances, Solana signature lists and "
        "transactions); exit 1 on a mismatch",
    )
    p.add_argument("--chain", metavar="NAME", help="only this chain")
    p.add_argument("--repair", action="store_true", help="re-index the ranges found wrong, then check again")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    names = chains_to_run(config, args.chain)
    with database_url(config) as url:
        return asyncio.run(_verify(url, config, names, args.repair))


async def _verify(url: str, config: Config, names: list[str], repair: bool) -> int:
    from indexer.verify.runner import verify_chain

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    conn = await connect(url)
    bad = 0
    try:
        for name in names:
            client = build_client(name, config)
            try:
                ingestor = build_ingestor(name, config, client)
                verdict = await verify_chain(conn, config, ingestor, repair=repair, progress=progress)
            finally:
                await client.close()
            print("\n".join(verdict.lines))
            bad += verdict.mismatches
    finally:
        await conn.close()
    return 1 if bad else 0
