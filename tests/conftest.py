"""Shared fixtures: one embedded Postgres per test session, a fresh database per test.

The session migrates a template database once; each test gets ``CREATE DATABASE …
TEMPLATE`` of it (milliseconds), so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from indexer.store.embedded import EmbeddedPostgres
from indexer.store.migrate import migrate

# One template per pytest-xdist worker: with DEPIN_TEST_DATABASE_URL every worker shares
# one server, and a shared template would be dropped while another worker clones it.
TEMPLATE = f"depin_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
_counter = itertools.count()


def with_database(url: str, database: str, user: str | None = None) -> str:
    """The same server URL pointed at another database (and optionally another role)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        netloc = f"{user}@" + netloc.split("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, parts.fragment))


def as_role(url: str, role: str) -> str:
    """The same database URL, connecting as another role (trust auth in tests)."""
    return with_database(url, urlsplit(url).path.lstrip("/"), user=role)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """URL of the session's embedded Postgres (the ``postgres`` database)."""
    external = os.environ.get("DEPIN_TEST_DATABASE_URL")
    if external:
        yield external
        return
    # Short path: the Unix socket lives in the data directory and has a length limit.
    data_dir = Path(tempfile.mkdtemp(prefix="depin-pg-"))
    server = EmbeddedPostgres(data_dir)
    url = server.start()

    async def tune() -> None:
        conn = await asyncpg.connect(url)
        # Durability buys nothing in a throwaway test server.
        for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
            await conn.execute(f"alter system set {setting}")
        await conn.execute("alter system set max_connections = 200")
        await conn.execute("select pg_reload_conf()")
        await conn.close()

    asyncio.run(tune())
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def template_url(pg_server: str) -> str:
    """A migrated database that every test database is cloned from."""

    async def build() -> None:
        admin = await asyncpg.connect(pg_server)
        try:
            # Roles are the server's, not a database's: workers sharing a server migrate
            # one at a time, or two would race to create the same role.
            await admin.execute("select pg_advisory_lock(7270001)")
            await admin.execute(f"drop database if exists {TEMPLATE}")
            await admin.execute(f"create database {TEMPLATE}")
            conn = await asyncpg.connect(with_database(pg_server, TEMPLATE))
            try:
                await migrate(conn)
            finally:
                await conn.close()
        finally:
            await admin.close()

    asyncio.run(build())
    return with_database(pg_server, TEMPLATE)


@asynccontextmanager
async def migrated_database(pg_server: str, prefix: str = "t") -> AsyncIterator[str]:
    """A fresh database cloned from the migrated template, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"create database {name} template {TEMPLATE}")
    await admin.close()
    url = with_database(pg_server, name)
    # Database-level privileges are not part of the template (see 0001_core.sql).
    conn = await asyncpg.connect(url)
    await conn.execute("select core.apply_database_grants()")
    await conn.close()
    try:
        yield url
    finally:
        admin = await asyncpg.connect(pg_server)
        await admin.execute(f"drop database if exists {name} with (force)")
        await admin.close()


@pytest.fixture
async def db_url(pg_server: str, template_url: str) -> AsyncIterator[str]:
    """URL of a fresh, migrated database for this test only."""
    async with migrated_database(pg_server) as url:
        yield url


@pytest.fixture
async def empty_db_url(pg_server: str) -> AsyncIterator[str]:
    """URL of a fresh database with no migrations applied."""
    name = f"e_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"create database {name}")
    await admin.close()
    yield with_database(pg_server, name)
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"drop database if exists {name} with (force)")
    await admin.close()


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection (as the indexer's role) to this test's database."""
    connection = await asyncpg.connect(db_url)
    yield connection
    await connection.close()
