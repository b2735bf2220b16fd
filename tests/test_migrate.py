"""Migrations: idempotent, checksummed, safe when two processes run them at once."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from indexer.errors import MigrationError
from indexer.store.migrate import discover, migrate
from indexer.store.sqlfiles import sql_root


async def test_migrate_twice_applies_once(empty_db_url: str) -> None:
    conn = await asyncpg.connect(empty_db_url)
    try:
        first = await migrate(conn)
        second = await migrate(conn)
        assert first == [m.name for m in discover()], "every migration applied on an empty database"
        assert second == [], "a second run applies nothing"
        count = await conn.fetchval("select count(*) from core.schema_migrations")
        assert count == len(first)
    finally:
        await conn.close()


async def test_edited_migration_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(sql_root() / "migrations", folder)
    conn = await asyncpg.connect(empty_db_url)
    try:
        await migrate(conn, discover(folder))
        first = sorted(folder.iterdir())[0]
        first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
        with pytest.raises(MigrationError, match=f"{first.stem}.sql was edited after it was applied"):
            await migrate(conn, discover(folder))
    finally:
        await conn.close()


async def test_database_newer_than_code_is_refused(empty_db_url: str, tmp_path: Path) -> None:
    conn = await asyncpg.connect(empty_db_url)
    try:
        await migrate(conn)
        await conn.execute(
            "insert into core.schema_migrations (version, name, checksum) values (9999, '9999_future', 'x')"
        )
        with pytest.raises(MigrationError, match="9999_future.*newer version"):
            await migrate(conn)
    finally:
        await conn.close()


def test_badly_named_migration_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "1_core.sql").write_text("select 1")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        discover(tmp_path)


async def test_failed_migration_leaves_nothing_behind(empty_db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(sql_root() / "migrations", folder)
    (folder / "9000_broken.sql").write_text("create table core.half_done (x int);\nselect 1/0;\n")
    conn = await asyncpg.connect(empty_db_url)
    try:
        with pytest.raises(MigrationError, match="9000_broken.sql failed"):
            await migrate(conn, discover(folder))
        assert await conn.fetchval("select to_regclass('core.half_done')") is None
        assert await conn.fetchval("select count(*) from core.schema_migrations where version = 9000") == 0
    finally:
        await conn.close()


async def test_concurrent_migrate_is_safe(empty_db_url: str) -> None:
    """Two migrators at once: the advisory lock serialises them, each file applies once."""
    conns = [await asyncpg.connect(empty_db_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        applied = [name for result in results for name in result]
        assert sorted(applied) == sorted(m.name for m in discover()), results
    finally:
        for c in conns:
            await c.close()


async def test_partitions_exist_around_now_after_migrate(conn: asyncpg.Connection) -> None:
    names = {
        r["relname"]
        for r in await conn.fetch(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
            "where i.inhparent = 'core.flows'::regclass"
        )
    }
    assert "flows_default" in names
    assert len(names) >= 5, f"current month, the previous one and three ahead: {sorted(names)}"


async def test_every_analytics_view_and_column_describes_itself(conn: asyncpg.Connection) -> None:
    """`\\d+` in psql and BI tools show the methodology: no view or column without a comment."""
    undescribed = await conn.fetch(
        """
        select c.relname, a.attname
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'analytics'
        left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        where c.relkind in ('v', 'm')
          and (obj_description(c.oid, 'pg_class') is null or col_description(c.oid, a.attnum) is null)
        order by 1, 2
        """
    )
    views = await conn.fetchval(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'analytics' and c.relkind in ('v', 'm')"
    )
    assert views >= 9
    assert not undescribed, f"without a description: {[tuple(r) for r in undescribed]}"
