"""Every endpoint of the API contract against a real, populated database."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import asyncpg
import httpx
import pytest

from indexer.config import parse_config
from indexer.figures.reference import sync_reference
from tests.api.conftest import CONFIG, NODES
from tests.conftest import as_role


async def test_networks(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/networks")).json()
    assert body["networks"] == [
        {"network": "io.net", "chains": ["solana"], "first_month": "2024-01-01", "last_month": "2024-02-01"}
    ]


async def test_revenue_monthly_is_exact_and_filtered(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/revenue/monthly", params={"network": "io.net", "from": "2024-02", "to": "2024-02"})
    assert r.status_code == 200, r.text
    rows = r.json()["revenue"]
    assert len(rows) == 1
    # 5 customers pay (c+1) USDC + 1 raw unit every day of February (29 days).
    assert rows[0]["token"] == "USDC"
    assert rows[0]["amount"] == str(Decimal(29 * sum(1_000_000 * (c + 1) + 1 for c in range(5))) / Decimal(10**6))
    assert rows[0]["amount_usd"] == rows[0]["amount"], "a stablecoin is worth 1 USD without a price row"
    assert rows[0]["payers"] == 5 and rows[0]["payments"] == 29 * 5
    assert isinstance(rows[0]["amount"], str)


async def test_nodes_pages_cover_every_node_once_in_order(client: httpx.AsyncClient, populated) -> None:  # type: ignore[no-untyped-def]
    _, expected = populated
    seen: list[dict] = []
    cursor = None
    pages = 0
    while True:
        params = {"network": "io.net", "month": "2024-01", "limit": 7}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/v1/nodes", params=params)).json()
        seen += body["nodes"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4, "23 nodes in pages of 7"
    assert sorted(n["node"] for n in seen) == sorted(NODES)
    usd = [Decimal(n["earnings_usd"]) for n in seen]
    assert usd == sorted(usd, reverse=True)
    for n in seen:
        io_row = next(t for t in n["tokens"] if t["token"] == "IO")
        assert Decimal(io_row["amount"]) == expected[f"{n['node']}/1"]
        assert Decimal(n["earnings_usd"]) == expected[f"{n['node']}/1"] * Decimal("2.5")


async def test_nodes_without_prices_come_last_with_null_usd(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/nodes", params={"network": "io.net", "month": "2024-02", "limit": 500})).json()
    assert len(body["nodes"]) == len(NODES)
    assert all(n["earnings_usd"] is None for n in body["nodes"]), "no IO price in February: NULL, never 0"


async def test_node_earnings_daily_and_monthly(client: httpx.AsyncClient, populated) -> None:  # type: ignore[no-untyped-def]
    _, expected = populated
    node = NODES[4]
    monthly = (await client.get(f"/v1/nodes/io.net/{node}/earnings", params={"granularity": "month"})).json()
    assert [Decimal(e["amount"]) for e in monthly["earnings"]] == [expected[f"{node}/1"], expected[f"{node}/2"]]
    daily = (await client.get(f"/v1/nodes/io.net/{node}/earnings", params={"granularity": "day"})).json()
    assert sum(Decimal(e["amount"]) for e in daily["earnings"]) == expected[f"{node}/1"] + expected[f"{node}/2"]


async def test_utilisation(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/utilisation", params={"network": "io.net", "granularity": "month"})).json()
    jan = body["utilisation"][0]
    assert jan["active_nodes"] == len(NODES)
    assert jan["paying_customers"] == 5
    node_days = sum(1 for d in range(1, 32) for i in range(len(NODES)) if (d + i) % 3 != 0)
    assert jan["node_days_active"] == node_days


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/v1/revenue/monthly", {"network": "io.net", "from": "2024-13"}, "from"),
        ("/v1/revenue/monthly", {"network": "io.net", "from": "2024-03", "to": "2024-01"}, "to"),
        ("/v1/revenue/monthly", {}, "network"),
        ("/v1/nodes", {"network": "io.net", "month": "January"}, "month"),
        ("/v1/nodes", {"network": "io.net", "month": "2024-01", "limit": 0}, "limit"),
        ("/v1/nodes", {"network": "io.net", "month": "2024-01", "limit": 501}, "limit"),
        ("/v1/nodes", {"network": "io.net", "month": "2024-01", "cursor": "garbage!"}, "cursor"),
        ("/v1/utilisation", {"network": "io.net", "granularity": "week"}, "granularity"),
        ("/v1/export/pg_shadow", {}, "view"),
        ("/v1/export/monthly_revenue", {"format": "xml"}, "format"),
    ],
)
async def test_bad_parameters_get_422_naming_them(
    client: httpx.AsyncClient, path: str, params: dict, parameter: str
) -> None:
    r = await client.get(path, params=params)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["parameter"] == parameter
    assert parameter in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/revenue/monthly?network=akash",
        "/v1/nodes?network=akash&month=2024-01",
        "/v1/nodes/io.net/NoSuchNode/earnings",
        "/v1/nodes/akash/x/earnings",
        "/v1/utilisation?network=akash",
    ],
)
async def test_unknown_network_or_node_is_404(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["status"] == 404


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
async def test_export_streams_the_whole_view(client: httpx.AsyncClient, populated, fmt: str) -> None:  # type: ignore[no-untyped-def]
    db_url, _ = populated
    conn = await asyncpg.connect(db_url)
    expected = await conn.fetchval("select count(*) from analytics.node_earnings_daily")
    await conn.close()
    r = await client.get("/v1/export/node_earnings_daily", params={"format": fmt})
    assert r.status_code == 200
    if fmt == "ndjson":
        rows = [json.loads(line) for line in r.text.splitlines()]
        assert isinstance(rows[0]["amount"], str)
    else:
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert set(rows[0]) >= {"network", "node", "day", "token", "amount", "amount_usd", "payouts"}
    assert len(rows) == expected


async def test_status_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = (await client.get("/readyz")).json()
    assert ready["database"] == "ok"
    assert ready["chains"][0]["chain"] == "solana" and ready["chains"][0]["indexed_block"] == 60
    metrics = (await client.get("/metrics")).text
    assert "depin_api_requests_total" in metrics


async def test_readyz_reports_the_last_scheduled_verify(populated, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    before = (await client.get("/readyz")).json()["chains"][0]
    assert before["seconds_since_verify"] is None and before["verify_mismatches"] is None, "never verified"
    conn = await asyncpg.connect(populated[0])
    try:
        # What the service's verify job writes (sql/queries/service.sql, record_verify).
        await conn.execute(
            "insert into core.chain_status (chain, verified_at, verify_mismatches) "
            "values ('solana', now() - interval '90 seconds', 2)"
        )
    finally:
        await conn.close()
    after = (await client.get("/readyz")).json()["chains"][0]
    assert after["verify_mismatches"] == 2
    assert 89 <= after["seconds_since_verify"] < 120, after


async def test_readyz_counts_the_transactions_recorded_as_undecodable(populated, client: httpx.AsyncClient) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/readyz")).json()["chains"][0]["undecodable_transactions"] == 0
    conn = await asyncpg.connect(populated[0])
    try:
        # What the writer stores under on_undecodable = "record" (sql/queries/store.sql).
        await conn.execute(
            "insert into core.undecodable_transactions (chain, signature, slot, reason, answer) "
            "select 'solana', 'sig' || n, n, 'meta.innerInstructions is null', '{}' from generate_series(1, 3) n"
        )
    finally:
        await conn.close()
    chains = (await client.get("/readyz")).json()["chains"]
    assert [(c["chain"], c["undecodable_transactions"]) for c in chains] == [("solana", 3)]


async def test_openapi_documents_every_endpoint(client: httpx.AsyncClient) -> None:
    paths = set((await client.get("/openapi.json")).json()["paths"])
    assert paths >= {
        "/v1/networks",
        "/v1/revenue/monthly",
        "/v1/nodes",
        "/v1/nodes/{network}/{node}/earnings",
        "/v1/utilisation",
        "/v1/freshness",
        "/v1/assumptions",
        "/v1/export/{view}",
        "/healthz",
        "/readyz",
        "/metrics",
    }


async def test_the_api_role_cannot_write(populated) -> None:  # type: ignore[no-untyped-def]
    db_url, _ = populated
    conn = await asyncpg.connect(
        as_role(db_url, "depin_reader"), server_settings={"default_transaction_read_only": "on"}
    )
    try:
        with pytest.raises((asyncpg.InsufficientPrivilegeError, asyncpg.ReadOnlySQLTransactionError)):
            await conn.execute("delete from analytics.monthly_revenue")
        await conn.execute("set default_transaction_read_only = off")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("insert into core.prices values (current_date, 'X', 1)")
    finally:
        await conn.close()


async def test_v1_assumptions_are_the_configs(
    populated: tuple[str, dict[str, Decimal]], client: httpx.AsyncClient
) -> None:
    db_url, _ = populated
    body = (await client.get("/v1/assumptions")).json()
    # The API tests' config has no [[assumptions]]: the default, 450 W at 0.15 USD/kWh.
    assert body == {"assumptions": [{"network": "*", "watts": "450", "usd_per_kwh": "0.15"}]}
    conn = await asyncpg.connect(db_url)
    try:
        assumptions = [
            {"network": "io.net", "watts": 320, "usd_per_kwh": 0.2125},
            {"network": "*", "watts": 500, "usd_per_kwh": 0.1},
        ]
        await sync_reference(conn, parse_config({**CONFIG, "assumptions": assumptions}))
    finally:
        await conn.close()
    body = (await client.get("/v1/assumptions")).json()
    assert body == {
        "assumptions": [
            {"network": "*", "watts": "500", "usd_per_kwh": "0.1"},
            {"network": "io.net", "watts": "320", "usd_per_kwh": "0.2125"},
        ]
    }
