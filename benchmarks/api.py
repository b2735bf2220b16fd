"""JSON API under load: 50 concurrent clients, p50/p99 latency and requests/s, export speed.

The database holds 1,000,000 node-month rows (40,000 nodes x 25 months) in the rollups
behind analytics.node_earnings_monthly and node_profitability_monthly. The API runs as
`depin-indexer api` (one uvicorn process, as deployed); the load comes from wrk (Debian
package `wrk`) when installed, else from an httpx client in another process. Baseline in
the same run: /healthz, the same server without a database query. The dashboard's page
and Chart.js are measured too, after the API's endpoints. Beside latency and throughput,
the CPU time of the API's processes per request: on a shared machine, the steadier figure.

    python benchmarks/api.py            # 10 s per endpoint
    python benchmarks/api.py --quick    # 3 s per endpoint, 200,000 rows
    git worktree add /tmp/before <commit> && python benchmarks/api.py --quick --against /tmp/before
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import benchmark_server, fresh_database  # noqa: E402
from indexer.store.migrate import migrate  # noqa: E402

POPULATE = """
insert into core.labels (network, chain, address, role) values ('net', 'chain', '0xrev', 'revenue');
insert into rollup.node_earnings_monthly (network, node, month, token, amount, amount_usd, payouts)
select 'net', 'node' || lpad(n::text, 6, '0'), (date '2024-01-01' + make_interval(months => m))::date, 'TOK',
       (n % 977) * 1.123456789012345678 + m, ((n % 977) * 1.123456789012345678 + m) * 1.25, 1 + n % 30
from generate_series(1, $1::int) n, generate_series(0, $2::int - 1) m;
insert into rollup.node_profitability_monthly (network, node, month, days_active, earnings_usd, electricity_usd, net_usd)
select network, node, month, payouts, amount_usd, payouts * 1.62, amount_usd - payouts * 1.62
from rollup.node_earnings_monthly;
insert into rollup.revenue_monthly (network, month, token, amount, amount_usd, payments, payers)
select 'net', (date '2024-01-01' + make_interval(months => m))::date, t, 1000000.5 + m, 1250000.625 + m, 5000, 300
from generate_series(0, $2::int - 1) m, unnest(array['TOK', 'USDC', 'IO']) t;
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _process_tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            pids.extend(_process_tree(int(child)))
    return pids


def _peak_rss_mb(pid: int) -> float:
    """The largest peak RSS of the API's processes (the supervisor and each worker)."""
    peaks = [0.0]
    for each in _process_tree(pid):
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the API's processes so far: per request, a figure that the
    other load on a shared machine disturbs much less than latency or throughput."""
    ticks = 0
    for each in _process_tree(pid):
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def _wrk(url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) measured by wrk."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses under load")
    return rate, ms("50"), ms("99")


async def _httpx_load(url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections)) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(url)
                response.raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker() for _ in range(connections)))
    latencies.sort()
    return len(latencies) / seconds, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def load(url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    if shutil.which("wrk"):
        return _wrk(url, seconds, connections)
    return asyncio.run(_httpx_load(url, seconds, connections))


async def prepare(server: str, nodes: int, months: int) -> str:
    url = await fresh_database(server, "bench_api")
    conn = await asyncpg.connect(url)
    await migrate(conn)
    await conn.execute("select 1")
    for statement in POPULATE.strip().split(";\n"):
        if statement.strip():
            await conn.execute(statement, nodes, months) if "$1" in statement else await conn.execute(
                statement.replace("$2::int", str(months))
            )
    await conn.execute("vacuum analyze")
    rows = await conn.fetchval("select count(*) from analytics.node_earnings_monthly")
    await conn.close()
    print(f"database: {rows:,} node-month rows", flush=True)
    return url


async def export_speed(base: str) -> tuple[int, float]:
    rows = 0
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=600) as client:
        async with client.stream("GET", f"{base}/v1/export/node_earnings_monthly?format=ndjson") as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                rows += chunk.count(b"\n")
    return rows, time.perf_counter() - started


MONTH = "2025-06"  # inside the 25 generated months (2024-01 .. 2026-01)
TARGETS = [
    ("/healthz (baseline)", "/healthz"),
    ("/v1/revenue/monthly", "/v1/revenue/monthly?network=net"),
    ("/v1/nodes", f"/v1/nodes?network=net&month={MONTH}&limit=50"),
    # The dashboard's page and its largest asset (Chart.js, 210 kB), served beside the API.
    ("/ (dashboard)", "/"),
    ("/static/…/chart.js", "/static/vendor/chart.umd.min.js"),
]


def run_server(db_url: str, code: Path | None, seconds: int, connections: int, workers: int) -> dict[str, float]:
    """One API server (of this checkout, or of the checkout ``code``) under load, endpoint by
    endpoint; prints a line each and returns {label: req/s} and {label + " cpu": µs/req}."""
    port = _free_port()
    env = {**os.environ, "DEPIN_DATABASE_URL": db_url}
    env.pop("DEPIN_CONFIG", None)
    env.pop("PYTHONPATH", None)
    if code is not None:
        env["PYTHONPATH"] = str(code)  # its `indexer` ahead of this checkout's
    api = subprocess.Popen(
        [sys.executable, "-m", "indexer.cli", "api", "--port", str(port), "--workers", str(workers)],
        env=env,
        cwd="/tmp",
    )
    base = f"http://127.0.0.1:{port}"
    found: dict[str, float] = {}
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        baseline = None
        for label, path in TARGETS:
            if httpx.get(base + path).status_code == 404:  # a build before the dashboard
                print(f"  {label:<22} not served by this build", flush=True)
                continue
            load(base + path, 1, connections)  # warm
            cpu = _cpu_seconds(api.pid)
            rate, p50, p99 = load(base + path, seconds, connections)
            cpu_us = (_cpu_seconds(api.pid) - cpu) / (rate * seconds) * 1e6
            baseline = baseline or rate
            found[label], found[label + " cpu"], found[label + " p99"] = rate, cpu_us, p99
            print(
                f"  {label:<22} {rate:>8,.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                f"CPU {cpu_us:5.0f} µs/req  ({rate / baseline:.2f}x of /healthz)",
                flush=True,
            )
        rows, took = asyncio.run(export_speed(base))
        print(f"  export NDJSON           {rows:,} rows in {took:.1f} s = {rows / took:,.0f} rows/s")
        print(f"  API peak RSS            {_peak_rss_mb(api.pid):.0f} MB (largest process)")
    finally:
        api.terminate()
        api.wait(10)
    return found


def main(seconds: int, nodes: int, months: int, connections: int, workers: int, against: Path | None) -> None:
    with benchmark_server() as server:
        db_url = asyncio.run(prepare(server, nodes, months))
        print(
            f"{connections} concurrent clients, {workers} API worker(s), {seconds} s each, load from "
            f"{'wrk' if shutil.which('wrk') else 'httpx'}:"
        )
        if against is None:
            run_server(db_url, None, seconds, connections, workers)
            return
        # Interleaved (this, other, other, this, ...) so that drift of a shared machine hits both.
        runs: dict[str, list[dict[str, float]]] = {"this checkout": [], str(against): []}
        for code in (None, against, against, None, None, against):
            name = "this checkout" if code is None else str(against)
            print(f"{name}:", flush=True)
            runs[name].append(run_server(db_url, code, seconds, connections, workers))
        print("medians (req/s, p99 ms, CPU µs/req), this checkout / the other:")
        for label, _ in TARGETS:
            ours = [r for r in runs["this checkout"] if label in r]
            theirs = [r for r in runs[str(against)] if label in r]
            if not ours or not theirs:
                continue
            line = []
            for key in (label, label + " p99", label + " cpu"):
                a, b = statistics.median(r[key] for r in ours), statistics.median(r[key] for r in theirs)
                line.append(f"{a:,.0f} / {b:,.0f} ({a / b:.2f}x)")
            print(f"  {label:<22} " + "   ".join(line))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API worker processes (default 1: on 2 cores beside Postgres and wrk, 2 workers lengthen the tail)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="DIR",
        help="another checkout (a git worktree of an older commit): serve its API and this one's in turn",
    )
    args = parser.parse_args()
    if args.quick:
        main(3, 8_000, 25, args.connections, args.workers, args.against)
    else:
        main(10, 40_000, 25, args.connections, args.workers, args.against)
