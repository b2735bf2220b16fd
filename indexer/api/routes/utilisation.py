"""``/v1/utilisation``: how busy and how paid each network is, per day or month."""

from __future__ import annotations

from fastapi import APIRouter, Request

from indexer.api.db import database
from indexer.api.params import Granularity, NetworkQuery, require_network
from indexer.api.responses import PrerenderedJSON, json_body
from schemas import api as models

router = APIRouter(tags=["figures"], default_response_class=PrerenderedJSON)

_QUERY = {"day": "utilisation_daily", "month": "utilisation_monthly"}


@router.get("/v1/utilisation", response_model=models.UtilisationResponse)
async def utilisation(request: Request, network: NetworkQuery, granularity: Granularity = "month") -> PrerenderedJSON:
    """Active nodes, node-days, paying customers, revenue and rewards per period."""
    db = database(request)
    await require_network(db, network)
    rows = await db.rows(_QUERY[granularity], network)
    return json_body({"network": network, "granularity": granularity, "utilisation": [dict(r) for r in rows]})
