"""The EVM ingestor on a real anvil: exact flows, finality, reorgs, failover, range limits."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from indexer.chains.evm import ChainMismatch, EvmIngestor, ReorgTooDeep
from indexer.chains.rpc import RpcClient
from indexer.store.writer import read_cursor
from schemas.config import EvmChain
from tests.chains.evm_config import evm_config
from tests.chains.evm_scenario import JAN_2024, EvmScenario
from tests.faults.proxy import dead_endpoint, fault_proxy
from tests.processes import run_cli

pytestmark = pytest.mark.anvil


def _ingestor(urls: list[str], token: str, **overrides: object) -> tuple[EvmIngestor, RpcClient]:
    config = EvmChain(kind="evm", rpc=urls, chain_id=137, **overrides)  # type: ignore[arg-type]
    client = RpcClient("polygon", urls, backoff_base=0.01, backoff_cap=0.1)
    return EvmIngestor("polygon", config, [token], set(), client), client


async def _stored(conn: asyncpg.Connection) -> Counter[tuple[str, str | None, str | None, int]]:
    rows = await conn.fetch("select tx, src, dst, amount from core.flows where chain = 'polygon'")
    return Counter((r["tx"], r["src"], r["dst"], int(r["amount"])) for r in rows)


def _traffic(s: EvmScenario, rounds: int, seed: int = 0) -> None:
    """Customers pay an escrow, the escrow pays nodes, someone burns: months apart."""
    customers, escrow, nodes = s.accounts[1:4], s.accounts[4], s.accounts[5:10]
    s.mint(escrow, 10**26)  # the emissions the escrow pays nodes from
    for r in range(rounds):
        for c in customers:
            s.mint(c, 10**24 + r)
            s.transfer(c, escrow, 1234567891234567891 * (r + 1) + seed)
        s.batch_transfer(escrow, nodes, [10**18 * (i + 1) + r + seed for i in range(len(nodes))])
        s.burn(customers[0], 10**17 + seed)
        s.at(s.next_time + 20 * 86400)  # the next round lands weeks later


async def test_backfill_indexes_every_transfer_exactly_once(anvil: str, conn: asyncpg.Connection) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=4)
    s.mine(5)
    ingestor, client = _ingestor([anvil], token, finality=5, max_block_range=7)
    try:
        await ingestor.start()
        stats = await ingestor.sync(conn)
        assert await _stored(conn) == s.expected(), "flows differ from what was sent"
        assert stats.flows == len(s.sent)
        assert await read_cursor(conn, "polygon") == (s.head() - 5, None), "backfill stops at the final head"
        again = await ingestor.sync(conn)
        assert again.flows == 0 and await _stored(conn) == s.expected(), "a second run adds nothing"
    finally:
        await client.close()
    times = await conn.fetch("select distinct date_trunc('month', block_time at time zone 'UTC') m from core.flows")
    assert len(times) >= 3, "the traffic spans several months"
    first = await conn.fetchval("select min(block_time) from core.flows")
    assert first >= datetime.fromtimestamp(JAN_2024, UTC)


async def test_wrong_chain_id_is_refused(anvil: str) -> None:
    config = EvmChain(kind="evm", rpc=[anvil], chain_id=1)
    client = RpcClient("polygon", [anvil])
    try:
        with pytest.raises(ChainMismatch, match="chains.polygon.chain_id: is 1, but .* serves chain 137"):
            await EvmIngestor("polygon", config, ["0x" + "1" * 40], set(), client).start()
    finally:
        await client.close()


@pytest.mark.parametrize("depth", [1, 2, 7, 30])
async def test_reorg_of_depth_n_gives_the_canonical_chain(anvil: str, conn: asyncpg.Connection, depth: int) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=2)
    ingestor, client = _ingestor([anvil], token, finality=64, max_block_range=10)
    try:
        await ingestor.sync(conn, follow_head=True)
        fork = s.head()
        snap = s.snapshot()
        # The abandoned history: `depth` blocks of transfers the canonical chain won't have.
        for i in range(depth):
            s.transfer(s.accounts[1], s.accounts[9], 1000 + i)
        assert s.head() == fork + depth
        await ingestor.sync(conn, follow_head=True)
        assert await _stored(conn) == s.expected()
        s.revert(snap, forget_after=fork)
        # The canonical history: different transfers, one block longer.
        for i in range(depth + 1):
            s.transfer(s.accounts[2], s.accounts[8], 7000 + i)
        stats = await ingestor.sync(conn, follow_head=True)
        assert stats.reorgs == 1 and stats.rewound_flows == depth
        assert await _stored(conn) == s.expected(), "flows must equal the canonical chain exactly"
        stored = await conn.fetchval("select hash from core.blocks where chain = 'polygon' and number = $1", s.head())
        assert stored == s.w3.eth.get_block(s.head())["hash"].to_0x_hex()
        dirty = await conn.fetchval("select count(*) from core.dirty_days where chain = 'polygon'")
        assert dirty >= 1
    finally:
        await client.close()


async def test_reorg_deeper_than_the_window_stops_with_a_clear_error(anvil: str, conn: asyncpg.Connection) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=1)
    snap = s.snapshot()
    fork = s.head()
    for i in range(12):
        s.transfer(s.accounts[1], s.accounts[9], 1 + i)
    ingestor, client = _ingestor([anvil], token, finality=3, max_block_range=5)
    try:
        await ingestor.sync(conn, follow_head=True)
        s.revert(snap, forget_after=fork)
        s.mine(15)
        with pytest.raises(ReorgTooDeep, match="deeper than the stored window"):
            await ingestor.sync(conn, follow_head=True)
    finally:
        await client.close()


async def test_dead_endpoint_beside_a_live_one(anvil: str, conn: asyncpg.Connection) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=2)
    s.mine(3)
    ingestor, client = _ingestor([dead_endpoint(), anvil], token, finality=3, max_block_range=4)
    try:
        await ingestor.start()
        await ingestor.sync(conn)
    finally:
        await client.close()
    assert await _stored(conn) == s.expected()


async def test_range_shrinks_when_the_provider_refuses_and_grows_back(anvil: str, conn: asyncpg.Connection) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=3)
    s.mine(3)

    def too_wide(_n: int, body: object) -> str | None:
        # eth_getLogs travels in a batch with the range's headers.
        for call in body if isinstance(body, list) else [body]:
            if isinstance(call, dict) and call.get("method") == "eth_getLogs":
                query = call["params"][0]
                if int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1 > 6:
                    return "logs_too_large"
        return None

    with fault_proxy(anvil, too_wide) as (url, seen):
        ingestor, client = _ingestor([url], token, finality=3, max_block_range=64)
        try:
            await ingestor.sync(conn)
        finally:
            await client.close()
    assert seen.faults.get("logs_too_large", 0) >= 1
    assert await _stored(conn) == s.expected()
    assert ingestor.range.size <= 8, "settled on a range the provider accepts"


@pytest.mark.parametrize("fault", ["429", "503", "truncated", "reset", "wrong_shape"])
async def test_faulty_endpoint_gives_the_same_table(anvil: str, conn: asyncpg.Connection, fault: str) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=2)
    s.mine(3)
    with fault_proxy(anvil, lambda n, _b: fault if n % 4 == 1 else None, retry_after=0.05) as (url, seen):
        ingestor, client = _ingestor([url], token, finality=3, max_block_range=5)
        try:
            await ingestor.sync(conn)
        finally:
            await client.close()
    assert seen.faults.get(fault, 0) >= 2
    assert await _stored(conn) == s.expected()


def test_backfill_progress_shows_no_rate_before_it_can_be_measured(anvil: str, db_url: str, tmp_path: Path) -> None:
    """The first progress line comes after one range; a rate over those milliseconds once
    read "6,250,000,000,000 ev/s". Every rate shown must be one the machine can reach."""
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=2)
    s.mine(3)
    done = run_cli(evm_config(tmp_path, anvil, token, finality=2), db_url, tmp_path, "backfill")
    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stderr.splitlines() if "polygon: block " in line]
    assert progress, done.stderr
    rates = [float(m.group(1).replace(",", "")) for m in re.finditer(r"([\d,.]+) ev/s", done.stderr)]
    assert all(rate < 10_000_000 for rate in rates), progress
