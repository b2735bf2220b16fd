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


INDEXER_ROLE = "-- As the indexer's role"
"""First line of a documented query that reads core.flows (which the analyst cannot)."""


async def test_every_documented_query_answers_as_the_analyst(db_url: str, conn: asyncpg.Connection) -> None:
    await populate(conn)
    analyst = await asyncpg.connect(as_role(db_url, "depin_analyst"))
    try:
        for number, query in enumerate(QUERIES, start=1):
            if query.startswith(INDEXER_ROLE):
                continue  # below
            try:
                rows = await analyst.fetch(query)
            except asyncpg.PostgresError as exc:
                pytest.fail(f"query {number} of docs/queries.md failed: {exc}\n{query}")
            assert rows, f"query {number} of docs/queries.md returned no rows:\n{query}"
    finally:
        await analyst.close()


async def test_documented_queries_over_raw_flows_answer_as_the_indexer_read_only(conn: asyncpg.Connection) -> None:
    await populate(conn)
    raw = [(n, q) for n, q in enumerate(QUERIES, start=1) if q.startswith(INDEXER_ROLE)]
    assert raw, "docs/queries.md documents discover's ranking"
    for number, query in raw:
        async with conn.transaction(readonly=True):
            try:
                await conn.fetch(query)
            except asyncpg.PostgresError as exc:
                pytest.fail(f"query {number} of docs/queries.md failed: {exc}\n{query}")
