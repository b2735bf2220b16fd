"""Fault soak: a backfill through two misbehaving endpoints gives exactly a clean run's tables.

Real token traffic on anvil spread over several months, then a backfill through two
fault-injecting proxies in front of the same node: about one request in ten fails, with a
fault drawn at random (seeded) from every kind a real provider produces; ``eth_getLogs``
answers carry duplicated entries in shuffled order; the second endpoint reports a head
that lags behind. The indexed tables must equal, byte for byte, those of a fault-free run
into a fresh database — no row lost, none duplicated — and the proxies' logs say how
many faults of each kind were survived.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import asyncpg
import pytest

from indexer.chains.evm import EvmIngestor
from indexer.chains.rpc import RpcClient
from indexer.store.writer import read_cursor
from schemas.config import EvmChain
from tests.chains.evm_scenario import EvmScenario
from tests.chains.test_evm_ingest import _stored
from tests.faults.proxy import fault_proxy
from tests.store.helpers import fingerprint

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

# Every fault of tests/faults/proxy.py that a real provider produces (413 is a batch-size
# refusal, covered by tests/chains/test_rpc.py; the ingestor's batches stay small).
KINDS = ("429", "500", "502", "503", "timeout", "reset", "truncated", "empty", "wrong_shape", "logs_too_large")
FAULT_RATE = 0.10
LAG = 12  # blocks the second endpoint's eth_blockNumber lags behind
FINALITY = 5
SEED = 20240601


def _calls(body: Any) -> list[dict[str, Any]]:
    return [c for c in (body if isinstance(body, list) else [body]) if isinstance(c, dict)]


def _wide_get_logs(body: Any) -> bool:
    """A request (alone or in a batch) with an eth_getLogs over more than one block: the
    only request a provider calls too large."""
    for call in _calls(body):
        if call.get("method") == "eth_getLogs":
            query = call["params"][0]
            return int(query["toBlock"], 16) > int(query["fromBlock"], 16)
    return False


class FaultPlan:
    """About ``rate`` of all requests (both proxies) fail; kinds are dealt from a reshuffled deck,
    so every kind comes up once in each run of ``len(KINDS)`` faults."""

    def __init__(self, seed: int, rate: float = FAULT_RATE, kinds: tuple[str, ...] = KINDS) -> None:
        self.rng = random.Random(seed)
        self.rate = rate
        self.kinds = kinds
        self.deck: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, _number: int, body: Any) -> str | None:
        with self.lock:
            if self.rng.random() >= self.rate:
                return None
            if not self.deck:
                self.deck = list(self.kinds)
                self.rng.shuffle(self.deck)
            for i, kind in enumerate(self.deck):
                if kind != "logs_too_large" or _wide_get_logs(body):
                    return self.deck.pop(i)
            return None


class Rewriter:
    """Answers as sloppy providers give them: eth_getLogs with duplicated entries in shuffled
    order; with ``lag``, an eth_blockNumber that many blocks behind the real head."""

    def __init__(self, seed: int, lag: int = 0) -> None:
        self.rng = random.Random(seed)
        self.lag = lag
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def __call__(self, request: Any, response: Any) -> Any:
        answers = {
            a.get("id"): a for a in (response if isinstance(response, list) else [response]) if isinstance(a, dict)
        }
        with self.lock:
            for call in _calls(request):
                answer = answers.get(call.get("id"))
                if answer is None:
                    continue
                method, result = call.get("method"), answer.get("result")
                if method == "eth_getLogs" and isinstance(result, list) and result and self.rng.random() < 0.5:
                    copies = self.rng.choices(result, k=self.rng.randint(1, len(result)))
                    shuffled = result + copies
                    self.rng.shuffle(shuffled)
                    answer["result"] = shuffled
                    self.counts["getLogs answers with duplicates, shuffled"] += 1
                    self.counts["duplicated log entries"] += len(copies)
                elif method == "eth_blockNumber" and self.lag and isinstance(result, str):
                    answer["result"] = hex(max(0, int(result, 16) - self.lag))
                    self.counts["lagging heads"] += 1
        return response


def _traffic(s: EvmScenario, rng: random.Random) -> None:
    """Mints, payments, batch payouts and burns in bursts a fortnight apart (~5 months), with
    stretches of empty blocks between bursts."""
    customers, escrow, nodes = s.accounts[1:4], s.accounts[4], s.accounts[5:10]
    s.mint(escrow, 10**26)
    for c in customers:
        s.mint(c, 10**24)
    for r in range(10):
        for c in customers:
            s.transfer(c, escrow, 1234567891234567891 * (r + 1) + rng.randrange(10**6))
        s.batch_transfer(escrow, nodes, [10**18 * (i + 1) + rng.randrange(10**6) for i in range(len(nodes))])
        s.burn(customers[r % 3], 10**17 + r)
        s.mine(rng.randint(15, 30))
        s.at(s.next_time + 15 * 86400)
    s.mine(FINALITY + LAG)


def _ingestor(urls: list[str], token: str, timeout: float = 30.0) -> tuple[EvmIngestor, RpcClient]:
    config = EvmChain(kind="evm", rpc=urls, chain_id=137, finality=FINALITY, max_block_range=2)
    client = RpcClient("polygon", urls, timeout=timeout, backoff_base=0.01, backoff_cap=0.1)
    return EvmIngestor("polygon", config, [token], set(), client), client


async def _backfill_in_steps(conn: asyncpg.Connection, ingestor: EvmIngestor, final: int, step: int = 20) -> int:
    """Backfill ``step`` blocks per run (each run asks for the head anew, so the lagging
    endpoint gets asked too), then rerun until the cursor reaches ``final``: a run that took
    its head from the lagging endpoint stops short, as a real backfill would. Returns the runs."""
    runs = 0
    for stop in range(step, final + step, step):
        await ingestor.sync(conn, to_block=min(stop, final))
        runs += 1
    while ((await read_cursor(conn, "polygon")) or (-1, None))[0] < final:
        assert runs < 60, "the backfill makes no progress"
        await ingestor.sync(conn, to_block=final)
        runs += 1
    return runs


async def test_backfill_through_faulty_endpoints_equals_a_clean_run(
    anvil: str, conn: asyncpg.Connection, clean_db_url: str
) -> None:
    s = EvmScenario(anvil)
    token = s.deploy_token()
    _traffic(s, random.Random(SEED))
    final = s.head() - FINALITY

    clean_conn = await asyncpg.connect(clean_db_url)
    ingestor, client = _ingestor([anvil], token)
    try:
        await ingestor.start()
        await ingestor.sync(clean_conn)
        clean = await fingerprint(clean_conn)
    finally:
        await client.close()
        await clean_conn.close()

    plan = FaultPlan(SEED)
    sloppy, lagging = Rewriter(SEED + 1), Rewriter(SEED + 2, lag=LAG)
    started = time.monotonic()
    with (
        fault_proxy(anvil, plan, retry_after=0.2, timeout_seconds=1.0, rewrite=sloppy) as (url_a, log_a),
        fault_proxy(anvil, plan, retry_after=0.2, timeout_seconds=1.0, rewrite=lagging) as (url_b, log_b),
    ):
        ingestor, client = _ingestor([url_a, url_b], token, timeout=0.5)
        try:
            await ingestor.start()
            runs = await _backfill_in_steps(conn, ingestor, final)
        finally:
            await client.close()
    took = time.monotonic() - started
    faults = Counter(log_a.faults) + Counter(log_b.faults)
    requests = log_a.requests + log_b.requests
    rewrites = sloppy.counts + lagging.counts
    print(
        f"\n[fault soak] {requests} requests, {sum(faults.values())} faults {dict(sorted(faults.items()))}; "
        f"rewrites {dict(rewrites)}; {len(s.sent)} flows, {final + 1} blocks, "
        f"{runs} backfill run(s), {took:.1f} s"
    )
    exercised = set(faults) | {kind for kind in ("lagging heads", "duplicated log entries") if rewrites[kind]}
    assert exercised == {*KINDS, "lagging heads", "duplicated log entries"}, (
        f"the soak must exercise every fault kind, got {dict(faults)} and {dict(rewrites)}"
    )
    got = (await fingerprint(conn), await _stored(conn))
    assert got == (clean, s.expected()), (
        "after every fault, duplicate and lagging head, core.flows/blocks/cursors/dirty_days must equal "
        "the clean run's and the ledger of sent transfers exactly (no row lost, none duplicated)"
    )
