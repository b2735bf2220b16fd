"""Solana: io.net payments and rewards, Render's RENDER burns and emissions.

History comes from ``getSignaturesForAddress``, which pages newest-first, 1,000 at a time.
The ingestor follows, per address, every labelled wallet, every token account of those
wallets (an incoming SPL transfer names the receiver's token account, never its wallet)
and every mint with a ``burn_revenue``/``mint_rewards`` label.

Each address keeps two cursors, both written atomically with the flows they cover:

* ``source = address``: the newest signature whose whole history below it is indexed
  (``until`` of the next run);
* ``source = address + "@walk"``: an interrupted walk, ``ref = "<top>:<before>"``: the
  walk started at signature ``top`` and every signature newer than ``before`` is done.

A walk goes newest to oldest, one page at a time, so memory stays flat however long the
history is, and a crash resumes at the page where it stopped. A transaction reached
through two addresses is stored once (the writer skips duplicates, and a run fetches each
signature once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from indexer.chains.rpc import RpcClient, RpcError
from indexer.chains.stats import SyncStats
from indexer.decode import solana as solana_decode
from indexer.decode.columns import FlowColumns
from indexer.errors import DepinError
from indexer.store.writer import Checkpoint, read_cursor, write_batch
from schemas.config import LabelConfig, SolanaChain

log = logging.getLogger(__name__)

TOKEN_PROGRAMS = (
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
)
PAGE = 1000
WALK = "@walk"


class TransactionsUnavailable(DepinError):
    """The endpoint keeps answering null for transactions it listed: retried next run."""


class _RecentSignatures:
    """Signatures fetched lately, bounded: a transaction listed under two addresses is
    fetched once, and memory stays flat over millions of transactions."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, signature: str) -> bool:
        return signature in self._seen

    def update(self, signatures: Sequence[str]) -> None:
        for sig in signatures:
            self._seen[sig] = None
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)


class SolanaIngestor:
    """Indexes the token flows of the labelled Solana addresses of one chain."""

    def __init__(
        self,
        name: str,
        config: SolanaChain,
        mints: Sequence[str],
        labels: Sequence[LabelConfig],
        client: RpcClient,
        *,
        null_retries: int = 5,
    ) -> None:
        self.name = name
        self.config = config
        self.mints = set(mints)
        self.client = client
        self.commitment = config.commitment
        self.null_retries = null_retries
        mine = [label for label in labels if label.chain == name]
        self.wallets = sorted({label.address for label in mine if label.role in ("revenue", "rewards")})
        self.recent = _RecentSignatures()
        self.mint_sources = sorted(
            {label.address for label in mine if label.role in ("burn_revenue", "mint_rewards")} & self.mints
        )

    async def start(self) -> None:
        """Start-up check: the endpoint answers and knows its slot."""
        await self.client.call("getSlot", [{"commitment": self.commitment}])

    async def addresses(self) -> list[str]:
        """Wallets, their token accounts of tracked mints (found anew each run), and mints."""
        found: list[str] = list(self.wallets) + list(self.mint_sources)
        calls = [
            (
                "getTokenAccountsByOwner",
                [wallet, {"programId": program}, {"encoding": "jsonParsed", "commitment": self.commitment}],
            )
            for wallet in self.wallets
            for program in TOKEN_PROGRAMS
        ]
        for start in range(0, len(calls), 50):
            part = calls[start : start + 50]
            for (_method, params), answer in zip(part, await self.client.batch(part), strict=True):
                if isinstance(answer, RpcError):
                    if "invalid param" in answer.message.lower() and params[1]["programId"] == TOKEN_PROGRAMS[1]:
                        continue  # an endpoint without Token-2022 support
                    raise answer
                for account in _token_accounts(answer, params[0]):
                    if account[1] in self.mints:
                        found.append(account[0])
        return sorted(set(found), key=found.index)

    async def sync(
        self,
        conn: asyncpg.Connection,
        *,
        follow_head: bool = False,
        to_block: int | None = None,
        progress: Callable[[int, int, int], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> SyncStats:
        """Index every tracked address up to the newest signature at the configured commitment.

        ``to_block`` (a slot) is accepted for symmetry with EVM chains and stops each
        address's walk at that slot. ``progress(done, total, flows)`` counts addresses.
        """
        stats = SyncStats()
        started = time.monotonic()
        stats.head = int(await self.client.call("getSlot", [{"commitment": self.commitment}]))
        stats.final_head = (
            stats.head
            if self.commitment == "finalized"
            else int(await self.client.call("getSlot", [{"commitment": "finalized"}]))
        )
        addresses = await self.addresses()
        stats.addresses = len(addresses)
        for number, address in enumerate(addresses):
            if should_stop():
                break
            await self._sync_address(conn, address, stats, to_block, should_stop)
            if progress is not None:
                progress(number + 1, len(addresses), stats.flows)
        else:
            # Every address is complete up to at least this slot: the chain-wide cursor
            # (what /readyz reports). Endpoints may lag each other: never move it back.
            current = await read_cursor(conn, self.name)
            stats.indexed_to = max(stats.head, current[0] if current else -1)
            await write_batch(conn, FlowColumns(self.name), [Checkpoint(self.name, stats.indexed_to)])
        stats.seconds = time.monotonic() - started
        return stats

    async def _sync_address(
        self,
        conn: asyncpg.Connection,
        address: str,
        stats: SyncStats,
        to_block: int | None,
        should_stop: Callable[[], bool],
    ) -> None:
        done = await read_cursor(conn, self.name, address)
        until = done[1] if done else None
        walk = await read_cursor(conn, self.name, address + WALK)
        if walk and walk[1]:
            top_slot, (top, before) = walk[0], walk[1].split(":", 1)
        else:
            top_slot, top, before = -1, None, None
        while not should_stop():
            listed = await self._signatures(address, before, until)
            last_page = len(listed) < PAGE
            # With --to SLOT, signatures above it are left for a later run.
            page = listed if to_block is None else [s for s in listed if s["slot"] <= to_block]
            if top is None and page:
                top, top_slot = page[0]["signature"], page[0]["slot"]
            if top is None:
                if last_page:
                    return  # nothing new
                before = listed[-1]["signature"]
                continue
            flows = await self._flows(page, stats)
            if listed:
                before = listed[-1]["signature"]
            if last_page:
                # The walk reached the previous run's newest signature (or the origin).
                checkpoints = [
                    Checkpoint(self.name, top_slot, address, top),
                    Checkpoint(self.name, top_slot, address + WALK, None),
                ]
            else:
                checkpoints = [Checkpoint(self.name, top_slot, address + WALK, f"{top}:{before}")]
            result = await write_batch(conn, flows, checkpoints)
            stats.flows += len(flows)
            stats.flows_new += result.flows_inserted
            if last_page:
                return

    async def _signatures(self, address: str, before: str | None, until: str | None) -> list[dict[str, Any]]:
        options: dict[str, Any] = {"limit": PAGE, "commitment": self.commitment}
        if before:
            options["before"] = before
        if until:
            options["until"] = until
        page = await self.client.call("getSignaturesForAddress", [address, options])
        if not isinstance(page, list):
            raise RpcError(
                "", "getSignaturesForAddress", None, f"expected a list for {address}, got {type(page).__name__}"
            )
        for entry in page:
            if (
                not isinstance(entry, dict)
                or not isinstance(entry.get("signature"), str)
                or not isinstance(entry.get("slot"), int)
            ):
                raise RpcError("", "getSignaturesForAddress", None, f"malformed entry for {address}: {entry!r:.200}")
        return page

    async def _flows(self, page: list[dict[str, Any]], stats: SyncStats) -> FlowColumns:
        """Fetch and decode the successful, not-yet-seen transactions of one page."""
        wanted = [s["signature"] for s in page if s.get("err") is None and s["signature"] not in self.recent]
        flows = FlowColumns(self.name)
        if not wanted:
            return flows
        size = self.config.transactions_per_request
        chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        # Several batches in flight: the client spreads them over endpoints within limits.
        results = await asyncio.gather(*(self._transactions(chunk) for chunk in chunks))
        txs = [tx for chunk in results for tx in chunk]
        # The requested signatures let the decoder check each answer is the one asked for.
        solana_decode.decode_transactions(txs, self.mints, flows, signatures=wanted)
        stats.transactions += len(txs)
        self.recent.update(wanted)
        return flows

    async def _transactions(self, signatures: list[str]) -> list[dict[str, Any]]:
        """getTransaction for each signature; nulls are retried, never skipped."""
        options = {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": self.commitment}
        found: dict[str, dict[str, Any]] = {}
        missing = list(signatures)
        for attempt in range(self.null_retries + 1):
            answers = await self.client.batch([("getTransaction", [sig, options]) for sig in missing])
            still: list[str] = []
            for sig, answer in zip(missing, answers, strict=True):
                if isinstance(answer, RpcError):
                    raise answer
                if answer is None:
                    still.append(sig)
                else:
                    found[sig] = answer
            if not still:
                break
            missing = still
            await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
        else:
            raise TransactionsUnavailable(
                f"{self.name}: {len(missing)} listed transaction(s) still null after {self.null_retries} retries, "
                f"e.g. {missing[0]}; the address is retried on the next run"
            )
        return [found[sig] for sig in signatures]


def _token_accounts(answer: Any, owner: str) -> list[tuple[str, str]]:
    """(account, mint) pairs of a jsonParsed getTokenAccountsByOwner answer."""
    if not isinstance(answer, dict) or not isinstance(answer.get("value"), list):
        raise RpcError("", "getTokenAccountsByOwner", None, f"unexpected answer for {owner}: {answer!r:.200}")
    out = []
    for item in answer["value"]:
        try:
            info = item["account"]["data"]["parsed"]["info"]
            out.append((item["pubkey"], info["mint"]))
        except (KeyError, TypeError):
            raise RpcError(
                "", "getTokenAccountsByOwner", None, f"malformed token account of {owner}: {item!r:.200}"
            ) from None
    return out
