"""Chaos: `depin-indexer backfill` through a faulty provider, SIGKILLed again and again.

A fault-injecting proxy stands in front of the chain (anvil, or the LiteSVM-backed Solana
server) and spoils one request in ten with what hosted providers really answer: 429 with
Retry-After, 500/502/503, JSON-RPC -32603 for a whole request, a truncated body, a valid
JSON-RPC answer whose result has the wrong shape, a dropped connection, a 3 s stall, and
(EVM) -32005 "more than 10000 results" naming the range to use instead. Through it, the
real CLI process is SIGKILLed at random moments twelve times and restarted; the last run
must end on its own with exit 0, and the stored history must equal the chain's exactly:
every column of every flow, nothing twice.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.chains.evm_config import evm_config
from tests.chains.evm_oracle import chain_flows, differences, stored_flows
from tests.chains.evm_scenario import EvmScenario
from tests.faults.proxy import fault_proxy
from tests.processes import kill_at_random_points, run_cli, start_cli
from tests.reliability.test_fault_soak import FaultPlan
from tests.solana.cli_config import world_config
from tests.solana.conftest import Rpc
from tests.solana.scenario import World
from tests.solana.test_ingest import _stored as solana_stored
from tests.solana.test_ingest import _tracked_addresses

pytestmark = pytest.mark.slow

SEED = 20261201
KILLS = 12
COMMON = ("429", "500", "502", "503", "internal_error", "truncated", "wrong_result", "reset", "stall")
EVM_KINDS = (*COMMON, "logs_too_large")
UNIQUE = "select count(*) = count(distinct (chain, tx, idx)) from core.flows"


def _evm_config(tmp: Path, url: str, token: str) -> Path:
    return evm_config(tmp, url, token, finality=2, max_block_range=2)


async def _kill_then_finish(config: Path, db_url: str, tmp: Path, progress: str, seed: int) -> int:
    """SIGKILL ``backfill`` at random points, then run it to the end (exit 0). Returns kills."""
    conn = await asyncpg.connect(db_url)
    try:
        kills = await kill_at_random_points(
            lambda: start_cli(config, db_url, tmp, "backfill"),
            conn,
            progress,
            random.Random(seed),
            tries=KILLS,
            window=0.1,
        )
    finally:
        await conn.close()
    final = run_cli(config, db_url, tmp, "backfill", timeout=300)
    assert final.returncode == 0, f"the last backfill must end with exit 0:\n{final.stderr[-3000:]}"
    return kills


@pytest.mark.anvil
async def test_evm_backfill_through_faults_and_kills_stores_the_chain_exactly(
    anvil: str, db_url: str, tmp_path: Path
) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    customers, escrow = s.accounts[1:4], s.accounts[4]
    s.mint(escrow, 10**26)
    for r in range(120):
        for c in customers:
            s.transfer(escrow, c, 1234567891234567891 + r)
        s.batch_transfer(escrow, s.accounts[5:10], [10**18 + r] * 5)
    s.mine(3)
    plan = FaultPlan(SEED, kinds=EVM_KINDS)
    with fault_proxy(anvil, plan, retry_after=0.2, timeout_seconds=1.0, suggest_range=True) as (url, proxy_log):
        kills = await _kill_then_finish(
            _evm_config(tmp_path, url, token),
            db_url,
            tmp_path,
            "select block from core.cursors where chain = 'polygon' and source = ''",
            SEED,
        )
    conn = await asyncpg.connect(db_url)
    try:
        got, unique = await stored_flows(conn), await conn.fetchval(UNIQUE)
    finally:
        await conn.close()
    expected = chain_flows(s.w3, token)
    print(
        f"\n[chaos evm] {kills} kills; {proxy_log.requests} requests, {sum(proxy_log.faults.values())} faults "
        f"{dict(sorted(proxy_log.faults.items()))}; {sum(got.values())} flows, "
        f"sum {sum(f[4] * n for f, n in got.items())}"
    )
    assert kills >= KILLS, f"only {kills} of {KILLS} kills landed before a run finished"
    assert set(proxy_log.faults) == set(EVM_KINDS), f"every fault kind must occur: {proxy_log.faults}"
    assert unique, "a (chain, tx, idx) is stored twice"
    assert got == expected, "core.flows must equal the chain's transfers, every column: " + differences(expected, got)


async def test_solana_backfill_through_faults_and_kills_stores_the_history_exactly(
    world: World, server: SolanaRpcServer, rpc: Rpc, db_url: str, tmp_path: Path
) -> None:
    reached = {
        entry["signature"]
        for address in _tracked_addresses(world, rpc)
        for entry in rpc.all_signatures(address)
        if entry["err"] is None
    }
    expected = Counter((f.tx, f.token, f.src, f.dst, f.amount) for f in world.expected if f.tx in reached)
    plan = FaultPlan(SEED + 1, kinds=COMMON)
    with fault_proxy(server.url, plan, retry_after=0.2, timeout_seconds=1.0) as (url, proxy_log):
        kills = await _kill_then_finish(
            world_config(tmp_path, url, world, pages=4, batch=2),
            db_url,
            tmp_path,
            "select count(*)::text || coalesce(max(updated_at)::text, '') from core.cursors where chain = 'solana'",
            SEED + 1,
        )
    conn = await asyncpg.connect(db_url)
    try:
        got, unique = await solana_stored(conn), await conn.fetchval(UNIQUE)
    finally:
        await conn.close()
    print(
        f"\n[chaos solana] {kills} kills; {proxy_log.requests} requests, {sum(proxy_log.faults.values())} faults "
        f"{dict(sorted(proxy_log.faults.items()))}; {sum(got.values())} flows, "
        f"sum {sum(f[4] * n for f, n in got.items())}"
    )
    assert kills >= KILLS, f"only {kills} of {KILLS} kills landed before a run finished"
    assert set(proxy_log.faults) == set(COMMON), f"every fault kind must occur: {proxy_log.faults}"
    assert unique, "a (chain, tx, idx) is stored twice"
    assert got == expected, (
        f"core.flows must equal the ledger's flows: {sum((expected - got).values())} missing, "
        f"{sum((got - expected).values())} extra"
    )
