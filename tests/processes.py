"""The CLI as a real process, and kill -9 at random points of one: shared by the crash,
verify and service tests of every chain family."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg

from tests.store.helpers import fingerprint

ROOT = Path(__file__).resolve().parents[1]


def cli_env(db_url: str, tmp: Path) -> dict[str, str]:
    """The environment of a CLI process on ``db_url`` with its data under ``tmp``."""
    env = {**os.environ, "DEPIN_DATABASE_URL": db_url, "DEPIN_DATA_DIR": str(tmp)}
    env.pop("DEPIN_CONFIG", None)
    return env


def run_cli(config: Path, db_url: str, tmp: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``depin-indexer --config CONFIG ARGS`` to completion, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "indexer.cli", "--config", str(config), *args],
        cwd=ROOT,
        env=cli_env(db_url, tmp),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(config: Path, db_url: str, tmp: Path, *args: str) -> subprocess.Popen[bytes]:
    """``depin-indexer --config CONFIG ARGS`` in the background (stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", "--config", str(config), *args],
        cwd=ROOT,
        env=cli_env(db_url, tmp),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def kill_at_random_points(
    start: Callable[[], subprocess.Popen[bytes]],
    conn: asyncpg.Connection,
    progress_query: str,
    rng: random.Random,
    *,
    tries: int = 20,
    window: float = 0.05,
) -> int:
    """Start the process up to ``tries`` times; each time, once it has committed (the value
    of ``progress_query`` changed), SIGKILL it within ``window`` seconds. Stops early when
    a run finishes first (exit 0 asserted). Returns how many kills landed."""
    kills = 0
    for _ in range(tries):
        before = await conn.fetchval(progress_query)
        proc = start()
        # Wait for its first commit (start-up time varies), then kill at a random moment.
        # Polling on purpose: the event waited for is another process's commit.
        while proc.poll() is None and await conn.fetchval(progress_query) == before:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        await asyncio.sleep(rng.uniform(0.0, window))
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
    return kills


async def clean_backfill(pg_server: str, db_url: str, name: str, config: Path, tmp: Path) -> tuple[dict[str, str], int]:
    """``backfill`` once, undisturbed, into a fresh database ``name`` on the same server:
    the reference a crashed run is compared with. Returns (fingerprint, flows)."""
    admin = await asyncpg.connect(pg_server)
    await admin.execute(f"drop database if exists {name} with (force)")  # sql-ok: a test's own name
    await admin.execute(f"create database {name}")  # sql-ok: a test's own name
    await admin.close()
    clean_url = db_url.replace(db_url.split("?")[0].rsplit("/", 1)[1], name)
    done = run_cli(config, clean_url, tmp, "backfill", timeout=120)
    assert done.returncode == 0, done.stderr
    clean = await asyncpg.connect(clean_url)
    try:
        return await fingerprint(clean), int(await clean.fetchval("select count(*) from core.flows"))
    finally:
        await clean.close()


async def kills_then_rerun_equal_a_clean_run(
    config: Path,
    db_url: str,
    pg_server: str,
    tmp: Path,
    *,
    progress_query: str,
    rng: random.Random,
    clean_name: str,
    window: float = 0.05,
) -> tuple[int, int]:
    """``backfill`` killed at random points, then run to the end; its ``core.flows`` and
    ``core.cursors`` must equal those of an undisturbed backfill into database
    ``clean_name``. Returns (kills landed, flows)."""
    conn = await asyncpg.connect(db_url)
    try:
        kills = await kill_at_random_points(
            lambda: start_cli(config, db_url, tmp, "backfill"), conn, progress_query, rng, window=window
        )
        rerun = run_cli(config, db_url, tmp, "backfill", timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        crashed = await fingerprint(conn)
        count = int(await conn.fetchval("select count(*) from core.flows"))
    finally:
        await conn.close()
    print(f"kills landed: {kills}")
    expected, clean_count = await clean_backfill(pg_server, db_url, clean_name, config, tmp)
    assert clean_count == count
    assert expected["flows"] == crashed["flows"]
    assert expected["cursors"] == crashed["cursors"]
    return kills, count
