"""Incremental refresh cost against history length, and analyst query latency.

Two databases get the same daily traffic (customer payments into a revenue wallet, a
distributor paying a pool of nodes with uneven uptime): one month of history in one,
three years in the other, generated server-side. Both are refreshed once (the full build,
timed: it grows with history), then one new day of flows is written through the atomic
writer into each and the incremental refresh of that day is timed in both: the ratio
should stay near 1. Finally every query of docs/queries.md is timed on the long history.

    python benchmarks/refresh.py            # 3 years x 10,000 flows/day (~11M flows)
    python benchmarks/refresh.py --quick    # 1 year x 1,000 flows/day
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import benchmark_server, fresh_database  # noqa: E402
from indexer.config import parse_config  # noqa: E402
from indexer.decode.columns import FlowColumns  # noqa: E402
from indexer.figures.reference import sync_reference  # noqa: E402
from indexer.figures.refresh import refresh, refresh_all  # noqa: E402
from indexer.store.migrate import migrate  # noqa: E402
from indexer.store.writer import Checkpoint, write_batch  # noqa: E402

TOKEN = "0x" + "ab" * 20
REVENUE = "0x" + "01" * 20
REWARDS = "0x" + "02" * 20
END = date(2026, 10, 31)

CONFIG = {
    "chains": {"chain": {"kind": "evm", "rpc": ["http://127.0.0.1:1"], "chain_id": 1}},
    "tokens": [{"chain": "chain", "address": TOKEN, "symbol": "TOK", "decimals": 18}],
    "labels": [
        {"network": "net", "chain": "chain", "address": REVENUE, "role": "revenue"},
        {"network": "net", "chain": "chain", "address": REWARDS, "role": "rewards"},
    ],
}

# Server-side history: per day, `payments` payments from 300 customers and `payouts`
# payouts to a pool of nodes (node k earns on a given day unless (day + k) % 5 = 0).
GENERATE = """
insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
select 'chain', d * 100000 + i,
       ($1::date + d)::timestamp at time zone 'UTC' + make_interval(secs => i * 86400.0 / ($3::int + $4::int)),
       'tx' || d || '_' || i, 0, $5::text,
       case when i < $3::int then '0xc' || lpad((i % 300)::text, 39, '0') else $7::text end,
       case when i < $3::int then $6::text
            else '0xd' || lpad(((i - $3::int + d) % ($4::int + $4::int / 4))::text, 39, '0') end,
       1000000000000000000::numeric * (1 + (i * 7919) % 997) + i
from generate_series(0, $2::int - 1) d, generate_series(0, $3::int + $4::int - 1) i
"""


async def build(url: str, days: int, payments: int, payouts: int) -> None:
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await sync_reference(conn, parse_config(CONFIG))
    start = END - timedelta(days=days - 1)
    await conn.execute(
        "select core.ensure_flow_partitions($1, $2)",
        datetime(start.year, start.month, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    await conn.execute(GENERATE, start, days, payments, payouts, TOKEN, REVENUE, REWARDS)
    await conn.execute(
        "insert into core.prices (day, symbol, usd) select d::date, 'TOK', 1.25 "
        "from generate_series($1::date, $2::date + 1, interval '1 day') d",
        start,
        END,
    )
    await conn.execute("analyze")
    await conn.close()


async def add_day(url: str, payments: int, payouts: int) -> int:
    """One new day (the day after the history) through the atomic writer."""
    conn = await asyncpg.connect(url)
    day = END + timedelta(days=1)
    t0 = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    cols = FlowColumns("chain")
    for i in range(payments + payouts):
        src = f"0xc{i % 300:039d}" if i < payments else REWARDS
        dst = REVENUE if i < payments else f"0xd{(i - payments) % (payouts + payouts // 4):039d}"
        cols.append(9_000_000_000 + i, f"new_{i}", 0, TOKEN, src, dst, 10**18 * (1 + i % 997) + i, t0 + i)
    await write_batch(conn, cols, [Checkpoint("chain", 9_000_000_000 + payments + payouts)])
    await conn.close()
    return len(cols)


async def timed_refresh(url: str) -> float:
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    await refresh(conn)
    seconds = time.perf_counter() - started
    await conn.close()
    return seconds


async def timed_full(url: str) -> float:
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    await refresh_all(conn)
    seconds = time.perf_counter() - started
    await conn.execute("vacuum analyze")
    await conn.close()
    return seconds


async def time_queries(url: str, repeats: int = 5) -> list[tuple[int, float, float]]:
    queries = re.findall(r"```sql\n(.*?)```", (ROOT / "docs" / "queries.md").read_text(), re.S)
    conn = await asyncpg.connect(url)
    out = []
    for number, query in enumerate(queries, start=1):
        await conn.fetch(query)  # warm
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            await conn.fetch(query)
            samples.append((time.perf_counter() - started) * 1000)
        out.append((number, statistics.median(samples), max(samples)))
    await conn.close()
    return out


async def main(years: int, per_day: int) -> None:
    payments, payouts = per_day // 10, per_day - per_day // 10
    with benchmark_server() as server:
        short_url = await fresh_database(server, "bench_refresh_month")
        long_url = await fresh_database(server, "bench_refresh_years")
        for url, days, label in ((short_url, 30, "1 month"), (long_url, 365 * years, f"{years} year(s)")):
            started = time.perf_counter()
            await build(url, days, payments, payouts)
            built = time.perf_counter() - started
            full = await timed_full(url)
            conn = await asyncpg.connect(url)
            flows = await conn.fetchval("select count(*) from core.flows")
            node_months = await conn.fetchval("select count(*) from rollup.node_earnings_monthly")
            await conn.close()
            print(
                f"{label:>10}: {flows:>11,} flows generated in {built:6.1f} s; full recompute {full:7.2f} s "
                f"({node_months:,} node-months)",
                flush=True,
            )
        new_short = await add_day(short_url, payments, payouts)
        new_long = await add_day(long_url, payments, payouts)
        short = [await timed_refresh(short_url)]
        long = [await timed_refresh(long_url)]
        # Repeat on fresh new days to see the noise: mark the new day dirty again.
        for _ in range(2):
            for url, samples in ((short_url, short), (long_url, long)):
                conn = await asyncpg.connect(url)
                await conn.execute("select core.mark_dirty(array['chain'], array[$1::date])", END + timedelta(days=1))
                await conn.close()
                samples.append(await timed_refresh(url))
        s, lg = statistics.median(short), statistics.median(long)
        print(f"one new day ({new_short:,} / {new_long:,} flows), incremental refresh, median of 3:")
        print(f"   1 month of history : {s * 1000:8.1f} ms  {[round(x * 1000, 1) for x in short]}")
        print(f"   {years} year(s)         : {lg * 1000:8.1f} ms  {[round(x * 1000, 1) for x in long]}")
        print(f"   ratio              : {lg / s:.2f}x (target <= 1.5x)")
        print(f"docs/queries.md on {years} year(s) of history (median / max of 5, ms):")
        for number, median, worst in await time_queries(long_url):
            print(f"   query {number:2d}: {median:8.1f} {worst:8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=10_000)
    args = parser.parse_args()
    if args.quick:
        args.years, args.per_day = 1, 1_000
    asyncio.run(main(args.years, args.per_day))
