"""Fork soak on Solana: `depin-indexer run` at `confirmed` commitment follows a ledger whose
unfinalised transactions keep being dropped, and ends exact.

The real service process polls every 0.2 s while the test, for a bounded time, pays the
labelled wallet at random moments and drops random confirmed-but-unfinalised payments
(their fork is abandoned: the server no longer lists, returns or confirms them). What the
service stored must end equal to what the ledger still holds.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path

import asyncpg
import pytest

from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.processes import start_cli
from tests.solana.test_ingest_paths import Shop, stored

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("FORK_SOAK_SEED", "5150"))
TIME_BOX = 12.0  # seconds of payments and drops


def _config(tmp: Path, url: str, shop: Shop, follow: str) -> Path:
    """The shop's wallet labelled (``follow = "labels"``), or its mint followed and no label."""
    label = f"""
[[labels]]
network = "io.net"
chain = "solana"
address = "{shop.wallet.pubkey()}"
role = "revenue"
"""
    path = tmp / "depin.toml"
    path.write_text(
        f"""
[chains.solana]
kind = "solana"
rpc = ["{url}"]
commitment = "confirmed"
signatures_per_request = 20

[[tokens]]
chain = "solana"
address = "{shop.mint.address}"
symbol = "USDC"
decimals = 6
stablecoin = true
follow = "{follow}"
{label if follow == "labels" else ""}
[service]
ingest_interval = 0.2
refresh_interval = 5
metrics_port = 0
"""
    )
    return path


@pytest.mark.parametrize("follow", ["labels", "mint"])
async def test_service_follows_a_ledger_whose_confirmed_transactions_keep_vanishing(
    db_url: str, tmp_path: Path, follow: str
) -> None:
    rng = random.Random(SEED)
    shop = Shop.open(finalized_lag=75)  # 30 payments' worth of slots stay unfinalised
    shop.checked = follow == "mint"  # a plain Transfer does not name the mint
    shop.pay(10)
    dropped = 0
    with SolanaRpcServer(shop.ledger) as url:
        service = start_cli(_config(tmp_path, url, shop, follow), db_url, tmp_path, "run")
        conn = await asyncpg.connect(db_url)
        try:
            started = time.monotonic()
            while time.monotonic() - started < TIME_BOX:
                shop.pay(rng.randint(1, 4), amount=rng.randint(1, 10**9))
                await asyncio.sleep(rng.uniform(0.0, 0.4))
                if rng.random() < 0.5:
                    final = shop.ledger.finalized_slot
                    candidates = [
                        key[0] for key in shop.expected if (entry := shop.ledger.entry(key[0])) and entry.slot > final
                    ]
                    for signature in rng.sample(candidates, min(len(candidates), rng.randint(1, 2))):
                        shop.forget(signature)
                        dropped += 1
            # The service catches up with what the ledger holds now.
            deadline = time.monotonic() + 30
            # Following the mint also reaches the customers' funding: MintTo names the mint.
            expected = shop.expected + shop.minted if follow == "mint" else shop.expected
            while (have := await stored(conn)) != expected:
                assert service.poll() is None, service.stderr.read().decode()[-3000:] if service.stderr else ""
                assert time.monotonic() < deadline, (
                    f"the service did not converge on the ledger: missing {expected - have}, "
                    f"unexpected {have - expected}"
                )
                await asyncio.sleep(0.2)
            watched = await conn.fetchval("select count(*) from core.unfinalised_transactions")
        finally:
            await conn.close()
            service.send_signal(signal.SIGTERM)
            _, err = service.communicate(timeout=15)
    log = err.decode()
    assert service.returncode == 0, log[-3000:]
    rollbacks = log.count("rolled back")
    print(
        f"[fork soak] {sum(shop.expected.values())} payments kept, {dropped} dropped, "
        f"{rollbacks} rollback(s) logged by the service, {watched} still unfinalised"
    )
    assert dropped >= 5, "the soak dropped too few transactions to mean anything"
    assert rollbacks >= 1, "no dropped transaction had been seen by the service"
