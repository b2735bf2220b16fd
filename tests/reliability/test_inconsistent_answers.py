"""Answers that contradict each other: a node behind the load balancer, a reorg mid-range.

A provider's URL is a load balancer over many nodes, and the chain can change between two
requests of one range. Each test puts one endpoint (a proxy) in front of anvil that serves
``eth_getLogs`` from another view of the chain than the block headers, deterministically,
and checks that the ingestor following the head ends with exactly the canonical flows.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import asyncpg
import pytest

from indexer.chains.evm import EvmIngestor
from indexer.chains.rpc import RpcClient
from schemas.config import EvmChain
from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_evm_ingest import _stored, _traffic
from tests.faults.proxy import fault_proxy

pytestmark = pytest.mark.anvil

LAG = 6  # blocks the node answering eth_getLogs is behind the head (for two seconds)


def _ingestor(url: str, token: str) -> tuple[EvmIngestor, RpcClient]:
    config = EvmChain(kind="evm", rpc=[url], chain_id=137, finality=64, max_block_range=10)
    client = RpcClient("polygon", [url], backoff_base=0.01, backoff_cap=0.05)
    return EvmIngestor("polygon", config, [token], set(), client), client


def _is_get_logs(request: Any) -> bool:
    """A request that asks eth_getLogs, alone or inside a batch."""
    calls = request if isinstance(request, list) else [request]
    return any(isinstance(c, dict) and c.get("method") == "eth_getLogs" for c in calls)


def _pairs(request: Any, response: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(call, answer) pairs of a single or batch exchange, matched by id."""
    calls = request if isinstance(request, list) else [request]
    answers = response if isinstance(response, list) else [response]
    by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
    return [(c, by_id[c.get("id")]) for c in calls if isinstance(c, dict) and c.get("id") in by_id]


class LaggingNode:
    """The node a load balancer sends eth_getLogs to: ``lag`` blocks behind ``head`` until it
    catches up, ``catch_up_after`` seconds from now."""

    def __init__(self, head: int, lag: int = LAG, catch_up_after: float = 2.0) -> None:
        self.head = head
        self.lag = lag
        self.caught_up_at = time.monotonic() + catch_up_after

    def newest(self) -> int:
        return self.head - self.lag if time.monotonic() < self.caught_up_at else self.head

    def clamping(self, request: Any, response: Any) -> Any:
        """It answers the part of the range it has, as nodes that clamp ``toBlock`` to their head do;
        blocks it does not have yet are null (a batch goes to one node, so its headers lag too)."""
        if not _is_get_logs(request):
            return response
        newest = self.newest()
        for call, answer in _pairs(request, response):
            if call.get("method") == "eth_getLogs" and isinstance(answer.get("result"), list):
                answer["result"] = [e for e in answer["result"] if int(e["blockNumber"], 16) <= newest]
            elif call.get("method") == "eth_getBlockByNumber" and str(call["params"][0]).startswith("0x"):
                if int(call["params"][0], 16) > newest:
                    answer["result"] = None
        return response

    def refusing(self, request: Any, response: Any) -> Any:
        """It answers as the execution-apis spec asks: an error for a range beyond its head."""
        for call, answer in _pairs(request, response):
            if call.get("method") == "eth_getLogs" and int(call["params"][0]["toBlock"], 16) > self.newest():
                answer.pop("result", None)
                answer["error"] = {"code": -32602, "message": "block range extends beyond current head block"}
        return response


async def test_a_lagging_node_answering_get_logs_loses_no_flow(anvil: str, conn: asyncpg.Connection) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=2)
    with fault_proxy(anvil, rewrite=LaggingNode(s.head()).clamping) as (url, _seen):
        ingestor, client = _ingestor(url, token)
        try:
            for _ in range(3):  # the service's next ticks
                await ingestor.sync(conn, follow_head=True)
        finally:
            await client.close()
    assert await _stored(conn) == s.expected(), (
        f"transfers in the last {LAG} blocks, which the node answering eth_getLogs did not have yet, "
        "must be indexed once a node has them, not skipped"
    )


async def test_a_lagging_node_refusing_future_ranges_only_delays_the_sync(anvil: str, conn: asyncpg.Connection) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=2)
    failures: list[str] = []
    with fault_proxy(anvil, rewrite=LaggingNode(s.head()).refusing) as (url, _seen):
        ingestor, client = _ingestor(url, token)
        try:
            await ingestor.sync(conn, follow_head=True)
        except Exception as exc:  # what the service would log as "ingest failed"
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            await client.close()
    assert failures == [], "a node that is a few blocks behind is a reason to wait or go elsewhere, not to fail"


async def test_a_reorg_between_get_logs_and_the_headers_loses_no_flow(anvil: str, conn: asyncpg.Connection) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=1)
    ingestor, client = _ingestor(anvil, token)
    try:
        await ingestor.sync(conn, follow_head=True)  # indexed up to the fork point
    finally:
        await client.close()
    fork = s.head()
    snapshot = s.snapshot()
    s.mine(5)  # the old branch: five blocks without a transfer
    armed = threading.Event()
    armed.set()

    def reorg_after_get_logs(request: Any, response: Any) -> Any:
        # The old branch's answer leaves; before the headers are asked for, the chain
        # switches to a branch of the same length with a transfer in every block.
        logs = [c for c, _ in _pairs(request, response) if c.get("method") == "eth_getLogs"]
        if logs and int(logs[0]["params"][0]["toBlock"], 16) > fork and armed.is_set():
            armed.clear()
            s.revert(snapshot, forget_after=fork)
            for i in range(5):
                s.transfer(s.accounts[1], s.accounts[8], 7000 + i)
        return response

    with fault_proxy(anvil, rewrite=reorg_after_get_logs) as (url, _seen):
        ingestor, client = _ingestor(url, token)
        try:
            for _ in range(3):  # the service's next ticks
                await ingestor.sync(conn, follow_head=True)
        finally:
            await client.close()
    assert await _stored(conn) == s.expected(), "the five transfers of the canonical branch must be indexed"
