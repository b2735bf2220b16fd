"""Helpers for store tests: synthetic flow batches and whole-table fingerprints."""

from __future__ import annotations

import asyncpg

from indexer.decode.columns import FlowColumns

JAN_2024 = 1_704_067_200  # 2024-01-01T00:00:00Z
TOKEN = "0x61299774020da444af134c82fa83e3810b309991"


def synthetic_flows(
    chain: str, first_block: int, blocks: int, per_block: int = 3, t0: int = JAN_2024, seconds_per_block: int = 3600
) -> FlowColumns:
    """Deterministic flows: ``per_block`` transfers in each block, amounts above 2**64."""
    cols = FlowColumns(chain)
    for b in range(first_block, first_block + blocks):
        for i in range(per_block):
            n = b * per_block + i
            src = None if i == 0 else f"0x{(n * 7919) % 997:040x}"
            dst = None if i == per_block - 1 and per_block > 2 else f"0x{(n * 104729) % 991:040x}"
            cols.append(b, f"0x{b:032x}{i:032x}", i, TOKEN, src, dst, 10**18 * (n + 1) + n, t0 + b * seconds_per_block)
    return cols


async def fingerprint(conn: asyncpg.Connection) -> dict[str, str]:
    """An md5 of every core table's full, ordered contents: equal fingerprints, equal tables."""
    tables = {
        "flows": "select * from core.flows order by chain, tx, idx",
        "blocks": "select * from core.blocks order by chain, number",
        "cursors": "select chain, source, block, ref from core.cursors order by chain, source",
        "dirty_days": "select chain, day from core.dirty_days order by chain, day",
    }
    out = {}
    for name, query in tables.items():
        out[name] = await conn.fetchval(f"select md5(coalesce(string_agg(t::text, '|'), '')) from ({query}) t")
    return out
