"""kill -9 of a Cosmos `depin-indexer backfill` at random points, then a rerun: identical tables."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from indexer.localchains.cometbft_chain import CometChain, random_history
from indexer.localchains.cometbft_rpc import CometRpcServer
from tests.cosmos.conftest import DENOMS, cosmos_config
from tests.processes import kills_then_rerun_equal_a_clean_run

pytestmark = pytest.mark.slow
PROGRESS = "select count(*)::text || coalesce(max(block)::text, '') from core.cursors where chain = 'aioz-cosmos'"


async def test_kill_9_during_cosmos_backfill_then_rerun_equals_clean_run(
    db_url: str, pg_server: str, tmp_path: Path
) -> None:
    history = CometChain()
    random_history(history, random.Random(23), 600, denoms=DENOMS)
    with CometRpcServer(history) as url:
        # One height per request and per commit: many commits to land kills between.
        config = cosmos_config(tmp_path, [url], heights_per_request=1, max_concurrency=1)
        rng = random.Random(int(os.environ.get("CRASH_SEED", "7")))
        kills, count = await kills_then_rerun_equal_a_clean_run(
            config, db_url, pg_server, tmp_path, progress_query=PROGRESS, rng=rng, clean_name="cosmos_clean"
        )
    assert kills >= 18, f"only {kills} kills landed"
    assert count == len(history.movements)
