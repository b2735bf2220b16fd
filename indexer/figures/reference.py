"""Mirror the config's tokens, labels and assumptions into the database.

Labels are data: changing one never needs a re-index, only a recompute of the days whose
flows involve the relabelled address. ``sync_reference`` finds exactly those days and
marks them dirty in the same transaction that replaces the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from indexer.store.locks import lock_for_transaction
from indexer.store.sqlfiles import queries
from schemas.config import Config, EvmChain

_SQL = queries("reference")
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
        await _sync_tokens(conn, desired_tokens(config), changes)
        labels = {
            (lb.network, lb.chain, lb.address, lb.role, lb.name, lb.valid_from, lb.valid_to) for lb in config.labels
        }
        await _sync_labels(conn, labels, changes)
        assumptions = {(a.network, a.watts, a.usd_per_kwh) for a in config.assumptions}
        if not any(a[0] == "*" for a in assumptions):
            assumptions.add(("*", _DEFAULT_WATTS, _DEFAULT_USD_PER_KWH))
        await _sync_assumptions(conn, assumptions, changes)
    return changes


async def _sync_tokens(
    conn: asyncpg.Connection, tokens: set[tuple[str, str, str, int, bool]], changes: ReferenceChanges
) -> None:
    current = {tuple(r) for r in await conn.fetch(_SQL["tokens"])}
    changed = {(chain, address) for chain, address, *_ in tokens ^ current}
    changes.tokens_changed = len(changed)
    for chain, address in changed:
        changes.days_marked += await conn.fetchval(_SQL["mark_token_days"], chain, address)
    await conn.execute(_SQL["delete_tokens"])
    await conn.executemany(_SQL["insert_token"], sorted(tokens))


async def _sync_labels(conn: asyncpg.Connection, labels: set[tuple[Any, ...]], changes: ReferenceChanges) -> None:
    diff = labels ^ {tuple(r) for r in await conn.fetch(_SQL["labels"])}
    changes.labels_changed = len(diff)
    if not diff:
        return
    for _network, chain, address, role, *_ in diff:
        query = "mark_mint_and_burn_days" if role in ("burn_revenue", "mint_rewards") else "mark_address_days"
        changes.days_marked += await conn.fetchval(_SQL[query], chain, address)
    await conn.execute(_SQL["delete_labels"])
    await conn.executemany(_SQL["insert_label"], sorted(labels, key=str))


async def _sync_assumptions(
    conn: asyncpg.Connection, assumptions: set[tuple[str, Decimal, Decimal]], changes: ReferenceChanges
) -> None:
    if assumptions == {tuple(r) for r in await conn.fetch(_SQL["assumptions"])}:
        return
    changes.assumptions_changed = True
    await conn.execute(_SQL["delete_assumptions"])
    await conn.executemany(_SQL["insert_assumption"], sorted(assumptions))
    changes.days_marked += await conn.fetchval(_SQL["mark_earning_months"])
