"""``/v1/nodes`` (the top earners of a month, in keyset pages) and one node's earnings."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from indexer.api.db import database
from indexer.api.errors import NotFound
from indexer.api.params import Granularity, NetworkQuery, decode_cursor, encode_cursor, parse_month, require_network
from indexer.api.responses import PrerenderedJSON, json_body
from schemas import api as models

router = APIRouter(tags=["figures"], default_response_class=PrerenderedJSON)

_EARNINGS_QUERY = {"day": "node_earnings_daily", "month": "node_earnings_monthly"}


def _page_query(cursor: str | None, limit: int) -> tuple[str, tuple[Any, ...]]:
    """The named query of the page after ``cursor``, and its arguments after network and
    month. One row more than ``limit`` is read, to know whether another page follows."""
    if cursor is None:
        return "top_nodes_first_page", (limit + 1,)
    usd, node = decode_cursor(cursor)
    # Nodes without a USD figure sort last, so past the first of them the keyset is the
    # node name alone.
    if usd is None:
        return "top_nodes_after_null", (node, limit + 1)
    return "top_nodes_after_usd", (usd, node, limit + 1)


@router.get("/v1/nodes", response_model=models.NodesPage)
async def nodes(
    request: Request,
    network: NetworkQuery,
    month: Annotated[str, Query(description="YYYY-MM")],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> PrerenderedJSON:
    """Top earning nodes of a month by USD earnings (nodes without a price last)."""
    first_day = parse_month("month", month)
    db = database(request)
    await require_network(db, network)
    query, args = _page_query(cursor, limit)
    rows = await db.rows(query, network, first_day, *args)
    page, more = rows[:limit], len(rows) > limit
    cursor_out = json.dumps(encode_cursor(page[-1]["earnings_usd"], page[-1]["node"])) if more else "null"
    # Each node arrives rendered by Postgres; only the envelope is built here.
    return PrerenderedJSON(
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


@router.get("/v1/nodes/{network}/{node}/earnings", response_model=models.NodeEarningsResponse)
async def node_earnings(
    request: Request,
    network: Annotated[str, Path(min_length=1, max_length=64)],
    node: Annotated[str, Path(min_length=1, max_length=128)],
    granularity: Granularity = "month",
) -> PrerenderedJSON:
    """A node's earnings per day or month and token."""
    db = database(request)
    await require_network(db, network)
    rows = await db.rows(_EARNINGS_QUERY[granularity], network, node)
    if not rows:
        raise NotFound(f"node {node!r} has no earnings in network {network!r}")
    return json_body(
        {"network": network, "node": node, "granularity": granularity, "earnings": [dict(r) for r in rows]}
    )
