"""`depin-indexer run` as real processes: SIGTERM, two replicas, metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.chains.evm_config import evm_config
from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_evm_ingest import _traffic

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(tmp: Path, anvil: str, token: str, metrics_port: int = 0, name: str = "depin.toml") -> Path:
    service = {"ingest_interval": 0.3, "refresh_interval": 1, "metrics_port": metrics_port}
    return evm_config(tmp, anvil, token, finality=3, max_block_range=4, service=service, name=name)


def _run(config: Path, db_url: str, tmp: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DEPIN_DATABASE_URL": db_url, "DEPIN_DATA_DIR": str(tmp)}
    return subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", "--config", str(config), "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def _wait_for(conn: asyncpg.Connection, query: str, predicate, within: float = 30) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while True:
        try:
            value = await conn.fetchval(query)
        except asyncpg.UndefinedTableError:  # the service has not migrated yet
            value = None
        if predicate(value):
            return value
        assert time.monotonic() < deadline, f"timed out waiting on {query!r} (last value {value!r})"
        await asyncio.sleep(0.1)


async def test_sigterm_exits_0_quickly_with_a_consistent_table(anvil: str, db_url: str, tmp_path: Path) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=3)
    port = _free_port()
    proc = _run(_config(tmp_path, anvil, token, metrics_port=port), db_url, tmp_path)
    conn = await asyncpg.connect(db_url)
    try:
        head = s.head()
        await _wait_for(
            conn,
            "select block from core.cursors where chain = 'polygon' and source = ''",
            lambda v: v is not None and v >= head,
        )
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
        assert 'depin_events_indexed_total{chain="polygon"}' in metrics
        assert "depin_rpc_requests_total" in metrics
        assert await conn.fetchval("select count(*) from core.flows") == len(s.sent)
        # More traffic, then SIGTERM while it is being indexed.
        _traffic(s, rounds=2, seed=1)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        took = time.monotonic() - started
        assert proc.returncode == 0, err.decode()[-2000:]
        assert took < 10, f"took {took:.1f}s to stop"
        cursor = await conn.fetchval("select block from core.cursors where chain = 'polygon' and source = ''")
        top = await conn.fetchval("select coalesce(max(block), -1) from core.flows")
        assert top <= cursor, "no flow above the committed cursor"
        status = await conn.fetchrow(
            "select head, last_success_at, last_error from core.chain_status where chain = 'polygon'"
        )
        assert status["last_error"] is None and status["head"] is not None
    finally:
        if proc.poll() is None:
            proc.kill()
        await conn.close()


async def test_two_replicas_never_index_a_chain_at_once(anvil: str, db_url: str, tmp_path: Path) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=2)
    config = _config(tmp_path, anvil, token)
    a = _run(config, db_url, tmp_path)
    b = _run(config, db_url, tmp_path)
    conn = await asyncpg.connect(db_url)
    try:
        head = s.head()
        await _wait_for(
            conn,
            "select block from core.cursors where chain = 'polygon' and source = ''",
            lambda v: v is not None and v >= head,
        )
        holders = set()
        for _ in range(40):
            rows = await conn.fetch(
                "select pid from pg_locks where locktype = 'advisory' and granted "
                "and objid = hashtext('depin-indexer:ingest:polygon')::oid"
            )
            assert len(rows) <= 1, "two sessions hold the ingest lock of one chain"
            holders.update(r["pid"] for r in rows)
            _traffic(s, rounds=1, seed=len(holders)) if _ % 10 == 0 else None
            await asyncio.sleep(0.05)
        for proc in (a, b):
            assert proc.poll() is None, f"a replica ended: {proc.communicate()[1].decode()[-3000:]}"
        # Kill one replica: the other must carry on alone.
        a.kill()
        a.wait()
        _traffic(s, rounds=2, seed=9)
        head = s.head()
        # The service follows the head: unfinalised blocks are indexed too (with hashes).
        await _wait_for(
            conn,
            "select block from core.cursors where chain = 'polygon' and source = ''",
            lambda v: v is not None and v >= head,
        )
        stored = await conn.fetch("select tx, src, dst, amount from core.flows")
        got = Counter((r["tx"], r["src"], r["dst"], int(r["amount"])) for r in stored)
        assert got == s.expected(), "the surviving replica indexed everything exactly once"
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(15)
        await conn.close()
    assert b.returncode == 0


async def test_the_service_verifies_on_schedule_and_reports_a_mismatch(anvil: str, db_url: str, tmp_path: Path) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=3)
    s.mine(3)
    escrow = s.accounts[4]
    port = _free_port()
    service = {"ingest_interval": 0.3, "refresh_interval": 1, "verify_interval": 1.5, "metrics_port": port}
    config = evm_config(tmp_path, anvil, token, finality=2, labels=[("render", escrow, "revenue")], service=service)
    proc = _run(config, db_url, tmp_path)
    conn = await asyncpg.connect(db_url)
    status = "select verify_mismatches from core.chain_status where chain = 'polygon' and verified_at is not null"
    try:
        await _wait_for(conn, status, lambda v: v == 0)
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
        assert 'depin_verify_mismatches{chain="polygon"} 0.0' in metrics
        assert 'depin_last_verify_timestamp{chain="polygon"}' in metrics
        # Lose one final block's flows behind the service's back: the next verify must say so.
        lost = await conn.fetchval("select min(block) from core.flows where dst = $1 and src is not null", escrow)
        await conn.execute("delete from core.flows where block = $1", lost)
        await _wait_for(conn, status, lambda v: v is not None and v >= 1)
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
        assert 'depin_verify_mismatches{chain="polygon"} 1.0' in metrics, metrics[-2000:]
        readiness = await conn.fetchrow(
            "select verified_at, verify_mismatches, verify_error from analytics.indexing_status where chain = 'polygon'"
        )
        assert readiness["verify_mismatches"] == 1 and readiness["verify_error"] is None
        assert proc.poll() is None, "a mismatch is reported, not fatal"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        await conn.close()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "verify found 1 mismatch(es)" in err.decode(), err.decode()[-2000:]
