"""Every query of docs/queries.md runs as depin_analyst against a populated database."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import as_role
from tests.figures.test_networks import populate

QUERIES = re.findall(
    r"```sql\n(.*?)```", (Path(__file__).resolve().parents[2] / "docs" / "queries.md").read_text(), re.S
)


def test_the_docs_have_at_least_ten_queries() -> None:
    assert len(QUERIES) >= 10


async def test_every_documented_query_answers_as_the_analyst(db_url: str, conn: asyncpg.Connection) -> None:
    await populate(conn)
    analyst = await asyncpg.connect(as_role(db_url, "depin_analyst"))
    try:
        for number, query in enumerate(QUERIES, start=1):
            try:
                rows = await analyst.fetch(query)
            except asyncpg.PostgresError as exc:
                pytest.fail(f"query {number} of docs/queries.md failed: {exc}\n{query}")
            assert rows, f"query {number} of docs/queries.md returned no rows:\n{query}"
    finally:
        await analyst.close()
