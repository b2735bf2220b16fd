"""Solana: io.net payments and rewards, Render's RENDER burns and emissions.

History comes from ``getSignaturesForAddress``, which pages newest-first, 1,000 at a time.
The ingestor follows, per address, every labelled wallet, every token account of those
wallets (an incoming SPL transfer names the receiver's token account, never its wallet)
and every mint with a ``burn_revenue``/``mint_rewards`` label. Token accounts are the ones
open now (``getTokenAccountsByOwner``) and every one the decoded transactions show owned by
a followed wallet, recorded in ``core.token_accounts``: wallets close accounts all the
time, and the payments into a closed account name only the account.

Each address keeps two cursors, both written atomically with the flows they cover:

* ``source = address``: the newest *finalized* signature whose whole history below it
  is indexed (``until`` of the next run);
* ``source = address + "@walk"``: an interrupted walk, ``ref = "<top>:<before>"``: the
  walk will end with cursor ``top`` (empty while no finalized signature was seen) and
  every signature newer than ``before`` is done.

A walk goes newest to oldest, one page at a time, so memory stays flat however long the
history is, and a crash resumes at the page where it stopped. A transaction reached
through two addresses is stored once (the writer skips duplicates, and a run fetches each
signature once).

At ``confirmed`` commitment, transactions above the finalized slot are recorded in
``core.unfinalised_transactions`` with their flows. Each run first asks
``getSignatureStatuses`` about them: one that vanished, moved to another slot or now
fails has its flows deleted (days marked dirty), like an EVM reorg; the address cursors
never name an unfinalised signature, so whatever replaced it is listed again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import asyncpg

from indexer.chains.pipeline import collecting_less, in_steps, next_or_failure, stop_fetcher
from indexer.chains.rpc import RpcClient, RpcError
from indexer.chains.solana_answer import TRANSACTIONS
from indexer.chains.solana_walk import WALK, Walk
from indexer.chains.stats import SyncStats
from indexer.decode import solana as solana_decode
from indexer.decode.columns import FlowColumns
from indexer.decode.solana_accounts import OwnedAccounts, owned_token_accounts
from indexer.errors import DepinError
from indexer.retry import Backoff
from indexer.store.sqlfiles import queries
from indexer.store.writer import Checkpoint, read_cursor, settle_transactions, write_batch
from schemas.config import LabelConfig, SolanaChain

log = logging.getLogger(__name__)
# A listed transaction that getTransaction still answers null (the node lags).
_NULL_BACKOFF = Backoff(0.2, 5.0)
_SQL = queries("chains")

TOKEN_PROGRAMS = (
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
)
STATUS_BATCH = 256  # getSignatureStatuses takes at most 256 signatures
# Transactions decoded between two looks at the sockets (pipeline.in_steps): a page of
# 1,000 decoded at once held them for 20 ms.
DECODE_STEP = 25
_NEVER_UNFINAL = 2**63 - 1  # the "finalized slot" at finalized commitment: any slot is below it


class TransactionsUnavailable(DepinError):
    """The endpoint keeps answering null for transactions it listed: retried next run."""


# (signature, slot, reason, raw answer as JSON text): a row of core.undecodable_transactions.
UndecodableRecord = tuple[str, int, str, str]

INGEST_STOPS = (
    'ingestion stops here and nothing of this page is stored (on_undecodable = "stop"; with "record" the '
    "transaction is recorded in core.undecodable_transactions, without flows, and indexing goes on)"
)
_WRONG_ANSWER = (
    "the endpoint must be fixed, not the transaction: such answers are never recorded as undecodable "
    "(every transaction would be)"
)


class DecodedPage(NamedTuple):
    """One page of an address's signatures, fetched and decoded, ready to write."""

    flows: FlowColumns
    fetched: list[str]  # signatures asked for: not fetched again in this run
    unfinalised: list[tuple[str, int]]  # (signature, slot) above the finalized slot, re-checked later
    accounts: OwnedAccounts  # token accounts of followed wallets the transactions show
    refused: list[UndecodableRecord]  # recorded instead of decoded (on_undecodable = "record")


class _PageFetched(NamedTuple):
    """A page listed and its transactions fetched, to decode."""

    wanted: list[str]
    txs: list[dict[str, Any]]
    checkpoints: list[Checkpoint]


class _PageToWrite(NamedTuple):
    """A page fetched ahead: what to commit (None: only the cursors, a walk restarting)."""

    decoded: DecodedPage | None
    checkpoints: list[Checkpoint]


class UndecodableTransaction(DepinError):
    """A transaction whose answer the decoder refused, named with its chain and slot."""

    def __init__(self, chain: str, signature: str, slot: Any, error: Exception, hint: str = INGEST_STOPS) -> None:
        self.chain = chain
        self.signature = signature
        self.slot = slot
        reason = str(error)
        # The decoder's message starts with the transaction; it leads this one already.
        for prefix in (f"transaction {signature} (slot {slot}): ", f"transaction {signature}: "):
            reason = reason.removeprefix(prefix)
        self.reason = reason
        self.summary = f"transaction {signature} (chain {chain}, slot {slot}) cannot be decoded: {reason}"
        super().__init__(
            f"{self.summary}; {_WRONG_ANSWER if isinstance(error, solana_decode.SolanaWrongAnswer) else hint}"
        )


class _RecentSignatures:
    """Signatures fetched lately, bounded: a transaction listed under two addresses is
    usually fetched once (a repeat is harmless: the writer skips stored rows), and memory
    stays flat over millions of transactions (100,000 signatures: about 25 MB)."""

    def __init__(self, size: int = 100_000) -> None:
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
        followed_mints: Sequence[str] = (),
        null_retries: int = 5,
    ) -> None:
        self.name = name
        self.config = config
        self.mints = set(mints)
        self.client = client
        self.commitment = config.commitment
        self.null_retries = null_retries
        self.page = config.signatures_per_request
        mine = [label for label in labels if label.chain == name]
        self.wallets = sorted({label.address for label in mine if label.role in ("revenue", "rewards")})
        self.recent = _RecentSignatures()
        # Pages listed, fetched and decoded ahead of the one being written.
        self.pipeline_depth = 2
        self._wallet_set = frozenset(self.wallets)
        self._run_addresses: list[str] = []
        # Mints followed as addresses: those with follow = "mint" (the token's whole history
        # as far as its transactions name it) and those whose mints or burns are labelled.
        labelled_mints = {label.address for label in mine if label.role in ("burn_revenue", "mint_rewards")}
        self.mint_sources = sorted((labelled_mints | set(followed_mints)) & self.mints)

    async def start(self) -> None:
        """Start-up check: the endpoint answers and knows its slot."""
        await self.client.call("getSlot", [{"commitment": self.commitment}])

    async def addresses(self, conn: asyncpg.Connection, *, everything: bool = False) -> list[str]:
        """Wallets, mints, their token accounts of tracked mints open now, and the recorded
        ones (closed since, most of them) that may hold history not walked yet; with
        ``everything``, every recorded account (what verify re-reads)."""
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
        known = await conn.fetch(_SQL["known_token_accounts"], self.name, self.wallets, sorted(self.mints), everything)
        found += [r["account"] for r in known]
        return sorted(set(found), key=found.index)

    @collecting_less
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

        The garbage collector runs less often meanwhile (:func:`indexer.chains.pipeline.collecting_less`):
        parsed answers are short-lived.
        """
        stats = SyncStats()
        started = time.monotonic()
        stats.head = int(await self.client.call("getSlot", [{"commitment": self.commitment}]))
        stats.final_head = (
            stats.head
            if self.commitment == "finalized"
            else int(await self.client.call("getSlot", [{"commitment": "finalized"}]))
        )
        # Dedup of a transaction listed under two addresses holds within one run: what an
        # earlier run fetched may since have been rolled back and must be fetched again.
        self.recent = _RecentSignatures()
        await self._settle_unfinalised(conn, stats)
        # Accounts found in this run's transactions join the list as they are found.
        addresses = self._run_addresses = await self.addresses(conn)
        number = 0
        while number < len(addresses):
            if should_stop():
                break
            await self._sync_address(conn, addresses[number], stats, to_block, should_stop)
            number += 1
            if progress is not None:
                progress(number, len(addresses), stats.flows)
        stats.addresses = len(addresses)
        if number == len(addresses) and not should_stop():
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
        until, walk = await self._resume(conn, address)
        # The next pages are listed, fetched and decoded while this one is written; only
        # this loop touches the database, page after page, so the cursors' commits order
        # them as without the pipeline. A failure drops the pages fetched ahead.
        ahead: asyncio.Queue[_PageToWrite | None] = asyncio.Queue(self.pipeline_depth)
        fetcher = asyncio.ensure_future(self._pages_ahead(address, until, walk, stats, to_block, ahead, should_stop))
        try:
            while True:
                # should_stop is the fetcher's to ask, once a page as before the pipeline:
                # a page it fetched is written, as a page listed always was.
                page = await next_or_failure(ahead, fetcher)
                if page is None:
                    return
                await self._write_page(conn, page, stats)
        except BaseException as failure:
            await stop_fetcher(fetcher, failure)
            raise

    async def _pages_ahead(
        self,
        address: str,
        until: str | None,
        walk: Walk,
        stats: SyncStats,
        to_block: int | None,
        ahead: asyncio.Queue[_PageToWrite | None],
        should_stop: Callable[[], bool],
    ) -> None:
        """Walk ``address``'s pages into ``ahead``, each decoded with the cursors it
        commits (None last).

        Two steps, so that the endpoint works while this process decodes: a lister task
        lists each page and fetches its transactions, and asks for the next page as soon
        as one is fetched; this task decodes what it fetched meanwhile.
        """
        # Everything listed at `finalized` commitment is final, including slots newer than
        # the head read at the start of the run.
        final = _NEVER_UNFINAL if self.commitment == "finalized" else (stats.final_head or 0)
        fetched: asyncio.Queue[_PageFetched | _PageToWrite | None] = asyncio.Queue(1)
        lister = asyncio.ensure_future(
            self._list_and_fetch(address, until, walk, to_block, final, fetched, should_stop)
        )
        try:
            while True:
                item = await next_or_failure(fetched, lister)
                if item is None:
                    await ahead.put(None)
                    return
                if isinstance(item, _PageFetched):
                    item = _PageToWrite(await self._decode_page(item.wanted, item.txs, stats, final), item.checkpoints)
                await ahead.put(item)
        except BaseException as failure:
            await stop_fetcher(lister, failure)
            raise

    async def _list_and_fetch(
        self,
        address: str,
        until: str | None,
        walk: Walk,
        to_block: int | None,
        final: int,
        fetched: asyncio.Queue[_PageFetched | _PageToWrite | None],
        should_stop: Callable[[], bool],
    ) -> None:
        """List ``address``'s pages and fetch their transactions into ``fetched`` (None last)."""
        while not should_stop():
            listed = await self.list_signatures(address, walk.before, until)
            last_page = len(listed) < self.page
            if last_page and await self._position_vanished(walk, final):
                # Paging on from a signature whose fork was dropped lists nothing: the walk
                # would end early and miss older history. Start it over (what it already
                # stored is skipped as duplicate).
                log.warning("%s: %s: walk position %s was rolled back; walking again", self.name, address, walk.before)
                await fetched.put(_PageToWrite(None, [Checkpoint(self.name, walk.top_slot, address + WALK, None)]))
                walk.restart()
                continue
            # With --to SLOT, signatures above it are left for a later run.
            page = listed if to_block is None else [s for s in listed if s["slot"] <= to_block]
            walk.listed(page, final)
            wanted, txs = await self._fetch_page(page)
            if listed:
                walk.page_ends_at(listed[-1])
            await fetched.put(_PageFetched(wanted, txs, self._checkpoints(address, walk, last_page)))
            if last_page:
                break
        await fetched.put(None)

    async def _write_page(self, conn: asyncpg.Connection, page: _PageToWrite, stats: SyncStats) -> None:
        """Commit one page's flows with its cursors (or only the cursors of a walk restart)."""
        decoded = page.decoded
        if decoded is None:
            await write_batch(conn, FlowColumns(self.name), page.checkpoints)
            return
        result = await write_batch(
            conn,
            decoded.flows,
            page.checkpoints,
            unfinalised=decoded.unfinalised,
            token_accounts=decoded.accounts,
            undecodable=decoded.refused,
        )
        self._run_addresses += [a for a in decoded.accounts if a not in self._run_addresses]
        self.recent.update(decoded.fetched)
        stats.flows += len(decoded.flows)
        stats.flows_new += result.flows_inserted

    async def _resume(self, conn: asyncpg.Connection, address: str) -> tuple[str | None, Walk]:
        """The address's cursor (the newest signature it is complete up to) and its walk."""
        done = await read_cursor(conn, self.name, address)
        stored = await read_cursor(conn, self.name, address + WALK)
        # The walk cursor's slot never moves back (the writer refuses): it stays at the
        # slot of the newest finalized signature the address is complete up to.
        slot = max(stored[0] if stored else 0, done[0] if done else 0)
        return (done[1] if done else None), Walk.resume(stored[1] if stored else None, slot)

    async def _position_vanished(self, walk: Walk, final: int) -> bool:
        """True if the signature the walk pages from was rolled back (asked only when it can be)."""
        if self.commitment == "finalized" or not walk.may_have_vanished(final):
            return False
        assert walk.before is not None
        return await self._vanished(walk.before)

    def _checkpoints(self, address: str, walk: Walk, last_page: bool) -> list[Checkpoint]:
        """Where the address stands once this page commits."""
        if not last_page:
            return [Checkpoint(self.name, walk.top_slot, address + WALK, walk.ref())]
        checkpoints = [Checkpoint(self.name, walk.top_slot, address + WALK, None)]
        if walk.top is not None:
            # The walk reached the previous run's cursor (or the origin).
            checkpoints.insert(0, Checkpoint(self.name, walk.top_slot, address, walk.top))
        return checkpoints

    async def _vanished(self, signature: str) -> bool:
        """True if the chain no longer knows ``signature`` (only asked at a walk's end)."""
        answer = await self.client.call("getSignatureStatuses", [[signature], {"searchTransactionHistory": True}])
        values = _statuses(answer, 1)
        return values[0] is None

    async def _settle_unfinalised(self, conn: asyncpg.Connection, stats: SyncStats) -> None:
        """Re-check transactions stored before they were finalized; roll back the vanished.

        A transaction is gone if the chain no longer has it or has it in another slot
        (its fork was dropped; it may have landed again elsewhere and is then re-listed
        and stored anew by this run), or if it now shows an error.
        """
        rows = await conn.fetch(_SQL["unfinalised_transactions"], self.name)
        if not rows:
            return
        gone: list[tuple[str, int]] = []
        final: list[str] = []
        for start in range(0, len(rows), STATUS_BATCH):
            part = rows[start : start + STATUS_BATCH]
            answer = await self.client.call(
                "getSignatureStatuses",
                [[r["signature"] for r in part], {"searchTransactionHistory": True}],
            )
            for row, status in zip(part, _statuses(answer, len(part)), strict=True):
                if status is None or status.get("slot") != row["slot"] or status.get("err") is not None:
                    gone.append((row["signature"], row["slot"]))
                elif status.get("confirmationStatus") == "finalized" or row["slot"] <= stats.final_head:
                    final.append(row["signature"])
        if not gone and not final:
            return
        restart = []
        if gone:
            vanished = {signature for signature, _ in gone}
            walks = await conn.fetch(_SQL["interrupted_walks"], self.name, "%" + WALK)
            restart = [w["source"] for w in walks if vanished & Walk.resume(w["ref"], 0).signatures()]
        deleted = await settle_transactions(conn, self.name, gone, final, restart)
        if gone:
            stats.reorgs += 1
            stats.rewound_flows += deleted
            log.warning(
                "%s: %d unfinalised transaction(s) rolled back (%d flows deleted), e.g. %s",
                self.name,
                len(gone),
                deleted,
                gone[0][0],
            )

    async def list_signatures(self, address: str, before: str | None, until: str | None) -> list[dict[str, Any]]:
        """One page of ``address``'s signatures, newest first, older than ``before`` and
        newer than ``until``; entries checked for shape."""
        options: dict[str, Any] = {"limit": self.page, "commitment": self.commitment}
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

    async def _fetch_page(self, page: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
        """(signatures, answers) of the successful, not-yet-seen transactions of one page."""
        wanted = [s["signature"] for s in page if s.get("err") is None and s["signature"] not in self.recent]
        if not wanted:
            return wanted, []
        size = self.config.transactions_per_request
        chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        # Several batches in flight: the client spreads them over endpoints within limits.
        results = await asyncio.gather(*(self.fetch_transactions(chunk) for chunk in chunks))
        return wanted, [tx for chunk in results for tx in chunk]

    async def _decode_page(
        self, wanted: list[str], txs: list[dict[str, Any]], stats: SyncStats, final: int
    ) -> DecodedPage:
        """Decode one page's transactions (answers to ``wanted``), :data:`DECODE_STEP` at a
        time: in between, the next page's answers are read and its requests sent."""
        flows = FlowColumns(self.name)
        if not wanted:
            return DecodedPage(flows, wanted, [], {}, [])
        refused: list[UndecodableRecord] = []
        async for part in in_steps(len(txs), DECODE_STEP):
            refused += self.decode(txs[part], wanted[part], flows)
        if refused:
            refused = await self._with_whole_answers(refused)
        stats.transactions += len(txs)
        stats.undecodable += len(refused)
        unfinalised = [(tx_sig, tx["slot"]) for tx_sig, tx in zip(wanted, txs, strict=True) if tx["slot"] > final]
        # Accounts only from answers the decoder accepted: a refused one may be malformed.
        gone = {record[0] for record in refused}
        decoded = [tx for sig, tx in zip(wanted, txs, strict=True) if sig not in gone] if gone else txs
        accounts = owned_token_accounts(decoded, self._wallet_set, self.mints)
        return DecodedPage(flows, wanted, unfinalised, accounts, refused)

    async def _with_whole_answers(self, refused: list[UndecodableRecord]) -> list[UndecodableRecord]:
        """The records with each answer whole: the page was parsed for the decoder's fields."""
        whole = await self.fetch_transactions([record[0] for record in refused], whole=True)
        return [(sig, slot, reason, json.dumps(tx)) for (sig, slot, reason, _), tx in zip(refused, whole, strict=True)]

    def decode(
        self,
        txs: Sequence[dict[str, Any]],
        signatures: Sequence[str],
        out: FlowColumns,
        *,
        record: bool | None = None,
        hint: str = INGEST_STOPS,
    ) -> list[UndecodableRecord]:
        """Decode ``txs`` (answers to ``signatures``) into ``out``; return those refused and recorded.

        The whole batch is decoded at once (the fast path); only if that fails is each
        transaction decoded alone, to name the one at fault and keep the flows of the
        others. Refused ones are recorded (never any of their flows) when ``record`` (by
        default the chain's ``on_undecodable = "record"``); otherwise the first raises
        :class:`UndecodableTransaction` with ``hint``. An answer the endpoint got wrong
        (another transaction, another encoding such as ``jsonParsed``) always raises:
        recording it would record every transaction that endpoint serves.
        """
        try:
            # The requested signatures let the decoder check each answer is the one asked for.
            solana_decode.decode_transactions(txs, self.mints, out, signatures=signatures)
            return []
        except solana_decode.SolanaDecodeError:
            pass  # which transaction(s)? one at a time below
        recording = self.config.on_undecodable == "record" if record is None else record
        kept = FlowColumns(self.name)
        refused: list[UndecodableRecord] = []
        for sig, tx in zip(signatures, txs, strict=True):
            try:
                solana_decode.decode_transactions([tx], self.mints, kept, signatures=[sig])
            except solana_decode.SolanaDecodeError as exc:
                slot = tx.get("slot") if isinstance(tx, dict) else None
                if recording and type(slot) is not int:
                    hint = "it cannot be recorded either: its slot is not an integer"
                error = UndecodableTransaction(self.name, sig, slot, exc, hint)
                if not recording or isinstance(exc, solana_decode.SolanaWrongAnswer) or type(slot) is not int:
                    raise error from None
                log.warning("%s; recorded in core.undecodable_transactions, indexing goes on", error.summary)
                refused.append((sig, slot, error.reason, json.dumps(tx)))
        out.extend(kept)
        return refused

    async def fetch_transactions(self, signatures: list[str], *, whole: bool = False) -> list[dict[str, Any]]:
        """getTransaction for each signature; nulls are retried, never skipped.

        The answers hold the fields the decoder reads (:mod:`indexer.chains.solana_answer`),
        or with ``whole`` everything the node sent.
        """
        options = {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": self.commitment}
        parse = None if whole else TRANSACTIONS
        found: dict[str, dict[str, Any]] = {}
        missing = list(signatures)
        for attempt in range(self.null_retries + 1):
            answers = await self.client.batch([("getTransaction", [sig, options]) for sig in missing], parse=parse)
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
            await self.client.sleep(_NULL_BACKOFF.delay(attempt + 1))
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


def _statuses(answer: Any, expected: int) -> list[dict[str, Any] | None]:
    """The ``value`` list of a getSignatureStatuses answer, checked for shape."""
    values = answer.get("value") if isinstance(answer, dict) else None
    if (
        not isinstance(values, list)
        or len(values) != expected
        or any(v is not None and not isinstance(v, dict) for v in values)
    ):
        raise RpcError("", "getSignatureStatuses", None, f"unexpected answer: {answer!r:.200}")
    return values
