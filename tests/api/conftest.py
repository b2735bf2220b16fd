"""A populated database and the API app over it (real Postgres, real HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import httpx
import pytest

from indexer.api.app import create_app
from indexer.config import parse_config
from indexer.decode.columns import FlowColumns
from indexer.store.writer import Checkpoint, write_batch
from tests.conftest import as_role

IO_MINT = "BZLbGTNCSFfoth2GYDtwr7e4imWzpR5jqcUuGEwr646K"
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
PAYMENTS = "PaymentsWa11et111111111111111111111111111111"
REWARDS = "RewardsWa11et1111111111111111111111111111111"
NODES = [f"Node{chr(65 + i)}" + "1" * 39 for i in range(23)]
CUSTOMERS = [f"Cust{chr(65 + i)}" + "1" * 39 for i in range(5)]

CONFIG = {
    "chains": {"solana": {"kind": "solana", "rpc": ["http://127.0.0.1:1"]}},
    "tokens": [
        {"chain": "solana", "address": IO_MINT, "symbol": "IO", "decimals": 8},
        {"chain": "solana", "address": USDC_MINT, "symbol": "USDC", "decimals": 6, "stablecoin": True},
    ],
    "labels": [
        {"network": "io.net", "chain": "solana", "address": PAYMENTS, "role": "revenue", "name": "payments"},
        {"network": "io.net", "chain": "solana", "address": REWARDS, "role": "rewards", "name": "distributor"},
    ],
}


def _ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp())


async def populate(conn: asyncpg.Connection) -> dict[str, Decimal]:
    """Two months of io.net: USDC payments in, IO rewards out (node i earns i+1 IO a day
    on days where (day + i) % 3 != 0), an IO price on January days only."""
    from indexer.figures.reference import sync_reference
    from indexer.figures.refresh import refresh

    config = parse_config(CONFIG)
    await sync_reference(conn, config)
    flows = FlowColumns("solana")
    expected: dict[str, Decimal] = {}
    slot = 0
    for month, days in ((1, 31), (2, 29)):
        for d in range(1, days + 1):
            day = date(2024, month, d)
            slot += 1
            for c, customer in enumerate(CUSTOMERS):
                flows.append(
                    slot, f"pay-{day}-{c}", 0, USDC_MINT, customer, PAYMENTS, 1_000_000 * (c + 1) + 1, _ts(day)
                )
            for i, node in enumerate(NODES):
                if (d + i) % 3 == 0:
                    continue
                raw = (i + 1) * 10**8 + 12345678  # i + 1.12345678 IO
                flows.append(slot, f"rew-{day}-{i}", 0, IO_MINT, REWARDS, node, raw, _ts(day))
                key = f"{node}/{month}"
                expected[key] = expected.get(key, Decimal(0)) + Decimal(raw) / Decimal(10**8)
    await write_batch(conn, flows, [Checkpoint("solana", slot)])
    await conn.executemany(
        "insert into core.prices (day, symbol, usd) values ($1, 'IO', $2)",
        [(date(2024, 1, d), Decimal("2.5")) for d in range(1, 32)],
    )
    await conn.execute(
        "insert into core.dirty_days (chain, day) select 'solana', day from core.prices on conflict do nothing"
    )
    await refresh(conn)
    return expected


@pytest.fixture
async def populated(db_url: str) -> AsyncIterator[tuple[str, dict[str, Decimal]]]:
    conn = await asyncpg.connect(db_url)
    try:
        expected = await populate(conn)
    finally:
        await conn.close()
    yield db_url, expected


@pytest.fixture
async def client(populated: tuple[str, dict[str, Decimal]]) -> AsyncIterator[httpx.AsyncClient]:
    db_url, _ = populated
    app = create_app(as_role(db_url, "depin_reader"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield http
