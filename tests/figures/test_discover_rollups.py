"""Property: ``discover``'s rollups (core.pair_days, core.address_months) equal an
independent Python aggregation of the flows after every refresh, through random writes,
reorg rewinds and writes into days already refreshed; and ``discover`` answers the same
whether a day is read from the rollups or, still dirty, from core.flows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.config import parse_config
from indexer.decode.columns import FlowColumns
from indexer.figures.discover import discover, resolve_token
from indexer.figures.reference import sync_reference
from indexer.figures.refresh import refresh
from indexer.store.writer import Checkpoint, rewind, write_batch

TOKENS = [f"0x{0xA0:040x}", f"0x{0xB0:040x}"]
ADDRESSES = [f"0x{i:040x}" for i in range(1, 7)]  # few: the pool holds every one of them
START = date(2024, 1, 25)
DAYS = 40  # three months
Flow = tuple[int, int, str, str | None, str | None, int]  # (block, unix time, token, src, dst, amount)


@st.composite
def batches(draw: st.DrawFn) -> list[list[Flow]]:
    """Batches of flows in block order; a later batch may land on days already refreshed."""
    out: list[list[Flow]] = []
    block = 0
    for _ in range(draw(st.integers(1, 4))):
        batch = []
        for _ in range(draw(st.integers(1, 60))):
            block += 1
            src = draw(st.sampled_from([None, *ADDRESSES]))
            dst = draw(st.sampled_from(ADDRESSES if src is None else [None, *ADDRESSES]))
            day = START + timedelta(days=draw(st.integers(0, DAYS - 1)))
            when = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + draw(st.integers(0, 86399))
            amount = draw(st.one_of(st.integers(0, 10**6), st.integers(10**18, 10**30)))
            batch.append((block, when, draw(st.sampled_from(TOKENS)), src, dst, amount))
        out.append(batch)
    return out


def _pairs(flows: list[Flow]) -> dict[tuple[Any, ...], tuple[int, int, int]]:
    """(token, src, dst, UTC day) -> (transfers, amount, hours mask), by hand."""
    out: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    for _, when, token, src, dst, amount in flows:
        moment = datetime.fromtimestamp(when, UTC)
        row = out[(token, src, dst, moment.date())]
        row[0] += 1
        row[1] += amount
        row[2] |= 1 << moment.hour
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def _months(flows: list[Flow]) -> dict[tuple[Any, ...], tuple[int, int, int, int, int | None, int | None]]:
    """(token, address, month) -> (payouts, receipts, mints, burns, minted, burnt), by hand."""
    out: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, 0, 0, None, None])
    for _, when, token, src, dst, amount in flows:
        month = datetime.fromtimestamp(when, UTC).date().replace(day=1)
        if src is not None:
            row = out[(token, src, month)]
            if dst is None:
                row[3] += 1
                row[5] = (row[5] or 0) + amount
            else:
                row[0] += 1
        if dst is not None:
            row = out[(token, dst, month)]
            if src is None:
                row[2] += 1
                row[4] = (row[4] or 0) + amount
            else:
                row[1] += 1
    return {k: tuple(v) for k, v in out.items()}  # type: ignore[misc]


async def _stored(conn: asyncpg.Connection) -> tuple[dict[tuple[Any, ...], Any], dict[tuple[Any, ...], Any]]:
    pairs = {
        (r["token"], r["src"], r["dst"], r["day"]): (r["transfers"], int(r["amount"]), r["hours"])
        for r in await conn.fetch("select * from core.pair_days where chain = 'c1'")
    }
    months = {
        (r["token"], r["address"], r["month"]): (
            r["payouts"],
            r["receipts"],
            r["mints"],
            r["burns"],
            None if r["minted"] is None else int(r["minted"]),
            None if r["burnt"] is None else int(r["burnt"]),
        )
        for r in await conn.fetch("select * from core.address_months where chain = 'c1'")
    }
    return pairs, months


async def _answers(conn: asyncpg.Connection) -> list[Any]:
    out = []
    for address in TOKENS:
        token = await resolve_token(conn, "c1", address)
        for since, until in ((None, None), (START + timedelta(days=7), START + timedelta(days=20))):
            out.append([c.as_json() for c in await discover(conn, "c1", token, since, until, 3)])
    return out


async def _check(conn: asyncpg.Connection, flows: list[Flow], when: str) -> None:
    """Discover before the refresh (dirty days read from core.flows) equals discover after it
    (from the rollups), and the rollups equal the hand aggregation."""
    before = await _answers(conn)
    await refresh(conn)
    after = await _answers(conn)
    assert after == before, f"{when}: discover differs between core.flows and the rollups"
    pairs, months = await _stored(conn)
    assert pairs == _pairs(flows), f"{when}: core.pair_days differs from the flows"
    assert months == _months(flows), f"{when}: core.address_months differs from the flows"


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=batches(), data=st.data())
async def test_rollups_follow_writes_and_rewinds_and_discover_reads_either_way(
    conn: asyncpg.Connection, history: list[list[Flow]], data: st.DataObject
) -> None:
    await conn.execute(
        "truncate core.flows, core.dirty_days, core.cursors, core.blocks, core.pair_days, core.address_months"
    )
    await sync_reference(
        conn,
        parse_config(
            {
                "chains": {"c1": {"kind": "evm", "rpc": ["http://127.0.0.1:1"], "chain_id": 1}},
                "tokens": [
                    {"chain": "c1", "address": t, "symbol": f"T{i}", "decimals": 18} for i, t in enumerate(TOKENS)
                ],
            }
        ),
    )
    stored: list[Flow] = []
    for n, batch in enumerate(history):
        cols = FlowColumns("c1")
        for block, when, token, src, dst, amount in batch:
            cols.append(block, f"0x{block:064x}", 0, token, src, dst, amount, when)
        await write_batch(conn, cols, [Checkpoint("c1", batch[-1][0])])
        stored += batch
        await _check(conn, stored, f"after batch {n}")
        if data.draw(st.booleans(), label=f"rewind after batch {n}"):
            fork = data.draw(st.integers(0, stored[-1][0]), label="fork block")
            await rewind(conn, "c1", fork)
            stored = [f for f in stored if f[0] <= fork]
            await _check(conn, stored, f"after a rewind to block {fork}")


async def test_labels_and_prices_mark_days_without_rebuilding_their_pairs(conn: asyncpg.Connection) -> None:
    """A relabel or a price import changes figures, not flows: its marks leave the pair
    rows alone; a write, and a reorg's delete, do rebuild them."""
    await conn.execute(
        "truncate core.flows, core.dirty_days, core.cursors, core.blocks, core.pair_days, core.address_months"
    )
    raw = {
        "chains": {"c1": {"kind": "evm", "rpc": ["http://127.0.0.1:1"], "chain_id": 1}},
        "tokens": [{"chain": "c1", "address": TOKENS[0], "symbol": "T0", "decimals": 18}],
    }
    await sync_reference(conn, parse_config(raw))
    when = int(datetime(2024, 2, 1, 12, tzinfo=UTC).timestamp())
    cols = FlowColumns("c1")
    cols.append(1, f"0x{1:064x}", 0, TOKENS[0], ADDRESSES[0], ADDRESSES[1], 10**18, when)
    await write_batch(conn, cols, [Checkpoint("c1", 1)])
    flags = "select day, flows from core.dirty_days order by day"
    assert [tuple(r) for r in await conn.fetch(flags)] == [(date(2024, 2, 1), True)], "a write rebuilds"
    await refresh(conn)
    labelled = {**raw, "labels": [{"network": "n", "chain": "c1", "address": ADDRESSES[1], "role": "revenue"}]}
    await sync_reference(conn, parse_config(labelled))
    assert [tuple(r) for r in await conn.fetch(flags)] == [(date(2024, 2, 1), False)], "a relabel does not"
    await rewind(conn, "c1", 0)
    assert [tuple(r) for r in await conn.fetch(flags)] == [(date(2024, 2, 1), True)], "a reorg's delete does"
    await refresh(conn)
    assert await conn.fetchval("select count(*) from core.pair_days") == 0
