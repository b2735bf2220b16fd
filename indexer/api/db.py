"""The API's access to Postgres: one pool per app, queued in arrival order, running the
named queries of ``sql/queries/api.sql``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.requests import Request

from indexer.store.sqlfiles import queries

NETWORKS_TTL = 5.0  # seconds a list of known networks is trusted


class Database:
    """The app's connection pool, its FIFO queue, and the API's named queries."""

    def __init__(self, pool: asyncpg.Pool, size: int) -> None:
        self.pool = pool
        self.sql = queries("api")
        # Requests queue on a FIFO semaphore, not in the pool: asyncpg's pool queue lets a
        # newly arrived request take a released connection ahead of one already waiting,
        # which under load starves a few requests for hundreds of milliseconds.
        self._turns = asyncio.Semaphore(size)
        self._networks: frozenset[str] = frozenset()
        self._networks_at = 0.0

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the pool, once every request that came earlier has had one."""
        async with self._turns, self.pool.acquire() as conn:
            yield conn

    async def rows(self, name: str, *args: Any) -> list[asyncpg.Record]:
        """The rows of the query ``name`` of ``sql/queries/api.sql``."""
        async with self.connection() as conn:
            return await conn.fetch(self.sql[name], *args)

    async def value(self, name: str, *args: Any) -> Any:
        """The first value of the query ``name`` (a JSON text, for the Postgres-rendered ones)."""
        async with self.connection() as conn:
            return await conn.fetchval(self.sql[name], *args)

    async def is_network(self, network: str) -> bool:
        """Whether ``network`` has labelled addresses.

        A known network is trusted for a few seconds, so a busy endpoint does not read the
        list on every request; a name not in the list is always read again, so a network
        labelled a moment ago is found at once.
        """
        now = time.monotonic()
        if network in self._networks and now - self._networks_at < NETWORKS_TTL:
            return True
        rows = await self.rows("network_names")
        self._networks = frozenset(r["network"] for r in rows)
        self._networks_at = now
        return network in self._networks

    async def close(self) -> None:
        """Close every connection of the pool."""
        await self.pool.close()


async def _no_reset(connection: asyncpg.Connection) -> None:
    # Only an interrupted export can leave a transaction open; end it before reuse.
    if connection.is_in_transaction():
        await connection.execute(queries("api")["end_open_transaction"])


async def open_database(url: str, *, statement_timeout_ms: int, pool_size: int) -> Database:
    """A read-only pool over ``url`` (which should name the ``depin_reader`` role)."""
    pool = await asyncpg.create_pool(
        url,
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
    return Database(pool, pool_size)


def database(request: Request) -> Database:
    """The database of the app serving ``request`` (opened by the app's lifespan).

    A plain call rather than a FastAPI dependency: resolving a dependency costs more per
    request than the lookup itself, and this runs on every request of the busiest routes.
    """
    db: Database = request.app.state.database
    return db
