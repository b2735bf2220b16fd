"""``/v1/revenue/monthly``: what customers paid each network, per month and token."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from indexer.api.db import database
from indexer.api.errors import BadParameter
from indexer.api.params import NetworkQuery, parse_month, require_network
from indexer.api.responses import PrerenderedJSON
from schemas import api as models

router = APIRouter(tags=["figures"], default_response_class=PrerenderedJSON)

# Open ends of the range: every month the views can hold lies between these.
_FIRST = date(1970, 1, 1)
_LAST = date(9999, 12, 1)


@router.get("/v1/revenue/monthly", response_model=models.RevenueResponse)
async def revenue_monthly(
    request: Request,
    network: NetworkQuery,
    from_: Annotated[str | None, Query(alias="from", description="first month, YYYY-MM")] = None,
    to: Annotated[str | None, Query(description="last month, YYYY-MM")] = None,
) -> PrerenderedJSON:
    """Customer payments per month and token."""
    first = _FIRST if from_ is None else parse_month("from", from_)
    last = _LAST if to is None else parse_month("to", to)
    if first > last:
        raise BadParameter("to", "must not be before 'from'")
    db = database(request)
    await require_network(db, network)
    rendered = await db.value("revenue_monthly", network, first, last)
    return PrerenderedJSON('{"revenue":' + rendered + "}")
