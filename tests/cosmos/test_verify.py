"""`verify` on a Cosmos chain: labelled balances (abci_query or REST) against stored flows."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import tomllib
from pathlib import Path

import asyncpg
import pytest

from indexer.chains.cosmos import CosmosIngestor
from indexer.chains.registry import build_client, build_ingestor
from indexer.config import parse_config
from indexer.errors import Interrupted
from indexer.localchains.cometbft_chain import CometChain
from indexer.localchains.cometbft_rpc import CometRpcServer
from indexer.verify.cosmos import CosmosVerifier
from tests.cosmos.conftest import cosmos_config
from tests.processes import run_cli


def _labels(chain: CometChain) -> list[tuple[str, str]]:
    """The rewards module written as bech32, the busiest wallet written as upper-case 0x."""
    counts: dict[str, int] = {}
    for m in chain.movements:
        if m[3] is not None and ":" not in m[0]:
            counts[m[3]] = counts.get(m[3], 0) + 1
    wallet = max(counts, key=lambda a: counts[a])
    return [(chain.bech32(chain.node_rewards), "rewards"), ("0x" + wallet[2:].upper(), "revenue")]


@pytest.mark.parametrize("balances", ["abci_query", "rest"])
async def test_verify_finds_a_deleted_flow_and_repair_restores_it(
    server: CometRpcServer, db_url: str, tmp_path: Path, balances: str
) -> None:
    rest = [server.url] if balances == "rest" else []
    config = cosmos_config(tmp_path, [server.url], labels=_labels(server.chain), rest=rest)
    assert run_cli(config, db_url, tmp_path, "backfill").returncode == 0
    clean = run_cli(config, db_url, tmp_path, "verify")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "aioz-cosmos: ok (2 address(es) x 2 token(s)" in clean.stdout, clean.stdout

    rewards = "0x" + server.chain.node_rewards.hex()
    conn = await asyncpg.connect(db_url)
    try:
        deleted = await conn.fetchrow(
            "delete from core.flows where ctid = (select ctid from core.flows where src = $1 "
            "and token = 'attoaioz' order by block desc limit 1) returning block",
            rewards,
        )
    finally:
        await conn.close()
    found = run_cli(config, db_url, tmp_path, "verify")
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"blocks {deleted['block']}-{deleted['block']}" in found.stdout, found.stdout
    repaired = run_cli(config, db_url, tmp_path, "verify", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr


class _SilentEndpoint:
    """A TCP endpoint that accepts connections and never answers (a REST node that hangs)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.accepted = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                self.held.append(conn)
                self.accepted.set()

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


async def test_a_stop_ends_a_rest_balance_request_that_hangs(server: CometRpcServer, tmp_path: Path) -> None:
    rest = _SilentEndpoint()
    config = parse_config(tomllib.loads(cosmos_config(tmp_path, [server.url], rest=[rest.url]).read_text()))
    stop = asyncio.Event()
    client = build_client("aioz-cosmos", config, stop=stop)  # request_timeout: 30 s
    try:
        ingestor = build_ingestor("aioz-cosmos", config, client)
        assert isinstance(ingestor, CosmosIngestor)
        verifier = CosmosVerifier(ingestor, [], ingestor.config.rest)
        asking = asyncio.ensure_future(verifier.balance("attoaioz", "0x" + server.chain.node_rewards.hex(), 10))
        assert await asyncio.to_thread(rest.accepted.wait, 10), "the balance was never asked for"
        started = time.monotonic()
        stop.set()  # what SIGTERM does in `run` (and a stop of verify)
        with pytest.raises(Interrupted):
            await asyncio.wait_for(asking, 15)
        took = time.monotonic() - started
    finally:
        await client.close()
        rest.close()
    # At once, give or take a loaded machine's scheduling; without the fix, the 30 s timeout.
    assert took < 3, f"the hung balance request outlived the stop by {took:.1f} s"
