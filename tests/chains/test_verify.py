"""`depin-indexer verify` finds exactly the blocks where flows are missing, and repairs them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_evm_ingest import _traffic
from tests.processes import run_cli
from tests.store.helpers import fingerprint

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


async def test_verify_reports_gaps_as_ranges_and_repair_restores_the_table(
    anvil: str, db_url: str, tmp_path: Path
) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=3)
    s.mine(3)
    escrow = s.accounts[4]
    config = tmp_path / "depin.toml"
    config.write_text(f"""
[chains.polygon]
kind = "evm"
rpc = ["{anvil}"]
chain_id = 137
finality = 2

[[tokens]]
chain = "polygon"
address = "{token}"
symbol = "RNDR"
decimals = 18

[[labels]]
network = "render"
chain = "polygon"
address = "{escrow}"
role = "revenue"
""")
    assert run_cli(config, db_url, tmp_path, "backfill").returncode == 0
    ok = run_cli(config, db_url, tmp_path, "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "polygon: ok" in ok.stdout

    conn = await asyncpg.connect(db_url)
    try:
        good = await fingerprint(conn)
        # Lose the escrow's flows of one block (a payment in, say): a silent gap.
        lost_block = await conn.fetchval("select min(block) from core.flows where dst = $1 and src is not null", escrow)
        await conn.execute("delete from core.flows where block = $1", lost_block)
        bad = run_cli(config, db_url, tmp_path, "verify")
        assert bad.returncode == 1
        assert f"blocks {lost_block}-{lost_block}:" in bad.stdout, bad.stdout
        assert "MISMATCH" in bad.stdout
        fixed = run_cli(config, db_url, tmp_path, "verify", "--repair")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "repaired 1 gap(s)" in fixed.stdout
        assert (await fingerprint(conn))["flows"] == good["flows"]
    finally:
        await conn.close()
