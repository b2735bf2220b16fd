"""Range hints: an eth_getLogs refusal that names what would work is taken at its word.

A provider capping results (Infura, Alchemy: "query returned more than 10000 results. Try
with this block range [a, b].") costs one refused request when the ingestor uses the range
it names and sizes the following ones by the density it sees; halving blindly costs one
refusal per halving, and growing back blindly costs one more every few ranges.
"""

from __future__ import annotations

from collections import Counter

import asyncpg
import pytest

from indexer.chains import getlogs_limits
from indexer.chains.evm import FIRST_RANGE, AdaptiveRange, EvmIngestor
from indexer.chains.rpc import RpcClient
from schemas.config import EvmChain
from tests.chains.evm_scenario import EvmScenario
from tests.faults.proxy import fault_proxy

INFURA = "query returned more than 10000 results. Try with this block range [0x2dc6c0, 0x2dc787]."


def test_a_result_cap_is_told_from_a_block_range_cap() -> None:
    assert getlogs_limits.result_cap(INFURA) == 10_000
    assert getlogs_limits.suggested_blocks(INFURA, 0x2DC6C0) == 200
    assert getlogs_limits.result_cap("Log response size exceeded. Cap of 10,000 logs in the response") == 10_000
    assert getlogs_limits.result_cap("block range is too wide (maximum 2000)") is None
    assert getlogs_limits.suggested_blocks("block range is too wide (maximum 2000)", 5) == 2000


def test_the_first_range_is_small_whatever_max_block_range_says() -> None:
    assert AdaptiveRange(1_000_000).size == FIRST_RANGE, "a dense chain must not start with a million-log answer"
    assert AdaptiveRange(7).size == 7


def test_ranges_are_sized_by_events() -> None:
    blocks = AdaptiveRange(100_000, events=10_000)
    blocks.succeeded(100, 100)  # 1 log a block: grows, at most doubling
    assert blocks.size == 200
    blocks.succeeded(200, 20_000)  # 100 a block: 100 blocks hold 10,000 logs
    assert blocks.size == 100


def test_a_suggested_result_range_is_kept_not_regrown_into_refusals() -> None:
    blocks = AdaptiveRange(2000)
    blocks.succeeded(100, 0)
    blocks.succeeded(200, 0)  # empty blocks first: 400 blocks asked, refused, 200 named
    blocks.provider_limit(200, getlogs_limits.result_cap(INFURA))
    assert blocks.size == 200
    for _ in range(10):
        blocks.succeeded(200, 10_000)  # 50 a block, as dense as before
        assert blocks.size == 200, "growing past the range the provider named only earns another refusal"
    blocks.succeeded(200, 100)  # sparse now: the cap is on results, so the range may grow
    assert blocks.size == 400


def test_a_block_range_limit_is_a_ceiling() -> None:
    blocks = AdaptiveRange(10_000)
    blocks.provider_limit(500, None)  # "limited to a 500 block range"
    for _ in range(5):
        blocks.succeeded(blocks.size, 0)
    assert blocks.size == 500


@pytest.mark.anvil
async def test_a_provider_capping_results_refuses_once_and_every_transfer_is_stored(
    anvil: str, conn: asyncpg.Connection
) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    escrow, nodes = s.accounts[4], s.accounts[5:10]
    s.mint(escrow, 10**26)
    for r in range(40):  # 40 blocks of 5 transfers each
        s.batch_transfer(escrow, nodes, [10**18 * (i + 1) + r for i in range(len(nodes))])
    s.mine(3)
    # 12 results at most: 2 of these blocks per request. Halving from 64 blocks would be
    # refused 5 times before reaching 2, and growing back blindly about every 4th range.
    with fault_proxy(anvil, result_cap=12) as (url, seen):
        config = EvmChain(kind="evm", rpc=[url], chain_id=137, finality=3, max_block_range=64)
        client = RpcClient("polygon", [url], backoff_base=0.01, backoff_cap=0.1)
        ingestor = EvmIngestor("polygon", config, [token], set(), client)
        try:
            await ingestor.sync(conn)
        finally:
            await client.close()
    rows = await conn.fetch("select tx, src, dst, amount from core.flows where chain = 'polygon'")
    stored = Counter((r["tx"], r["src"], r["dst"], int(r["amount"])) for r in rows)
    assert stored == s.expected(), "every transfer stored exactly once"
    refused = seen.faults.get("result_cap", 0)
    assert 1 <= refused <= 2, f"the provider's range must be used, not found by halving: {refused} refusals"
