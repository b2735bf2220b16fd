"""``/v1/export/{view}``: one whole analytics view, streamed as NDJSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import aclosing
from datetime import date
from decimal import Decimal
from typing import Literal

import asyncpg
from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from indexer.api.db import Database, database
from indexer.api.responses import exact
from indexer.store.sqlfiles import queries

EXPORTABLE = (
    "monthly_revenue",
    "node_earnings_daily",
    "node_earnings_monthly",
    "network_utilisation_daily",
    "network_utilisation_monthly",
    "node_profitability_monthly",
)
# Each view's query is named in sql/queries/api.sql, so no statement is built from the URL;
# looked up at import so that a view listed without its query fails at start, not on a request.
_QUERIES = {view: queries("api")[f"export_{view}"] for view in EXPORTABLE}
_CHUNK = 2000  # rows fetched from the cursor, and NDJSON lines sent, at a time
_CSV_FLUSH = 1 << 16  # bytes of CSV gathered before they are sent
_MEDIA = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}

router = APIRouter(tags=["export"])


async def _ndjson(records: AsyncIterable[asyncpg.Record]) -> AsyncIterator[bytes]:
    """One JSON object a line, sent in chunks of lines."""
    batch: list[str] = []
    async for record in records:
        batch.append(json.dumps(dict(record), default=exact))
        if len(batch) >= _CHUNK:
            yield ("\n".join(batch) + "\n").encode()
            batch.clear()
    if batch:
        yield ("\n".join(batch) + "\n").encode()


async def _csv(columns: Sequence[str], records: AsyncIterable[asyncpg.Record]) -> AsyncIterator[bytes]:
    """A header line of column names, then a line a row (NULL as an empty field)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    async for record in records:
        writer.writerow(
            ["" if v is None else exact(v) if isinstance(v, (Decimal, date)) else v for v in record.values()]
        )
        if buffer.tell() > _CSV_FLUSH:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


async def _stream(db: Database, query: str, format: str) -> AsyncIterator[bytes]:
    """The encoded rows of ``query``, read through a server-side cursor in constant memory."""
    async with db.connection() as conn, conn.transaction(readonly=True):
        # An export may take longer than an ordinary query.
        await conn.execute(db.sql["export_without_timeout"])
        statement = await conn.prepare(query)
        records = statement.cursor(prefetch=_CHUNK)
        if format == "csv":
            chunks = _csv([attribute.name for attribute in statement.get_attributes()], records)
        else:
            chunks = _ndjson(records)
        # Closed with this generator: left to the garbage collector, the inner one of an
        # abandoned export would be finalised at some later time, after its connection
        # has gone back to the pool.
        async with aclosing(chunks):
            async for chunk in chunks:
                yield chunk


@router.get(
    "/v1/export/{view}",
    response_class=StreamingResponse,
    responses={200: {"content": {media: {"schema": {"type": "string"}} for media in _MEDIA.values()}}},
)
async def export(
    request: Request,
    view: Literal[EXPORTABLE],  # type: ignore[valid-type]
    format: Literal["ndjson", "csv"] = "ndjson",
) -> StreamingResponse:
    """Stream a whole analytics view as NDJSON or CSV, in constant memory."""
    chunks = _stream(database(request), _QUERIES[view], format)
    return StreamingResponse(
        chunks, media_type=_MEDIA[format], headers={"content-disposition": f"attachment; filename={view}.{format}"}
    )
