"""`depin-indexer run` ingests and refreshes at once; no batch may slip between the two.

The service backfills a labelled token's history in small ranges while its refresh job
runs five times a second. Postgres is made slow to commit (a trigger sleeps 50 ms when a
cursor moves, the last statement of every batch, as a loaded disk would), which widens
the moment between a batch marking its days dirty and its commit. A refresh that takes a
day's mark in that moment recomputes the day without the batch's flows; if the mark is
lost with it, the figures stay wrong for good. Afterwards every analytics view must equal
a full recompute from core.flows.
"""

from __future__ import annotations

import signal
from pathlib import Path

import asyncpg
import pytest

from indexer.figures.refresh import refresh_all
from tests.chains.evm_config import evm_config
from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_service import _run, _wait_for
from tests.reliability.test_reorg_soak import _drain

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

VIEWS = (
    "monthly_revenue",
    "node_earnings_daily",
    "node_earnings_monthly",
    "network_utilisation_daily",
    "network_utilisation_monthly",
    "node_profitability_monthly",
)
DAYS = 40

SLOW_COMMIT = """
create function slow_cursor_commit() returns trigger language plpgsql as $$
begin perform pg_sleep(0.05); return new; end $$;
create trigger slow_cursor before insert or update on core.cursors
for each row execute function slow_cursor_commit();
"""


def _config(tmp: Path, anvil: str, token: str, escrow: str) -> Path:
    labels = [("render", escrow, "revenue"), ("render", escrow, "rewards")]
    service = {"ingest_interval": 0.2, "refresh_interval": 0.2, "metrics_port": 0}
    return evm_config(tmp, anvil, token, finality=2, max_block_range=2, stablecoin=True, labels=labels, service=service)


async def _views(conn: asyncpg.Connection) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for view in VIEWS:
        rows = await conn.fetch(f"select * from analytics.{view}")  # sql-ok: names from VIEWS
        out[view] = sorted((tuple(r) for r in rows), key=repr)
    return out


async def test_views_equal_a_full_recompute_after_ingest_and_refresh_ran_together(
    anvil: str, db_url: str, tmp_path: Path
) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    customers, escrow, nodes = s.accounts[1:4], s.accounts[4], s.accounts[5:10]
    s.mint(escrow, 10**26)
    for c in customers:
        s.mint(c, 10**24)
    for day in range(DAYS):
        s.transfer(customers[day % 3], escrow, 10**18 + day)
        s.batch_transfer(escrow, nodes[: 2 + day % 4], [10**17 + day] * (2 + day % 4))
        s.transfer(customers[(day + 1) % 3], escrow, 2 * 10**18 + day)
        s.at(s.next_time + 86400)
    s.mine(3)
    conn = await asyncpg.connect(db_url)
    await conn.execute(SLOW_COMMIT)
    proc = _run(_config(tmp_path, anvil, token, escrow), db_url, tmp_path)
    log: list[str] = []
    reader = _drain(proc.stderr, log)
    try:
        head = s.head() - 2
        await _wait_for(
            conn,
            "select block from core.cursors where chain = 'polygon' and source = ''",
            lambda v: v is not None and v >= head,
            within=120,
        )
        # Let the service's refresh take what is still marked, then stop it.
        await _wait_for(conn, "select count(*) from core.dirty_days", lambda v: v == 0)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        reader.join(5)
    try:
        await conn.execute("drop trigger slow_cursor on core.cursors")
        incremental = await _views(conn)
        await refresh_all(conn)
        full = await _views(conn)
    finally:
        await conn.close()
    assert proc.returncode == 0, "".join(log[-20:])
    assert full["monthly_revenue"], "the history produces figures"
    for view in VIEWS:
        lost = set(full[view]) - set(incremental[view])
        assert incremental[view] == full[view], (
            f"analytics.{view} after ingest and refresh ran together differs from a full recompute: "
            f"{len(lost)} rows differ, e.g. {sorted(lost, key=repr)[:3]}"
        )
