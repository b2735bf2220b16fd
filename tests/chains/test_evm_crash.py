"""kill -9 of `depin-indexer backfill` at random points, then a rerun: identical tables."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.chains.evm_config import evm_config
from tests.chains.evm_scenario import EvmScenario
from tests.processes import kills_then_rerun_equal_a_clean_run

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PROGRESS = "select block from core.cursors where chain = 'polygon' and source = ''"


def _config(tmp: Path, anvil: str, token: str) -> Path:
    return evm_config(tmp, anvil, token, finality=2, max_block_range=2)


async def test_kill_9_during_backfill_then_rerun_equals_clean_run(
    anvil: str, db_url: str, pg_server: str, tmp_path: Path
) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    customers, escrow = s.accounts[1:4], s.accounts[4]
    s.mint(escrow, 10**26)
    # Long enough for 18 kills to land before a run gets to the end: ranges that queue up
    # behind a write are committed together, so a run moves on fast between kills.
    for r in range(250):
        for c in customers:
            s.transfer(escrow, c, 10**18 + r)
        s.batch_transfer(escrow, s.accounts[5:10], [r + 1] * 5)
    s.mine(3)
    config = _config(tmp_path, anvil, token)
    rng = random.Random(int(os.environ.get("CRASH_SEED", "7")))
    kills, count = await kills_then_rerun_equal_a_clean_run(
        config, db_url, pg_server, tmp_path, progress_query=PROGRESS, rng=rng, clean_name="evm_clean", window=0.08
    )
    assert kills >= 18, f"only {kills} kills landed"
    assert count == len(s.sent)
