"""``/v1/networks``: the networks the API has figures for."""

from __future__ import annotations

from fastapi import APIRouter, Request

from indexer.api.db import database
from indexer.api.responses import PrerenderedJSON, json_body
from schemas import api as models

router = APIRouter(tags=["figures"], default_response_class=PrerenderedJSON)


@router.get("/v1/networks", response_model=models.NetworksResponse)
async def networks(request: Request) -> PrerenderedJSON:
    """Every network that has labelled addresses, with its chains and months of data."""
    rows = await database(request).rows("networks")
    return json_body({"networks": [dict(r) for r in rows]})
