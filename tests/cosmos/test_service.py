"""`depin-indexer run` on a Cosmos chain, as users run it: backfill, then follow the head of
the local CometBFT server while new heights keep arriving (one of them "not there yet" for
a while), stopped by SIGTERM; what it stored is exactly the chain's own record."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path

import asyncpg
import pytest

from indexer.localchains.cometbft_chain import CometChain, random_history
from indexer.localchains.cometbft_rpc import CometRpcServer
from tests.cosmos.conftest import DENOMS, cosmos_config
from tests.processes import start_cli

pytestmark = pytest.mark.slow
HEIGHTS = 150
FIRST_HEAD = 40  # what the backfill finds; the rest arrives while the service runs
NOT_YET = (75, 3)  # block_results of height 75 answer "not there yet" three times once it is the head
CURSOR = "select block from core.cursors where chain = 'aioz-cosmos'"


def _config(tmp: Path, url: str) -> Path:
    path = cosmos_config(tmp, [url], heights_per_request=4, max_concurrency=2)
    service = "\n[service]\ningest_interval = 0.2\nrefresh_interval = 1.0\nverify_interval = 0\nmetrics_port = 0\n"
    path.write_text(path.read_text() + service)
    return path


async def _cursor(conn: asyncpg.Connection) -> int | None:
    try:
        value = await conn.fetchval(CURSOR)
    except asyncpg.UndefinedTableError:  # the service has not migrated yet
        return None
    return None if value is None else int(value)


async def _wait_for_cursor(conn: asyncpg.Connection, at_least: int, within: float = 60) -> int:
    deadline = time.monotonic() + within
    while True:
        cursor = await _cursor(conn)
        if cursor is not None and cursor >= at_least:
            return cursor
        assert time.monotonic() < deadline, f"the service's cursor is {cursor}, not yet {at_least}"
        await asyncio.sleep(0.05)


async def _advance(
    chain: CometChain, server: CometRpcServer, conn: asyncpg.Connection, to: int, step: int, pause: float
) -> None:
    """New heights arrive: ``step`` more every ``pause`` seconds, up to ``to``, never more
    than 30 ahead of the service's cursor (on a loaded machine the service may lag: the
    heights must still be arriving when it is stopped)."""
    while chain.head < to:
        await asyncio.sleep(pause)
        if chain.head - (await _cursor(conn) or 0) > 30:
            continue
        with chain.lock:
            chain.head = min(to, chain.head + step)
            if chain.head >= NOT_YET[0] and NOT_YET[0] not in server.results_not_ready:
                server.results_not_ready[NOT_YET[0]] = NOT_YET[1]


async def test_run_follows_new_heights_and_stops_on_sigterm_with_the_exact_table(db_url: str, tmp_path: Path) -> None:
    chain = CometChain()
    random_history(chain, random.Random(23), HEIGHTS, denoms=DENOMS)
    chain.head = FIRST_HEAD
    server = CometRpcServer(chain)
    server.start()
    conn = await asyncpg.connect(db_url)
    proc = start_cli(_config(tmp_path, server.url), db_url, tmp_path, "run")
    try:
        await _wait_for_cursor(conn, FIRST_HEAD)  # the backfill of what was there at start
        watcher = await asyncpg.connect(db_url)
        arriving = asyncio.ensure_future(_advance(chain, server, watcher, HEIGHTS, step=3, pause=0.15))
        # SIGTERM while heights keep arriving, once the service is past the late height.
        await _wait_for_cursor(conn, NOT_YET[0] + 10)
        assert not arriving.done(), "heights were still arriving when the service was stopped"
        started, head_at_stop = time.monotonic(), chain.head
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(proc.communicate, timeout=20)
        took = time.monotonic() - started
        arriving.cancel()  # the service is gone: its cursor no longer moves
        await asyncio.gather(arriving, return_exceptions=True)
        await watcher.close()
        assert proc.returncode == 0, err.decode()[-3000:]
        assert took < 10, f"took {took:.1f} s to stop"
        cursor = await _cursor(conn)
        assert cursor is not None and NOT_YET[0] + 10 <= cursor <= HEIGHTS
        assert server.results_not_ready[NOT_YET[0]] == 0, "the late height was asked for until it was there"
        rows = await conn.fetch(
            "select tx, idx, src, dst, token, amount::text, block, extract(epoch from block_time)::bigint "
            "from core.flows where chain = 'aioz-cosmos'"
        )
        stored = sorted((r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], r[7]) for r in rows)
        expected = sorted(m for m in chain.movements if m[6] <= cursor)
        assert stored == expected, "every (tx, idx, src, dst, token, amount, height, block_time) as the chain made it"
        assert max(r[6] for r in stored) <= cursor, "no flow above the committed cursor"
        status = await conn.fetchrow("select last_error from core.chain_status where chain = 'aioz-cosmos'")
        assert status is not None and status["last_error"] is None
        print(
            f"SIGTERM at head {head_at_stop}: stopped in {took:.1f} s at height {cursor}, {len(stored):,} flows exact"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        await conn.close()
        server.stop()
