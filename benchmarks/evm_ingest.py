"""End-to-end EVM ingest: JSON-RPC responses in, committed rows out, events/s and peak RSS.

Ours: ``EvmIngestor.sync`` (batched getLogs + headers, stdlib decoder, atomic writer)
against the replay server (benchmarks/replay_evm.py: node-shaped responses at memory
speed), by default shaped like a hosted provider in front of a busy chain: 50 transfers
a block, and eth_getLogs refusing more than 10,000 results (-32005, naming the range to
use). Baselines, same run, same replay server:

* the sequential loop: fixed 200-block eth_getLogs ranges (10,000 results at 50 a block),
  one batched eth_getBlockByNumber per range for the times, ``json.loads``,
  ``int(data, 16)`` and topic slicing, asyncpg ``copy_records_to_table`` into an
  unindexed table; no transaction, no deduplication, no cursor, no reorg check. The
  fastest simple thing; the target is to beat it with every guarantee kept;
* a typical web3.py pipeline (``AsyncWeb3.eth.get_logs`` + ``get_block`` per block for
  timestamps, web3's event decoding, asyncpg ``executemany``), over a smaller sample.

Each pipeline's peak RSS is its own (the peak is reset between them).

    python benchmarks/evm_ingest.py                # 5,000,000 events (replay)
    python benchmarks/evm_ingest.py --quick        # 300,000 events
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import replay_evm
from benchmarks._common import benchmark_server, fresh_database, peak_rss_mb, reset_peak_rss
from indexer.chains.evm import EvmIngestor
from indexer.chains.rpc import RpcClient
from indexer.store.migrate import migrate
from schemas.config import EvmChain


async def ours(url: str, db_url: str, blocks: int, range_size: int) -> tuple[int, float]:
    conn = await asyncpg.connect(db_url)
    await migrate(conn)
    config = EvmChain(kind="evm", rpc=[url], chain_id=137, finality=0, max_block_range=range_size)
    # A stop event as backfill passes one: its waits are part of what users run.
    client = RpcClient("polygon", [url], max_concurrency=8, stop=asyncio.Event())
    ingestor = EvmIngestor("polygon", config, [replay_evm.TOKEN], set(), client)
    started = time.perf_counter()
    last = [started]

    def progress(done: int, target: int, flows: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 10:
            last[0] = now
            print(
                f"  ... block {done:,}/{target:,}, {flows:,} events, {flows / (now - started):,.0f}/s, "
                f"RSS {peak_rss_mb():.0f} MB",
                flush=True,
            )

    stats = await ingestor.sync(conn, to_block=blocks, progress=progress)
    seconds = time.perf_counter() - started
    stored = await conn.fetchval("select count(*) from core.flows")
    assert stored == stats.flows, (stored, stats.flows)
    await client.close()
    await conn.close()
    return stats.flows, seconds


async def sequential_loop(url: str, db_url: str, blocks: int, range_size: int = 200) -> tuple[int, float]:
    """The simplest fast loop: fixed ranges, one header batch per range, COPY; no guarantees."""
    import httpx

    conn = await asyncpg.connect(db_url)
    await conn.execute(
        "create table transfers (block bigint, block_time bigint, tx text, idx int, token text, src text, "
        "dst text, amount numeric)"
    )
    http = httpx.AsyncClient(timeout=60)

    async def rpc(body: object) -> object:
        response = await http.post(url, content=json.dumps(body).encode())
        return json.loads(response.content)

    count = 0
    started = time.perf_counter()
    for lo in range(0, blocks + 1, range_size):
        hi = min(blocks, lo + range_size - 1)
        query = {
            "fromBlock": hex(lo),
            "toBlock": hex(hi),
            "address": [replay_evm.TOKEN],
            "topics": [replay_evm.TRANSFER],
        }
        logs = (await rpc({"jsonrpc": "2.0", "id": 0, "method": "eth_getLogs", "params": [query]}))["result"]  # type: ignore[index]
        calls = [
            {"jsonrpc": "2.0", "id": n, "method": "eth_getBlockByNumber", "params": [hex(n), False]}
            for n in range(lo, hi + 1)
        ]
        times = {item["id"]: int(item["result"]["timestamp"], 16) for item in await rpc(calls)}  # type: ignore[attr-defined]
        rows = []
        for entry in logs:
            topics = entry["topics"]
            block = int(entry["blockNumber"], 16)
            rows.append(
                (
                    block,
                    times[block],
                    entry["transactionHash"],
                    int(entry["logIndex"], 16),
                    entry["address"],
                    "0x" + topics[1][26:],
                    "0x" + topics[2][26:],
                    str(int(entry["data"], 16)),
                )
            )
        await conn.copy_records_to_table("transfers", records=rows)
        count += len(rows)
    seconds = time.perf_counter() - started
    await http.aclose()
    await conn.close()
    return count, seconds


async def baseline(url: str, db_url: str, blocks: int, range_size: int) -> tuple[int, float]:
    """How a typical web3.py indexer does it (ethereum-etl style, one object per event)."""
    from web3 import AsyncHTTPProvider, AsyncWeb3

    abi = [
        {
            "anonymous": False,
            "name": "Transfer",
            "type": "event",
            "inputs": [
                {"indexed": True, "name": "from", "type": "address"},
                {"indexed": True, "name": "to", "type": "address"},
                {"indexed": False, "name": "value", "type": "uint256"},
            ],
        }
    ]
    w3 = AsyncWeb3(AsyncHTTPProvider(url))
    contract = w3.eth.contract(address=w3.to_checksum_address(replay_evm.TOKEN), abi=abi)
    conn = await asyncpg.connect(db_url)
    await migrate(conn)
    await conn.execute(
        "select core.ensure_flow_partitions($1, $2)",
        datetime.fromtimestamp(replay_evm.T0, UTC),
        datetime.fromtimestamp(replay_evm.T0 + 2 * blocks, UTC),
    )
    count = 0
    started = time.perf_counter()
    for lo in range(1, blocks + 1, range_size):
        hi = min(blocks, lo + range_size - 1)
        raw = await w3.eth.get_logs({"fromBlock": lo, "toBlock": hi, "address": contract.address})
        times: dict[int, int] = {}
        rows = []
        for entry in raw:
            event = contract.events.Transfer().process_log(entry)
            n = event["blockNumber"]
            if n not in times:
                times[n] = (await w3.eth.get_block(n))["timestamp"]
            rows.append(
                (
                    "polygon",
                    n,
                    datetime.fromtimestamp(times[n], UTC),
                    event["transactionHash"].to_0x_hex(),
                    event["logIndex"],
                    replay_evm.TOKEN,
                    event["args"]["from"].lower(),
                    event["args"]["to"].lower(),
                    Decimal(event["args"]["value"]),
                )
            )
        async with conn.transaction():
            await conn.executemany(
                "insert into core.flows values ($1,$2,$3,$4,$5,$6,$7,$8,$9) on conflict do nothing", rows
            )
            await conn.execute(
                "insert into core.cursors (chain, block) values ('polygon', $1) "
                "on conflict (chain, source) do update set block = excluded.block",
                hi,
            )
        count += len(rows)
    seconds = time.perf_counter() - started
    await conn.close()
    return count, seconds


async def _measure(
    which: str, pg: str, url: str, blocks: int, per_block: int, range_size: int, result_cap: int
) -> tuple[int, float]:
    """One run of the sequential loop or of ours on a fresh database, printed."""
    db = await fresh_database(pg, f"bench_evm_{which}")
    reset_peak_rss()
    cpu = time.process_time()
    if which == "loop":
        n, t = await sequential_loop(url, db, blocks, max(1, min(200, result_cap // per_block or 200)))
        label, detail = "sequential loop   ", ""
    else:
        n, t = await ours(url, db, blocks, range_size)
        label, detail = "depin-indexer     ", f" (max_block_range {range_size})"
    print(
        f"{label}: {n:>10,} events in {t:7.2f} s = {n / t:>9,.0f} events/s, peak RSS {peak_rss_mb():.0f} MB, "
        f"{time.process_time() - cpu:.1f} s CPU in this process{detail}",
        flush=True,
    )
    return n, t


async def main(
    events: int, per_block: int, baseline_events: int, range_size: int, result_cap: int, rounds: int = 1
) -> None:
    blocks = events // per_block
    url, server = replay_evm.start(blocks, per_block, result_cap)
    cap = f"eth_getLogs capped at {result_cap:,} results" if result_cap else "no result cap"
    print(f"replay server: {blocks:,} blocks of {per_block} transfers, {cap}")
    try:
        with benchmark_server() as pg:
            n_base = t_base = 0.0
            if baseline_events:
                db_base = await fresh_database(pg, "bench_evm_baseline")
                n_base, t_base = await baseline(url, db_base, baseline_events // per_block, max(1, 2000 // per_block))
                print(
                    f"web3.py pipeline  : {n_base:>10,} events in {t_base:7.2f} s = {n_base / t_base:>9,.0f} events/s"
                )
            ratios = []
            for round_number in range(rounds):
                # Alternate which goes first, so that drift of a shared machine hits both.
                order = ("loop", "ours") if round_number % 2 == 0 else ("ours", "loop")
                figures = {}
                for which in order:
                    figures[which] = await _measure(which, pg, url, blocks, per_block, range_size, result_cap)
                (n_loop, t_loop), (n, t) = figures["loop"], figures["ours"]
                ratios.append((n / t) / (n_loop / t_loop))
                print(f"ratio vs loop     : {ratios[-1]:.2f}x (round {round_number + 1} of {rounds})")
            if rounds > 1:
                print(f"ratio vs loop     : median {statistics.median(ratios):.2f}x of {rounds} rounds")
            if baseline_events:
                print(f"ratio vs web3.py  : {(n / t) / (n_base / t_base):.1f}x (last round)")
    finally:
        server.terminate()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--per-block", type=int, default=50, help="transfers per block")
    parser.add_argument("--range", type=int, default=2000, help="max_block_range of ours (blocks per eth_getLogs)")
    parser.add_argument(
        "--result-cap", type=int, default=10_000, help="eth_getLogs refuses more results than this (0: no cap)"
    )
    parser.add_argument("--no-web3", action="store_true", help="skip the (slow) web3.py baseline")
    parser.add_argument("--rounds", type=int, default=1, help="loop and ours this many times, alternating")
    args = parser.parse_args()
    events = 300_000 if args.quick else args.events
    web3_events = 0 if args.no_web3 else 20_000 if args.quick else 50_000
    asyncio.run(main(events, args.per_block, web3_events, args.range, args.result_cap, args.rounds))
