"""Property: for random flows, labels and prices, every analytics view equals an
independent Python recomputation — after the first refresh, after random reorg rewinds,
and after relabelling, each followed by an incremental refresh."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.config import parse_config
from indexer.decode.columns import FlowColumns
from indexer.figures.reference import sync_reference
from indexer.figures.refresh import refresh
from indexer.store.writer import Checkpoint, rewind, write_batch
from tests.figures.reference_model import Flow, Label, Token, model, views_in_database

ADDRESSES = [f"0x{i:040x}" for i in range(1, 7)]
TOKENS = [
    Token("c1", f"0x{0xA0:040x}", "AAA", 18),
    Token("c1", f"0x{0xB0:040x}", "USDX", 6, stablecoin=True),
    Token("c1", f"0x{0xC0:040x}", "CCC", 0),
]
START = date(2024, 1, 20)
DAYS = 45  # spans three months
ROLES = ("revenue", "rewards", "burn_revenue", "mint_rewards")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Flow], list[Label], dict[tuple[date, str], Decimal]]:
    n = draw(st.integers(1, 40))
    flows = []
    for i in range(n):
        src = draw(st.sampled_from([None, *ADDRESSES]))
        dst = draw(st.sampled_from([None, *ADDRESSES] if src is not None else ADDRESSES))
        flows.append(
            Flow(
                "c1",
                START + timedelta(days=draw(st.integers(0, DAYS - 1))),
                f"0x{i:064x}",
                0,
                draw(st.sampled_from(TOKENS)).address,
                src,
                dst,
                draw(st.one_of(st.integers(0, 10**6), st.integers(10**18, 10**30))),
            )
        )
    labels = []
    for _ in range(draw(st.integers(0, 8))):
        role = draw(st.sampled_from(ROLES))
        address = draw(st.sampled_from([t.address for t in TOKENS] if role in ROLES[2:] else ADDRESSES))
        valid_from = draw(st.one_of(st.none(), st.integers(0, DAYS).map(lambda d: START + timedelta(days=d))))
        valid_to = draw(st.one_of(st.none(), st.integers(1, DAYS + 1).map(lambda d: START + timedelta(days=d))))
        if valid_from and valid_to and valid_from >= valid_to:
            valid_to = None
        labels.append(Label(draw(st.sampled_from(["n1", "n2"])), "c1", address, role, valid_from, valid_to))
    prices = {}
    for _ in range(draw(st.integers(0, 30))):
        day = START + timedelta(days=draw(st.integers(0, DAYS - 1)))
        symbol = draw(st.sampled_from(["AAA", "CCC", "USDX"]))
        prices[(day, symbol)] = Decimal(draw(st.integers(0, 10**7))) / 1000
    return flows, list(dict.fromkeys(labels)), prices


def _config(labels: list[Label], watts: int = 450):  # type: ignore[no-untyped-def]
    raw = {
        "chains": {"c1": {"kind": "evm", "rpc": ["http://127.0.0.1:1"], "chain_id": 1}},
        "tokens": [
            {
                "chain": t.chain,
                "address": t.address,
                "symbol": t.symbol,
                "decimals": t.decimals,
                "stablecoin": t.stablecoin,
            }
            for t in TOKENS
        ],
        "labels": [
            {
                "network": lb.network,
                "chain": lb.chain,
                "address": lb.address,
                "role": lb.role,
                **({"valid_from": lb.valid_from} if lb.valid_from else {}),
                **({"valid_to": lb.valid_to} if lb.valid_to else {}),
            }
            for lb in labels
        ],
        "assumptions": [{"network": "*", "watts": watts, "usd_per_kwh": "0.15"}],
    }
    return parse_config(raw)


def _blocks(flows: list[Flow]) -> dict[str, int]:
    """Block numbers that increase with time (as on a real chain): by day, then tx."""
    ordered = sorted(flows, key=lambda f: (f.day, f.tx))
    return {f.tx: i + 1 for i, f in enumerate(ordered)}


async def _reset(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "truncate core.flows, core.dirty_days, core.cursors, core.blocks, core.prices, core.labels, core.tokens, "
        "rollup.revenue_daily, rollup.earnings_daily, rollup.node_first_day, rollup.network_daily, "
        "rollup.revenue_monthly, rollup.node_earnings_daily, rollup.node_earnings_monthly, "
        "rollup.network_monthly, rollup.node_profitability_monthly"
    )


def _assert_equal(expected: dict, actual: dict, when: str) -> None:  # type: ignore[type-arg]
    for view in expected:
        assert actual[view] == expected[view], f"{when}: analytics.{view} differs from the model"


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios(), data=st.data())
async def test_views_equal_the_model_after_writes_rewinds_and_relabels(
    conn: asyncpg.Connection, scenario, data
) -> None:  # type: ignore[no-untyped-def]
    flows, labels, prices = scenario
    await _reset(conn)
    await sync_reference(conn, _config(labels))
    if prices:
        await conn.executemany(
            "insert into core.prices (day, symbol, usd) values ($1, $2, $3)",
            [(d, s, u) for (d, s), u in prices.items()],
        )
    blocks = _blocks(flows)
    cols = FlowColumns("c1")
    for f in flows:
        t = int(datetime(f.day.year, f.day.month, f.day.day, 12, tzinfo=UTC).timestamp()) + blocks[f.tx]
        cols.append(blocks[f.tx], f.tx, f.idx, f.token, f.src, f.dst, f.amount, t)
    await write_batch(
        conn,
        cols,
        [Checkpoint("c1", len(flows))],
        [
            (b, f"h{b}", f"h{b - 1}", int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) + b)
            for b in range(len(flows) + 1)
        ],
    )
    # Block times of stored block rows must not decrease: re-store them from the flows.
    await conn.execute("update core.blocks b set block_time = f.block_time from core.flows f where f.block = b.number")
    await refresh(conn)
    assumptions = {"*": (Decimal(450), Decimal("0.15"))}
    _assert_equal(model(flows, labels, TOKENS, prices, assumptions), await views_in_database(conn), "after refresh")

    # A reorg rewinds to a random block; the refresh must correct every figure.
    fork = data.draw(st.integers(0, len(flows)), label="fork block")
    await rewind(conn, "c1", fork)
    await refresh(conn)
    kept = [f for f in flows if blocks[f.tx] <= fork]
    _assert_equal(
        model(kept, labels, TOKENS, prices, assumptions), await views_in_database(conn), f"after rewind to {fork}"
    )

    # Relabel: drop a random label and change the power assumption; sync + refresh.
    if labels:
        gone = data.draw(st.sampled_from(labels), label="removed label")
        labels = [lb for lb in labels if lb != gone]
    await sync_reference(conn, _config(labels, watts=300))
    await refresh(conn)
    assumptions = {"*": (Decimal(300), Decimal("0.15"))}
    _assert_equal(model(kept, labels, TOKENS, prices, assumptions), await views_in_database(conn), "after relabel")
