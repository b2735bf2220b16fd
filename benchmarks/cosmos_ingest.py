"""End-to-end Cosmos ingest: CometBFT answers in, committed rows out; transfers/s.

Ours: ``CosmosIngestor.sync`` (batches of ``block`` + ``block_results`` for 20 heights, 4
batches in flight, the stdlib decoder, the atomic writer with binary COPY, the next window
fetched while one is written) against the local CometBFT server
(indexer/localchains/cometbft_rpc.py) in its own process, over a random history in all
three encodings (0.34 base64, 0.37, 0.38), with failed transactions, block-level rewards and
multi-coin amounts.

Baseline, same run, same server: the simplest loop one would write — per height, one
``block`` and one ``block_results`` call (httpx, no batching), ``json`` answers, a per-event
Python loop that decodes every attribute and bech32 address afresh, and ``executemany`` of
one INSERT per flow — over the first ``--baseline`` heights.

    python benchmarks/cosmos_ingest.py            # 20,000 heights
    python benchmarks/cosmos_ingest.py --quick    # 3,000 heights
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import random
import sys
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import benchmark_server, fresh_database, peak_rss_mb, serve_in_process
from indexer.chains.cosmos import CosmosIngestor
from indexer.chains.rpc import RpcClient
from indexer.decode.cosmos import block_time, canonical_address
from indexer.localchains.cometbft_chain import CometChain, random_history
from indexer.localchains.cometbft_rpc import CometRpcServer
from indexer.store.migrate import migrate
from indexer.store.sqlfiles import queries
from schemas.config import CosmosChain

DENOMS = ("attoaioz", "uatom")
_SQL = queries("benchmarks")


def build_chain(heights: int) -> CometChain:
    """The benchmark's history: busy heights (up to 40 transactions each)."""
    chain = CometChain()
    random_history(chain, random.Random(11), heights, denoms=DENOMS, max_txs=40, accounts=2_000)
    return chain


def serve(port: int, heights: int) -> None:
    """The local CometBFT server over ``build_chain(heights)``, until the process is ended."""
    server = CometRpcServer(build_chain(heights), port=port)
    # Answers serialised before the clock starts, as the Solana replay server does: the
    # benchmark measures the indexer, not the test server's json.dumps.
    for height in range(1, heights + 1):
        server.block({"height": height})
        server.block_results({"height": height})
    server.start()
    while True:
        time.sleep(3600)


async def ours(url: str, db_url: str) -> tuple[int, int, float]:
    """(heights, flows, seconds) of one full sync."""
    conn = await asyncpg.connect(db_url)
    await migrate(conn)
    config = CosmosChain(kind="cosmos", rpc=[url], bech32_prefix="aioz")
    client = RpcClient("aioz-cosmos", [url], max_concurrency=config.max_concurrency, stop=asyncio.Event())
    ingestor = CosmosIngestor("aioz-cosmos", config, list(DENOMS), client)
    started = time.perf_counter()
    stats = await ingestor.sync(conn)
    seconds = time.perf_counter() - started
    await client.close()
    await conn.close()
    return stats.blocks, stats.flows, seconds


def _naive_flows(block: dict, results: dict) -> list[tuple]:  # type: ignore[type-arg]
    """Every transfer of one height, event by event, decoding everything on the way."""
    header = block["block"]["header"]
    height, when = int(header["height"]), block_time(header["time"])
    rows = []
    txs = block["block"]["data"]["txs"] or []
    sources = [
        (hashlib.sha256(base64.b64decode(t)).hexdigest().upper(), r["events"])
        for t, r in zip(txs, results["txs_results"] or [], strict=True)
    ]
    for section in ("begin_block_events", "end_block_events", "finalize_block_events"):
        sources.append((f"{height}:{section.removesuffix('_events')}", results.get(section) or []))
    for tx, events in sources:
        for position, event in enumerate(events):
            attrs = {}
            for a in event["attributes"]:
                key, value = a["key"], a["value"]
                if key not in ("sender", "recipient", "amount", "minter", "burner", "spender", "receiver", "mode"):
                    try:
                        key, value = base64.b64decode(key).decode(), base64.b64decode(value).decode()
                    except ValueError:
                        pass
                attrs[key] = value
            if event["type"] not in ("transfer", "coinbase", "burn") or not attrs.get("amount"):
                continue
            src = attrs.get("sender") or attrs.get("burner")
            dst = attrs.get("recipient") or attrs.get("minter")
            for j, coin in enumerate(attrs["amount"].split(",")):
                digits = "".join(c for c in coin if c.isdigit())
                denom = coin[len(digits) :]
                if denom in DENOMS:
                    rows.append(
                        (
                            "aioz-base",
                            height,
                            when,
                            tx,
                            position * 1000 + j,
                            denom,
                            canonical_address(src, "aioz") if src else None,
                            canonical_address(dst, "aioz") if dst else None,
                            digits,
                        )
                    )
    return rows


async def baseline(url: str, db_url: str, heights: int) -> tuple[int, float]:
    """(flows, seconds) of the simplest loop over ``heights`` heights."""
    conn = await asyncpg.connect(db_url)
    await migrate(conn)
    flows = 0
    started = time.perf_counter()
    async with httpx.AsyncClient() as http:
        for h in range(1, heights + 1):
            block = (
                await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "block", "params": {"height": str(h)}})
            ).json()
            results = (
                await http.post(
                    url, json={"jsonrpc": "2.0", "id": 2, "method": "block_results", "params": {"height": str(h)}}
                )
            ).json()
            rows = _naive_flows(block["result"], results["result"])
            await conn.executemany(_SQL["baseline_insert_flow"], rows)
            flows += len(rows)
    seconds = time.perf_counter() - started
    await conn.close()
    return flows, seconds


def _wait_for(url: str, seconds: float = 600) -> None:
    """Building a long history takes the server a while: wait until it answers."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "status"}).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> None:
    """Run both, print rates and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3,000 heights instead of 20,000")
    parser.add_argument("--heights", type=int)
    parser.add_argument("--baseline", type=int, default=300, help="heights for the naive baseline")
    args = parser.parse_args()
    heights = args.heights or (3_000 if args.quick else 20_000)
    url, proc = serve_in_process(serve, heights, probe="status")
    try:
        _wait_for(url)
        with benchmark_server() as pg:
            db = asyncio.run(fresh_database(pg, "bench_cosmos_ours"))
            done, flows, seconds = asyncio.run(ours(url, db))
            rate = flows / seconds
            print(
                f"ours:     {done:,} heights, {flows:,} transfers in {seconds:.1f} s = {rate:,.0f} transfers/s "
                f"({done / seconds:,.0f} heights/s); peak RSS {peak_rss_mb():.0f} MB"
            )
            db2 = asyncio.run(fresh_database(pg, "bench_cosmos_base"))
            base_flows, base_seconds = asyncio.run(baseline(url, db2, min(args.baseline, heights)))
            base_rate = base_flows / base_seconds
            print(
                f"baseline: {min(args.baseline, heights):,} heights, {base_flows:,} transfers in {base_seconds:.1f} s = "
                f"{base_rate:,.0f} transfers/s (one call per method and height, per-event loop, executemany)"
            )
            print(f"ratio:    {rate / base_rate:.1f}x")
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
