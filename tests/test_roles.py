"""The analyst and API roles read analytics and can write nothing, anywhere."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from tests.conftest import as_role

ROLES = ("depin_analyst", "depin_reader")

WRITES = [
    "insert into core.flows values ('x', 1, now(), 't', 0, 'tok', null, null, 1)",
    "update core.cursors set block = 0",
    "delete from core.labels",
    "insert into core.prices values (current_date, 'X', 1)",
    "create table public.sneaky (x int)",
    "create table analytics.sneaky (x int)",
    "create temporary table sneaky (x int)",
    "create schema sneaky",
    "select * from core.flows",
    "select answer from core.undecodable_transactions",  # raw answers stay the indexer's
    "select * from core.assumptions",  # analytics.assumptions shows them
    "update analytics.assumptions set watts = 1",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("statement", WRITES)
async def test_read_only_roles_are_refused(db_url: str, role: str, statement: str) -> None:
    conn = await asyncpg.connect(as_role(db_url, role))
    try:
        # Even with the role's read-only default switched off, privileges refuse the write.
        await conn.execute("set default_transaction_read_only = off")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.parametrize("role", ROLES)
async def test_read_only_roles_see_which_transactions_were_left_out(
    db_url: str, conn: asyncpg.Connection, role: str
) -> None:
    await conn.execute(
        "insert into core.undecodable_transactions (chain, signature, slot, reason, answer) "
        "values ('solana', 'sig', 7, 'why', '{}')"
    )
    reader = await asyncpg.connect(as_role(db_url, role))
    try:
        row = await reader.fetchrow("select signature, slot, reason from analytics.undecodable_transactions")
        assert tuple(row) == ("sig", 7, "why")
        assert await reader.fetchval("select undecodable_transactions from analytics.indexing_status") == 1
    finally:
        await reader.close()


@pytest.mark.parametrize("role", ROLES)
async def test_read_only_roles_can_read_analytics(db_url: str, conn: asyncpg.Connection, role: str) -> None:
    await conn.execute("create table analytics.probe as select 42 as answer")
    reader = await asyncpg.connect(as_role(db_url, role))
    try:
        assert await reader.fetchval("select answer from analytics.probe") == 42
        assert await reader.fetchval("show default_transaction_read_only") == "on"
    finally:
        await reader.close()


@pytest.mark.parametrize("role", ROLES)
async def test_read_only_roles_see_the_electricity_assumptions(
    db_url: str, conn: asyncpg.Connection, role: str
) -> None:
    await conn.execute("insert into core.assumptions (network, watts, usd_per_kwh) values ('render', 300, 0.2)")
    reader = await asyncpg.connect(as_role(db_url, role))
    try:
        rows = await reader.fetch("select network, watts, usd_per_kwh from analytics.assumptions order by network")
        # The migration's default, 450 W at 0.15 USD/kWh, and the network's own row.
        assert [tuple(r) for r in rows] == [("*", 450, Decimal("0.15")), ("render", 300, Decimal("0.2"))]
    finally:
        await reader.close()
