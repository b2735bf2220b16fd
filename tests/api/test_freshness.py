"""analytics.freshness, /v1/freshness, /readyz and the refresh-failure metric.

The populated database (tests/api/conftest.py) indexed the solana chain up to slot 60 (one
slot a day, 2024-01-01 .. 2024-02-29), its newest flow at 2024-02-29 12:00 UTC, and was
refreshed once, so nothing waits.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

from indexer import metrics
from indexer.config import parse_config
from indexer.figures.refresh import refresh
from indexer.service import Service
from tests.api.conftest import CONFIG
from tests.conftest import as_role
from tests.processes import run_cli

NEWEST_FLOW = datetime(2024, 2, 29, 12, tzinfo=UTC)


async def _freshness(db_url: str) -> list[dict[str, object]]:
    # As the API's role: the view is readable where core is not.
    reader = await asyncpg.connect(as_role(db_url, "depin_reader"))
    try:
        return [dict(r) for r in await reader.fetch("select * from analytics.freshness order by chain")]
    finally:
        await reader.close()


async def test_the_view_shows_indexed_to_refresh_and_backlog(populated: tuple[str, dict[str, Decimal]]) -> None:
    db_url, _ = populated
    [row] = await _freshness(db_url)
    refreshed = row.pop("last_refresh")
    assert isinstance(refreshed, datetime) and datetime.now(UTC) - refreshed < timedelta(minutes=5), refreshed
    assert row == {
        "chain": "solana",
        "indexed_block": 60,
        "indexed_time": NEWEST_FLOW,
        "dirty_days": 0,
        "dirty_since": None,
        "last_error": None,
    }


async def test_dirty_days_a_stored_block_and_errors_show(populated: tuple[str, dict[str, Decimal]]) -> None:
    db_url, _ = populated
    block_time = datetime(2024, 3, 1, 0, 0, 7, tzinfo=UTC)
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "insert into core.dirty_days (chain, day, marked_at) values "
            "('solana', '2024-02-01', '2024-03-01T10:00Z'), ('solana', '2024-02-02', '2024-03-01T09:00Z'), "
            "('solana', '2024-02-03', '2024-03-01T11:00Z')"
        )
        # The block of the cursor, stored (the unfinalised window), is newer than any flow.
        await conn.execute(
            "insert into core.blocks (chain, number, hash, parent_hash, block_time) values ('solana', 60, 'h', 'p', $1)",
            block_time,
        )
        await conn.execute("update core.refresh_status set last_error = 'LockNotAvailableError: x'")
        [row] = await _freshness(db_url)
        assert (row["dirty_days"], row["dirty_since"]) == (3, datetime(2024, 3, 1, 9, tzinfo=UTC))
        assert row["indexed_time"] == block_time
        assert row["last_error"] == "refresh: LockNotAvailableError: x", "no ingest error: the refresh's shows"
        await conn.execute("insert into core.chain_status (chain, last_error) values ('solana', 'RpcError: 503')")
        [row] = await _freshness(db_url)
        assert row["last_error"] == "RpcError: 503", "the chain's own error comes first"
    finally:
        await conn.close()


async def test_a_day_marked_again_keeps_the_time_it_first_waited_from(
    populated: tuple[str, dict[str, Decimal]],
) -> None:
    # At the head every batch marks today again: dirty_since must still say how long the
    # oldest day has waited, not when it was last touched.
    db_url, _ = populated
    conn = await asyncpg.connect(db_url)
    try:
        first = datetime(2024, 3, 1, 9, tzinfo=UTC)
        await conn.execute(
            "insert into core.dirty_days (chain, day, marked_at) values ('solana', '2024-02-01', $1)", first
        )
        await conn.execute("select core.mark_dirty(array['solana'], array['2024-02-01'::date], true)")
        [row] = await _freshness(db_url)
        assert (row["dirty_days"], row["dirty_since"]) == (1, first)
        assert await conn.fetchval("select flows from core.dirty_days where day = '2024-02-01'") is True
    finally:
        await conn.close()


async def test_a_batch_moves_the_indexed_time_forward_only(db_url: str) -> None:
    from indexer.decode.columns import FlowColumns
    from indexer.store.writer import Checkpoint, write_batch

    conn = await asyncpg.connect(db_url)
    try:
        for slot, when in ((10, 1_700_000_000), (11, 1_600_000_000)):
            flows = FlowColumns("solana")
            flows.append(slot, f"tx{slot}", 0, "mint", "a", "b", 1, when)
            await write_batch(conn, flows, [Checkpoint("solana", slot)])
        [row] = await _freshness(db_url)
        assert (row["indexed_block"], row["indexed_time"]) == (11, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC))
        assert (row["last_refresh"], row["dirty_days"]) == (None, 2), "never refreshed, two days marked"
    finally:
        await conn.close()


async def test_a_reorg_brings_the_indexed_time_back_to_the_fork_block(db_url: str) -> None:
    from indexer.decode.columns import FlowColumns
    from indexer.store.writer import Checkpoint, rewind, write_batch

    conn = await asyncpg.connect(db_url)
    try:
        flows = FlowColumns("polygon")
        flows.append(10, "0xa", 0, "0xtoken", "0x1", "0x2", 5, 1_700_000_000)
        flows.append(11, "0xb", 0, "0xtoken", "0x1", "0x2", 7, 1_700_000_012)
        blocks = [(10, "0xh10", "0xh9", 1_700_000_000), (11, "0xh11", "0xh10", 1_700_000_012)]
        await write_batch(conn, flows, [Checkpoint("polygon", 11)], blocks)
        [row] = await _freshness(db_url)
        assert (row["indexed_block"], row["indexed_time"]) == (11, datetime(2023, 11, 14, 22, 13, 32, tzinfo=UTC))
        await rewind(conn, "polygon", 10)  # block 11 was on a dead fork
        [row] = await _freshness(db_url)
        assert (row["indexed_block"], row["indexed_time"]) == (10, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC))
    finally:
        await conn.close()


async def test_v1_freshness_and_readyz(populated: tuple[str, dict[str, Decimal]], client: httpx.AsyncClient) -> None:
    db_url, _ = populated
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("update core.refresh_status set last_success_at = '2024-03-01T06:00:00Z'")
        await conn.execute("insert into core.dirty_days (chain, day) values ('solana', '2024-02-10')")
    finally:
        await conn.close()
    body = (await client.get("/v1/freshness")).json()
    assert body["last_refresh"] == "2024-03-01T06:00:00+00:00"
    [chain] = body["chains"]
    assert chain["dirty_since"] is not None
    del chain["dirty_since"]
    assert chain == {
        "chain": "solana",
        "indexed_block": 60,
        "indexed_time": "2024-02-29T12:00:00+00:00",
        "last_refresh": "2024-03-01T06:00:00+00:00",
        "dirty_days": 1,
        "last_error": None,
    }
    [ready] = (await client.get("/readyz")).json()["chains"]
    since_refresh = (datetime.now(UTC) - datetime(2024, 3, 1, 6, tzinfo=UTC)).total_seconds()
    assert ready["dirty_days"] == 1
    assert abs(ready["seconds_since_refresh"] - since_refresh) < 60, ready


def _failures(error: str) -> float:
    value = metrics.REGISTRY.get_sample_value("depin_refresh_failures_total", {"error": error})
    return value or 0.0


async def test_a_failed_refresh_is_a_metric_and_a_row(populated: tuple[str, dict[str, Decimal]]) -> None:
    db_url, _ = populated
    before = (await _freshness(db_url))[0]["last_refresh"]
    counted = _failures("LockNotAvailableError")
    blocker = await asyncpg.connect(db_url)
    # A real refresh failing for a real reason: a table it must write is locked by another
    # session, and the service's connections give up on a lock after 300 ms.
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2, server_settings={"lock_timeout": "300ms"})
    try:
        service = Service(parse_config(CONFIG), pool, refresh=refresh)
        await blocker.execute("insert into core.dirty_days (chain, day) values ('solana', '2024-02-10')")
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("lock table rollup.revenue_daily in access exclusive mode")
        await service.refresh_once("refresh")
        await transaction.rollback()
        assert _failures("LockNotAvailableError") == counted + 1, "the failure is counted"
        [row] = await _freshness(db_url)
        assert str(row["last_error"]).startswith("refresh: LockNotAvailableError: "), row
        assert (row["last_refresh"], row["dirty_days"]) == (before, 1), "the failed refresh changed nothing"

        await service.refresh_once("refresh")
        [row] = await _freshness(db_url)
        assert (row["last_error"], row["dirty_days"]) == (None, 0)
        assert row["last_refresh"] > before
        last = metrics.REGISTRY.get_sample_value("depin_last_refresh_success_timestamp")
        assert last is not None and abs(last - datetime.now(UTC).timestamp()) < 60
        assert _failures("LockNotAvailableError") == counted + 1, "a success counts no failure"
    finally:
        await pool.close()
        await blocker.close()


def _config_file(path: Path) -> Path:
    """The API tests' config (CONFIG) as a TOML file, so that a refresh syncs nothing."""
    tokens = "".join(
        f'[[tokens]]\nchain = "{t["chain"]}"\naddress = "{t["address"]}"\nsymbol = "{t["symbol"]}"\n'
        f"decimals = {t['decimals']}\nstablecoin = {str(t.get('stablecoin', False)).lower()}\n\n"
        for t in CONFIG["tokens"]
    )
    labels = "".join(
        f'[[labels]]\nnetwork = "{lb["network"]}"\nchain = "{lb["chain"]}"\naddress = "{lb["address"]}"\n'
        f'role = "{lb["role"]}"\nname = "{lb["name"]}"\n\n'
        for lb in CONFIG["labels"]
    )
    path.write_text(f'[chains.solana]\nkind = "solana"\nrpc = ["http://127.0.0.1:1"]\n\n{tokens}{labels}')
    assert parse_config(tomllib.loads(path.read_text())) == parse_config(CONFIG)
    return path


async def test_a_failed_refresh_from_the_cli_is_a_row_too(
    populated: tuple[str, dict[str, Decimal]], tmp_path: Path
) -> None:
    db_url, _ = populated
    config = _config_file(tmp_path / "depin.toml")
    before = (await _freshness(db_url))[0]["last_refresh"]
    blocker = await asyncpg.connect(db_url)
    try:
        # The same real failure as the service's above, in a real `depin-indexer refresh`
        # process: its connections give up on a lock after 300 ms (a setting of the
        # database, which new sessions take), and a table it must write is locked.
        database = await blocker.fetchval("select current_database()")
        await blocker.execute(f'alter database "{database}" set lock_timeout = 300')
        await blocker.execute("insert into core.dirty_days (chain, day) values ('solana', '2024-02-10')")
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("lock table rollup.revenue_daily in access exclusive mode")
        failed = run_cli(config, db_url, tmp_path, "refresh")
        await transaction.rollback()
        assert failed.returncode == 1, failed.stderr
        assert "depin-indexer: error: refresh failed: LockNotAvailableError: " in failed.stderr, failed.stderr
        [row] = await _freshness(db_url)
        assert str(row["last_error"]).startswith("refresh: LockNotAvailableError: "), row
        assert (row["last_refresh"], row["dirty_days"]) == (before, 1), "the failed refresh changed nothing"
        recorded = await blocker.fetchval("select last_failure_at from core.refresh_status")
        assert recorded is not None and datetime.now(UTC) - recorded < timedelta(minutes=5)

        done = run_cli(config, db_url, tmp_path, "refresh")
        assert done.returncode == 0, done.stderr
        [row] = await _freshness(db_url)
        assert (row["last_error"], row["dirty_days"]) == (None, 0), "a success clears the error"
        assert row["last_refresh"] > before
    finally:
        await blocker.close()


async def test_errors_shown_by_the_api_carry_no_secret(db_url: str) -> None:
    from indexer.figures.refresh import record_failure
    from indexer.service import _record_status

    secret = "https://rpc.example/v2/KEY123SECRET and postgresql://indexer:pw-S3CRET@db:5432/depin"
    conn = await asyncpg.connect(db_url)
    try:
        await record_failure(conn, RuntimeError(f"refresh broke near {secret}"), datetime.now(UTC))
        await _record_status(conn, "solana", None, None, error=f"RpcError: {secret}")
        stored = [
            await conn.fetchval("select last_error from core.refresh_status"),
            await conn.fetchval("select last_error from core.chain_status where chain = 'solana'"),
        ]
    finally:
        await conn.close()
    for text in stored:
        assert "KEY123SECRET" not in text and "pw-S3CRET" not in text, text
        assert "rpc.example" in text, "the host stays: it says which endpoint failed"


async def test_a_failure_does_not_cover_a_success_that_came_after_it_started(db_url: str) -> None:
    from indexer.figures.refresh import database_now, record_failure

    conn = await asyncpg.connect(db_url)
    try:
        started = await database_now(conn)
        # Another runner's refresh succeeds while this one is failing.
        await conn.execute("update core.refresh_status set last_success_at = now() + interval '1 second'")
        await record_failure(conn, RuntimeError("lock timeout"), started)
        assert await conn.fetchval("select last_error from core.refresh_status") is None
        await record_failure(conn, RuntimeError("lock timeout"), started + timedelta(seconds=5))
        assert await conn.fetchval("select last_error from core.refresh_status") == "RuntimeError: lock timeout"
    finally:
        await conn.close()
