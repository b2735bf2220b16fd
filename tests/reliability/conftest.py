"""Fixtures of the reliability suite: anvil nodes (shared with tests/chains) and a second database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.chains.conftest import anvil, plain_anvil  # noqa: F401
from tests.conftest import migrated_database
from tests.solana.conftest import rpc, server, world  # noqa: F401


@pytest.fixture
async def clean_db_url(pg_server: str, template_url: str) -> AsyncIterator[str]:
    """A second fresh, migrated database: where the fault-free reference run writes."""
    async with migrated_database(pg_server, "clean") as url:
        yield url
