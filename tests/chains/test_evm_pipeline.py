"""Fetching ahead: a reorg that lands while later ranges are fetched discards them.

The EVM ingestor fetches and decodes the next ranges while it writes one. Here the chain
is rewritten (anvil reverted to a snapshot, a different history mined to the same height)
at the moment the ingestor asks for a range well above the fork point: the ranges already
fetched from the old fork, written or queued, must all be undone or dropped, and the table
must end exactly as the new fork says.
"""

from __future__ import annotations

import threading
from typing import Any

import asyncpg
import pytest

from indexer.chains.evm import EvmIngestor
from indexer.chains.rpc import RpcClient
from schemas.config import EvmChain
from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_evm_ingest import _stored
from tests.faults.proxy import fault_proxy

pytestmark = pytest.mark.anvil


def _logs_from(body: Any) -> list[int]:
    calls = body if isinstance(body, list) else [body]
    return [
        int(c["params"][0]["fromBlock"], 16) for c in calls if isinstance(c, dict) and c.get("method") == "eth_getLogs"
    ]


async def test_a_reorg_while_ranges_are_fetched_ahead_leaves_only_the_new_fork(
    anvil: str, conn: asyncpg.Connection
) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    escrow, nodes = s.accounts[4], s.accounts[5:10]
    s.mint(escrow, 10**26)
    fork_at = s.head()
    snapshot = s.snapshot()
    for r in range(24):  # the old fork: 24 blocks of one transfer each
        s.transfer(escrow, nodes[r % 5], 10**18 + r)
    head = s.head()
    rewritten = threading.Event()

    def rewrite_when_far_ahead(_n: int, body: Any) -> None:
        # Ranges of 4 blocks: by the time fork_at + 13 is asked for, ranges from the old
        # fork have been fetched ahead of (and some written before) this moment.
        if not rewritten.is_set() and any(lo > fork_at + 12 for lo in _logs_from(body)):
            rewritten.set()
            s.revert(snapshot, fork_at)
            for r in range(head - fork_at):  # the new fork, as high as the old one
                s.transfer(escrow, nodes[(r + 2) % 5], 7 * 10**18 + r)

    with fault_proxy(anvil, rewrite_when_far_ahead) as (url, _seen):
        config = EvmChain(kind="evm", rpc=[url], chain_id=137, finality=64, max_block_range=4)
        client = RpcClient("polygon", [url], backoff_base=0.01, backoff_cap=0.1)
        ingestor = EvmIngestor("polygon", config, [token], set(), client)
        try:
            stats = await ingestor.sync(conn, follow_head=True)
        finally:
            await client.close()
    assert rewritten.is_set(), "the chain was rewritten while the ingestor was part-way"
    assert s.head() == head
    assert stats.reorgs >= 1, "the ingestor saw the reorg"
    assert await _stored(conn) == s.expected(), "exactly the new fork's transfers, nothing of the old one"
