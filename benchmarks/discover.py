"""``depin-indexer discover`` on millions of flows of one token.

One database holds N flows (10 million by default) of one 18-decimal token over 90 days,
generated server-side: a distributor paying a pool of nodes every hour (each node with its
own uptime, some hours skipped), a collector paid by thousands of customers, an emissions
wallet minted monthly, and noise around them: 200,000 wallets trading among themselves
(skewed: a few trade very often), a few large holders moving large amounts, genesis mints
and scattered burns. ``discover`` (the command's own code path,
:func:`indexer.figures.discover.discover`) ranks the token's addresses; the baseline, in
the same run on the same flows, is the simplest loop over them: one
``count(*), sum(amount) ... group by src``. The hidden distributor and collector must come
out first in their kinds, or the benchmark fails.

    python benchmarks/discover.py            # 10,000,000 flows
    python benchmarks/discover.py --quick    # 1,000,000 flows
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import Timer, benchmark_server, fresh_database  # noqa: E402
from indexer.config import parse_config  # noqa: E402
from indexer.figures.discover import discover, resolve_token  # noqa: E402
from indexer.figures.reference import sync_reference  # noqa: E402
from indexer.figures.refresh import RefreshStats, refresh  # noqa: E402
from indexer.store.migrate import migrate  # noqa: E402
from indexer.store.sqlfiles import queries  # noqa: E402

CHAIN = "polygon"
TOKEN = "0x" + "ab" * 20
DISTRIBUTOR = "0x" + "d1" * 20
COLLECTOR = "0x" + "c1" * 20
EMISSIONS = "0x" + "e1" * 20
START = date(2026, 7, 1)
DAYS = 90
CONFIG = {
    "chains": {CHAIN: {"kind": "evm", "rpc": ["http://127.0.0.1:1"], "chain_id": 137}},
    "tokens": [{"chain": CHAIN, "address": TOKEN, "symbol": "TOK", "decimals": 18}],
}

# Every statement below makes one part of the history; $1 token, $2 start day, $3 days,
# $4 how many rows (or nodes), $5 the hidden wallet (where there is one). Amounts are raw 18-decimal integers,
# most above 2^64. Transaction ids are unique per part (a prefix each).
DISTRIBUTOR_PAYOUTS = """
insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
select 'polygon', h, ($2::date)::timestamp at time zone 'UTC' + make_interval(hours => h, secs => 60 * (h % 7) + k * 0.01),
       'pay' || h, k, $1, $5, '0x9' || lpad(k::text, 39, '0'),
       (2 + (h * 7919 + k * 104729) % 38)::numeric * 1000000000000000000 + (h * 31 + k)
from generate_series(0, 24 * $3::int - 1) h, generate_series(0, $4::int - 1) k
-- Some hours are skipped (a gap), and node k is offline in a fifth of the other hours.
where h % 17 <> 3 and (h * 13 + k * 7) % 5 <> 0
"""
COLLECTOR_PAYMENTS = """
insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
select 'polygon', 10000000 + i, ($2::date)::timestamp at time zone 'UTC' + make_interval(secs => random() * 86400 * $3::int),
       'cust' || i, 0, $1, '0x8' || lpad((i % greatest(20, $4::int / 25))::text, 39, '0'), $5,
       floor(random() * 5000 + 50)::numeric * 1000000000000000000 + i
from generate_series(0, $4::int - 1) i
"""
# Wallet w of 200,000 trades with probability falling as w grows (random()^2): a few
# wallets trade thousands of times, most a handful. Buyer and seller are drawn apart.
NOISE_TRADES = """
insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
select 'polygon', 20000000 + i, ($2::date)::timestamp at time zone 'UTC' + make_interval(secs => random() * 86400 * $3::int),
       'trade' || i, 0, $1,
       '0x7' || lpad(floor(200000 * random() ^ 2)::text, 39, '0'),
       '0x7' || lpad(floor(200000 * random() ^ 2)::text, 39, '0'),
       floor(random() ^ 3 * 1000000000000000000000000)::numeric + 1
from generate_series(0, $4::int - 1) i
"""
LARGE_HOLDERS = """
insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
select 'polygon', 30000000 + i, ($2::date)::timestamp at time zone 'UTC' + make_interval(secs => random() * 86400 * $3::int),
       'whale' || i, 0, $1, '0x6' || lpad((i % 10)::text, 39, '0'),
       case when i % 3 = 0 then '0x6' || lpad(((i + 1) % 10)::text, 39, '0')
            else '0x7' || lpad(floor(200000 * random())::text, 39, '0') end,
       floor(random() * 1000000000000000000000000000)::numeric + 1
from generate_series(0, $4::int - 1) i
"""
# Genesis mints (large holders, 1,000 traders, the distributor's float), monthly
# emissions ($5), and burns by traders.
MINTS_AND_BURNS = """
insert into core.flows (chain, block, block_time, tx, idx, token, src, dst, amount)
select 'polygon', 40000000 + i, ($2::date)::timestamp at time zone 'UTC' + make_interval(secs => i),
       'genesis' || i, 0, $1, null,
       case when i < 10 then '0x6' || lpad(i::text, 39, '0')
            when i = 10 then '0x' || repeat('d1', 20)
            else '0x7' || lpad((i * 37)::text, 39, '0') end,
       1000000000000000000000000000::numeric + i
from generate_series(0, 1010) i
union all
select 'polygon', 41000000 + m, ($2::date + 30 * m)::timestamp at time zone 'UTC' + interval '2 hours',
       'emission' || m, 0, $1, null, $5, 9130000000000000000000000::numeric + m
from generate_series(0, $3::int / 30 - 1) m
union all
select 'polygon', 42000000 + i, ($2::date)::timestamp at time zone 'UTC' + make_interval(secs => random() * 86400 * $3::int),
       'burn' || i, 0, $1, '0x7' || lpad(floor(200000 * random() ^ 2)::text, 39, '0'), null,
       floor(random() * 100000000000000000000)::numeric + 1
from generate_series(0, $4::int - 1) i
"""
BASELINE = """
select src, count(*), sum(amount) from core.flows
where chain = $1 and token = $2 group by src
"""
# What reading the flows alone costs (the floor of any answer from core.flows), for context.
SCAN = "select count(*) from core.flows where chain = $1 and token = $2"


async def build(url: str, flows: int) -> dict[str, int]:
    """Generate about ``flows`` flows; the count of each part."""
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await sync_reference(conn, parse_config(CONFIG))
        await conn.execute(
            "select core.ensure_flow_partitions($1, $2)",
            datetime(START.year, START.month, 1, tzinfo=UTC),
            datetime(2026, 11, 1, tzinfo=UTC),
        )
        await conn.execute("select setseed(0.42)")
        # Hourly payouts are about 30% of the flows: nodes = 0.3 N / (hours x 0.75 paid).
        nodes = max(50, round(flows * 0.3 / (24 * DAYS * 0.76)))
        counts = {}
        parts: tuple[tuple[str, str, tuple[object, ...]], ...] = (
            ("distributor payouts", DISTRIBUTOR_PAYOUTS, (nodes, DISTRIBUTOR)),
            ("collector payments", COLLECTOR_PAYMENTS, (flows // 200, COLLECTOR)),
            ("large holders", LARGE_HOLDERS, (flows // 1000,)),
            ("mints and burns", MINTS_AND_BURNS, (flows // 1000, EMISSIONS)),
        )
        for name, sql, args in parts:
            status = await conn.execute(sql, TOKEN, START, DAYS, *args)
            counts[name] = int(status.split()[-1])
        rest = flows - sum(counts.values())
        status = await conn.execute(NOISE_TRADES, TOKEN, START, DAYS, rest)
        counts["noise trades"] = int(status.split()[-1])
        await conn.execute("vacuum analyze core.flows")
        return counts
    finally:
        await conn.close()


async def roll_up(url: str) -> RefreshStats:
    """The flows were inserted directly, unmarked: mark every day and run the product's
    refresh, which builds discover's rollups (what the service does after a backfill)."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(queries("figures")["mark_every_day"])
        stats = await refresh(conn)
        await conn.execute("vacuum analyze core.pair_days, core.address_months")
        return stats
    finally:
        await conn.close()


async def timed(url: str, repeats: int) -> tuple[list[float], list[float], list[float], list[dict[str, object]]]:
    """Seconds of each discover, baseline and bare-scan run, alternated; the last discover's
    answer. The baseline runs with discover's session settings (its work_mem: without it
    the baseline's hash table spills to disk), so the ratio compares the work, not the
    settings."""
    conn = await asyncpg.connect(url)
    ours: list[float] = []
    baseline: list[float] = []
    scan: list[float] = []
    answer: list[dict[str, object]] = []
    settings = queries("discover")["settings"]
    try:
        token = await resolve_token(conn, CHAIN, "TOK")
        await conn.fetch(BASELINE, CHAIN, TOKEN)  # warm the cache the same for both
        for _ in range(repeats):
            with Timer() as t:
                answer = [c.as_json() for c in await discover(conn, CHAIN, token, None, None, 5)]
            ours.append(t.seconds)
            async with conn.transaction(readonly=True):
                await conn.execute(settings)
                with Timer() as t:
                    await conn.fetch(BASELINE, CHAIN, TOKEN)
                baseline.append(t.seconds)
                with Timer() as t:
                    await conn.fetch(SCAN, CHAIN, TOKEN)
                scan.append(t.seconds)
    finally:
        await conn.close()
    return ours, baseline, scan, answer


def _first(answer: list[dict[str, object]], kind: str) -> object:
    return next((c["address"] for c in answer if c["kind"] == kind), None)


async def main(flows: int, repeats: int) -> int:
    with benchmark_server() as server:
        url = await fresh_database(server, "bench_discover")
        started = time.perf_counter()
        counts = await build(url, flows)
        total = sum(counts.values())
        print(f"{total:,} flows of one token generated in {time.perf_counter() - started:.1f} s:", flush=True)
        for name, count in counts.items():
            print(f"   {name:<20} {count:>11,}")
        stats = await roll_up(url)
        print(
            f"refresh building discover's rollups: {stats.seconds:.1f} s ({stats.flow_days} chain-days, "
            f"{total / stats.seconds:,.0f} flows/s)",
            flush=True,
        )
        ours, baseline, scan, answer = await timed(url, repeats)
    found = {kind: _first(answer, kind) for kind in ("distributor", "collector", "emission_recipient")}
    expected = {"distributor": DISTRIBUTOR, "collector": COLLECTOR, "emission_recipient": EMISSIONS}
    print(f"discover, {repeats} runs (s):                 {[round(x, 2) for x in ours]}")
    print(f"baseline group-by-src, {repeats} runs (s):    {[round(x, 2) for x in baseline]}")
    print(f"bare scan count(*), {repeats} runs (s):       {[round(x, 2) for x in scan]}")
    best, base, floor = statistics.median(ours), statistics.median(baseline), statistics.median(scan)
    print(f"discover median {best:.2f} s; baseline median {base:.2f} s: {best / base:.2f}x the baseline")
    print(f"   ({best / floor:.1f}x a bare scan of the flows, {floor:.2f} s; {total / best:,.0f} flows/s ranked)")
    for kind, address in found.items():
        verdict = "found first" if address == expected[kind] else f"MISSED (first: {address})"
        print(f"   hidden {kind:<18} {verdict}")
    return 0 if found == expected else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000,000 flows instead of 10,000,000")
    parser.add_argument("--flows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(1_000_000 if args.quick else args.flows, args.repeats)))
