"""The RPC client against a real node behind a fault-injecting proxy."""

from __future__ import annotations

import logging
import time

import pytest

from indexer.chains.rpc import EndpointsExhausted, RpcClient, RpcError
from tests.faults.proxy import FAULTS, dead_endpoint, fault_proxy

pytestmark = pytest.mark.anvil


def _first(n: int, fault: str):  # type: ignore[no-untyped-def]
    """A plan: the first ``n`` requests get ``fault``, the rest pass."""
    return lambda number, _body: fault if number < n else None


@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "timeout"])
async def test_each_fault_is_retried_until_success(plain_anvil: str, fault: str) -> None:
    with fault_proxy(plain_anvil, _first(2, fault), retry_after=0.2) as (url, seen):
        async with RpcClient("polygon", [url], backoff_base=0.01, backoff_cap=0.05) as client:
            assert int(await client.call("eth_chainId"), 16) == 137
    assert seen.faults == {fault: 2}, seen.faults


async def test_timeout_is_retried(plain_anvil: str) -> None:
    with fault_proxy(plain_anvil, _first(1, "timeout"), timeout_seconds=2) as (url, seen):
        async with RpcClient("polygon", [url], timeout=0.5, backoff_base=0.01) as client:
            assert int(await client.call("eth_chainId"), 16) == 137
    assert seen.faults == {"timeout": 1}


async def test_retry_after_is_honoured(plain_anvil: str) -> None:
    with fault_proxy(plain_anvil, _first(1, "429"), retry_after=1.5) as (url, _seen):
        async with RpcClient("polygon", [url], backoff_base=0.01) as client:
            started = time.monotonic()
            await client.call("eth_blockNumber")
            waited = time.monotonic() - started
    assert waited >= 1.4, f"retried after {waited:.2f}s despite Retry-After: 1.5"


async def test_dead_endpoint_beside_a_live_one(plain_anvil: str) -> None:
    dead = dead_endpoint()
    async with RpcClient("polygon", [dead, plain_anvil], backoff_base=0.05) as client:
        for _ in range(20):
            assert int(await client.call("eth_chainId"), 16) == 137
        stats = client.stats()
    dead_stats = stats[dead]
    assert dead_stats.errors.get("connection", 0) >= 1
    assert dead_stats.requests <= 5, "a dead endpoint is penalised, not tried on every call"
    assert stats[plain_anvil].requests >= 18


async def test_every_endpoint_failing_raises_with_redacted_names(
    plain_anvil: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with fault_proxy(plain_anvil, lambda _n, _b: "503") as (url, _seen):
        keyed = f"{url}/v2/SUPERSECRETKEY"
        async with RpcClient("polygon", [keyed], max_attempts=3, backoff_base=0.01) as client:
            with pytest.raises(EndpointsExhausted) as err:
                await client.call("eth_blockNumber")
    assert "HTTP 503" in str(err.value)
    assert "SUPERSECRETKEY" not in str(err.value)
    assert "SUPERSECRETKEY" not in caplog.text
    assert f"{url}/…" in str(err.value), "the endpoint is named by host, without its key"


async def test_json_rpc_errors_come_back_per_item(plain_anvil: str) -> None:
    async with RpcClient("polygon", [plain_anvil]) as client:
        results = await client.batch([("eth_chainId", []), ("no_such_method", []), ("eth_blockNumber", [])])
    assert int(results[0], 16) == 137
    assert isinstance(results[1], RpcError) and results[1].method == "no_such_method"
    assert isinstance(results[2], str)


async def test_batches_are_split_when_the_endpoint_refuses_their_size(plain_anvil: str) -> None:
    def refuse_big(_number: int, body: object) -> str | None:
        return "413" if isinstance(body, list) and len(body) > 4 else None

    with fault_proxy(plain_anvil, refuse_big) as (url, seen):
        # The proxy answers 413 through its generic fault path.
        async with RpcClient("polygon", [url]) as client:
            results = await client.batch([("eth_chainId", [])] * 16)
    assert [int(r, 16) for r in results] == [137] * 16
    assert seen.faults["413"] >= 1
