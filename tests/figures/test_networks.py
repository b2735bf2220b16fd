"""Hand-computed figures for each network's methodology (docs/methodology.md)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import pytest

from indexer.config import parse_config
from indexer.decode.columns import FlowColumns
from indexer.figures.reference import sync_reference
from indexer.figures.refresh import refresh
from indexer.store.writer import Checkpoint, write_batch
from tests.conftest import as_role


def b58(name: str) -> str:
    """A base58-shaped Solana address for a readable name."""
    return (name + "1" * 44)[:44]


IO, USDC, RENDER = (
    "BZLbGTNCSFfoth2GYDtwr7e4imWzpR5jqcUuGEwr646K",
    "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
    "rndrizKT3MK1iimdxRdWabcF7Zg7AR5T4nud4EkHBof",
)
RNDR = "0x61299774020da444af134c82fa83e3810b309991"
PAY, DIST, EMIT = b58("Pay"), b58("Dist"), b58("Emit")
ESC, PAYA, REWA = "0x" + "e5" * 20, "0x" + "aa" * 20, "0x" + "bb" * 20


def config(extra_labels: list[dict] | None = None, drop: str | None = None):  # type: ignore[no-untyped-def]
    labels = [
        {"network": "io.net", "chain": "sol", "address": PAY, "role": "revenue"},
        {"network": "io.net", "chain": "sol", "address": DIST, "role": "rewards"},
        {"network": "render", "chain": "sol", "address": RENDER, "role": "burn_revenue"},
        {"network": "render", "chain": "sol", "address": RENDER, "role": "mint_rewards"},
        {"network": "render", "chain": "sol", "address": EMIT, "role": "rewards"},
        {"network": "render", "chain": "polygon", "address": ESC, "role": "revenue"},
        {"network": "render", "chain": "polygon", "address": ESC, "role": "rewards", "valid_from": date(2024, 3, 5)},
        {"network": "aioz", "chain": "aioz", "address": PAYA, "role": "revenue"},
        {"network": "aioz", "chain": "aioz", "address": REWA, "role": "rewards"},
    ] + (extra_labels or [])
    labels = [lb for lb in labels if lb["address"] != drop]
    return parse_config(
        {
            "chains": {
                "sol": {"kind": "solana", "rpc": ["http://127.0.0.1:1"]},
                "polygon": {"kind": "evm", "rpc": ["http://127.0.0.1:2"], "chain_id": 137},
                "aioz": {"kind": "evm", "rpc": ["http://127.0.0.1:3"], "chain_id": 168, "native_symbol": "AIOZ"},
            },
            "tokens": [
                {"chain": "sol", "address": IO, "symbol": "IO", "decimals": 8},
                {"chain": "sol", "address": USDC, "symbol": "USDC", "decimals": 6, "stablecoin": True},
                {"chain": "sol", "address": RENDER, "symbol": "RENDER", "decimals": 8},
                {"chain": "polygon", "address": RNDR, "symbol": "RNDR", "decimals": 18},
            ],
            "labels": labels,
        }
    )


def at(d: date, second: int = 0) -> int:
    return int(datetime(d.year, d.month, d.day, 10, tzinfo=UTC).timestamp()) + second


async def populate(conn: asyncpg.Connection) -> None:
    await sync_reference(conn, config())
    sol = FlowColumns("sol")
    jan5, jan6, jan7, jan8 = date(2024, 1, 5), date(2024, 1, 6), date(2024, 1, 7), date(2024, 1, 8)
    sol.append(1, "s-usdc", 0, USDC, b58("CustA"), PAY, 1_500_000_000, at(jan5))  # 1,500 USDC paid
    sol.append(1, "s-io", 0, IO, b58("CustB"), PAY, 25_050_000_000, at(jan5, 1))  # 250.5 IO paid
    sol.append(2, "s-rew", 0, IO, DIST, b58("NodeA"), 1_234_567_891, at(jan6))  # 12.34567891 IO earned
    sol.append(2, "s-rew", 1, IO, DIST, b58("NodeB"), 100_000_000, at(jan6))  # 1 IO earned
    sol.append(3, "s-move", 0, IO, PAY, DIST, 10_000_000_000, at(jan7))  # internal: neither
    sol.append(4, "s-burn", 0, IO, PAY, None, 5_000_000_000, at(jan8))  # buyback burn: not revenue
    feb1, feb2 = date(2024, 2, 1), date(2024, 2, 2)
    sol.append(5, "r-burn", 0, RENDER, b58("CustX"), None, 1_000_000_000, at(feb1))  # 10 RENDER burnt: revenue
    sol.append(5, "r-mint", 0, RENDER, None, EMIT, 100_000_000_000, at(feb1, 1))  # minted to own wallet
    sol.append(6, "r-pay", 0, RENDER, EMIT, b58("NodeC"), 3_000_000_000, at(feb2))  # 30 RENDER earned
    sol.append(6, "r-mint2", 0, RENDER, None, b58("NodeD"), 500_000_000, at(feb2, 1))  # 5 RENDER minted to node
    await write_batch(conn, sol, [Checkpoint("sol", 6)])
    poly = FlowColumns("polygon")
    mar3, mar4 = date(2024, 3, 3), date(2024, 3, 4)
    poly.append(10, "0xp1", 0, RNDR, "0x" + "c1" * 20, ESC, 1234567891234567891, at(mar3))
    poly.append(11, "0xp2", 0, RNDR, ESC, "0x" + "d1" * 20, 5 * 10**17, at(mar4))  # before rewards label: nothing
    await write_batch(conn, poly, [Checkpoint("polygon", 11)])
    aioz = FlowColumns("aioz")
    apr10 = date(2024, 4, 10)
    aioz.append(20, "0xa1", -1, "native", "0x" + "c2" * 20, PAYA, 3 * 10**18, at(apr10))
    aioz.append(21, "0xa2", -1, "native", REWA, "0x" + "f1" * 20, 2 * 10**18, at(apr10, 5))
    await write_batch(conn, aioz, [Checkpoint("aioz", 21)])
    await conn.executemany(
        "insert into core.prices values ($1, $2, $3)",
        [
            (jan5, "IO", Decimal("2.5")),
            (feb1, "RENDER", Decimal(7)),
            (feb2, "RENDER", Decimal(8)),
            (apr10, "AIOZ", Decimal("0.5")),
        ],
    )
    await refresh(conn)


async def _one(conn: asyncpg.Connection, query: str, *args: object) -> dict:  # type: ignore[type-arg]
    rows = await conn.fetch(query, *args)
    assert len(rows) == 1, f"{len(rows)} rows for {query} {args}"
    return dict(rows[0])


async def test_io_net_payments_rewards_and_no_double_counted_burn(conn: asyncpg.Connection) -> None:
    await populate(conn)
    rows = {
        r["token"]: dict(r)
        for r in await conn.fetch(
            "select * from analytics.monthly_revenue where network = 'io.net' and month = '2024-01-01'"
        )
    }
    assert rows == {
        "USDC": {
            "network": "io.net",
            "month": date(2024, 1, 1),
            "token": "USDC",
            "amount": Decimal(1500),
            "amount_usd": Decimal(1500),
            "payments": 1,
            "payers": 1,
        },
        "IO": {
            "network": "io.net",
            "month": date(2024, 1, 1),
            "token": "IO",
            "amount": Decimal("250.5"),
            "amount_usd": Decimal("626.25"),
            "payments": 1,
            "payers": 1,
        },
    }, "the internal move and the buyback burn are not revenue"
    node_a = await _one(
        conn, "select amount, amount_usd from analytics.node_earnings_monthly where node = $1", b58("NodeA")
    )
    assert node_a == {"amount": Decimal("12.34567891"), "amount_usd": None}, "no IO price on Jan 6: NULL, not 0"
    util = await _one(conn, "select * from analytics.network_utilisation_monthly where network = 'io.net'")
    assert (util["active_nodes"], util["node_days_active"], util["paying_customers"]) == (2, 2, 2)
    assert util["utilisation"] == Decimal("0.032258")  # 2 / (2 x 31)
    assert util["revenue_usd"] == Decimal("2126.25") and util["rewards_usd"] is None and util["demand_ratio"] is None


async def test_render_burns_are_revenue_and_mints_or_emissions_are_earnings(conn: asyncpg.Connection) -> None:
    await populate(conn)
    rev = await _one(conn, "select * from analytics.monthly_revenue where network = 'render' and month = '2024-02-01'")
    assert (rev["token"], rev["amount"], rev["amount_usd"], rev["payers"]) == ("RENDER", 10, 70, 1)
    earned = {
        r["node"]: (r["amount"], r["amount_usd"])
        for r in await conn.fetch(
            "select node, amount, amount_usd from analytics.node_earnings_monthly where network = 'render'"
        )
    }
    assert earned == {b58("NodeC"): (30, 240), b58("NodeD"): (5, 40)}, "a mint to the emissions wallet is no earning"
    util = await _one(
        conn, "select * from analytics.network_utilisation_monthly where network = 'render' and month = '2024-02-01'"
    )
    assert util["demand_ratio"] == Decimal("0.25")  # 70 / 280
    new = {
        r["day"]: r["new_nodes"]
        for r in await conn.fetch(
            "select day, new_nodes from analytics.network_utilisation_daily where network = 'render'"
        )
    }
    assert new[date(2024, 2, 2)] == 2


async def test_a_burn_by_the_networks_own_wallet_is_not_revenue_a_second_time(conn: asyncpg.Connection) -> None:
    await populate(conn)
    # Render gets a payment wallet: a customer pays it 20 RENDER (revenue), and the wallet
    # burns what it received. Counting that burn as well would make the 20 into 40.
    processor = b58("Proc")
    await sync_reference(conn, config([{"network": "render", "chain": "sol", "address": processor, "role": "revenue"}]))
    feb2 = date(2024, 2, 2)
    sol = FlowColumns("sol")
    sol.append(7, "r-pay-in", 0, RENDER, b58("CustY"), processor, 2_000_000_000, at(feb2, 10))
    sol.append(8, "r-own-burn", 0, RENDER, processor, None, 2_000_000_000, at(feb2, 20))
    await write_batch(conn, sol, [Checkpoint("sol", 8)])
    await refresh(conn)
    rev = await _one(conn, "select * from analytics.monthly_revenue where network = 'render' and month = '2024-02-01'")
    # 10 RENDER burnt by CustX on Feb 1 (at 7 USD) + 20 paid by CustY on Feb 2 (at 8 USD).
    assert (rev["amount"], rev["amount_usd"], rev["payments"], rev["payers"]) == (30, 230, 2, 2)


async def test_legacy_escrow_18_decimals_exact_and_label_validity(conn: asyncpg.Connection) -> None:
    await populate(conn)
    rev = await _one(conn, "select amount, amount_usd from analytics.monthly_revenue where month = '2024-03-01'")
    assert rev == {"amount": Decimal("1.234567891234567891"), "amount_usd": None}, "exact to the last raw unit"
    assert str(rev["amount"]) == "1.234567891234567891"
    payouts = await conn.fetchval("select count(*) from analytics.node_earnings_daily where day = '2024-03-04'")
    assert payouts == 0, "the escrow's rewards label is valid from March 5th only"


async def test_aioz_native_and_profitability(conn: asyncpg.Connection) -> None:
    await populate(conn)
    profit = await _one(
        conn,
        "select earnings_usd, electricity_usd, net_usd from analytics.node_profitability_monthly "
        "where network = 'aioz'",
    )
    # 2 AIOZ x 0.5 USD; 450 W x 24 h x 1 day / 1000 x 0.15 USD/kWh = 1.62 USD
    assert profit == {"earnings_usd": Decimal(1), "electricity_usd": Decimal("1.62"), "net_usd": Decimal("-0.62")}


async def test_a_node_paid_weekly_pays_for_electricity_every_day_it_was_online(conn: asyncpg.Connection) -> None:
    """Worked by hand (docs/methodology.md, "Profitability"): paid on Jan 3, 10, 17, 24,
    31 and Feb 7. January: first payout Jan 3, paid again in February, so online to Jan 31:
    29 days. February: paid in January, so online from Feb 1, to its last payout Feb 7: 7
    days. At 450 W x 24 h = 10.8 kWh a day x 0.15 USD = 1.62 USD a day: 46.98 and 11.34 USD
    (counting paid days only, January read 5 days, 8.10 USD: 5.8 times too little)."""
    await sync_reference(conn, config())
    node = "0x" + "9e" * 20
    aioz = FlowColumns("aioz")
    paydays = [date(2024, 1, d) for d in (3, 10, 17, 24, 31)] + [date(2024, 2, 7)]
    for number, day in enumerate(paydays):
        aioz.append(100 + number, f"0xw{number}", -1, "native", REWA, node, 10**18, at(day))
    await write_batch(conn, aioz, [Checkpoint("aioz", 105)])
    await refresh(conn)
    rows = await conn.fetch(
        "select month, days_active, days_online, electricity_usd from analytics.node_profitability_monthly "
        "where network = 'aioz' and node = $1 order by month",
        node,
    )
    assert [tuple(r) for r in rows] == [
        (date(2024, 1, 1), 5, 29, Decimal("46.98")),
        (date(2024, 2, 1), 1, 7, Decimal("11.34")),
    ]


async def test_utilisation_of_the_month_in_progress_counts_the_days_elapsed(conn: asyncpg.Connection) -> None:
    """Worked by hand: two nodes each paid once this month (UTC), on its first day. Two
    node-days over two nodes x the days elapsed so far: 1 / day-of-month, where dividing
    by every day of the month read 1 / 31 on December 1st (a full month: 1 / days in month)."""
    await sync_reference(conn, config())
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    aioz = FlowColumns("aioz")
    aioz.append(200, "0xu1", -1, "native", REWA, "0x" + "a7" * 20, 10**18, at(first))
    aioz.append(201, "0xu2", -1, "native", REWA, "0x" + "a8" * 20, 10**18, at(first, 1))
    aioz.append(202, "0xu3", -1, "native", REWA, "0x" + "a7" * 20, 10**18, at(date(2024, 4, 1)))
    await write_batch(conn, aioz, [Checkpoint("aioz", 202)])
    await refresh(conn)
    rows = {
        r["month"]: (r["utilisation"], r["partial"])
        for r in await conn.fetch(
            "select month, utilisation, partial from analytics.network_utilisation_monthly where network = 'aioz'"
        )
    }
    elapsed = (today - first).days + 1
    assert rows[first] == ((Decimal(1) / elapsed).quantize(Decimal("0.000001")), True)
    assert rows[date(2024, 4, 1)] == (Decimal("0.033333"), False), "a past month: 1 node-day / (1 x 30 days)"


async def test_relabelling_marks_days_dirty_and_changes_the_figures(conn: asyncpg.Connection) -> None:
    await populate(conn)
    changes = await sync_reference(conn, config(drop=REWA))
    assert changes.labels_changed == 1 and changes.days_marked == 1, "only the day of REWA's flow is dirty"
    await refresh(conn)
    assert await conn.fetchval("select count(*) from analytics.node_earnings_monthly where network = 'aioz'") == 0
    assert await conn.fetchval("select count(*) from analytics.monthly_revenue where network = 'aioz'") == 1


async def test_replicas_starting_at_once_sync_the_reference_tables_without_a_conflict(db_url: str) -> None:
    # Every `run` replica mirrors the config at start-up; started together (as a deployment
    # does), they must not trip over each other's rows.
    conns = [await asyncpg.connect(db_url) for _ in range(4)]
    try:
        for attempt in range(5):
            await conns[0].execute("delete from core.tokens; delete from core.labels; delete from core.assumptions")
            results = await asyncio.gather(*(sync_reference(c, config()) for c in conns), return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            assert not failures, f"attempt {attempt}: concurrent syncs failed: {failures!r}"
            assert sum(r.tokens_changed > 0 for r in results) == 1, "exactly one sync wrote the tokens"
        assert await conns[0].fetchval("select count(*) from core.tokens") == 5
    finally:
        for c in conns:
            await c.close()


async def test_lineage_lists_the_flows_behind_a_figure(conn: asyncpg.Connection) -> None:
    await populate(conn)
    revenue = await conn.fetch("select tx, amount from analytics.revenue_lineage('io.net', '2024-01-01', 'IO')")
    assert [(r["tx"], r["amount"]) for r in revenue] == [("s-io", Decimal("250.5"))]
    earned = await conn.fetch(
        "select tx, idx, amount from analytics.node_earnings_lineage('render', $1, '2024-02-01', 'RENDER')",
        b58("NodeD"),
    )
    assert [(r["tx"], r["amount"]) for r in earned] == [("r-mint2", Decimal(5))]


@pytest.mark.parametrize("role", ["depin_analyst", "depin_reader"])
async def test_readers_see_every_view_and_lineage_but_write_nothing(
    db_url: str, conn: asyncpg.Connection, role: str
) -> None:
    await populate(conn)
    reader = await asyncpg.connect(as_role(db_url, role))
    try:
        for view in (
            "monthly_revenue",
            "node_earnings_daily",
            "node_earnings_monthly",
            "network_utilisation_daily",
            "network_utilisation_monthly",
            "node_profitability_monthly",
        ):
            assert await reader.fetchval(f"select count(*) from analytics.{view}") > 0, view
        assert len(await reader.fetch("select * from analytics.revenue_lineage('io.net', '2024-01-01', 'USDC')")) == 1
        await reader.execute("set default_transaction_read_only = off")
        for statement in (
            "delete from rollup.revenue_monthly",
            "select * from rollup.revenue_daily",
            "select * from core.flows",
            "create table analytics.x (y int)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await reader.execute(statement)
    finally:
        await reader.close()
