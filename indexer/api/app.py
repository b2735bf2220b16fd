"""The FastAPI application: every endpoint of the API contract, read-only.

The app connects as ``depin_reader`` with ``default_transaction_read_only`` and a
statement timeout, so nothing can be written through it even by a bug. Amounts are
rendered as exact decimal strings. Responses are built as plain dicts and encoded once;
the pydantic models in :mod:`schemas.api` document them in the OpenAPI schema.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import gc
import io
import json
import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import FastAPI, Path, Query, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.responses import Response, StreamingResponse

from indexer import __version__
from indexer.api.environment import ENV_DSN, ENV_SETTINGS
from indexer.api.errors import BadParameter, NotFound, install
from indexer.store.sqlfiles import queries
from schemas import api as models

EXPORTABLE = (
    "monthly_revenue",
    "node_earnings_daily",
    "node_earnings_monthly",
    "network_utilisation_daily",
    "network_utilisation_monthly",
    "node_profitability_monthly",
)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_EXPORT_CHUNK = 2000
_NETWORKS_TTL = 5.0  # seconds a list of known networks is trusted


def _dec(value: Decimal | None) -> str | None:
    """Exact decimal text, never exponent notation, never a float."""
    return None if value is None else format(value, "f")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=_default), status_code=status, media_type="application/json")


def _raw_json(text: str) -> Response:
    """A body already encoded as JSON (by Postgres, for the busiest endpoints)."""
    return Response(text, media_type="application/json")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _month(parameter: str, value: str | None) -> date | None:
    if value is None:
        return None
    match = _MONTH.match(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadParameter(parameter, f"must be a month as YYYY-MM, got {value!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def _encode_cursor(usd: Decimal | None, node: str) -> str:
    raw = json.dumps([_dec(usd), node]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[Decimal | None, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        usd, node = json.loads(raw)
        if not isinstance(node, str) or not (usd is None or isinstance(usd, str)):
            raise ValueError
        return (None if usd is None else Decimal(usd)), node
    except (ValueError, binascii.Error, TypeError, ArithmeticError):
        raise BadParameter("cursor", "not a cursor returned by this API") from None


async def _no_reset(connection: asyncpg.Connection) -> None:
    # Only an interrupted export can leave a transaction open; end it before reuse.
    if connection.is_in_transaction():
        await connection.execute("rollback")


def create_app(database_url: str, *, statement_timeout_ms: int = 5000, pool_size: int = 8) -> FastAPI:
    """The API app over ``database_url`` (which should name the ``depin_reader`` role)."""
    sql = queries("api")
    registry = CollectorRegistry()
    requests = Counter("depin_api_requests", "API requests", ["route", "status"], registry=registry)
    latency = Histogram(
        "depin_api_request_seconds",
        "API request latency",
        ["route"],
        registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            database_url,
            min_size=1,
            max_size=pool_size,
            # The API leaves no session state behind (no LISTEN, locks or SET outside a
            # transaction), so asyncpg's default reset, a round trip on every release, is not needed.
            reset=_no_reset,
            server_settings={
                "default_transaction_read_only": "on",
                "statement_timeout": str(statement_timeout_ms),
                "application_name": "depin-indexer-api",
            },
        )
        # Requests queue on a FIFO semaphore, not in the pool: asyncpg's pool queue lets a
        # newly arrived request take a released connection ahead of one already waiting,
        # which under load starves a few requests for hundreds of milliseconds.
        turns = asyncio.Semaphore(pool_size)
        pool = app.state.pool

        @asynccontextmanager
        async def connection() -> AsyncIterator[asyncpg.Connection]:
            async with turns, pool.acquire() as conn:
                yield conn

        app.state.connection = connection
        # Everything loaded so far lives as long as the process: out of the collector's
        # sight, full collections under load are shorter (they show in the p99).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="depin-indexer API",
        version=__version__,
        description="Read-only figures of GPU DePIN networks, computed from the chains. "
        "Amounts are exact decimal strings.",
        lifespan=lifespan,
        responses={422: {"model": models.ErrorResponse}, 404: {"model": models.ErrorResponse}},
    )
    install(app)

    app.add_middleware(_Metrics, requests=requests, latency=latency)

    async def fetch(request: Request, name: str, *args: Any) -> list[asyncpg.Record]:
        async with request.app.state.connection() as conn:
            return await conn.fetch(sql[name], *args)

    # Known networks, re-read at most every few seconds: a 404 for an unknown network
    # must not cost a query on every request of a busy endpoint.
    networks_cache: dict[str, Any] = {"at": 0.0, "names": frozenset()}

    async def require_network(request: Request, network: str) -> None:
        now = time.monotonic()
        if network in networks_cache["names"] and now - networks_cache["at"] < _NETWORKS_TTL:
            return
        rows = await fetch(request, "network_names")
        networks_cache["names"] = frozenset(r["network"] for r in rows)
        networks_cache["at"] = now
        if network not in networks_cache["names"]:
            raise NotFound(f"unknown network {network!r}")

    @app.get("/healthz", tags=["status"])
    async def healthz() -> dict[str, str]:
        """The process is up (no database check: that is /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=models.ReadyResponse, tags=["status"])
    async def readyz(request: Request) -> Response:
        """Database reachable, and the indexing lag of each chain."""
        try:
            rows = await fetch(request, "indexing_status")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return _json({"database": "unreachable", "chains": []}, status=503)
        return _json({"database": "ok", "chains": [dict(r) for r in rows]})

    @app.get("/metrics", tags=["status"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics of the API (summed over every worker process)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            collected = CollectorRegistry()
            multiprocess.MultiProcessCollector(collected)
            return Response(generate_latest(collected), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/networks", response_model=models.NetworksResponse, tags=["figures"])
    async def networks(request: Request) -> Response:
        """Every network that has labelled addresses, with its chains and months of data."""
        rows = await fetch(request, "networks")
        return _json({"networks": [dict(r) for r in rows]})

    @app.get("/v1/revenue/monthly", response_model=models.RevenueResponse, tags=["figures"])
    async def revenue_monthly(
        request: Request,
        network: Annotated[str, Query(min_length=1, max_length=64)],
        from_: Annotated[str | None, Query(alias="from", description="first month, YYYY-MM")] = None,
        to: Annotated[str | None, Query(description="last month, YYYY-MM")] = None,
    ) -> Response:
        """Customer payments per month and token."""
        first = _month("from", from_) or date(1970, 1, 1)
        last = _month("to", to) or date(9999, 12, 1)
        if first > last:
            raise BadParameter("to", "must not be before 'from'")
        await require_network(request, network)
        async with request.app.state.connection() as conn:
            rendered = await conn.fetchval(sql["revenue_monthly"], network, first, last)
        return _raw_json('{"revenue":' + rendered + "}")

    @app.get("/v1/nodes", response_model=models.NodesPage, tags=["figures"])
    async def nodes(
        request: Request,
        network: Annotated[str, Query(min_length=1, max_length=64)],
        month: Annotated[str, Query(description="YYYY-MM")],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=512)] = None,
    ) -> Response:
        """Top earning nodes of a month by USD earnings (nodes without a price last)."""
        first_day = _month("month", month)
        await require_network(request, network)
        if cursor is None:
            query, args = "top_nodes_first_page", (network, first_day, limit + 1)
        else:
            usd, node = _decode_cursor(cursor)
            if usd is None:
                query, args = "top_nodes_after_null", (network, first_day, node, limit + 1)
            else:
                query, args = "top_nodes_after_usd", (network, first_day, usd, node, limit + 1)
        async with request.app.state.connection() as conn:
            rows = await conn.fetch(sql[query], *args)
        page, more = rows[:limit], len(rows) > limit
        cursor_out = json.dumps(_encode_cursor(page[-1]["earnings_usd"], page[-1]["node"])) if more else "null"
        # Each node arrives rendered by Postgres; only the envelope is built here.
        return _raw_json(
            '{"network":'
            + json.dumps(network)
            + ',"month":"'
            + first_day.isoformat()
            + '","nodes":['
            + ",".join(r["doc"] for r in page)
            + '],"next_cursor":'
            + cursor_out
            + "}"
        )

    @app.get("/v1/nodes/{network}/{node}/earnings", response_model=models.NodeEarningsResponse, tags=["figures"])
    async def node_earnings(
        request: Request,
        network: Annotated[str, Path(min_length=1, max_length=64)],
        node: Annotated[str, Path(min_length=1, max_length=128)],
        granularity: Literal["day", "month"] = "month",
    ) -> Response:
        """A node's earnings per day or month and token."""
        await require_network(request, network)
        rows = await fetch(request, f"node_earnings_{'daily' if granularity == 'day' else 'monthly'}", network, node)
        if not rows:
            raise NotFound(f"node {node!r} has no earnings in network {network!r}")
        return _json(
            {"network": network, "node": node, "granularity": granularity, "earnings": [dict(r) for r in rows]}
        )

    @app.get("/v1/utilisation", response_model=models.UtilisationResponse, tags=["figures"])
    async def utilisation(
        request: Request,
        network: Annotated[str, Query(min_length=1, max_length=64)],
        granularity: Literal["day", "month"] = "month",
    ) -> Response:
        """Active nodes, node-days, paying customers, revenue and rewards per period."""
        await require_network(request, network)
        rows = await fetch(request, f"utilisation_{'daily' if granularity == 'day' else 'monthly'}", network)
        return _json({"network": network, "granularity": granularity, "utilisation": [dict(r) for r in rows]})

    @app.get("/v1/export/{view}", tags=["export"], response_class=StreamingResponse)
    async def export(
        request: Request,
        view: Literal[EXPORTABLE],  # type: ignore[valid-type]
        format: Literal["ndjson", "csv"] = "ndjson",
    ) -> StreamingResponse:
        """Stream a whole analytics view as NDJSON or CSV, in constant memory."""
        connection = request.app.state.connection
        # The view name comes from the fixed list above, never from free text.
        query = f"select * from analytics.{view}"  # noqa: S608  # sql-ok: view is one of EXPORTABLE

        async def rows() -> AsyncIterator[bytes]:
            async with connection() as conn, conn.transaction(readonly=True):
                # An export may take longer than an ordinary query.
                await conn.execute("set local statement_timeout = 0")
                statement = await conn.prepare(query)
                buffer = io.StringIO()
                writer = csv.writer(buffer, lineterminator="\n")
                if format == "csv":
                    writer.writerow([attribute.name for attribute in statement.get_attributes()])
                batch: list[str] = []
                async for record in statement.cursor(prefetch=_EXPORT_CHUNK):
                    if format == "csv":
                        writer.writerow(
                            [
                                "" if v is None else _default(v) if isinstance(v, (Decimal, date)) else v
                                for v in record.values()
                            ]
                        )
                        if buffer.tell() > 1 << 16:
                            yield buffer.getvalue().encode()
                            buffer.seek(0)
                            buffer.truncate()
                    else:
                        batch.append(json.dumps(dict(record), default=_default))
                        if len(batch) >= _EXPORT_CHUNK:
                            yield ("\n".join(batch) + "\n").encode()
                            batch.clear()
                if format == "csv":
                    if buffer.tell():
                        yield buffer.getvalue().encode()
                elif batch:
                    yield ("\n".join(batch) + "\n").encode()

        media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
        filename = f"{view}.{'csv' if format == 'csv' else 'ndjson'}"
        return StreamingResponse(
            rows(), media_type=media, headers={"content-disposition": f"attachment; filename={filename}"}
        )

    return app


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process, from the settings `depin-indexer api` exported."""
    settings = json.loads(os.environ.get(ENV_SETTINGS, "{}"))
    return create_app(os.environ[ENV_DSN], **settings)


class _Metrics:
    """Request counts and latency per route, as plain ASGI middleware (Starlette's
    BaseHTTPMiddleware costs a task and a stream per request)."""

    def __init__(self, app: Any, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", "unmatched")
            self.latency.labels(name).observe(time.perf_counter() - started)
            self.requests.labels(name, str(status[0])).inc()
