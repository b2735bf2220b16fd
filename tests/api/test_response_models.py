"""Every JSON response of the API holds to the model its route declares (schemas.api).

The routes return finished bodies (most rendered by Postgres), which FastAPI sends without
applying the route's ``response_model``: these tests are where the models are enforced.
A body must validate strictly and come back unchanged from its model, so a key the model
does not declare, a number where it says decimal string, or a missing field all fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

from indexer.api.app import create_app
from schemas import api as models
from tests.api.conftest import NODES
from tests.conftest import as_role

Served = tuple[FastAPI, httpx.AsyncClient]


@pytest.fixture
async def served(populated: tuple[str, dict[str, Decimal]]) -> AsyncIterator[Served]:
    """The app (to read its routes' declared models) and a client of it."""
    db_url, _ = populated
    app = create_app(as_role(db_url, "depin_reader"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield app, http


def _route(app: FastAPI, path: str) -> APIRoute:
    return next(r for r in app.routes if isinstance(r, APIRoute) and r.path == path)


def _json_routes(app: FastAPI) -> set[str]:
    """The path of every route that declares a response model."""
    return {r.path for r in app.routes if isinstance(r, APIRoute) and r.response_model is not None}


def assert_holds_to(model: Any, response: httpx.Response) -> Any:
    """The body of ``response`` as ``model``, after checking that it is exactly one."""
    assert response.headers["content-type"] == "application/json", response.headers
    adapter = TypeAdapter(model)
    value = adapter.validate_json(response.content, strict=True)
    # exclude_unset: a field with a default may be absent (utilisation has per-granularity ones).
    again = adapter.dump_python(value, mode="json", exclude_unset=True)
    assert again == response.json(), "keys or types the model does not declare"
    return value


NODE = NODES[4]
# (route, request path, query): every JSON route, each variant of it that runs another query.
CASES: list[tuple[str, str, dict[str, str]]] = [
    ("/healthz", "/healthz", {}),
    ("/readyz", "/readyz", {}),
    ("/v1/freshness", "/v1/freshness", {}),
    ("/v1/assumptions", "/v1/assumptions", {}),
    ("/v1/networks", "/v1/networks", {}),
    ("/v1/revenue/monthly", "/v1/revenue/monthly", {"network": "io.net"}),
    ("/v1/revenue/monthly", "/v1/revenue/monthly", {"network": "io.net", "from": "2024-02", "to": "2024-02"}),
    ("/v1/revenue/monthly", "/v1/revenue/monthly", {"network": "io.net", "from": "2030-01"}),
    ("/v1/nodes", "/v1/nodes", {"network": "io.net", "month": "2024-01"}),
    ("/v1/nodes", "/v1/nodes", {"network": "io.net", "month": "2030-01"}),
    ("/v1/nodes/{network}/{node}/earnings", f"/v1/nodes/io.net/{NODE}/earnings", {"granularity": "day"}),
    ("/v1/nodes/{network}/{node}/earnings", f"/v1/nodes/io.net/{NODE}/earnings", {"granularity": "month"}),
    ("/v1/nodes/{network}/{node}/earnings", f"/v1/nodes/io.net/{NODE}/earnings", {}),
    ("/v1/utilisation", "/v1/utilisation", {"network": "io.net", "granularity": "day"}),
    ("/v1/utilisation", "/v1/utilisation", {"network": "io.net", "granularity": "month"}),
]


@pytest.mark.parametrize(("route", "path", "params"), CASES, ids=[f"{c[1]}?{c[2]}" for c in CASES])
async def test_every_json_body_holds_to_its_declared_model(
    served: Served, route: str, path: str, params: dict[str, str]
) -> None:
    app, http = served
    model = _route(app, route).response_model
    assert model is not None and model.__module__ == "schemas.api", f"{route} declares {model!r}"
    response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    assert_holds_to(model, response)


def test_every_route_with_a_model_is_checked_here() -> None:
    app = create_app("postgresql://unused@127.0.0.1:1/unused")  # never started: its routes only
    assert _json_routes(app) == {route for route, _, _ in CASES}, "a JSON route without a case in CASES"
    # The ones that stream or serve text declare none, and so are not JSON routes.
    assert {"/metrics", "/v1/export/{view}"}.isdisjoint(_json_routes(app))


@pytest.mark.parametrize(("month", "priced"), [("2024-01", True), ("2024-02", False)])
async def test_every_page_of_nodes_holds_to_its_model(served: Served, month: str, priced: bool) -> None:
    """Each query of the keyset: the first page, then pages after a node with a USD figure
    (January has an IO price) or after one without (February has none)."""
    app, http = served
    model = _route(app, "/v1/nodes").response_model
    params = {"network": "io.net", "month": month, "limit": "7"}
    pages: list[models.NodesPage] = []
    while True:
        response = await http.get("/v1/nodes", params=params)
        assert response.status_code == 200, response.text
        pages.append(assert_holds_to(model, response))
        if pages[-1].next_cursor is None:
            break
        params["cursor"] = pages[-1].next_cursor
    assert len(pages) == 4, "23 nodes in pages of 7"
    assert all((node.earnings_usd is not None) == priced for page in pages for node in page.nodes)
    assert all(node.tokens for page in pages for node in page.nodes)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/revenue/monthly?network=akash", 404),
        (f"/v1/nodes/io.net/{NODE}x/earnings", 404),
        ("/v1/nodes?network=io.net&month=2024-13", 422),
        ("/v1/nodes?network=io.net", 422),
        ("/v1/utilisation?network=io.net&granularity=week", 422),
        ("/v1/export/pg_shadow", 422),
        ("/v1/no-such-route", 404),
    ],
)
async def test_errors_hold_to_the_declared_error_model(served: Served, path: str, status: int) -> None:
    app, http = served
    model = app.router.responses[status]["model"]  # declared for every route of the app
    response = await http.get(path)
    assert response.status_code == status, response.text
    error = assert_holds_to(model, response)
    assert error.error.status == status


async def test_readyz_without_a_database_holds_to_its_model(served: Served) -> None:
    app, http = served
    await app.state.database.close()  # every later query fails as with a database gone
    response = await http.get("/readyz")
    assert response.status_code == 503
    model = _route(app, "/readyz").responses[503]["model"]
    assert assert_holds_to(model, response).database == "unreachable"


@pytest.mark.parametrize(
    "body",
    [
        b'{"revenue": [{"network": "n", "month": "2024-01-01", "token": "T", "amount": 1.5,'
        b' "amount_usd": null, "payments": 1, "payers": 1}]}',
        b'{"revenue": [{"network": "n", "month": "2024-01-01", "token": "T", "amount": "1.5",'
        b' "amount_usd": null, "payments": 1, "payers": 1, "undeclared": 1}]}',
        b'{"revenue": [{"network": "n", "month": "2024-01-01", "token": "T", "amount": "1e5",'
        b' "amount_usd": null, "payments": 1, "payers": 1}]}',
        b'{"revenue": [{"network": "n", "month": "2024-01", "token": "T", "amount": "1.5",'
        b' "amount_usd": null, "payments": 1, "payers": 1}]}',
    ],
    ids=["float amount", "undeclared key", "exponent", "month not a date"],
)
def test_the_check_fails_a_body_off_its_model(body: bytes) -> None:
    response = httpx.Response(200, content=body, headers={"content-type": "application/json"})
    with pytest.raises((ValidationError, AssertionError)):
        assert_holds_to(models.RevenueResponse, response)
