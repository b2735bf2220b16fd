"""Connections: resolve which Postgres to use and open asyncpg pools on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg

from indexer.errors import DatabaseError
from indexer.redact import redact_url
from indexer.store.embedded import embedded_server
from schemas.config import Config


@contextmanager
def database_url(config: Config, keep_embedded: bool = False) -> Iterator[str]:
    """The configured database URL, or the embedded server's (started for the duration)."""
    if config.database.url:
        yield config.database.url
        return
    with embedded_server(keep=keep_embedded) as url:
        yield url


async def connect(url: str, **kwargs: object) -> asyncpg.Connection:
    """One connection; failures name the server without its password."""
    try:
        return await asyncpg.connect(url, **kwargs)  # type: ignore[arg-type]
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseError(f"cannot connect to {redact_url(url)}: {exc}") from None


@asynccontextmanager
async def pool(url: str, size: int = 4, **kwargs: object) -> AsyncIterator[asyncpg.Pool]:
    """An asyncpg pool, closed on exit. ``min_size=0``: after a server restart the pool
    reconnects on demand instead of retrying in the background."""
    try:
        created = await asyncpg.create_pool(url, min_size=0, max_size=size, **kwargs)  # type: ignore[arg-type]
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseError(f"cannot connect to {redact_url(url)}: {exc}") from None
    assert created is not None
    try:
        yield created
    finally:
        await created.close()
