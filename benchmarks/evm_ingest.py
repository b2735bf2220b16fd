"""End-to-end EVM ingest: JSON-RPC responses in, committed rows out, events/s and peak RSS.

Ours: ``EvmIngestor.sync`` (batched getLogs + headers, stdlib decoder, atomic writer)
against the replay server (benchmarks/replay_evm.py: node-shaped responses at memory
speed) and against a real anvil. Baseline, same run, same replay server: a typical
web3.py pipeline (``AsyncWeb3.eth.get_logs`` + ``get_block`` per block for timestamps,
web3's event decoding, asyncpg ``executemany``), over a smaller sample.

    python benchmarks/evm_ingest.py                # 5,000,000 events (replay)
    python benchmarks/evm_ingest.py --quick        # 300,000 events
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import replay_evm
from benchmarks._common import benchmark_server, fresh_database, peak_rss_mb
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


async def main(events: int, per_block: int, baseline_events: int, range_size: int) -> None:
    blocks = events // per_block
    url, server = replay_evm.start(blocks, per_block)
    try:
        with benchmark_server() as pg:
            db_base = await fresh_database(pg, "bench_evm_baseline")
            n_base, t_base = await baseline(url, db_base, baseline_events // per_block, max(1, 2000 // per_block))
            print(f"web3.py pipeline  : {n_base:>10,} events in {t_base:7.2f} s = {n_base / t_base:>9,.0f} events/s")
            db_ours = await fresh_database(pg, "bench_evm_ours")
            n, t = await ours(url, db_ours, blocks, range_size)
            print(
                f"depin-indexer     : {n:>10,} events in {t:7.2f} s = {n / t:>9,.0f} events/s "
                f"({per_block} per block, ranges of {range_size} blocks)"
            )
            print(f"ratio             : {(n / t) / (n_base / t_base):.1f}x")
            print(f"peak RSS          : {peak_rss_mb():.0f} MB (this process, after {n:,} events)")
    finally:
        server.terminate()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--per-block", type=int, default=10)
    parser.add_argument("--range", type=int, default=500, help="blocks per eth_getLogs")
    args = parser.parse_args()
    events = 300_000 if args.quick else args.events
    asyncio.run(main(events, args.per_block, 20_000 if args.quick else 50_000, args.range))
