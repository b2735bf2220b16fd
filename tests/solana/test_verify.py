"""`depin-indexer verify` on Solana: finds exactly the transactions stored wrong, and repairs them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.processes import run_cli
from tests.solana.cli_config import world_config
from tests.solana.scenario import World
from tests.store.helpers import fingerprint

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


async def test_verify_names_missing_different_and_extra_transactions_and_repair_restores_them(
    world: World, server: SolanaRpcServer, db_url: str, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    config = world_config(tmp_path, server.url, world, pages=50, batch=50)
    backfill = run_cli(config, db_url, tmp_path, "backfill")
    assert backfill.returncode == 0, backfill.stderr
    ok = run_cli(config, db_url, tmp_path, "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "solana: ok" in ok.stdout
    good = (await fingerprint(conn))["flows"]

    # Three kinds of damage: a transaction whose flows were lost, one stored with a wrong
    # amount, and flows of a transaction the chain does not list.
    txs = [r["tx"] for r in await conn.fetch("select distinct tx from core.flows order by tx limit 2")]
    lost, altered = txs
    await conn.execute("delete from core.flows where tx = $1", lost)
    await conn.execute(
        "update core.flows set amount = amount + 1 where tx = $1 and idx = (select min(idx) from core.flows where tx = $1)",
        altered,
    )
    await conn.execute(
        """insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
           select chain, block, block_time, 'ghost' || tx, idx, token, src, dst, amount
           from core.flows where tx = $1""",
        altered,
    )

    bad = run_cli(config, db_url, tmp_path, "verify")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    reported = [line for line in bad.stdout.splitlines() if line.startswith("MISMATCH")]
    assert len(reported) == 3, bad.stdout
    assert any(lost in line and ": missing:" in line for line in reported), reported
    assert any(altered in line and ": different:" in line and "ghost" not in line for line in reported), reported
    assert any(f"ghost{altered}" in line and ": extra:" in line for line in reported), reported

    await conn.execute("delete from core.dirty_days")
    fixed = run_cli(config, db_url, tmp_path, "verify", "--repair")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "repaired 3 transaction(s)" in fixed.stdout
    assert (await fingerprint(conn))["flows"] == good, "the repair did not restore the table exactly"
    assert await conn.fetchval("select count(*) from core.dirty_days") >= 1, "repaired days are marked dirty"
