"""Writer throughput: the atomic writer (COPY → staging → INSERT, duplicates skipped, with
cursor and dirty days in one transaction) against plain INSERTs, same run, same server.

Two baselines: asyncpg's ``executemany`` (prepared and pipelined: one network round trip
for the whole batch, far faster than a DB-API driver's executemany) and one ``execute``
per row (what psycopg2's executemany and most hand-written indexers do).

    python benchmarks/write.py            # 1,000,000 flows vs 20,000 executemany
    python benchmarks/write.py --quick    # 200,000 vs 5,000
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import Timer, benchmark_server, fresh_database, peak_rss_mb
from indexer.decode.columns import FlowColumns
from indexer.store.migrate import migrate
from indexer.store.writer import Checkpoint, write_batch

T0 = 1_704_067_200  # 2024-01-01
TOKEN = "0x61299774020da444af134c82fa83e3810b309991"


def make_batch(first_block: int, blocks: int, per_block: int) -> FlowColumns:
    """Flows shaped like Polygon RNDR transfers: 66-char tx hashes, 18-decimal amounts."""
    cols = FlowColumns("polygon")
    for b in range(first_block, first_block + blocks):
        t = T0 + b * 2
        for i in range(per_block):
            n = b * per_block + i
            cols.block.append(b)
            cols.block_time.append(t)
            cols.tx.append(f"0x{(n * 2654435761) % (1 << 256):064x}")
            cols.idx.append(i)
            cols.token.append(TOKEN)
            cols.src.append(f"0x{(n * 40503) % (1 << 160):040x}")
            cols.dst.append(f"0x{(n * 65537 + 7) % (1 << 160):040x}")
            cols.amount.append(10**18 * (n % 10_000) + n)
    return cols


async def bench(total: int, baseline_rows: int, batch_size: int) -> None:
    with benchmark_server() as server:
        ours_url = await fresh_database(server, "bench_write_ours")
        base_url = await fresh_database(server, "bench_write_baseline")
        ours = await asyncpg.connect(ours_url)
        base = await asyncpg.connect(base_url)
        await migrate(ours)
        await migrate(base)

        per_block = 50
        blocks_per_batch = batch_size // per_block
        batches = [make_batch(k * blocks_per_batch, blocks_per_batch, per_block) for k in range(total // batch_size)]
        with Timer() as t_ours:
            for k, batch in enumerate(batches):
                await write_batch(ours, batch, [Checkpoint("polygon", (k + 1) * blocks_per_batch - 1)])
        written = await ours.fetchval("select count(*) from core.flows")
        assert written == total, (written, total)

        sample = make_batch(10_000_000, baseline_rows // per_block, per_block)
        rows = [
            ("polygon", b, datetime.fromtimestamp(t, UTC), tx, i, tok, s, d, Decimal(a))
            for b, t, tx, i, tok, s, d, a in zip(
                sample.block,
                sample.block_time,
                sample.tx,
                sample.idx,
                sample.token,
                sample.src,
                sample.dst,
                sample.amount,
                strict=True,
            )
        ]
        await base.execute("select core.ensure_flow_partitions($1, $2)", rows[0][2], rows[-1][2])
        # Both baselines get their rows ready-made: only the database work is timed.
        with Timer() as t_base:
            async with base.transaction():
                await base.executemany(
                    "insert into core.flows values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing",
                    rows,
                )
        await base.execute("truncate core.flows")
        insert = "insert into core.flows values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing"
        with Timer() as t_rows:
            async with base.transaction():
                for row in rows:
                    await base.execute(insert, *row)
        ours_rate = total / t_ours.seconds
        base_rate = len(rows) / t_base.seconds
        rows_rate = len(rows) / t_rows.seconds
        print(
            f"atomic writer         : {total:>9,} flows in {t_ours.seconds:6.2f} s = {ours_rate:>9,.0f} flows/s "
            f"(batches of {batch_size:,})"
        )
        print(
            f"executemany (asyncpg) : {len(rows):>9,} flows in {t_base.seconds:6.2f} s = {base_rate:>9,.0f} flows/s"
            f"   ratio {ours_rate / base_rate:.1f}x"
        )
        print(
            f"execute per row       : {len(rows):>9,} flows in {t_rows.seconds:6.2f} s = {rows_rate:>9,.0f} flows/s"
            f"   ratio {ours_rate / rows_rate:.1f}x"
        )
        print(f"peak RSS      : {peak_rss_mb():.0f} MB (includes the generated batches)")
        await ours.close()
        await base.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller run for a smoke test")
    parser.add_argument("--batch-size", type=int, default=50_000)
    args = parser.parse_args()
    total, baseline = (200_000, 5_000) if args.quick else (1_000_000, 20_000)
    asyncio.run(bench(total, baseline, args.batch_size))


if __name__ == "__main__":
    main()
