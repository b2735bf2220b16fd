"""Mirror the config's tokens, labels and assumptions into the database.

Labels are data: changing one never needs a re-index, only a recompute of the days whose
flows involve the relabelled address. ``sync_reference`` finds exactly those days and
marks them dirty in the same transaction that replaces the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import asyncpg

from indexer.store.locks import lock_for_transaction
from schemas.config import Config, EvmChain

_DEFAULT_WATTS = Decimal(450)
_DEFAULT_USD_PER_KWH = Decimal("0.15")


@dataclass
class ReferenceChanges:
    tokens_changed: int = 0
    labels_changed: int = 0
    assumptions_changed: bool = False
    days_marked: int = 0


def desired_tokens(config: Config) -> set[tuple[str, str, str, int, bool]]:
    """(chain, address, symbol, decimals, stablecoin) of every token, native coins included."""
    rows = {(t.chain, t.address, t.symbol, t.decimals, t.stablecoin) for t in config.tokens}
    for name, chain in config.chains.items():
        if isinstance(chain, EvmChain) and chain.native_symbol:
            rows.add((name, "native", chain.native_symbol, chain.native_decimals, False))
    return rows


async def sync_reference(conn: asyncpg.Connection, config: Config) -> ReferenceChanges:
    """Make core.tokens, core.labels and core.assumptions equal the config; mark affected days dirty."""
    changes = ReferenceChanges()
    async with conn.transaction():
        # Replicas started together each mirror the config: one at a time, so the later
        # ones see the rows the first wrote and find nothing to change.
        await lock_for_transaction(conn, "reference")
        tokens = desired_tokens(config)
        current_tokens = {
            (r["chain"], r["address"], r["symbol"], r["decimals"], r["stablecoin"])
            for r in await conn.fetch("select chain, address, symbol, decimals, stablecoin from core.tokens")
        }
        token_diff = tokens ^ current_tokens
        changes.tokens_changed = len({(c, a) for c, a, *_ in token_diff})
        for chain, address in {(c, a) for c, a, *_ in token_diff}:
            changes.days_marked += await _mark(conn, _MARK_TOKEN, chain, address)
        await conn.execute("delete from core.tokens")
        await conn.executemany(
            "insert into core.tokens (chain, address, symbol, decimals, stablecoin) values ($1, $2, $3, $4, $5)",
            sorted(tokens),
        )

        labels = {
            (lb.network, lb.chain, lb.address, lb.role, lb.name, lb.valid_from, lb.valid_to) for lb in config.labels
        }
        current_labels = {
            tuple(r)
            for r in await conn.fetch(
                "select network, chain, address, role, name, valid_from, valid_to from core.labels"
            )
        }
        label_diff = labels ^ current_labels
        changes.labels_changed = len(label_diff)
        for _network, chain, address, role, *_ in label_diff:
            query = _MARK_TOKEN_ROLE if role in ("burn_revenue", "mint_rewards") else _MARK_ADDRESS
            changes.days_marked += await _mark(conn, query, chain, address)
        if label_diff:
            await conn.execute("delete from core.labels")
            await conn.executemany(
                "insert into core.labels (network, chain, address, role, name, valid_from, valid_to) "
                "values ($1, $2, $3, $4, $5, $6, $7)",
                sorted(labels, key=str),
            )

        assumptions = {(a.network, a.watts, a.usd_per_kwh) for a in config.assumptions}
        if not any(a[0] == "*" for a in assumptions):
            assumptions.add(("*", _DEFAULT_WATTS, _DEFAULT_USD_PER_KWH))
        current = {tuple(r) for r in await conn.fetch("select network, watts, usd_per_kwh from core.assumptions")}
        if assumptions != current:
            changes.assumptions_changed = True
            await conn.execute("delete from core.assumptions")
            await conn.executemany(
                "insert into core.assumptions (network, watts, usd_per_kwh) values ($1, $2, $3)", sorted(assumptions)
            )
            # Profitability is monthly: one dirty day per (chain, month) with earnings
            # makes the refresh recompute every month that has any.
            changes.days_marked += await conn.fetchval(
                "select core.mark_dirty(array_agg(chain), array_agg(day)) from ("
                "select distinct on (chain, date_trunc('month', day)) chain, day from rollup.earnings_daily "
                "order by chain, date_trunc('month', day), day) d"
            )
    return changes


# Each marks its days through core.mark_dirty (sql/migrations/0050_mark_dirty.sql).
# Days with any flow of a token (its symbol or decimals changed).
_MARK_TOKEN = """
select core.mark_dirty(array_agg(chain), array_agg(day)) from (
    select distinct chain, (block_time at time zone 'UTC')::date as day
    from core.flows where chain = $1 and token = $2
) d
"""
# Days with mints or burns of a token (a burn_revenue / mint_rewards label changed).
_MARK_TOKEN_ROLE = """
select core.mark_dirty(array_agg(chain), array_agg(day)) from (
    select distinct chain, (block_time at time zone 'UTC')::date as day
    from core.flows where chain = $1 and token = $2 and (src is null or dst is null)
) d
"""
# Days with a flow to or from an address (a revenue / rewards label changed).
_MARK_ADDRESS = """
select core.mark_dirty(array_agg(chain), array_agg(day)) from (
    select distinct chain, (block_time at time zone 'UTC')::date as day
    from core.flows where chain = $1 and (src = $2 or dst = $2)
) d
"""


async def _mark(conn: asyncpg.Connection, query: str, chain: str, value: str) -> int:
    """Run one of the _MARK_* statements; returns how many (chain, day) pairs became dirty."""
    return int(await conn.fetchval(query, chain, value))
