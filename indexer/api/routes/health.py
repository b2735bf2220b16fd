"""``/healthz``, ``/readyz`` and ``/metrics``: the status of the process and its database."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from indexer.api.db import database
from indexer.api.metrics import ApiMetrics
from indexer.api.responses import PrerenderedJSON, json_body
from schemas import api as models

router = APIRouter(tags=["status"])


# FastAPI encodes this one itself (validated against the model on every call): it is the
# benchmark's baseline, the cost of the server without a query or our own encoding.
@router.get("/healthz", response_model=models.HealthResponse)
async def healthz() -> dict[str, str]:
    """The process is up (no database check: that is /readyz)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=models.ReadyResponse,
    response_class=PrerenderedJSON,
    responses={503: {"model": models.ReadyResponse, "description": "The database is unreachable"}},
)
async def readyz(request: Request) -> PrerenderedJSON:
    """Database reachable, and the indexing lag of each chain."""
    try:
        rows = await database(request).rows("indexing_status")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return json_body({"database": "unreachable", "chains": []}, status=503)
    return json_body({"database": "ok", "chains": [dict(r) for r in rows]})


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of the API (summed over every worker process)."""
    collected: ApiMetrics = request.app.state.metrics
    return collected.exposition()
