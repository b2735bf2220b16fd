"""``/v1/freshness``: as of when the figures are, and how far each chain is indexed."""

from __future__ import annotations

from fastapi import APIRouter, Request

from indexer.api.db import database
from indexer.api.responses import PrerenderedJSON, json_body
from schemas import api as models

router = APIRouter(tags=["status"], default_response_class=PrerenderedJSON)


@router.get("/v1/freshness", response_model=models.FreshnessResponse)
async def freshness(request: Request) -> PrerenderedJSON:
    """Per chain (``analytics.freshness``): indexed-to block and time, last refresh, dirty days, last error."""
    rows = [dict(r) for r in await database(request).rows("freshness")]
    # One refresh recomputes every chain: the same time on each row.
    refreshed = max((r["last_refresh"] for r in rows if r["last_refresh"] is not None), default=None)
    return json_body({"last_refresh": refreshed, "chains": rows})
