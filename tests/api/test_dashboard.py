"""The dashboard at ``/`` in a real browser: Debian's headless Chromium, driven by Playwright.

The page is served by a real ``depin-indexer api`` process over the API tests' database
(io.net, tests/api/conftest.py) plus a second network, render, whose figures are worked
out by hand below. The browser may reach nothing but the API: no CDN.

Without Chromium (or Playwright) the test skips, saying why, except under ``CI``, where
it fails: CI installs both. ``DEPIN_DASHBOARD_SCREENSHOT=PATH`` also saves the last
screenshot there (docs/dashboard.png is the same page on the demo's data).
"""

from __future__ import annotations

import io
import os
import re
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from indexer.config import parse_config
from indexer.decode.columns import FlowColumns
from tests.api.conftest import CONFIG, NODES
from tests.api.test_api_server import api_server

RENDER_MINT = "rndrizKT3MK1iimdxRdWabcF7Zg7AR5T4nud4EkHBof"
ESCROW = "RenderEscrow1111111111111111111111111111111"
PAYOUTS = "RenderPayouts111111111111111111111111111111"
RENDER_NODES = [f"RenderNode{j}" + "1" * 33 for j in range(3)]
RENDER_CUSTOMERS = [f"RenderCust{k}" + "1" * 33 for k in range(2)]

# By hand, from render_flows(): customers pay 10 + 20 RENDER a day; node j earns 4 (j + 1)
# RENDER a day, node 2 on even days only; RENDER is worth 7 USD every day. Electricity at
# the default assumptions: 450 W x 24 h = 10.8 kWh a day at 0.15 USD = 1.62 USD a day online.
RENDER_REVENUE = {"2024-01": (930, 6510), "2024-02": (870, 6090)}  # tokens, USD
RENDER_UTILISATION = {  # node-days / (3 nodes x days), revenue USD / rewards USD
    "2024-01": (0.827957, 1.684783),  # 77/93; 6510/(552 x 7)
    "2024-02": (0.827586, 1.686047),  # 72/87; 6090/(516 x 7)
}
RENDER_TOP_FEB = [  # node, earnings USD, electricity USD, net USD
    (RENDER_NODES[1], "1624", "46.98", "1577.02"),  # 8 x 29 RENDER; online Feb 1 (paid in January) to 29
    (RENDER_NODES[2], "1176", "45.36", "1130.64"),  # 12 x 14 RENDER; online Feb 1 to 28, its last payout
    (RENDER_NODES[0], "812", "46.98", "765.02"),  # 4 x 29 RENDER
]
# io.net (tests/api/conftest.py): 5 customers pay 1 + 2 + 3 + 4 + 5 USDC and 5 millionths a day.
IO_REVENUE_USDC = {"2024-01": 465.000155, "2024-02": 435.000145}
# The config's [[assumptions]]: io.net its own, render the '*' row (the defaults, written out).
ASSUMPTIONS = [
    {"network": "*", "watts": 450, "usd_per_kwh": 0.15},
    {"network": "io.net", "watts": 320, "usd_per_kwh": 0.2125},
]
# io.net at 320 W x 24 h = 7.68 kWh a day at 0.2125 USD = 1.632 USD a day online. In February
# node 0 is paid unless d % 3 == 0, from the 1st to the 29th: 29 days online, 47.328 USD;
# node 1 unless d % 3 == 2, from the 1st to the 28th, its last payout (none on the 29th nor
# after): 28 days, 45.696 USD.
IO_ELECTRICITY_FEB = {NODES[0]: "47.328", NODES[1]: "45.696"}


async def test_the_page_and_its_assets_are_served_from_the_package(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="static/vendor/chart.umd.min.js"' in page.text
    assert not re.search(r'(src|href)="(https?:)?//', page.text), "every asset is the API's own"
    chart = await client.get("/static/vendor/chart.umd.min.js")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith(
        ("text/javascript", "application/javascript")
    )
    assert chart.content.startswith(b"/*!\n * Chart.js v4.")
    again = await client.get("/static/vendor/chart.umd.min.js", headers={"if-none-match": chart.headers["etag"]})
    assert (again.status_code, again.content) == (304, b""), "a browser holding this version gets no body"
    etag = chart.headers["etag"]
    for held in (f"W/{etag}", f'"0000", {etag}', "*"):  # weak, in a list, any version
        revalidated = await client.get("/static/vendor/chart.umd.min.js", headers={"if-none-match": held})
        assert revalidated.status_code == 304, held
    other = await client.get("/static/vendor/chart.umd.min.js", headers={"if-none-match": '"0000", W/"1111"'})
    assert other.status_code == 200 and other.content == chart.content, "another version: the file"
    head = await client.head("/static/vendor/chart.umd.min.js")
    assert (head.status_code, head.content) == (200, b"")
    assert int(head.headers["content-length"]) == len(chart.content) and head.headers["etag"] == etag
    missing = await client.get("/static/nothing.js")
    assert missing.status_code == 404 and "nothing.js" in missing.json()["error"]["message"]
    paths = set((await client.get("/openapi.json")).json()["paths"])
    assert "/" not in paths and not any(p.startswith("/static") for p in paths), "the page is not part of the API"


def test_the_demo_names_the_dashboard_first() -> None:
    from rich.console import Console

    from indexer.commands.demo import _print_urls

    out = io.StringIO()
    _print_urls(Console(file=out, width=200), "http://127.0.0.1:8123")
    lines = [line for line in out.getvalue().splitlines() if "http://" in line]
    assert lines[0] == "dashboard: http://127.0.0.1:8123/", lines


def _chromium() -> str:
    """Debian's Chromium and Playwright, or a skip (a failure under CI) naming what is missing."""
    found = shutil.which("chromium")
    missing = None if found else "chromium is not installed (Debian: apt-get install -y chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ModuleNotFoundError:
        missing = missing or "playwright is not installed (pip install -e '.[test]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the dashboard's browser test must run in CI: {missing}")
        pytest.skip(missing)
    assert found is not None
    return found


def render_flows() -> FlowColumns:
    flows = FlowColumns("solana")
    slot = 0
    for month, days in ((1, 31), (2, 29)):
        for d in range(1, days + 1):
            slot += 1
            at = int(datetime(2024, month, d, 13, tzinfo=UTC).timestamp())
            for k, customer in enumerate(RENDER_CUSTOMERS):
                flows.append(slot, f"rpay-{month}-{d}-{k}", 0, RENDER_MINT, customer, ESCROW, (k + 1) * 10**9, at)
            for j, node in enumerate(RENDER_NODES):
                if j == 2 and d % 2:
                    continue
                flows.append(slot, f"rrew-{month}-{d}-{j}", 0, RENDER_MINT, PAYOUTS, node, 4 * (j + 1) * 10**8, at)
    return flows


@pytest.fixture
async def two_networks(populated: tuple[str, dict[str, Decimal]]) -> str:
    """The API tests' io.net database with render beside it, refreshed."""
    from indexer.figures.reference import sync_reference
    from indexer.figures.refresh import refresh
    from indexer.store.writer import Checkpoint, write_batch

    db_url, _ = populated
    config = {
        **CONFIG,
        "tokens": [*CONFIG["tokens"], {"chain": "solana", "address": RENDER_MINT, "symbol": "RENDER", "decimals": 8}],
        "labels": [
            *CONFIG["labels"],
            {"network": "render", "chain": "solana", "address": ESCROW, "role": "revenue"},
            {"network": "render", "chain": "solana", "address": PAYOUTS, "role": "rewards"},
        ],
        "assumptions": ASSUMPTIONS,
    }
    conn = await asyncpg.connect(db_url)
    try:
        await sync_reference(conn, parse_config(config))
        await write_batch(conn, render_flows(), [Checkpoint("solana", 60)])
        await conn.executemany(
            "insert into core.prices (day, symbol, usd) values ($1, 'RENDER', 7)",
            [(date(2024, m, d),) for m, days in ((1, 31), (2, 29)) for d in range(1, days + 1)],
        )
        await conn.execute(
            "insert into core.dirty_days (chain, day) select 'solana', day from core.prices on conflict do nothing"
        )
        await refresh(conn)
    finally:
        await conn.close()
    return db_url


async def _chart(page: Any, canvas: str) -> dict[str, Any]:
    """What Chart.js drew on ``canvas``: its labels and datasets, and whether any pixel is painted."""
    result: dict[str, Any] = await page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id);
            const chart = Chart.getChart(canvas);
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
            return {labels: chart.data.labels, painted,
                    datasets: Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.data]))};
        }""",
        canvas,
    )
    assert result["painted"] > 1000, f"{canvas}: nothing drawn"
    return result


async def _ready(page: Any, state: str) -> None:
    await page.wait_for_selector(f'body[data-ready="{state}"]', timeout=15_000)


async def _table(page: Any) -> list[list[str]]:
    rows: list[list[str]] = await page.eval_on_selector_all(
        "#nodes tbody tr", "(rows) => rows.map((r) => [...r.cells].map((c) => c.textContent))"
    )
    return rows


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_dashboard_draws_what_the_api_serves(two_networks: str, tmp_path: Path) -> None:
    chromium = _chromium()
    from playwright.async_api import async_playwright

    with api_server(two_networks, tmp_path) as (base, _server):
        async with httpx.AsyncClient(base_url=base, timeout=10) as api, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                page = await browser.new_page(viewport={"width": 1400, "height": 1100})
                outside: list[str] = []
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

                async def only_the_api(route: Any) -> None:
                    if urlsplit(route.request.url).netloc == urlsplit(base).netloc:
                        await route.continue_()
                    else:
                        outside.append(route.request.url)
                        await route.abort()

                await page.route("**/*", only_the_api)
                await page.goto(base + "/")
                await _ready(page, "io.net/2024-02")  # the first network, its newest month

                usd = await _chart(page, "revenue-usd")
                assert usd["labels"] == ["2024-01", "2024-02"]
                assert usd["datasets"] == {"USDC": [IO_REVENUE_USDC["2024-01"], IO_REVENUE_USDC["2024-02"]]}
                served = (await api.get("/v1/revenue/monthly", params={"network": "io.net"})).json()["revenue"]
                assert usd["datasets"]["USDC"] == [float(r["amount_usd"]) for r in served]
                tokens = await _chart(page, "revenue-tokens")
                assert tokens["datasets"] == {"USDC": [float(r["amount"]) for r in served]}
                utilisation = await _chart(page, "utilisation")
                served = (await api.get("/v1/utilisation", params={"network": "io.net", "granularity": "month"})).json()
                assert utilisation["datasets"]["utilisation"] == [
                    float(r["utilisation"]) for r in served["utilisation"]
                ]
                # No IO price in February: the table says so rather than showing a zero.
                nodes = (
                    await api.get("/v1/nodes", params={"network": "io.net", "month": "2024-02", "limit": 10})
                ).json()
                table = await _table(page)
                assert [row[1] for row in table] == [n["node"] for n in nodes["nodes"]]
                assert {row[3] for row in table} == {"no price"}
                electricity = {row[1]: row[4] for row in table}
                assert {node: electricity[node] for node in IO_ELECTRICITY_FEB} == IO_ELECTRICITY_FEB
                assert await page.text_content("#assumptions") == (
                    "Electricity assumed for io.net: 320 W all day on each day online, at 0.2125 USD per kWh"
                    " (its own, network io.net)."
                )

                banner = await page.text_content("#freshness")
                assert banner is not None and "solana indexed to 60 (2024-02-29 13:00:00 UTC), 0 dirty days" in banner

                await page.select_option("#network", "render")
                await _ready(page, "render/2024-02")
                usd = await _chart(page, "revenue-usd")
                tokens = await _chart(page, "revenue-tokens")
                assert usd["datasets"] == {"RENDER": [RENDER_REVENUE[m][1] for m in ("2024-01", "2024-02")]}
                assert tokens["datasets"] == {"RENDER": [RENDER_REVENUE[m][0] for m in ("2024-01", "2024-02")]}
                utilisation = await _chart(page, "utilisation")
                assert utilisation["datasets"] == {
                    "utilisation": [RENDER_UTILISATION[m][0] for m in ("2024-01", "2024-02")],
                    "demand ratio": [RENDER_UTILISATION[m][1] for m in ("2024-01", "2024-02")],
                }
                table = await _table(page)
                assert [(r[1], r[2], r[3], r[4], r[5]) for r in table] == [
                    (node, f"{Decimal(earned) / 7} RENDER", earned, power, net)
                    for node, earned, power, net in RENDER_TOP_FEB
                ]
                assert "3 of the 3 top nodes with a price made a profit in 2024-02" in (
                    await page.text_content("#profitability") or ""
                )
                assert await page.text_content("#assumptions") == (
                    "Electricity assumed for render: 450 W all day on each day online, at 0.15 USD per kWh"
                    " (the default, network *)."
                )

                # Every number links to the JSON it came from, and that JSON holds it.
                links = await page.eval_on_selector_all(
                    "#nodes tbody tr:first-child a, #freshness a, #assumptions a",
                    "(as) => as.map((a) => [a.className, a.textContent, a.getAttribute('href')])",
                )
                by_class = {cls: (text, href) for cls, text, href in links}
                text, href = by_class["node"]
                assert (text, href) == (
                    RENDER_NODES[1],
                    f"v1/nodes/render/{RENDER_NODES[1]}/earnings?granularity=month",
                )
                earnings = (await api.get("/" + href)).json()["earnings"]
                assert [(e["period"], e["amount"]) for e in earnings] == [("2024-01-01", "248"), ("2024-02-01", "232")]
                text, href = by_class["net_usd"]
                assert text in (await api.get("/" + href)).text, href
                text, href = by_class["indexed-block"]
                assert (text, href) == ("60", "v1/freshness")
                assumed = (await api.get("/v1/assumptions")).json()["assumptions"]
                for cls, field in (
                    ("watts", "watts"),
                    ("usd-per-kwh", "usd_per_kwh"),
                    ("assumption-network", "network"),
                ):
                    text, href = by_class[cls]
                    assert href == "v1/assumptions" and text == next(a[field] for a in assumed if a["network"] == "*")
                # No figure outside a link: every text with a digit (but the picked month and the
                # rank column) sits in an <a>.
                unlinked = await page.evaluate(
                    """() => {
                        const found = [];
                        for (const root of document.querySelectorAll("#freshness, #profitability, #assumptions, #nodes tbody")) {
                            const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
                            for (let n = walk.nextNode(); n; n = walk.nextNode()) {
                                const rank = n.parentElement.matches("td:first-child");
                                const text = n.textContent.replace(/\\d{4}-\\d\\d\\b/g, "");
                                if (/\\d/.test(text) && !rank && !n.parentElement.closest("a")) found.push(n.textContent);
                            }
                        }
                        return found;
                    }"""
                )
                assert unlinked == [], unlinked

                await page.select_option("#month", "2024-01")
                await _ready(page, "render/2024-01")
                # January: 8 x 31, 12 x 15 and 4 x 31 RENDER at 7 USD.
                assert [(r[1], r[3]) for r in await _table(page)] == [
                    (RENDER_NODES[1], "1736"),
                    (RENDER_NODES[2], "1260"),
                    (RENDER_NODES[0], "868"),
                ]

                assert page.url.endswith("?network=render&month=2024-01"), "the view is in the URL"
                await page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
                if target := os.environ.get("DEPIN_DASHBOARD_SCREENSHOT"):
                    await page.screenshot(path=target, full_page=True)
                assert outside == [], "the page asked for something beyond the API"
                assert errors == [], errors
            finally:
                await browser.close()
