"""``depin-indexer verify [--chain NAME] [--repair]``: reconcile the database with the chain."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from indexer.chains.registry import build_client, build_ingestor
from indexer.commands.backfill import chains_to_run
from indexer.store.database import connect, database_url
from schemas.config import Config, EvmChain

if TYPE_CHECKING:
    import asyncpg

    from indexer.chains.evm import EvmIngestor
    from indexer.chains.solana import SolanaIngestor


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
    conn = await connect(url)
    bad = 0
    try:
        for name in names:
            client = build_client(name, config)
            try:
                ingestor = build_ingestor(name, config, client)
                if isinstance(config.chains[name], EvmChain):
                    bad += await _verify_evm(conn, name, config, ingestor, repair)  # type: ignore[arg-type]
                else:
                    bad += await _verify_solana(conn, name, ingestor, repair)  # type: ignore[arg-type]
            finally:
                await client.close()
    finally:
        await conn.close()
    return 1 if bad else 0


async def _verify_evm(conn: asyncpg.Connection, name: str, config: Config, ingestor: EvmIngestor, repair: bool) -> int:
    from indexer.verify import EvmVerifier

    labelled = [
        label.address for label in config.labels if label.chain == name and label.role in ("revenue", "rewards")
    ]
    verifier = EvmVerifier(ingestor, labelled)
    span = await verifier.span(conn)
    if span is None:
        print(f"{name}: nothing indexed yet")
        return 0
    gaps = await verifier.check(conn, *span)
    if gaps and repair:
        written = await verifier.repair(conn, gaps)
        print(f"{name}: repaired {len(gaps)} gap(s), {written} flow(s) written")
        gaps = await verifier.check(conn, *span)
    for gap in gaps:
        print(f"MISMATCH {gap}")
    if not gaps:
        print(
            f"{name}: ok ({len(verifier.addresses)} address(es) x {len(ingestor.tokens)} token(s), "
            f"blocks {span[0] + 1}-{span[1]})"
        )
    return len(gaps)


async def _verify_solana(conn: asyncpg.Connection, name: str, ingestor: SolanaIngestor, repair: bool) -> int:
    from indexer.verify import SolanaVerifier

    verifier = SolanaVerifier(ingestor)
    horizon = await verifier.horizon(conn)
    if horizon is None:
        print(f"{name}: nothing indexed yet")
        return 0

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    mismatches = await verifier.check(conn, horizon, progress)
    if mismatches and repair:
        written = await verifier.repair(conn, mismatches)
        print(f"{name}: repaired {len(mismatches)} transaction(s), {written} flow(s) written")
        mismatches = await verifier.check(conn, horizon, progress)
    for mismatch in mismatches:
        print(f"MISMATCH {mismatch}")
    if not mismatches:
        print(
            f"{name}: ok ({verifier.addresses} address(es), {verifier.transactions:,} transaction(s) "
            f"re-decoded, up to slot {horizon})"
        )
    return len(mismatches)
