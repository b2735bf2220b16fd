"""``depin-indexer verify [--chain NAME] [--repair]``: reconcile the database with the chain."""

from __future__ import annotations

import argparse
import asyncio
import sys

from indexer.chains.evm import EvmIngestor
from indexer.chains.registry import build_client, build_ingestor
from indexer.commands.backfill import chains_to_run
from indexer.store.database import connect, database_url
from schemas.config import Config, EvmChain


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("verify", help="check indexed flows against on-chain balances; exit 1 on a mismatch")
    p.add_argument("--chain", metavar="NAME", help="only this chain")
    p.add_argument("--repair", action="store_true", help="re-index the ranges found wrong, then check again")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, config: Config) -> int:
    names = chains_to_run(config, args.chain)
    with database_url(config) as url:
        return asyncio.run(_verify(url, config, names, args.repair))


async def _verify(url: str, config: Config, names: list[str], repair: bool) -> int:
    from indexer.verify import EvmVerifier

    conn = await connect(url)
    bad = 0
    try:
        for name in names:
            chain = config.chains[name]
            if not isinstance(chain, EvmChain):
                print(f"{name}: verify covers EVM chains in this version; skipped", file=sys.stderr)
                continue
            client = build_client(name, config)
            try:
                ingestor = build_ingestor(name, config, client)
                assert isinstance(ingestor, EvmIngestor)
                labelled = [
                    label.address
                    for label in config.labels
                    if label.chain == name and label.role in ("revenue", "rewards")
                ]
                verifier = EvmVerifier(ingestor, labelled)
                span = await verifier.span(conn)
                if span is None:
                    print(f"{name}: nothing indexed yet")
                    continue
                gaps = await verifier.check(conn, *span)
                if gaps and repair:
                    written = await verifier.repair(conn, gaps)
                    print(f"{name}: repaired {len(gaps)} gap(s), {written} flow(s) written")
                    gaps = await verifier.check(conn, *span)
                for gap in gaps:
                    print(f"MISMATCH {gap}")
                bad += len(gaps)
                if not gaps:
                    print(
                        f"{name}: ok ({len(verifier.addresses)} address(es) x {len(ingestor.tokens)} token(s), "
                        f"blocks {span[0] + 1}-{span[1]})"
                    )
            finally:
                await client.close()
    finally:
        await conn.close()
    return 1 if bad else 0
