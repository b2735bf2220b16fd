"""``/v1/assumptions``: the electricity assumptions node profitability is computed with."""

from __future__ import annotations

from fastapi import APIRouter, Request

from indexer.api.db import database
from indexer.api.responses import PrerenderedJSON, json_body
from schemas import api as models

router = APIRouter(tags=["figures"], default_response_class=PrerenderedJSON)


@router.get("/v1/assumptions", response_model=models.AssumptionsResponse)
async def assumptions(request: Request) -> PrerenderedJSON:
    """``analytics.assumptions``: watts and USD per kWh per network, the ``'*'`` default first."""
    rows = await database(request).rows("assumptions")
    return json_body({"assumptions": [dict(r) for r in rows]})
