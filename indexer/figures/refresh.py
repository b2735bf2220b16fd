"""The incremental refresh: recompute the rollups of dirty days and months only.

Writers mark every (chain, day) they touch in ``core.dirty_days``. A refresh takes those
rows (deleting them inside its own transaction, so a crash puts them back), recomputes
the daily rollups of exactly those (chain, day) pairs (and, where their flows changed,
the rollups ``discover`` reads), keeps each node's first earning day right (a reorg can
move it), then recomputes the network-day rows of the affected days and the monthly rows
of their months. Cost grows with the new data, not with
history; one transaction, so readers see the old figures or the new ones, never a mix.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from indexer.redact import redact_text
from indexer.store.locks import lock_for_transaction
from indexer.store.sqlfiles import queries

log = logging.getLogger(__name__)


@dataclass
class RefreshStats:
    """What a refresh recomputed."""

    chain_days: int = 0
    days: int = 0
    months: int = 0
    flow_days: int = 0
    """(chain, day) pairs whose flows changed: their discover rollups were recomputed."""
    seconds: float = 0.0


async def refresh(conn: asyncpg.Connection) -> RefreshStats:
    """Recompute every figure touched since the last refresh; safe to run at any time."""
    sql = queries("figures")
    started = time.perf_counter()
    stats = RefreshStats()
    async with conn.transaction():
        # One refresher at a time (the service takes the same lock around its job).
        await lock_for_transaction(conn, "refresh-tx")
        dirty = await conn.fetch(sql["take_dirty"])
        # The figures are current as of now once this transaction commits.
        await conn.execute(sql["record_refresh_success"])
        if not dirty:
            stats.seconds = time.perf_counter() - started
            return stats
        nodes: set[tuple[str, str]] = set()
        # Month by month: each pass reads one contiguous range of flows, however
        # scattered the dirty days are (a reorg today, a relabel of 2023).
        by_month: dict[date, list[asyncpg.Record]] = {}
        for row in dirty:
            by_month.setdefault(row["day"].replace(day=1), []).append(row)
        for rows in by_month.values():
            chains = [r["chain"] for r in rows]
            days = [r["day"] for r in rows]
            await conn.execute(sql["drop_daily_revenue"], chains, days)
            before = await conn.fetch(sql["drop_daily_earnings"], chains, days)
            after = await conn.fetch(sql["fill_daily"], chains, days)
            nodes |= {(r["network"], r["node"]) for r in before} | {(r["network"], r["node"]) for r in after}
            stats.flow_days += await _roll_up_for_discover(conn, [r for r in rows if r["flows"]])
        affected = {r["day"] for r in dirty} | await _update_first_days(conn, sql, nodes)
        day_list = sorted(affected)
        await conn.execute(sql["drop_network_daily"], day_list)
        await conn.execute(sql["fill_network_daily"], day_list)
        await conn.execute(sql["drop_node_earnings_daily"], day_list)
        await conn.execute(sql["fill_node_earnings_daily"], day_list)
        months = sorted({d.replace(day=1) for d in affected})
        for name in ("drop_monthly", "drop_monthly_nodes", "drop_monthly_network"):
            await conn.execute(sql[name], months)
        await conn.execute(sql["fill_monthly"], months)
        # A node's days online in a month depend on its payouts in the months beside it.
        profit_months = sorted({n for m in months for n in (_shift(m, -1), m, _shift(m, 1))})
        await conn.execute(sql["drop_monthly_profit"], profit_months)
        await conn.execute(sql["fill_monthly_profit"], profit_months)
        stats.chain_days, stats.days, stats.months = len(dirty), len(day_list), len(months)
    stats.seconds = time.perf_counter() - started
    return stats


async def database_now(conn: asyncpg.Connection) -> datetime:
    """The database's clock: pass it to :func:`record_failure` as the refresh's start."""
    now: datetime = await conn.fetchval(queries("figures")["database_now"])
    return now


async def record_failure(conn: asyncpg.Connection, exc: BaseException, started: datetime) -> str:
    """Record that a refresh started at ``started`` (:func:`database_now`) failed with ``exc`` (after its
    transaction rolled back) in core.refresh_status, so analytics.freshness.last_error,
    /readyz and the dashboard show it; return the error's text. Every runner of a refresh
    calls this: the service and ``depin-indexer refresh``. A failure to record is logged,
    never raised: the refresh's own error is the one to report."""
    # Shown by the API (/v1/freshness, the dashboard): a DSN's password never.
    error = redact_text(f"{type(exc).__name__}: {exc}")
    try:
        await conn.execute(queries("figures")["record_refresh_failure"], error, started)
    except (asyncpg.PostgresError, OSError) as record_exc:
        log.warning("could not record the refresh failure: %s: %s", type(record_exc).__name__, record_exc)
    return error


async def _roll_up_for_discover(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> int:
    """Recompute discover's rollups (core.pair_days, core.address_months) of the (chain,
    day) pairs in ``rows``, whose flows changed; return how many."""
    if not rows:
        return 0
    sql = queries("discover")
    days = [r["day"] for r in rows]
    span = (_utc(min(days)), _utc(max(days) + timedelta(days=1)))
    empty = await conn.fetch(sql["roll_up_days"], [r["chain"] for r in rows], days, *span)
    if empty:
        keys = [[r[k] for r in empty] for k in ("chain", "token", "address", "month")]
        await conn.execute(sql["drop_empty_address_months"], *keys)
    return len(rows)


def _utc(day: date) -> datetime:
    """The start of ``day``, UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _shift(month: date, by: int) -> date:
    """The first day of the month ``by`` months from ``month`` (a first day)."""
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


async def _update_first_days(conn: asyncpg.Connection, sql: dict[str, str], nodes: set[tuple[str, str]]) -> set[date]:
    """Bring node_first_day up to date for ``nodes``; return the days whose new_nodes changed."""
    if not nodes:
        return set()
    networks, names = zip(*sorted(nodes), strict=True)
    rows = await conn.fetch(sql["first_days"], list(networks), list(names))
    changed = [r for r in rows if r["old_first"] != r["new_first"]]
    if not changed:
        return set()
    await conn.execute(
        sql["set_first_days"],
        [r["network"] for r in changed],
        [r["node"] for r in changed],
        [r["new_first"] for r in changed],
    )
    return {d for r in changed for d in (r["old_first"], r["new_first"]) if d is not None}


async def refresh_all(conn: asyncpg.Connection) -> RefreshStats:
    """Mark every (chain, day) with flows dirty and refresh: a full recompute (slow; for repairs)."""
    await conn.execute(queries("figures")["mark_every_day"])
    return await refresh(conn)
