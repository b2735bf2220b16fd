"""The Cosmos family against the local CometBFT server: stored flows equal the chain's record."""

from __future__ import annotations

import hashlib
import random
import tomllib
from pathlib import Path

import asyncpg
import pytest

from indexer.chains.registry import build_client, build_ingestor
from indexer.chains.rpc import RpcClient
from indexer.config import parse_config
from indexer.localchains.cometbft_chain import CometChain, random_history
from indexer.localchains.cometbft_rpc import CometRpcServer
from tests.cosmos.conftest import DENOMS, cosmos_config
from tests.faults.proxy import fault_proxy

Row = tuple[str, int, str | None, str | None, str, int, int, int]


async def _sync(
    tmp: Path, rpc: list[str], conn: asyncpg.Connection, *, fast_retries: bool = False, **options: object
) -> None:
    """One sync of the chain configured by ``cosmos_config(tmp, rpc, **options)``;
    ``fast_retries``: an RPC client giving up after 3 quick tries (tests of waiting)."""
    config = parse_config(tomllib.loads(cosmos_config(tmp, rpc, **options).read_text()))  # type: ignore[arg-type]
    if fast_retries:
        client = RpcClient("aioz-cosmos", rpc, max_attempts=3, backoff_base=0.01, backoff_cap=0.05)
    else:
        client = build_client("aioz-cosmos", config)
    try:
        ingestor = build_ingestor("aioz-cosmos", config, client)
        await ingestor.start()
        await ingestor.sync(conn)
    finally:
        await client.close()


async def _stored(conn: asyncpg.Connection) -> list[Row]:
    rows = await conn.fetch(
        "select tx, idx, src, dst, token, amount, block, extract(epoch from block_time)::bigint as t "
        "from core.flows where chain = 'aioz-cosmos' order by tx, idx"
    )
    return sorted((r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], r[7]) for r in rows)


def _expected(chain: CometChain, denoms: tuple[str, ...] = DENOMS) -> list[Row]:
    """The chain's own record of its movements, up to its head, in the configured denoms."""
    return sorted(m for m in chain.movements if m[4] in denoms and m[6] <= chain.head)


def test_the_history_holds_every_case(chain: CometChain) -> None:
    versions = {h.version for h in chain.heights}
    failed = [r for h in chain.heights for r in h.results if r["code"] != 0]
    multi = [m for m in chain.movements if m[1] % 1000 > 0]
    block_level = [m for m in chain.movements if ":" in m[0]]
    mints = [m for m in chain.movements if m[2] is None]
    burns = [m for m in chain.movements if m[3] is None]
    assert versions == {"0.34", "0.37", "0.38"}, versions
    assert failed and multi and block_level and mints and burns, "a random history covers every case"


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_histories_are_stored_exactly(conn: asyncpg.Connection, tmp_path: Path, seed: int) -> None:
    history = CometChain()
    random_history(history, random.Random(seed), 90, denoms=DENOMS)
    with CometRpcServer(history) as url:
        await _sync(tmp_path, [url], conn, heights_per_request=seed * 3, max_concurrency=seed)
    assert await _stored(conn) == _expected(history)


async def test_only_configured_denoms_are_stored(
    server: CometRpcServer, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    await _sync(tmp_path, [server.url], conn, denoms=("attoaioz",))
    assert await _stored(conn) == _expected(server.chain, ("attoaioz",))


async def test_failed_transactions_move_only_their_fee(
    server: CometRpcServer, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    await _sync(tmp_path, [server.url], conn)
    chain = server.chain
    failed = {
        hashlib.sha256(raw).hexdigest().upper()
        for h in chain.heights
        for raw, result in zip(h.txs, result_list(h), strict=True)
        if result["code"] != 0
    }
    fee_collector = "0x" + chain.fee_collector.hex()
    stored = [row for row in await _stored(conn) if row[0] in failed]
    assert stored, "some failed transaction paid a fee"
    assert all(row[3] == fee_collector for row in stored), "a failed transaction moved more than its fee"


def result_list(height: object) -> list[dict[str, object]]:
    """The transaction results of a height."""
    return height.results  # type: ignore[attr-defined, no-any-return]


async def test_a_height_not_there_yet_is_waited_for(
    server: CometRpcServer, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    chain = server.chain
    chain.head = 60
    # status says 60, but the results of 60 are not ready for the first seven asks: more
    # than the RPC client's own retries (3 here), so the ingestor has to wait for the height.
    server.results_not_ready[60] = 7
    await _sync(tmp_path, [server.url], conn, fast_retries=True)
    assert await _stored(conn) == _expected(chain)
    assert server.results_not_ready[60] == 0
    chain.head = 120
    await _sync(tmp_path, [server.url], conn)
    assert await _stored(conn) == _expected(chain)


@pytest.mark.parametrize("fault", ["429", "503", "truncated", "reset", "wrong_shape", "internal_error", "wrong_result"])
async def test_faulty_endpoint_gives_the_same_table(
    server: CometRpcServer, conn: asyncpg.Connection, tmp_path: Path, fault: str
) -> None:
    with fault_proxy(server.url, lambda n, _b: fault if n % 4 == 1 else None, retry_after=0.05) as (url, seen):
        await _sync(tmp_path, [url], conn)
    assert seen.faults.get(fault, 0) >= 2
    assert await _stored(conn) == _expected(server.chain)


async def test_a_lagging_second_endpoint_changes_nothing(conn: asyncpg.Connection, tmp_path: Path) -> None:
    history = CometChain()
    random_history(history, random.Random(5), 60, denoms=DENOMS)
    behind = CometChain()
    behind.heights, behind.head, behind.balance_history = history.heights, 30, history.balance_history
    with CometRpcServer(history) as ahead_url, CometRpcServer(behind) as behind_url:
        # The lagging node answers "height N must be less than or equal to ... 30" above 30.
        await _sync(tmp_path, [ahead_url, behind_url], conn)
        await _sync(tmp_path, [ahead_url, behind_url], conn)
    stored = await _stored(conn)
    assert stored and set(stored) <= set(_expected(history))
    top = max(r[6] for r in stored)
    assert stored == sorted(m for m in _expected(history) if m[6] <= top)
