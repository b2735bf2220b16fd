"""`max_requests_per_second`: the client stays under a provider's cap instead of meeting it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from indexer.chains.rpc import RpcClient
from tests.chains.evm_config import evm_config
from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_evm_ingest import _traffic
from tests.faults.proxy import fault_proxy
from tests.processes import run_cli

pytestmark = pytest.mark.anvil


class CallClock:
    """A proxy plan that faults nothing and records when each call arrived (a batch of n
    calls is n calls, as providers bill them)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, _number: int, body: Any) -> None:
        calls = len(body) if isinstance(body, list) else 1
        with self.lock:
            self.times.extend([time.monotonic()] * calls)

    def busiest_second(self) -> int:
        """The most calls that arrived within any one second."""
        times = sorted(self.times)
        start, most = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= 1.0:
                start += 1
            most = max(most, end - start + 1)
        return most


@pytest.fixture
def clocked(plain_anvil: str) -> Iterator[tuple[str, CallClock]]:
    clock = CallClock()
    with fault_proxy(plain_anvil, clock) as (url, _seen):
        yield url, clock


async def test_single_calls_and_batches_stay_under_the_rate(clocked: tuple[str, CallClock]) -> None:
    url, clock = clocked
    async with RpcClient("polygon", [url], max_requests_per_second=20) as client:
        started = time.monotonic()
        for _ in range(30):
            await client.call("eth_blockNumber")
        await client.batch([("eth_chainId", [])] * 50)  # more than a second's worth at once
        took = time.monotonic() - started
    assert len(clock.times) == 80
    # A leaky bucket of 20 lets a burst of 20 through, then 20 a second: 60 more take 3 s.
    # The batch of 50 goes in parts of 20, so no second ever sees more than 20 + 20.
    assert took >= 2.8, f"80 calls at 20/s took only {took:.2f} s"
    assert clock.busiest_second() <= 40, f"{clock.busiest_second()} calls arrived within one second"


async def test_a_rate_under_one_per_second_still_lets_calls_through(clocked: tuple[str, CallClock]) -> None:
    url, clock = clocked
    async with RpcClient("polygon", [url], max_requests_per_second=2.5) as client:
        started = time.monotonic()
        for _ in range(5):
            await client.call("eth_chainId")
        took = time.monotonic() - started
    assert len(clock.times) == 5 and took >= 0.7, f"5 calls at 2.5/s took {took:.2f} s"
    async with RpcClient("polygon", [url], max_requests_per_second=0.5) as client:
        started = time.monotonic()
        await client.call("eth_chainId")
        await client.call("eth_chainId")
        took = time.monotonic() - started
    assert 1.8 <= took < 5, f"two calls at 0.5/s took {took:.2f} s"


def test_backfill_honours_the_configured_rate(anvil: str, db_url: str, tmp_path: Path) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=4)
    s.mine(3)
    clock = CallClock()
    with fault_proxy(anvil, clock) as (url, _seen):
        config = evm_config(tmp_path, url, token, finality=2, max_block_range=2, chain={"max_requests_per_second": 10})
        started = time.monotonic()
        done = run_cli(config, db_url, tmp_path, "backfill")
        took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    calls = len(clock.times)
    assert calls > 30, f"only {calls} calls: the scenario is too small to test a rate"
    assert calls <= 10 * took + 10, f"{calls} calls in {took:.1f} s at 10/s"
    assert clock.busiest_second() <= 20, f"{clock.busiest_second()} calls arrived within one second"
