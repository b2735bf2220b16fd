"""The atomic writer: all of a batch or none of it, exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import pytest

from indexer.decode.columns import FlowColumns
from indexer.errors import CursorConflict
from indexer.store.writer import Checkpoint, read_cursor, rewind, write_batch
from tests.store.helpers import JAN_2024, TOKEN, fingerprint, synthetic_flows


def _blocks(first: int, count: int, t0: int = JAN_2024) -> list[tuple[int, str, str, int]]:
    return [(b, f"0xh{b}", f"0xh{b - 1}", t0 + b * 3600) for b in range(first, first + count)]


async def test_batch_is_written_with_cursor_blocks_and_dirty_days(conn: asyncpg.Connection) -> None:
    flows = synthetic_flows("polygon", 0, 50)
    result = await write_batch(conn, flows, [Checkpoint("polygon", 49)], _blocks(40, 10))
    assert (result.flows_staged, result.flows_inserted, result.blocks_stored) == (150, 150, 10)
    assert await conn.fetchval("select count(*) from core.flows") == 150
    assert await read_cursor(conn, "polygon") == (49, None)
    assert await conn.fetchval("select count(*) from core.blocks where chain = 'polygon'") == 10
    days = [r["day"] for r in await conn.fetch("select day from core.dirty_days order by day")]
    assert days == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)], "50 hourly blocks span 3 UTC days"


async def test_same_batch_twice_leaves_one_copy(conn: asyncpg.Connection) -> None:
    flows = synthetic_flows("polygon", 0, 20)
    await write_batch(conn, flows, [Checkpoint("polygon", 19)])
    before = await fingerprint(conn)
    again = await write_batch(conn, flows, [Checkpoint("polygon", 19)])
    assert again.flows_inserted == 0
    assert await conn.fetchval("select count(*) from core.flows") == 60
    after = await fingerprint(conn)
    assert before["flows"] == after["flows"]


async def test_amounts_are_exact_beyond_64_bits(conn: asyncpg.Connection) -> None:
    cols = FlowColumns("polygon")
    big = [1234567891234567891, 2**64 + 1, 2**255 + 12345, 2**256 - 1, 0]
    for i, amount in enumerate(big):
        cols.append(1, "0xabc", i, TOKEN, "0xa", "0xb", amount, JAN_2024)
    await write_batch(conn, cols, [Checkpoint("polygon", 1)])
    stored = [r["amount"] for r in await conn.fetch("select amount from core.flows order by idx")]
    assert stored == [Decimal(a) for a in big]
    assert [int(a) for a in stored] == big


@pytest.mark.parametrize("crash_after", ["staging", "copy", "insert", "dirty", "blocks", "cursor"])
async def test_error_at_any_step_leaves_database_unchanged(conn: asyncpg.Connection, crash_after: str) -> None:
    await write_batch(conn, synthetic_flows("polygon", 0, 10), [Checkpoint("polygon", 9)], _blocks(0, 10))
    before = await fingerprint(conn)

    def crash(step: str) -> None:
        if step == crash_after:
            raise RuntimeError(f"simulated crash after {step}")

    with pytest.raises(RuntimeError, match="simulated crash"):
        await write_batch(
            conn,
            synthetic_flows("polygon", 10, 30),
            [Checkpoint("polygon", 39)],
            _blocks(10, 30),
            forget_blocks_below=5,
            _step=crash,
        )
    assert await fingerprint(conn) == before, f"a crash after '{crash_after}' left a trace"
    # And the connection is still usable: the same batch then commits normally.
    await write_batch(conn, synthetic_flows("polygon", 10, 30), [Checkpoint("polygon", 39)], _blocks(10, 30))
    assert await read_cursor(conn, "polygon") == (39, None)


async def test_cursor_never_moves_backwards(conn: asyncpg.Connection) -> None:
    await write_batch(conn, synthetic_flows("polygon", 0, 10), [Checkpoint("polygon", 9)])
    before = await fingerprint(conn)
    with pytest.raises(CursorConflict, match="cursor is at 9, refusing to move it back to 4"):
        await write_batch(conn, synthetic_flows("polygon", 100, 5), [Checkpoint("polygon", 4)])
    assert await fingerprint(conn) == before, "the conflicting batch wrote nothing"


async def test_cursors_are_per_source(conn: asyncpg.Connection) -> None:
    empty = FlowColumns("solana")
    await write_batch(
        conn, empty, [Checkpoint("solana", 100, "walletA", "sigA"), Checkpoint("solana", 50, "walletB", "sigB")]
    )
    assert await read_cursor(conn, "solana", "walletA") == (100, "sigA")
    assert await read_cursor(conn, "solana", "walletB") == (50, "sigB")
    assert await read_cursor(conn, "solana") is None


async def test_old_blocks_are_forgotten(conn: asyncpg.Connection) -> None:
    await write_batch(conn, FlowColumns("polygon"), [Checkpoint("polygon", 29)], _blocks(0, 30), forget_blocks_below=20)
    numbers = [r["number"] for r in await conn.fetch("select number from core.blocks order by number")]
    assert numbers == list(range(20, 30))


async def test_rewind_removes_everything_above_the_fork(conn: asyncpg.Connection) -> None:
    await write_batch(conn, synthetic_flows("polygon", 0, 48), [Checkpoint("polygon", 47)], _blocks(30, 18))
    await write_batch(conn, synthetic_flows("aioz", 0, 48), [Checkpoint("aioz", 47)], _blocks(30, 18))
    await conn.execute("delete from core.dirty_days")
    deleted = await rewind(conn, "polygon", 35)
    assert deleted == 12 * 3
    assert await conn.fetchval("select max(block) from core.flows where chain = 'polygon'") == 35
    assert await conn.fetchval("select count(*) from core.flows where chain = 'aioz'") == 144, "other chains untouched"
    assert await read_cursor(conn, "polygon") == (35, None)
    assert await conn.fetchval("select max(number) from core.blocks where chain = 'polygon'") == 35
    days = [r["day"] for r in await conn.fetch("select day from core.dirty_days where chain = 'polygon'")]
    assert days == [date(2024, 1, 2)], "blocks 36-47 are on Jan 2nd"


async def test_flows_land_in_their_month_and_default_rows_are_moved(conn: asyncpg.Connection) -> None:
    # A row that reached the default partition (no monthly partition yet) must move into
    # its month when that partition is created, not block it.
    when = datetime(2019, 5, 17, tzinfo=UTC)
    await conn.execute("insert into core.flows values ('polygon', 1, $1, '0xold', 0, $2, null, '0xa', 5)", when, TOKEN)
    assert await conn.fetchval("select count(*) from core.flows_default") == 1
    cols = FlowColumns("polygon")
    cols.append(2, "0xnew", 0, TOKEN, None, "0xa", 7, int(when.timestamp()) + 60)
    await write_batch(conn, cols, [Checkpoint("polygon", 2)])
    where = {
        r["tx"]: r["part"] for r in await conn.fetch("select tx, tableoid::regclass::text as part from core.flows")
    }
    assert where == {"0xold": "core.flows_y2019m05", "0xnew": "core.flows_y2019m05"}
    assert await conn.fetchval("select count(*) from core.flows_default") == 0


async def test_batch_without_block_times_is_refused(conn: asyncpg.Connection) -> None:
    cols = FlowColumns("polygon")
    cols.append(1, "0xabc", 0, TOKEN, None, "0xa", 1)
    with pytest.raises(ValueError, match="1 flows but 0 block times"):
        await write_batch(conn, cols, [Checkpoint("polygon", 1)])
    assert await conn.fetchval("select count(*) from core.flows") == 0
