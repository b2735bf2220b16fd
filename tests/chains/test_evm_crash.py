"""kill -9 of `depin-indexer backfill` at random points, then a rerun: identical tables."""

from __future__ import annotations

import os
import random
from pathlib import Path

import asyncpg
import pytest

from tests.chains.evm_scenario import EvmScenario
from tests.processes import clean_backfill, kill_at_random_points, start_cli
from tests.store.helpers import fingerprint

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PROGRESS = "select block from core.cursors where chain = 'polygon' and source = ''"


def _config(tmp: Path, anvil: str, token: str) -> Path:
    path = tmp / "depin.toml"
    path.write_text(
        f"""
[chains.polygon]
kind = "evm"
rpc = ["{anvil}"]
chain_id = 137
finality = 2
max_block_range = 2

[[tokens]]
chain = "polygon"
address = "{token}"
symbol = "RNDR"
decimals = 18
"""
    )
    return path


async def test_kill_9_during_backfill_then_rerun_equals_clean_run(
    anvil: str, db_url: str, pg_server: str, tmp_path: Path
) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    customers, escrow = s.accounts[1:4], s.accounts[4]
    s.mint(escrow, 10**26)
    for r in range(150):
        for c in customers:
            s.transfer(escrow, c, 10**18 + r)
        s.batch_transfer(escrow, s.accounts[5:10], [r + 1] * 5)
    s.mine(3)
    config = _config(tmp_path, anvil, token)
    rng = random.Random(int(os.environ.get("CRASH_SEED", "7")))
    conn = await asyncpg.connect(db_url)
    try:
        kills = await kill_at_random_points(
            lambda: start_cli(config, db_url, tmp_path, "backfill"), conn, PROGRESS, rng, window=0.08
        )
        proc = start_cli(config, db_url, tmp_path, "backfill")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        crashed = await fingerprint(conn)
        count = await conn.fetchval("select count(*) from core.flows")
    finally:
        await conn.close()
    assert count == len(s.sent)
    print(f"kills landed: {kills}")
    assert kills >= 18, f"only {kills} kills landed"

    expected, clean_count = await clean_backfill(pg_server, db_url, "evm_clean", config, tmp_path)
    assert clean_count == count
    assert expected["flows"] == crashed["flows"]
    assert expected["cursors"] == crashed["cursors"]
