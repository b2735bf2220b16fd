"""kill -9 of a writing process at random moments loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import TEMPLATE
from tests.store.helpers import fingerprint

LAST_BLOCK = 59_999  # 180,000 flows in 300 batches: long enough to be killed many times
ROOT = Path(__file__).resolve().parents[2]


def _run_child(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store.writer_child", url, str(LAST_BLOCK)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _consistent(conn: asyncpg.Connection) -> int:
    """Flows present are exactly those at or below the cursor; returns the cursor."""
    # One statement, one snapshot: the killed child's backend may still be committing.
    cursor, flows, top = await conn.fetchrow(
        "select (select block from core.cursors where chain = 'polygon'),"
        " (select count(*) from core.flows), (select coalesce(max(block), -1) from core.flows)"
    )
    expected = 0 if cursor is None else (cursor + 1) * 3
    assert flows == expected, f"cursor {cursor} but {flows} flows (expected {expected})"
    assert top == (-1 if cursor is None else cursor)
    return -1 if cursor is None else cursor


@pytest.mark.slow
async def test_kill_9_at_random_points_then_resume_equals_clean_run(
    db_url: str, pg_server: str, template_url: str
) -> None:
    rng = random.Random(int(os.environ.get("CRASH_SEED", "20261125")))
    conn = await asyncpg.connect(db_url)
    kills = 0
    try:
        progress = -1
        for _ in range(20):
            child = _run_child(db_url)
            assert child.stdout is not None
            # Wait for its first commit (start-up time varies), then kill at a random moment.
            if not await asyncio.to_thread(child.stdout.readline):
                _, err = child.communicate()
                assert child.returncode == 0, err.decode()
                break
            await asyncio.sleep(rng.uniform(0.0, 0.25))
            if child.poll() is not None:
                _, err = child.communicate()
                assert child.returncode == 0, err.decode()
                break
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            kills += 1
            progress = await _consistent(conn)
        child = _run_child(db_url)
        _, err = child.communicate(timeout=240)
        assert child.returncode == 0, err.decode()
        assert await _consistent(conn) == LAST_BLOCK
        assert kills >= 10, f"only {kills} kills landed before completion (last cursor {progress})"
        crashed = await fingerprint(conn)
    finally:
        await conn.close()

    # A clean run into a fresh database must give identical tables.
    admin = await asyncpg.connect(pg_server)
    await admin.execute("drop database if exists crash_clean with (force)")
    await admin.execute(f"create database crash_clean template {TEMPLATE}")
    await admin.close()
    clean_url = db_url.replace(db_url.split("?")[0].rsplit("/", 1)[1], "crash_clean")
    child = _run_child(clean_url)
    _, err = child.communicate(timeout=240)
    assert child.returncode == 0, err.decode()
    clean = await asyncpg.connect(clean_url)
    try:
        assert await fingerprint(clean) == crashed
    finally:
        await clean.close()
