"""`depin-indexer backfill` on a Cosmos chain: `--to`, progress and the summary line."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from indexer.localchains.cometbft_rpc import CometRpcServer
from tests.cosmos.conftest import cosmos_config
from tests.processes import run_cli


async def test_backfill_to_a_height_stops_there_and_says_so(
    server: CometRpcServer, db_url: str, tmp_path: Path
) -> None:
    config = cosmos_config(tmp_path, [server.url])
    done = run_cli(config, db_url, tmp_path, "backfill", "--to", "50")
    assert done.returncode == 0, done.stderr
    expected = [m for m in server.chain.movements if m[6] <= 50]
    assert f"aioz-cosmos: 50 blocks, {len(expected):,} flows ({len(expected):,} new)" in done.stderr, done.stderr
    conn = await asyncpg.connect(db_url)
    try:
        top = await conn.fetchval("select max(block) from core.flows where chain = 'aioz-cosmos'")
        cursor = await conn.fetchval("select block from core.cursors where chain = 'aioz-cosmos'")
    finally:
        await conn.close()
    assert top <= 50 and cursor == 50
