"""Cosmos SDK chains over CometBFT JSON-RPC: every bank movement of the configured denoms.

One :class:`CosmosIngestor` per configured chain. ``sync`` reads the head from ``status``,
then walks heights from the stored cursor: each height is one ``block`` (transaction bytes,
whose sha256 is the transaction's id, and the block time) and one ``block_results`` (the
events), fetched in JSON-RPC batches of ``heights_per_request`` heights, up to
``max_concurrency`` batches at once. Each window of heights is one atomic write (flows +
cursor), so a crash anywhere leaves whole heights or nothing.

CometBFT has instant finality: no reorgs, the head is final. A height the endpoint does not
have yet ("height N must be less than or equal to the current blockchain height M", from a
node behind the others or a ``status`` that ran ahead of its results) is waited for, never
taken for an empty height.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from indexer.chains.rpc import EndpointsExhausted, RpcClient, RpcError
from indexer.chains.stats import SyncStats
from indexer.decode.columns import FlowColumns
from indexer.decode.cosmos import CosmosDecoder
from indexer.errors import DepinError
from indexer.retry import Backoff
from indexer.store.writer import Checkpoint, read_cursor, write_batch
from schemas.config import CosmosChain

log = logging.getLogger(__name__)
_NOT_YET_BACKOFF = Backoff(0.2, 5.0)
_NOT_YET_PHRASES = ("must be less than or equal to the current blockchain height", "could not find results for height")


class HeightNotYetAvailable(DepinError):
    """The endpoint has not got a height the head said exists yet; waited for and retried."""


def _not_yet(error: RpcError) -> bool:
    text = f"{error.message} {error.data or ''}".lower()
    return any(p in text for p in _NOT_YET_PHRASES)


class CosmosSource:
    """The CometBFT calls one Cosmos ingestor needs, each validated by the RPC client."""

    def __init__(self, name: str, client: RpcClient) -> None:
        self.name = name
        self.client = client

    async def status(self) -> tuple[int, str]:
        """(latest height, network id) of an endpoint."""
        answer = await self.client.call("status")
        return int(answer["sync_info"]["latest_block_height"]), str(answer["node_info"].get("network", ""))

    async def heights(self, numbers: Sequence[int]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(``block``, ``block_results``) of each height, in one batch (one node's view)."""
        calls: list[tuple[str, list[Any]]] = []
        for n in numbers:
            calls += [("block", [str(n)]), ("block_results", [str(n)])]
        answers = await self.client.batch(calls)
        out = []
        for i, n in enumerate(numbers):
            block, results = answers[2 * i], answers[2 * i + 1]
            for answer in (block, results):
                if isinstance(answer, RpcError):
                    if _not_yet(answer):
                        raise HeightNotYetAvailable(f"{self.name}: height {n} is not available yet: {answer.message}")
                    raise answer
            out.append((block, results))
        return out


class CosmosIngestor:
    """Indexes one Cosmos chain's bank movements of the configured denoms into Postgres."""

    def __init__(self, name: str, config: CosmosChain, denoms: Sequence[str], client: RpcClient) -> None:
        self.name = name
        self.config = config
        self.tokens = sorted(set(denoms))
        self.source = CosmosSource(name, client)
        self.decoder = CosmosDecoder(name, {d: d for d in denoms}, config.bech32_prefix)
        self.max_not_yet_retries = 30

    async def start(self) -> None:
        """Start-up check: an endpoint answers ``status``; logs the network it serves."""
        head, network = await self.source.status()
        # Debug, not info: the EVM and Solana start-up checks are silent too (and the
        # demo's summary is not interleaved with log lines).
        log.debug("%s: CometBFT network %s at height %d", self.name, network or "?", head)

    async def sync(
        self,
        conn: asyncpg.Connection,
        *,
        follow_head: bool = False,
        to_block: int | None = None,
        progress: Callable[[int, int, int], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> SyncStats:
        """Index from the cursor up to the head (final on CometBFT; ``follow_head`` alike).

        ``progress(done_height, target_height, flows)`` after each committed window;
        ``should_stop`` is polled between windows.
        """
        stats = SyncStats()
        started = time.monotonic()
        head, _network = await self.source.status()
        stats.head = stats.final_head = head
        target = head if to_block is None else min(head, to_block)
        cursor = await read_cursor(conn, self.name)
        next_height = self.config.start_height if cursor is None else cursor[0] + 1
        window = self.config.heights_per_request * self.config.max_concurrency
        pending = self._fetch_soon(next_height, target, window)
        try:
            while pending is not None and not should_stop():
                lo, hi, task = pending
                flows = await task
                # The next window is fetched while this one is written.
                pending = self._fetch_soon(hi + 1, target, window)
                result = await write_batch(conn, flows, [Checkpoint(self.name, hi)])
                stats.blocks += hi - lo + 1
                stats.flows += len(flows)
                stats.flows_new += result.flows_inserted
                next_height = hi + 1
                if progress is not None:
                    progress(hi, target, stats.flows)
        finally:
            if pending is not None:
                pending[2].cancel()  # a window fetched ahead is never written half
        stats.seconds = time.monotonic() - started
        stats.indexed_to = next_height - 1
        return stats

    def _fetch_soon(self, lo: int, target: int, window: int) -> tuple[int, int, asyncio.Task[FlowColumns]] | None:
        if lo > target:
            return None
        hi = min(target, lo + window - 1)
        return lo, hi, asyncio.ensure_future(self.fetch_range(lo, hi))

    async def fetch_range(self, lo: int, hi: int) -> FlowColumns:
        """Every flow of heights ``lo..hi`` as indexing stores it (verify --repair uses it too)."""
        step = self.config.heights_per_request
        parts = [list(range(start, min(hi, start + step - 1) + 1)) for start in range(lo, hi + 1, step)]
        answers = await asyncio.gather(*(self._heights_waiting(part) for part in parts))
        flows = FlowColumns(self.name)
        for part in answers:
            self.decoder.decode(part, flows)
        return flows

    async def _heights_waiting(self, numbers: Sequence[int]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Heights ``numbers``; one the endpoints do not have yet is waited for."""
        attempt = 0
        while True:
            try:
                return await self.source.heights(numbers)
            except (HeightNotYetAvailable, EndpointsExhausted) as exc:
                attempt += 1
                if attempt > self.max_not_yet_retries or not await self._behind(numbers[-1], exc):
                    raise
                log.info("%s: %s; waiting", self.name, exc)
                await self.source.client.sleep(_NOT_YET_BACKOFF.delay(attempt))

    async def _behind(self, height: int, exc: Exception) -> bool:
        """Whether ``exc`` is an endpoint not at ``height`` yet (worth waiting for)."""
        if isinstance(exc, HeightNotYetAvailable) or any(p in str(exc).lower() for p in _NOT_YET_PHRASES):
            return True
        # Every endpoint failed: worth waiting only if they now say the height is ahead.
        try:
            head, _network = await self.source.status()
        except (RpcError, EndpointsExhausted):
            return False
        return head < height
