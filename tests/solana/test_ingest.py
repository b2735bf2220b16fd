"""The Solana ingestor against real SPL Token transactions (LiteSVM) served over JSON-RPC."""

from __future__ import annotations

from collections import Counter

import asyncpg

from indexer.chains.rpc import RpcClient
from indexer.chains.solana import SolanaIngestor
from indexer.localchains.solana_rpc import SolanaRpcServer
from schemas.config import LabelConfig, SolanaChain
from tests.solana.conftest import Rpc
from tests.solana.scenario import World


def _labels(world: World) -> list[LabelConfig]:
    render = str(world.render.address)
    return [
        LabelConfig(network="io.net", chain="solana", address=str(world.payments.pubkey()), role="revenue"),
        LabelConfig(network="io.net", chain="solana", address=str(world.distributor.pubkey()), role="rewards"),
        LabelConfig(network="render", chain="solana", address=render, role="burn_revenue"),
        LabelConfig(network="render", chain="solana", address=render, role="mint_rewards"),
        LabelConfig(network="render", chain="solana", address=str(world.emissions.pubkey()), role="rewards"),
    ]


def _tracked_addresses(world: World, rpc: Rpc) -> list[str]:
    """Labelled wallets, their token accounts of tracked mints, and the labelled mint."""
    wallets = [str(world.payments.pubkey()), str(world.distributor.pubkey()), str(world.emissions.pubkey())]
    found = list(wallets) + [str(world.render.address)]
    for wallet in wallets:
        for program in ("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"):
            answer = rpc.call("getTokenAccountsByOwner", [wallet, {"programId": program}, {"encoding": "jsonParsed"}])
            found += [
                a["pubkey"] for a in answer["value"] if a["account"]["data"]["parsed"]["info"]["mint"] in world.tracked
            ]
    return found


async def _stored(conn: asyncpg.Connection) -> Counter[tuple[str, str, str | None, str | None, int]]:
    rows = await conn.fetch("select tx, token, src, dst, amount from core.flows where chain = 'solana'")
    return Counter((r["tx"], r["token"], r["src"], r["dst"], int(r["amount"])) for r in rows)


async def test_backfill_stores_every_flow_of_every_transaction_touching_a_tracked_address(
    world: World, server: SolanaRpcServer, rpc: Rpc, conn: asyncpg.Connection
) -> None:
    reached = {
        entry["signature"]
        for address in _tracked_addresses(world, rpc)
        for entry in rpc.all_signatures(address)
        if entry["err"] is None
    }
    expected = Counter((f.tx, f.token, f.src, f.dst, f.amount) for f in world.expected if f.tx in reached)
    assert expected, "the scenario reaches the labelled addresses"
    config = SolanaChain(kind="solana", rpc=[server.url], transactions_per_request=50)
    client = RpcClient("solana", [server.url])
    try:
        ingestor = SolanaIngestor("solana", config, sorted(world.tracked), _labels(world), client)
        await ingestor.start()
        stats = await ingestor.sync(conn)
        assert await _stored(conn) == expected, "flows differ from what the scenario made"
        assert stats.flows_new == sum(expected.values())
        again = await ingestor.sync(conn)
        assert again.flows_new == 0 and await _stored(conn) == expected, "a second run adds nothing"
        cursor = await conn.fetchval("select block from core.cursors where chain = 'solana' and source = ''")
        assert cursor is not None
    finally:
        await client.close()
