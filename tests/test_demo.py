"""`depin-indexer demo`: the whole pipeline on local chains, and figures that hold up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from contextlib import ExitStack
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from indexer.chains.registry import build_client, build_ingestor
from indexer.demo.runner import DemoResult, build, draw_chart
from indexer.verify import EvmVerifier

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


async def test_demo_figures_match_the_views_and_the_chain(tmp_path: Path) -> None:
    with ExitStack() as stack:
        result = await build(stack, data_dir=tmp_path, progress=lambda _m: None)
        conn = await asyncpg.connect(result.database_url)
        try:
            views = [
                dict(r)
                for r in await conn.fetch(
                    "select network, month, token, amount, amount_usd, payments, payers from analytics.monthly_revenue "
                    "order by network, month, token"
                )
            ]
            assert result.revenue == views, "the printed revenue is what the analytics view holds"
            assert {r["network"] for r in views} == {"render", "aioz", "io.net"}
            assert len({r["month"] for r in views}) == 3, "three months of traffic"
            # The figures trace back to the chain: the escrow's RNDR balance moved exactly
            # by the indexed flows (verify finds no gap).
            client = build_client("polygon", result.config)
            try:
                ingestor = build_ingestor("polygon", result.config, client)
                verifier = EvmVerifier(ingestor, [lb.address for lb in result.config.labels if lb.chain == "polygon"])
                span = await verifier.span(conn)
                assert span is not None
                assert await verifier.check(conn, *span) == []
            finally:
                await client.close()
            await _aioz_figures_are_the_cosmos_record(conn, result)
        finally:
            await conn.close()
        # discover ranks the io.net wallets first among the IO traders from the flows alone;
        # the labels the demo configured (from its own scenario) say who they are.
        top = {(symbol, c.kind): c for symbol, c in result.discovered}
        assert top[("IO", "distributor")].labelled == ("io.net rewards",), top[("IO", "distributor")]
        assert top[("IO", "collector")].labelled == ("io.net revenue",), top[("IO", "collector")]
        assert top[("RENDER", "emission_recipient")].labelled == ("render rewards",)
        chart = draw_chart(result, tmp_path / "chart.png")
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_command_prints_the_summary_and_the_chart(tmp_path: Path) -> None:
    env = {**os.environ, "DEPIN_DATA_DIR": str(tmp_path)}
    env.pop("DEPIN_DATABASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "indexer.cli", "demo", "--no-serve", "--chart", str(tmp_path / "revenue.png")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for heading in ("Monthly revenue", "Top earning nodes", "Utilisation", "Profitability", "Found by"):
        assert heading in proc.stdout
    assert f"chart: {tmp_path / 'revenue.png'}" in proc.stdout
    assert (tmp_path / "revenue.png").exists()


async def _aioz_figures_are_the_cosmos_record(conn: asyncpg.Connection, result: DemoResult) -> None:
    """AIOZ's node earnings are the reward withdrawals played on the CometBFT server and its
    revenue every payment into the payments wallet, EVM value transfers included, each once:
    the figures equal the chain's own record of its movements, not the decoder's."""
    plan = result.aioz_cosmos
    assert plan is not None
    pool, payments = "0x" + plan.reward_pool.hex(), "0x" + plan.payments.hex()
    earned: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    paid: dict[date, list[tuple[str | None, int]]] = defaultdict(list)
    for _tx, _idx, src, dst, denom, amount, _height, when in plan.chain.movements:
        month = datetime.fromtimestamp(when, UTC).date().replace(day=1)
        if src == pool and denom == "attoaioz":
            earned[(str(dst), month)] += Decimal(amount) / 10**18
        if dst == payments and denom == "attoaioz":
            paid[month].append((src, amount))
    views = await conn.fetch(
        "select node, month, amount from analytics.node_earnings_monthly where network = 'aioz' and token = 'AIOZ'"
    )
    assert {(r["node"], r["month"]): r["amount"] for r in views} == dict(earned), "AIOZ node earnings"
    assert len({node for node, _ in earned}) == len(plan.nodes) and plan.withdrawals > 0
    revenue = [r for r in result.revenue if r["network"] == "aioz"]
    expected = [
        ("AIOZ", Decimal(sum(a for _, a in moves)) / 10**18, len(moves), len({s for s, _ in moves}))
        for _month, moves in sorted(paid.items())
    ]
    assert [(r["token"], r["amount"], r["payments"], r["payers"]) for r in revenue] == expected, "AIOZ revenue"
