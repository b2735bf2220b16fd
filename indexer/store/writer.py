"""The one place that writes flows: a batch, its block hashes and its cursor, atomically.

``write_batch`` copies the flows into a temporary staging table with binary COPY and moves
them into ``core.flows`` with ``INSERT … ON CONFLICT DO NOTHING``, records the touched days
as dirty, stores the unfinalised block hashes and advances the cursor — in one
transaction. A crash at any point leaves all of it or none of it, so re-running a batch
is always safe: exactly-once by construction.

``rewind`` is the reorg path: everything above a fork point goes, in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from indexer.decode.columns import STAGING_COLUMNS, FlowColumns
from indexer.errors import CursorConflict
from indexer.store.sqlfiles import queries

log = logging.getLogger(__name__)
_EPOCH = date(1970, 1, 1)

# (number, hash, parent_hash, block_time as Unix seconds) of an unfinalised block or slot.
BlockRow = tuple[int, str, str, int]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a (chain, source) is indexed up to once the batch commits.

    ``source`` is '' for a chain-wide cursor; ``ref`` carries what a block number cannot
    (the newest Solana signature seen for an address).
    """

    chain: str
    block: int
    source: str = ""
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    flows_staged: int
    flows_inserted: int
    blocks_stored: int


_SQL = queries("store")

# Months whose partitions this process has seen exist; creating one is rare and takes
# a lock on core.flows, so it happens in its own short transaction before the batch.
_known_months: set[tuple[int, int]] = set()


async def ensure_partitions(conn: asyncpg.Connection, times: Sequence[int]) -> None:
    """Create the monthly partitions that ``times`` (Unix seconds) fall into, if missing."""
    if not times:
        return
    lo = datetime.fromtimestamp(min(times), UTC)
    hi = datetime.fromtimestamp(max(times), UTC)
    months = {(lo.year, lo.month), (hi.year, hi.month)}
    if months <= _known_months and (hi.year * 12 + hi.month) - (lo.year * 12 + lo.month) <= 1:
        return
    await conn.execute(_SQL["ensure_partitions"], lo, hi)
    y, m = lo.year, lo.month
    while (y, m) <= (hi.year, hi.month):
        _known_months.add((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


async def write_batch(
    conn: asyncpg.Connection,
    flows: FlowColumns,
    checkpoints: Sequence[Checkpoint],
    blocks: Sequence[BlockRow] = (),
    forget_blocks_below: int | None = None,
    *,
    unfinalised: Sequence[tuple[str, int]] = (),
    token_accounts: Mapping[str, tuple[str, str, int, int]] | None = None,
    undecodable: Sequence[tuple[str, int, str, str]] = (),
    _step: Callable[[str], None] | None = None,
) -> WriteResult:
    """Commit flows, unfinalised block hashes and cursors in one transaction.

    ``forget_blocks_below``: block rows of this chain under this number are final and no
    longer needed for reorg detection. ``unfinalised``: (signature, slot) of Solana
    transactions in this batch that are not finalized yet, re-checked on later runs.
    ``token_accounts``: account -> (owner, mint, first slot, last slot) of Solana token
    accounts of followed wallets that this batch's transactions show, to walk later.
    ``undecodable``: (signature, slot, reason, raw answer as JSON text) of Solana
    transactions the decoder refused and the chain's config records instead of stopping.
    Raises :class:`CursorConflict` (and writes nothing) if a cursor would move backwards:
    another writer advanced it meanwhile.
    ``_step`` is called after each step with its name; tests use it to crash there.
    """
    step = _step or (lambda _name: None)
    await ensure_partitions(conn, flows.block_time)
    async with conn.transaction():
        await conn.execute(_SQL["create_staging"])
        step("staging")
        inserted = await _move_flows(conn, flows, step) if len(flows) else 0
        step("dirty")
        await _write_side_rows(conn, flows.chain, blocks, forget_blocks_below, unfinalised, token_accounts, undecodable)
        step("blocks")
        if len(flows):
            # Last before the cursors: the chain's row stays locked only until the commit.
            await conn.execute(_SQL["note_newest_flow"], flows.chain, max(flows.block_time))
        await _advance_cursors(conn, checkpoints)
        step("cursor")
    return WriteResult(len(flows), inserted, len(blocks))


async def _move_flows(conn: asyncpg.Connection, flows: FlowColumns, step: Callable[[str], None]) -> int:
    """Stage ``flows``, move the new ones into core.flows, mark their days dirty; return how many were new."""
    await conn.copy_records_to_table("flows_staging", records=flows.rows(), columns=STAGING_COLUMNS)
    step("copy")
    try:
        async with conn.transaction():  # a savepoint
            status = await conn.execute(_SQL["move_flows"], flows.chain)
    except asyncpg.UniqueViolationError:
        status = await conn.execute(_SQL["move_flows_skipping_duplicates"], flows.chain)
    step("insert")
    # Every staged day, not only days of rows that were new: a superset is safe.
    days = [_EPOCH + timedelta(days=d) for d in flows.days()]
    await conn.execute(_SQL["mark_days_dirty"], flows.chain, days)
    return int(status.rsplit(" ", 1)[1])


async def _write_side_rows(
    conn: asyncpg.Connection,
    chain: str,
    blocks: Sequence[BlockRow],
    forget_blocks_below: int | None,
    unfinalised: Sequence[tuple[str, int]],
    token_accounts: Mapping[str, tuple[str, str, int, int]] | None,
    undecodable: Sequence[tuple[str, int, str, str]],
) -> None:
    """What a batch stores beside its flows (see :func:`write_batch`), in its transaction."""
    if blocks:
        numbers, hashes, parents, times = zip(*blocks, strict=True)
        await conn.execute(_SQL["upsert_blocks"], chain, numbers, hashes, parents, times)
    if forget_blocks_below is not None:
        await conn.execute(_SQL["forget_blocks_below"], chain, forget_blocks_below)
    if unfinalised:
        signatures, slots = zip(*unfinalised, strict=True)
        await conn.execute(_SQL["upsert_unfinalised"], chain, signatures, slots)
    if token_accounts:
        accounts = sorted(token_accounts)
        columns = zip(*(token_accounts[a] for a in accounts), strict=True)
        await conn.execute(_SQL["upsert_token_accounts"], chain, accounts, *map(list, columns))
    if undecodable:
        # With the page's cursor: a crash cannot advance past a transaction unrecorded.
        fields = [list(field) for field in zip(*undecodable, strict=True)]
        await conn.execute(_SQL["record_undecodable"], chain, *fields)


async def _advance_cursors(conn: asyncpg.Connection, checkpoints: Sequence[Checkpoint]) -> None:
    """Move each cursor forward; :class:`CursorConflict` if one would move back."""
    for cp in checkpoints:
        moved = await conn.fetchval(_SQL["advance_cursor"], cp.chain, cp.source, cp.block, cp.ref)
        if moved is None:
            current = await conn.fetchval(_SQL["read_cursor"], cp.chain, cp.source)
            raise CursorConflict(
                f"{cp.chain}{'/' + cp.source if cp.source else ''}: cursor is at {current}, "
                f"refusing to move it back to {cp.block}; is another indexer running?"
            )


async def rewind(conn: asyncpg.Connection, chain: str, fork_block: int) -> int:
    """Undo everything of ``chain`` above ``fork_block`` (a reorg); return flows deleted.

    Flows and block rows above the fork point go, their days are marked dirty so the
    rollups are recomputed, and every cursor of the chain above the fork comes back to it.
    """
    async with conn.transaction():
        since = await conn.fetchval(_SQL["first_block_time_above"], chain, fork_block)
        if since is None:
            log.warning("%s: no stored block above %d; rewinding by a full scan", chain, fork_block)
            since = _START_OF_TIME
        deleted = await _delete_flows(conn, chain, (fork_block + 1, _MAX_BLOCK), (since, _END_OF_TIME))
        await conn.execute(_SQL["delete_blocks_above"], chain, fork_block)
        await conn.execute(_SQL["rewind_cursors"], chain, fork_block)
        await conn.execute(_SQL["rewind_newest_flow"], chain, fork_block)
    return int(deleted)


async def settle_transactions(
    conn: asyncpg.Connection,
    chain: str,
    gone: Sequence[tuple[str, int]],
    final: Sequence[str],
    walks_to_restart: Sequence[str] = (),
) -> int:
    """Settle re-checked unfinalised Solana transactions; return flows deleted.

    ``gone``: (signature, slot) of transactions the chain no longer has at the slot they
    were stored at (a dropped fork): their flows at that slot go and their days become
    dirty. ``final``: finalized, no longer watched. ``walks_to_restart``: sources of
    interrupted walks whose position named a gone transaction (paging from an unknown
    signature returns nothing): they start over. One transaction, so a crash leaves
    either the old state or the new one.
    """
    async with conn.transaction():
        deleted = 0
        if gone:
            signatures, slots = (list(column) for column in zip(*gone, strict=True))
            deleted = await _delete_flows(
                conn, chain, (0, _MAX_BLOCK), (_START_OF_TIME, _END_OF_TIME), signatures, slots
            )
        await conn.execute(_SQL["forget_unfinalised"], chain, [*(s for s, _ in gone), *final])
        if walks_to_restart:
            await conn.execute(_SQL["restart_walks"], chain, list(walks_to_restart))
    return deleted


async def replace_range(
    conn: asyncpg.Connection,
    flows: FlowColumns,
    blocks: tuple[int, int],
    times: tuple[int, int],
) -> tuple[int, int]:
    """Replace every flow of ``flows.chain`` in blocks ``blocks`` (inclusive) by ``flows``.

    A repair: old rows go and the given ones come in, in one transaction; days on both
    sides are marked dirty; cursors are not touched. ``times`` (Unix seconds of the first
    and last block) bound the delete to the partitions concerned. Returns (deleted, inserted).
    """
    first_block, last_block = blocks
    first_time = datetime.fromtimestamp(times[0], UTC)
    last_time = datetime.fromtimestamp(times[1], UTC)
    await ensure_partitions(conn, flows.block_time)
    async with conn.transaction():
        deleted = await _delete_flows(conn, flows.chain, (first_block, last_block), (first_time, last_time))
        result = await write_batch(conn, flows, [])
    return int(deleted), result.flows_inserted


async def replace_transactions(conn: asyncpg.Connection, flows: FlowColumns, txs: Sequence[str]) -> tuple[int, int]:
    """Replace every flow of the transactions ``txs`` of ``flows.chain`` by ``flows``.

    A repair of a chain without block ranges (Solana): old rows go, the given ones come
    in, in one transaction; days on both sides become dirty; cursors are not touched.
    Returns (deleted, inserted).
    """
    await ensure_partitions(conn, flows.block_time)
    async with conn.transaction():
        everything = ((0, _MAX_BLOCK), (_START_OF_TIME, _END_OF_TIME))
        deleted = await _delete_flows(conn, flows.chain, *everything, list(txs))
        result = await write_batch(conn, flows, [])
    return deleted, result.flows_inserted


_MAX_BLOCK = 2**63 - 1
_START_OF_TIME = datetime(1970, 1, 1, tzinfo=UTC)
_END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


async def _delete_flows(
    conn: asyncpg.Connection,
    chain: str,
    blocks: tuple[int, int],
    times: tuple[datetime, datetime],
    txs: list[str] | None = None,
    slots: list[int] | None = None,
) -> int:
    """Delete ``chain``'s flows in the block and time ranges (inclusive), only of ``txs``
    (at ``slots``) if given, marking their days dirty; return how many went."""
    return int(await conn.fetchval(_SQL["delete_flows"], chain, *blocks, *times, txs, slots))


async def read_cursor(conn: asyncpg.Connection, chain: str, source: str = "") -> tuple[int, str | None] | None:
    """The stored (block, ref) of a cursor, or None when nothing was indexed yet."""
    row = await conn.fetchrow(_SQL["read_cursor"], chain, source)
    return None if row is None else (row["block"], row["ref"])
