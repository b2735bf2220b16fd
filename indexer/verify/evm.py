"""EVM reconciliation: balances between two blocks against the indexed flows.

EVM: for every labelled address and token, the on-chain balance change between two
blocks (``balanceOf`` at each block through ``eth_call``) must equal the sum of indexed
flows in between (inflows minus outflows). A mismatch is narrowed down by bisection to
the smallest ranges that disagree, reported as gaps, and ``--repair`` re-indexes them.
Native-coin balances also move with gas fees and internal calls, which flows do not
record, so native tokens are not reconciled this way (docs/methodology.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from indexer.chains.evm import EvmIngestor
from indexer.chains.rpc import RpcError
from indexer.decode.columns import FlowColumns
from indexer.store.sqlfiles import queries
from indexer.store.writer import read_cursor, replace_range

log = logging.getLogger(__name__)
_SQL = queries("verify")

_BALANCE_OF = "0x70a08231"  # balanceOf(address)


@dataclass(frozen=True)
class Gap:
    """A block range where the chain and the database disagree for one address and token."""

    chain: str
    token: str
    address: str
    first_block: int
    last_block: int
    on_chain: int
    indexed: int

    def __str__(self) -> str:
        return (
            f"{self.chain} {self.token} {self.address}: blocks {self.first_block}-{self.last_block}: "
            f"balance changed by {self.on_chain} on chain, {self.indexed} in indexed flows "
            f"(difference {self.on_chain - self.indexed})"
        )


class EvmVerifier:
    """Balance reconciliation for one EVM chain, over the ingestor's RPC client."""

    def __init__(self, ingestor: EvmIngestor, addresses: Sequence[str], min_range: int = 1) -> None:
        self.ingestor = ingestor
        self.chain = ingestor.name
        self.addresses = sorted({a.lower() for a in addresses})
        self.min_range = min_range

    async def balance(self, token: str, address: str, block: int) -> int:
        if block < 0:
            return 0
        data = _BALANCE_OF + address[2:].rjust(64, "0")
        try:
            answer = await self.ingestor.source.client.call("eth_call", [{"to": token, "data": data}, hex(block)])
        except RpcError as exc:
            raise RpcError(
                exc.endpoint,
                "eth_call",
                exc.code,
                f"balanceOf({address}) of {token} at block {block}: {exc.message} (verify needs an archive endpoint)",
            ) from None
        if not isinstance(answer, str) or not answer.startswith("0x"):
            raise RpcError("", "eth_call", None, f"balanceOf({address}) of {token} at {block} answered {answer!r}")
        return int(answer, 16) if len(answer) > 2 else 0

    async def indexed(self, conn: asyncpg.Connection, token: str, address: str, lo: int, hi: int) -> int:
        """Net indexed flow into ``address`` in blocks lo+1..hi."""
        value = await conn.fetchval(
            _SQL["net_flow"],
            self.chain,
            token,
            address,
            lo,
            hi,
        )
        return int(value)

    async def check(self, conn: asyncpg.Connection, lo: int, hi: int) -> list[Gap]:
        """Gaps between blocks ``lo`` (exclusive) and ``hi`` (inclusive), for every pair."""
        gaps: list[Gap] = []
        for token in self.ingestor.tokens:
            for address in self.addresses:
                gaps += await self._bisect(conn, token, address, lo, hi, None)
        return gaps

    async def _bisect(
        self, conn: asyncpg.Connection, token: str, address: str, lo: int, hi: int, chain_delta: int | None
    ) -> list[Gap]:
        if chain_delta is None:
            chain_delta = await self.balance(token, address, hi) - await self.balance(token, address, lo)
        db_delta = await self.indexed(conn, token, address, lo, hi)
        if chain_delta == db_delta:
            return []
        if hi - lo <= self.min_range:
            return [Gap(self.chain, token, address, lo + 1, hi, chain_delta, db_delta)]
        mid = (lo + hi) // 2
        left = await self.balance(token, address, mid) - await self.balance(token, address, lo)
        return await self._bisect(conn, token, address, lo, mid, left) + await self._bisect(
            conn, token, address, mid, hi, chain_delta - left
        )

    async def repair(self, conn: asyncpg.Connection, gaps: Sequence[Gap]) -> int:
        """Re-index the block ranges of ``gaps`` (merged); returns flows written."""
        ranges = sorted({(g.first_block, g.last_block) for g in gaps})
        merged: list[list[int]] = []
        for first, last in ranges:
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        written = 0
        for first, last in merged:
            deleted, inserted = await self._replace(conn, first, last)
            log.info(
                "%s: re-indexed blocks %d-%d: %d flows removed, %d written", self.chain, first, last, deleted, inserted
            )
            written += inserted
        return written

    async def _replace(self, conn: asyncpg.Connection, first: int, last: int) -> tuple[int, int]:
        """Replace the stored flows of blocks first..last by what indexing them now gives:
        every flow the ingestor stores (native-coin ones too), fetched the same way."""
        flows = FlowColumns(self.chain)
        lo = first
        while lo <= last:
            part, done, _headers = await self.ingestor.fetch_range(lo, last, last)
            flows.extend(part)
            lo = done + 1
        bounds = {n: t for n, _h, _p, t in await self.ingestor.source.headers(sorted({first, last}))}
        return await replace_range(conn, flows, (first, last), (bounds[first], bounds[last]))

    async def span(self, conn: asyncpg.Connection) -> tuple[int, int] | None:
        """(start_block - 1, cursor) — the range the database claims to cover — or None."""
        cursor = await read_cursor(conn, self.chain)
        if cursor is None:
            return None
        return self.ingestor.config.start_block - 1, cursor[0]
