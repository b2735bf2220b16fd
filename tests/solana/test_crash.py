"""kill -9 of a Solana `depin-indexer backfill` at random points, then a rerun: identical tables."""

from __future__ import annotations

import os
import random
from pathlib import Path

import asyncpg
import pytest

from indexer.demo.solana_rpc import SolanaRpcServer
from tests.processes import clean_backfill, kill_at_random_points, start_cli
from tests.solana.cli_config import world_config
from tests.solana.scenario import World
from tests.store.helpers import fingerprint

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PROGRESS = "select count(*)::text || coalesce(max(updated_at)::text, '') from core.cursors where chain = 'solana'"


async def test_kill_9_during_solana_backfill_then_rerun_equals_clean_run(
    world: World, server: SolanaRpcServer, db_url: str, pg_server: str, tmp_path: Path
) -> None:
    # Pages of 4 signatures and requests of 2 transactions: many commits to land kills between.
    config = world_config(tmp_path, server.url, world, pages=4, batch=2)
    rng = random.Random(int(os.environ.get("CRASH_SEED", "7")))
    conn = await asyncpg.connect(db_url)
    try:
        kills = await kill_at_random_points(
            lambda: start_cli(config, db_url, tmp_path, "backfill"), conn, PROGRESS, rng
        )
        proc = start_cli(config, db_url, tmp_path, "backfill")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        crashed = await fingerprint(conn)
        count = await conn.fetchval("select count(*) from core.flows")
    finally:
        await conn.close()
    print(f"kills landed: {kills}")
    assert kills >= 18, f"only {kills} kills landed"

    expected, clean_count = await clean_backfill(pg_server, db_url, "solana_clean", config, tmp_path)
    assert count > 100
    assert clean_count == count
    assert expected["flows"] == crashed["flows"]
    assert expected["cursors"] == crashed["cursors"]
