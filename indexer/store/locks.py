"""Advisory locks: one ingest of a chain at a time, across processes and replicas."""

from __future__ import annotations

import asyncpg

from indexer.store.sqlfiles import queries

_SQL = queries("store")


async def try_lock_job(conn: asyncpg.Connection, job: str) -> bool:
    """Take the session-level lock of ``job`` (e.g. ``ingest:polygon``) if it is free."""
    return bool(await conn.fetchval(_SQL["try_lock_job"], job))


async def unlock_job(conn: asyncpg.Connection, job: str) -> None:
    """Release a lock taken with :func:`try_lock_job`."""
    await conn.execute(_SQL["unlock_job"], job)


async def lock_for_transaction(conn: asyncpg.Connection, job: str) -> None:
    """Wait for the lock of ``job`` and hold it until the current transaction ends."""
    await conn.execute(_SQL["lock_for_transaction"], job)
