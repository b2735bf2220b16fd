"""A Postgres restart while `depin-indexer run` is live: it reconnects and loses nothing."""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from indexer.store.embedded import EmbeddedPostgres
from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_evm_ingest import _traffic
from tests.chains.test_service import _config, _run, _wait_for

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


async def test_service_survives_a_postgres_restart(anvil: str, tmp_path: Path) -> None:
    data = Path(tempfile.mkdtemp(prefix="depin-restart-"))
    server = EmbeddedPostgres(data)
    url = server.start()
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, rounds=2)
    proc = _run(_config(tmp_path, anvil, token), url, tmp_path)
    try:
        conn = await asyncpg.connect(url)
        head = s.head()
        await _wait_for(
            conn,
            "select block from core.cursors where chain = 'polygon' and source = ''",
            lambda v: v is not None and v >= head,
            within=60,
        )
        await conn.close()
        server.stop()
        _traffic(s, rounds=2, seed=3)  # the chain moves on while the database is down
        await asyncio.sleep(1.5)
        url = server.start()
        _traffic(s, rounds=1, seed=5)
        conn = await asyncpg.connect(url)
        head = s.head()
        await _wait_for(
            conn,
            "select block from core.cursors where chain = 'polygon' and source = ''",
            lambda v: v is not None and v >= head,
            within=90,
        )
        rows = await conn.fetch("select tx, src, dst, amount from core.flows")
        await conn.close()
        assert Counter((r["tx"], r["src"], r["dst"], int(r["amount"])) for r in rows) == s.expected()
        assert proc.poll() is None, "the service kept running through the restart"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert b"database unavailable" in err, "the outage was seen (and survived)"
        assert b"Traceback" not in err, "an outage is one log line per attempt, not a traceback"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
