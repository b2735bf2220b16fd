"""`depin-indexer run` through a reorg whose replacement is final by the time it is seen.

The service follows anvil's head. It indexes eleven blocks of a history that is then
abandoned: the chain is reverted and rebuilt, longer and days later in time, and mined on
until the replacement is final, all while the service is paused (SIGSTOP), as a service
that was busy, swapped out or cut off would find it. After it resumes and reaches the
head, every stored column of every flow (tx, idx, src, dst, amount, block and block time)
must equal what the chain says. A stale fact about a block number from the dead fork, such
as its timestamp, puts flows on the wrong day or month of every figure.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path

import asyncpg
import pytest

from tests.chains.evm_config import evm_config
from tests.chains.evm_oracle import chain_flows, differences, stored_flows
from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_service import _run, _wait_for
from tests.reliability.test_reorg_soak import _drain

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

FINALITY = 12
ABANDONED = 11  # blocks of the dead fork the service indexes first
ROUNDS = 3


def _config(tmp: Path, anvil: str, token: str) -> Path:
    service = {"ingest_interval": 0.3, "refresh_interval": 5, "metrics_port": 0}
    return evm_config(tmp, anvil, token, finality=FINALITY, max_block_range=4, service=service)


def _transfers(s: EvmScenario, rng: random.Random, blocks: int) -> None:
    """One transfer per block, an hour apart."""
    holders = s.accounts[1:6]
    for _ in range(blocks):
        s.transfer(rng.choice(holders), rng.choice(s.accounts[1:10]), rng.randrange(1, 10**18))


async def _at_head(conn: asyncpg.Connection, s: EvmScenario) -> None:
    head = s.head()
    head_hash = s.w3.eth.get_block(head)["hash"].to_0x_hex()
    await _wait_for(
        conn,
        f"select c.block = {head} and b.hash = '{head_hash}' from core.cursors c "
        "join core.blocks b on b.chain = c.chain and b.number = c.block "
        "where c.chain = 'polygon' and c.source = ''",
        lambda v: v is True,
    )


async def test_run_through_a_reorg_found_final_stores_the_new_blocks_times(
    anvil: str, db_url: str, tmp_path: Path
) -> None:
    rng = random.Random(11)
    s = EvmScenario(anvil)
    token = s.deploy_token()
    for holder in s.accounts[1:6]:
        s.mint(holder, 10**24)
    proc = _run(_config(tmp_path, anvil, token), db_url, tmp_path)
    log: list[str] = []
    reader = _drain(proc.stderr, log)
    conn = await asyncpg.connect(db_url)
    try:
        _transfers(s, rng, 5)
        await _at_head(conn, s)
        for _ in range(ROUNDS):
            snapshot = s.snapshot()
            _transfers(s, rng, ABANDONED)
            await _at_head(conn, s)  # the dead fork is indexed, its block times seen
            proc.send_signal(signal.SIGSTOP)
            try:
                assert s.rpc("evm_revert", snapshot) is True
                s.at(s.next_time + 3 * 86400 + rng.randrange(3600))  # days later: other days, other times
                _transfers(s, rng, ABANDONED + rng.randint(1, 6))
                s.mine(FINALITY + 2)  # the replacement is final before the service sees it
            finally:
                proc.send_signal(signal.SIGCONT)
            await _at_head(conn, s)
        expected = chain_flows(s.w3, token)
        got = await stored_flows(conn)
    finally:
        await conn.close()
        proc.send_signal(signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        reader.join(5)
    rewinds = sum("reorg: rewound to block" in line for line in log)
    assert rewinds >= ROUNDS, f"the service saw {rewinds} reorgs, expected {ROUNDS}:\n{''.join(log[-30:])}"
    assert got == expected, (
        "after the reorgs every stored flow must carry the canonical chain's columns, block time included: "
        + differences(expected, got)
    )
