"""kill -9 of a Solana `depin-indexer backfill` at random points, then a rerun: identical tables."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.processes import kills_then_rerun_equal_a_clean_run
from tests.solana.cli_config import world_config
from tests.solana.scenario import World

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PROGRESS = "select count(*)::text || coalesce(max(updated_at)::text, '') from core.cursors where chain = 'solana'"


@pytest.mark.parametrize("follow_mints", [False, True], ids=["labels", "mint"])
async def test_kill_9_during_solana_backfill_then_rerun_equals_clean_run(
    world: World, server: SolanaRpcServer, db_url: str, pg_server: str, tmp_path: Path, follow_mints: bool
) -> None:
    # Pages of 4 signatures and requests of 2 transactions: many commits to land kills between.
    config = world_config(tmp_path, server.url, world, pages=4, batch=2, follow_mints=follow_mints)
    rng = random.Random(int(os.environ.get("CRASH_SEED", "7")))
    kills, count = await kills_then_rerun_equal_a_clean_run(
        config, db_url, pg_server, tmp_path, progress_query=PROGRESS, rng=rng, clean_name="solana_clean"
    )
    assert kills >= 18, f"only {kills} kills landed"
    assert count > 100
