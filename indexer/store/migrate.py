"""Apply ``sql/migrations/NNNN_name.sql`` in order, each in its own transaction.

Each applied file is recorded with its SHA-256; an applied file that was edited afterwards
is refused (the database would no longer match the code). A session advisory lock makes
two concurrent ``migrate`` runs safe: the second waits, then finds nothing to do.

Why not a migration library: the ones that fit asyncpg want Python migration modules or
their own DSL; ours are plain SQL files applied in order, which is ~100 lines here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from indexer.errors import MigrationError
from indexer.store.sqlfiles import queries, sql_root

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any fixed number: only migrate takes this lock.
_LOCK_KEY = 0x6465_7069_6E00  # "depin\0"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str
    checksum: str


def discover(folder: Path | None = None) -> list[Migration]:
    """Migrations on disk, in order; duplicate numbers or stray files are errors."""
    folder = folder or (sql_root() / "migrations")
    found: dict[int, Migration] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: number {version:04d} is used twice")
        data = path.read_bytes()
        found[version] = Migration(version, path.stem, data.decode("utf-8"), hashlib.sha256(data).hexdigest())
    return [found[v] for v in sorted(found)]


async def migrate(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Bring the database up to date; return the names applied now (empty when current)."""
    migrations = discover() if migrations is None else migrations
    sql = queries("migrate")
    await conn.execute(sql["lock"], _LOCK_KEY)
    try:
        await conn.execute(sql["bootstrap"])
        applied = {r["version"]: r for r in await conn.fetch(sql["applied"])}
        on_disk = {m.version: m for m in migrations}
        for version, row in sorted(applied.items()):
            mig = on_disk.get(version)
            if mig is None:
                raise MigrationError(
                    f"the database has migration {row['name']} applied, which this version of "
                    "depin-indexer does not know: it was migrated by a newer version"
                )
            if mig.checksum != row["checksum"]:
                raise MigrationError(
                    f"migration {mig.name}.sql was edited after it was applied "
                    f"(checksum {row['checksum'][:12]} in the database, {mig.checksum[:12]} on disk); "
                    "add a new migration instead of editing an applied one"
                )
        done: list[str] = []
        for mig in migrations:
            if mig.version in applied:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(mig.sql)
                    await conn.execute(sql["record"], mig.version, mig.name, mig.checksum)
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"migration {mig.name}.sql failed: {exc}") from exc
            done.append(mig.name)
        await conn.execute(sql["upkeep"])
        return done
    finally:
        await conn.execute(sql["unlock"], _LOCK_KEY)
