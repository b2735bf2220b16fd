"""Fixtures of the reliability suite: anvil nodes (shared with tests/chains) and a second database."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.chains.conftest import anvil, plain_anvil  # noqa: F401
from tests.conftest import TEMPLATE, with_database

_counter = itertools.count()


@pytest.fixture
async def clean_db_url(pg_server: str, template_url: str) -> AsyncIterator[str]:
    """A second fresh, migrated database: where the fault-free reference run writes."""
    name = f"clean_{os.getpid()}_{next(_counter)}"
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"create database {name} template {TEMPLATE}")
    await admin.close()
    url = with_database(pg_server, name)
    conn = await asyncpg.connect(url)
    await conn.execute("select core.apply_database_grants()")
    await conn.close()
    yield url
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"drop database if exists {name} with (force)")
    await admin.close()
