"""Solana reconciliation: signature lists and re-decoded transactions against stored flows.

For every address the ingestor follows, the whole signature list is read again, up to the
chain's cursor (the slot every address is complete to). Each successful transaction in
it is fetched and decoded again (the decoder checks the flows against the transaction's
own token balance changes) and must match the stored flows of that transaction exactly:

* **missing**: the chain has flows the database lacks (a signature list was incomplete);
* **different**: the stored flows of a transaction differ from what it did;
* **extra**: flows stored for a transaction no followed address lists (a rolled-back
  transaction still stored, or a row from elsewhere).

``--repair`` replaces the flows of exactly those transactions, in one database
transaction per batch, marking their days dirty.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg

from indexer.chains.solana import SolanaIngestor
from indexer.decode.columns import FlowColumns
from indexer.decode.solana_accounts import owned_token_accounts
from indexer.store.sqlfiles import queries
from indexer.store.writer import read_cursor, replace_transactions

log = logging.getLogger(__name__)
_SQL = queries("verify")

Row = tuple[int, int, int, str, str | None, str | None, int]  # idx, slot, time, token, src, dst, amount
_CANNOT_CHECK = (
    "verify cannot check this transaction (one recorded in core.undecodable_transactions is skipped, "
    "this one is not recorded)"
)


@dataclass(frozen=True)
class SolanaMismatch:
    """One transaction whose stored flows differ from what it did on chain."""

    chain: str
    tx: str
    slot: int
    kind: str  # "missing", "different" or "extra"
    on_chain: int  # flows the transaction made
    stored: int  # flows the database holds for it

    def __str__(self) -> str:
        return (
            f"{self.chain} tx {self.tx} (slot {self.slot}): {self.kind}: "
            f"{self.on_chain} flow(s) on chain, {self.stored} stored"
        )


class SolanaVerifier:
    """Reconciliation of one Solana chain over the ingestor's RPC client."""

    def __init__(self, ingestor: SolanaIngestor) -> None:
        self.ingestor = ingestor
        self.chain = ingestor.name
        self._expected: dict[str, list[Row]] = {}  # of mismatched transactions, for repair
        self.transactions = 0
        self.addresses = 0
        self.recorded: set[str] = set()  # signatures recorded as undecodable, read by check()
        self._addresses: list[str] = []

    async def horizon(self, conn: asyncpg.Connection) -> int | None:
        """The slot every followed address is indexed to, or None if nothing is yet."""
        cursor = await read_cursor(conn, self.chain)
        return None if cursor is None else cursor[0]

    async def check(
        self, conn: asyncpg.Connection, horizon: int, progress: Callable[[str], None] | None = None
    ) -> list[SolanaMismatch]:
        """Every mismatch at or below slot ``horizon``.

        Transactions recorded as undecodable are listed but not re-decoded: they hold no
        flows by construction, and the runner reports how many there are.
        """
        self._expected.clear()
        self.recorded = {r["signature"] for r in await conn.fetch(_SQL["undecodable_signatures"], self.chain)}
        listed: set[str] = set()
        mismatches: list[SolanaMismatch] = []
        addresses = await self.ingestor.addresses(conn, everything=True)
        self._addresses = addresses  # accounts found in the transactions re-read join it
        for number, address in enumerate(addresses, 1):
            before: str | None = None
            while True:
                page = await self.ingestor.list_signatures(address, before, None)
                wanted = [
                    (e["signature"], e["slot"])
                    for e in page
                    if e["slot"] <= horizon and e.get("err") is None and e["signature"] not in listed
                ]
                listed.update(sig for sig, _ in wanted)
                if wanted:
                    mismatches += await self._compare(conn, wanted)
                if len(page) < self.ingestor.page:
                    break
                before = page[-1]["signature"]
            if progress is not None:
                progress(f"{self.chain}: address {number}/{len(addresses)} checked, {self.transactions:,} transactions")
        self.addresses = len(addresses)
        mismatches += await self._extras(conn, horizon, listed)
        return mismatches

    async def _compare(self, conn: asyncpg.Connection, wanted: Sequence[tuple[str, int]]) -> list[SolanaMismatch]:
        wanted = [(sig, slot) for sig, slot in wanted if sig not in self.recorded]
        if not wanted:
            return []
        signatures = [sig for sig, _ in wanted]
        size = self.ingestor.config.transactions_per_request
        chunks = [signatures[i : i + size] for i in range(0, len(signatures), size)]
        results = await asyncio.gather(*(self.ingestor.fetch_transactions(chunk) for chunk in chunks))
        txs = [tx for chunk in results for tx in chunk]
        fresh = FlowColumns(self.chain)
        # Stops at a transaction that cannot be decoded now: nothing to compare it with.
        self.ingestor.decode(txs, signatures, fresh, record=False, hint=_CANNOT_CHECK)
        self.transactions += len(txs)
        # The same discovery as the ingestor's: an account it never recorded is read too.
        found = owned_token_accounts(txs, set(self.ingestor.wallets), self.ingestor.mints)
        self._addresses += [a for a in found if a not in self._addresses]
        expected: dict[str, list[Row]] = {sig: [] for sig in signatures}
        for i in range(len(fresh)):
            expected[fresh.tx[i]].append(
                (
                    fresh.idx[i],
                    fresh.block[i],
                    fresh.block_time[i],
                    fresh.token[i],
                    fresh.src[i],
                    fresh.dst[i],
                    fresh.amount[i],
                )
            )
        rows = await conn.fetch(_SQL["flows_of_transactions"], self.chain, signatures)
        stored: dict[str, list[Row]] = {sig: [] for sig in signatures}
        for r in rows:
            stored[r["tx"]].append((r["idx"], r["block"], r["t"], r["token"], r["src"], r["dst"], int(r["amount"])))
        out = []
        for sig, slot in wanted:
            want, have = sorted(expected[sig], key=repr), sorted(stored[sig], key=repr)
            if want != have:
                kind = "missing" if not have else "different"
                out.append(SolanaMismatch(self.chain, sig, slot, kind, len(want), len(have)))
                self._expected[sig] = want
        return out

    async def _extras(self, conn: asyncpg.Connection, horizon: int, listed: set[str]) -> list[SolanaMismatch]:
        """Stored transactions that no followed address lists any more."""
        out = []
        async with conn.transaction():
            cursor = conn.cursor(_SQL["stored_transactions"], self.chain, horizon)
            async for r in cursor:
                if r["tx"] not in listed:
                    out.append(SolanaMismatch(self.chain, r["tx"], r["slot"], "extra", 0, r["n"]))
                    self._expected[r["tx"]] = []
        return out

    async def repair(self, conn: asyncpg.Connection, mismatches: Sequence[SolanaMismatch]) -> int:
        """Replace the flows of the mismatched transactions; returns flows written."""
        written = 0
        batch = [m.tx for m in mismatches]
        for start in range(0, len(batch), 1000):
            part = batch[start : start + 1000]
            flows = FlowColumns(self.chain)
            for sig in part:
                for idx, slot, when, token, src, dst, amount in self._expected.get(sig, []):
                    flows.append(slot, sig, idx, token, src, dst, amount, when)
            deleted, inserted = await replace_transactions(conn, flows, part)
            log.info(
                "%s: re-indexed %d transaction(s): %d flows removed, %d written",
                self.chain,
                len(part),
                deleted,
                inserted,
            )
            written += inserted
        return written
