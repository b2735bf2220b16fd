"""`depin-indexer verify` finds exactly the blocks where flows are missing, and repairs them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.chains.evm_config import evm_config
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
    config = evm_config(tmp_path, anvil, token, finality=2, labels=[("render", escrow, "revenue")])
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


async def test_repair_keeps_the_native_coin_flows_of_the_repaired_blocks(
    anvil: str, db_url: str, tmp_path: Path
) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    escrow, customer = s.accounts[4], s.accounts[1]
    s.mint(customer, 10**24)
    # One block holding a token payment and a native-coin payment into the escrow.
    s.rpc("evm_setAutomine", False)
    try:
        pay = s.token.functions.transfer(s.w3.to_checksum_address(escrow), 5 * 10**18).transact(
            {"from": s.w3.to_checksum_address(customer)}
        )
        coin = s.w3.eth.send_transaction(
            {"from": s.w3.to_checksum_address(customer), "to": s.w3.to_checksum_address(escrow), "value": 3 * 10**18}
        )
        s.tick()
        s.rpc("evm_mine")
    finally:
        s.rpc("evm_setAutomine", True)
    block = s.w3.eth.wait_for_transaction_receipt(pay)["blockNumber"]
    assert s.w3.eth.wait_for_transaction_receipt(coin)["blockNumber"] == block
    s.mine(3)
    labels = [("render", escrow, "revenue")]
    config = evm_config(tmp_path, anvil, token, finality=2, native_symbol="POL", labels=labels)
    assert run_cli(config, db_url, tmp_path, "backfill").returncode == 0
    conn = await asyncpg.connect(db_url)
    try:
        tokens = await conn.fetch("select token from core.flows where block = $1", block)
        assert sorted(r["token"] for r in tokens) == sorted(["native", token]), "the block holds both payments"
        good = await fingerprint(conn)
        await conn.execute("delete from core.flows where block = $1 and token <> 'native'", block)
        fixed = run_cli(config, db_url, tmp_path, "verify", "--repair")
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "repaired 1 gap(s)" in fixed.stdout, fixed.stdout
        assert (await fingerprint(conn))["flows"] == good["flows"], "the repair must restore both flows of the block"
    finally:
        await conn.close()
