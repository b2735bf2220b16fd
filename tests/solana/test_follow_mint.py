"""`follow = "mint"`: a Solana token's whole history, as far as its transactions name the mint.

Every transaction that lists the mint among its accounts (TransferChecked, MintTo(Checked),
Burn(Checked), account creation, Token-2022 alike) is stored with every flow of the mint in
it; a plain Transfer (tag 3) names only the two token accounts, so following the mint alone
cannot see it. The expected flows come from the ledger's own records: what the scenario
meant each transaction to move, and which transactions the ledger lists under each mint.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import asyncpg

from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.processes import run_cli
from tests.solana.cli_config import world_config
from tests.solana.scenario import World


def _named_by_mint(world: World) -> set[str]:
    """Successful transactions the ledger lists under one of the tracked mints."""
    found = set()
    for mint in (world.io, world.render, world.usdc, world.io22):
        for listed in world.ledger.listing(str(mint.address)):
            entry = world.ledger.entry(listed.signature)
            if entry is not None and entry.record["meta"]["err"] is None:
                found.add(listed.signature)
    return found


async def _stored(conn: asyncpg.Connection) -> Counter[tuple[str, str, str | None, str | None, int]]:
    rows = await conn.fetch("select tx, token, src, dst, amount from core.flows where chain = 'solana'")
    return Counter((r["tx"], r["token"], r["src"], r["dst"], int(r["amount"])) for r in rows)


async def test_following_the_mints_stores_every_flow_of_every_transaction_naming_them(
    world: World, server: SolanaRpcServer, db_url: str, tmp_path: Path
) -> None:
    named = _named_by_mint(world)
    expected = Counter((f.tx, f.token, f.src, f.dst, f.amount) for f in world.expected if f.tx in named)
    missed = [f for f in world.expected if f.tx not in named and f.token in world.tracked]
    assert expected and missed, "the scenario has both kinds of transfer"
    config = world_config(tmp_path, server.url, world, pages=50, batch=20, follow_mints=True)
    first = run_cli(config, db_url, tmp_path, "backfill")
    assert first.returncode == 0, first.stderr[-3000:]
    conn = await asyncpg.connect(db_url)
    try:
        stored = await _stored(conn)
        assert stored == expected, f"missing {expected - stored}, unexpected {stored - expected}"
        again = run_cli(config, db_url, tmp_path, "backfill")
        assert again.returncode == 0, again.stderr[-3000:]
        assert await _stored(conn) == expected, "a second run adds nothing"
        cursors = {r["source"] for r in await conn.fetch("select source from core.cursors where chain = 'solana'")}
    finally:
        await conn.close()
    assert {str(m.address) for m in (world.io, world.render, world.usdc, world.io22)} <= cursors
    share = len(missed) / (len(missed) + sum(expected.values()))
    print(f"[follow mint] {sum(expected.values())} flows stored, {len(missed)} by plain Transfer missed ({share:.0%})")
