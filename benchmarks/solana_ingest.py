"""End-to-end Solana ingest: JSON-RPC responses in, committed rows out; tx/s and memory.

Ours: ``SolanaIngestor.sync`` (signature pages of 1,000, batched ``getTransaction``, the
stdlib decoder with its balance check, the atomic writer, one commit per page) against
the replay server (benchmarks/replay_solana.py: one payment wallet whose history holds
``--transactions`` real token transactions, served at memory speed). Resident memory is
sampled during the run: it must stay flat as history grows.

Baselines, same run, same server:

* the sequential loop: signature pages of 1,000, ``getTransaction`` batches of 100 one
  after the other, ``json.loads``, a walk over the instructions (outer and inner, owners
  from the token balances), COPY into an unindexed table; no transaction, no balance
  check, no deduplication, no cursor. The fastest simple thing, to beat with every
  guarantee kept;
* the way solana-py users write it — ``AsyncClient``
typed calls, one ``get_transaction`` per signature, solders' typed objects, the same
flows extracted and written with the same writer — over a smaller sample.

Also the decoder alone on the same transactions (``json.loads`` + decode), for context.

    python benchmarks/solana_ingest.py             # 1,000,000 transactions
    python benchmarks/solana_ingest.py --quick     # 100,000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import replay_solana
from benchmarks._common import benchmark_server, fresh_database, peak_rss_mb, reset_peak_rss
from benchmarks.solana_decode import FLOW_TAGS, generate, record_templates, solders_per_tx
from indexer.chains.rpc import RpcClient
from indexer.chains.solana import SolanaIngestor
from indexer.decode.columns import FlowColumns
from indexer.decode.solana import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, b58decode, decode_transactions
from indexer.store.migrate import migrate
from indexer.store.writer import write_batch
from schemas.config import LabelConfig, SolanaChain

POOL = 2_000  # distinct transactions the server varies (signature, slot, time) from


def rss_mb() -> float:
    """Current resident memory of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def ours(
    url: str, db_url: str, mints: set[str], served: object, follow_mint: str | None = None
) -> tuple[int, int, float, list[tuple[int, float]]]:
    """(transactions, flows, seconds, [(transactions served, RSS MB)]) of one full sync:
    of the payment wallet, or with ``follow_mint`` of that mint (``follow = "mint"``, no
    labels), whose history the server lists the same."""
    conn = await asyncpg.connect(db_url)
    await migrate(conn)
    config = SolanaChain(kind="solana", rpc=[url])
    # A stop event as backfill passes one: its waits are part of what users run.
    client = RpcClient("solana", [url], max_concurrency=config.max_concurrency, stop=asyncio.Event())
    labels = [LabelConfig(network="io.net", chain="solana", address=replay_solana.WALLET, role="revenue")]
    if follow_mint:
        ingestor = SolanaIngestor("solana", config, sorted(mints), [], client, followed_mints=[follow_mint])
    else:
        ingestor = SolanaIngestor("solana", config, sorted(mints), labels, client)
    samples: list[tuple[int, float]] = []
    before = served.value  # type: ignore[attr-defined]  # what earlier runs had served

    async def sample() -> None:
        while True:
            samples.append((served.value - before, rss_mb()))  # type: ignore[attr-defined]
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    stats = await ingestor.sync(conn)
    seconds = time.perf_counter() - started
    sampler.cancel()
    samples.append((served.value - before, rss_mb()))  # type: ignore[attr-defined]
    await client.close()
    await conn.close()
    return stats.transactions, stats.flows, seconds, samples


def walk_instructions(tx: dict[str, Any], mints: set[str], rows: list[tuple[Any, ...]]) -> None:
    """The loop's decoder: SPL transfers, mints and burns of ``mints``, owners from the balances."""
    meta = tx["meta"]
    if meta["err"] is not None:
        return
    message = tx["transaction"]["message"]
    loaded = meta.get("loadedAddresses") or {}
    keys = message["accountKeys"] + loaded.get("writable", []) + loaded.get("readonly", [])
    owner = {b["accountIndex"]: (b["owner"], b["mint"]) for b in meta["preTokenBalances"] + meta["postTokenBalances"]}
    inner = {group["index"]: group["instructions"] for group in meta.get("innerInstructions") or []}
    sig, slot, when = tx["transaction"]["signatures"][0], tx["slot"], tx["blockTime"]
    position = 0
    for i, ix in enumerate(message["instructions"]):
        for one in (ix, *inner.get(i, ())):
            here = position
            position += 1
            if keys[one["programIdIndex"]] not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
                continue
            raw = b58decode(one["data"])
            if not raw or raw[0] not in FLOW_TAGS or len(raw) < 9:
                continue
            amount, acc, tag = int.from_bytes(raw[1:9], "little"), one["accounts"], raw[0]
            if tag in (3, 12):
                a, b = acc[0], acc[2] if tag == 12 else acc[1]
                mint = keys[acc[1]] if tag == 12 else owner[a][1]
                src, dst = owner[a][0], owner[b][0]
            elif tag in (7, 14):
                mint, src, dst = keys[acc[0]], None, owner[acc[1]][0]
            else:
                mint, src, dst = keys[acc[1]], owner[acc[0]][0], None
            if mint in mints and amount:
                rows.append((slot, when, sig, here, mint, src, dst, str(amount)))


async def sequential_loop(url: str, db_url: str, mints: set[str]) -> tuple[int, int, float]:
    """The simplest fast loop: (transactions, flows, seconds) over the wallet's whole history."""
    import httpx

    conn = await asyncpg.connect(db_url)
    await conn.execute(
        "create table transfers (slot bigint, block_time bigint, tx text, idx int, token text, src text, "
        "dst text, amount numeric)"
    )
    http = httpx.AsyncClient(timeout=60)

    async def rpc(body: object) -> Any:
        return json.loads((await http.post(url, content=json.dumps(body).encode())).content)

    options = {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": "finalized"}
    txs = flows = 0
    before = None
    started = time.perf_counter()
    while True:
        page_options: dict[str, Any] = {"limit": 1000, **({"before": before} if before else {})}
        call = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "getSignaturesForAddress",
            "params": [replay_solana.WALLET, page_options],
        }
        page = (await rpc(call))["result"]
        if not page:
            break
        wanted = [entry["signature"] for entry in page if entry["err"] is None]
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), 100):
            calls = [
                {"jsonrpc": "2.0", "id": i, "method": "getTransaction", "params": [sig, options]}
                for i, sig in enumerate(wanted[start : start + 100])
            ]
            for item in await rpc(calls):
                walk_instructions(item["result"], mints, rows)
                txs += 1
        await conn.copy_records_to_table("transfers", records=rows)
        flows += len(rows)
        before = page[-1]["signature"]
    seconds = time.perf_counter() - started
    await http.aclose()
    await conn.close()
    return txs, flows, seconds


async def baseline(url: str, db_url: str, mints: set[str], limit: int) -> tuple[int, float]:
    """solana-py AsyncClient, typed, one getTransaction per signature; the same writer."""
    from solana.rpc.async_api import AsyncClient
    from solders.pubkey import Pubkey
    from solders.signature import Signature

    conn = await asyncpg.connect(db_url)
    await migrate(conn)
    client = AsyncClient(url)
    done = 0
    before = None
    started = time.perf_counter()
    while done < limit:
        page = (
            await client.get_signatures_for_address(Pubkey.from_string(replay_solana.WALLET), before=before, limit=1000)
        ).value
        if not page:
            break
        texts = []
        for entry in page[: limit - done]:
            if entry.err is not None:
                continue
            answer = await client.get_transaction(entry.signature, encoding="json", max_supported_transaction_version=0)
            texts.append(answer.value.to_json().encode())  # type: ignore[union-attr]
        flows = solders_per_tx(texts, mints)
        await write_batch(conn, flows, [])
        done += min(len(page), limit - done)
        before = Signature.from_string(str(page[-1].signature))
    seconds = time.perf_counter() - started
    await client.close()
    await conn.close()
    return done, seconds


def decode_only(texts: list[bytes], mints: set[str], n: int) -> tuple[float, float]:
    """(json.loads tx/s, decoder tx/s) over ``n`` transactions, in pages of 1,000."""
    loads = decode = 0.0
    done = 0
    while done < n:
        flows = FlowColumns("solana")
        started = time.perf_counter()
        batch = [json.loads(t) for t in texts[:1000]]
        parsed = time.perf_counter()
        decode_transactions(batch, mints, flows)
        loads += parsed - started
        decode += time.perf_counter() - parsed
        done += len(batch)
    return done / loads, done / decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 transactions instead of 1,000,000")
    parser.add_argument("-n", "--transactions", type=int)
    parser.add_argument("--rounds", type=int, default=1, help="loop and ours this many times, alternating")
    parser.add_argument("--no-mint", action="store_true", help='skip the follow = "mint" run')
    parser.add_argument(
        "--baseline", type=int, default=3_000, help="transactions for the solana-py baseline (0: skip it)"
    )
    args = parser.parse_args()
    n = args.transactions or (100_000 if args.quick else 1_000_000)

    templates, mints = record_templates()
    texts = list(generate(POOL, templates, mints))
    print(f"pool: {POOL:,} distinct transactions from {len(templates)} LiteSVM templates; history: {n:,}")
    loads, decode = decode_only(texts, mints, 50_000)
    print(
        f"decoder alone: {decode:,.0f} tx/s (json.loads before it: {loads:,.0f} tx/s; both: "
        f"{1 / (1 / loads + 1 / decode):,.0f} tx/s)"
    )
    followed = sorted(mints)[0]
    url, server, served = replay_solana.start(texts, n, also=followed)
    try:
        with benchmark_server() as pg:
            ratios = []
            for round_number in range(args.rounds):
                # Alternate which goes first, so that drift of a shared machine hits both.
                for which in ("loop", "ours") if round_number % 2 == 0 else ("ours", "loop"):
                    reset_peak_rss()
                    if which == "loop":
                        db_loop = asyncio.run(fresh_database(pg, "bench_solana_loop"))
                        l_txs, l_flows, l_seconds = asyncio.run(sequential_loop(url, db_loop, mints))
                        loop_rate = l_txs / l_seconds
                        print(
                            f"sequential loop: {l_txs:,} transactions ({l_flows:,} flows) in {l_seconds:.1f} s = "
                            f"{loop_rate:,.0f} tx/s; peak RSS {peak_rss_mb():.0f} MB",
                            flush=True,
                        )
                    else:
                        db = asyncio.run(fresh_database(pg, "bench_solana_ours"))
                        txs, flows, seconds, samples = asyncio.run(ours(url, db, mints, served))
                        rate = txs / seconds
                        print(
                            f"ours:     {txs:,} transactions ({flows:,} flows) in {seconds:.1f} s = {rate:,.0f} tx/s; "
                            f"peak RSS {peak_rss_mb():.0f} MB",
                            flush=True,
                        )
                ratios.append(rate / loop_rate)
                print(f"ratio vs the sequential loop: {ratios[-1]:.2f}x (round {round_number + 1} of {args.rounds})")
            if args.rounds > 1:
                print(f"ratio vs the sequential loop: median {statistics.median(ratios):.2f}x of {args.rounds} rounds")
            points = []
            for share in (0.1, 0.25, 0.5, 0.75):
                at = next((x for x in samples if x[0] >= txs * share), samples[-1])
                points.append(f"{at[1]:.0f} MB at {at[0]:,}")
            points.append(f"{samples[-1][1]:.0f} MB at {samples[-1][0]:,}")
            print(f"          RSS of ours (last round): {', '.join(points)} transactions")
            if not args.no_mint:
                db3 = asyncio.run(fresh_database(pg, "bench_solana_mint"))
                m_txs, m_flows, m_seconds, _ = asyncio.run(ours(url, db3, mints, served, follow_mint=followed))
                m_rate = m_txs / m_seconds
                print(
                    f"ours, follow = mint: {m_txs:,} transactions ({m_flows:,} flows) in {m_seconds:.1f} s = "
                    f"{m_rate:,.0f} tx/s ({m_rate / rate:.2f}x the address path)"
                )
            if args.baseline:
                db2 = asyncio.run(fresh_database(pg, "bench_solana_base"))
                base_n, base_s = asyncio.run(baseline(url, db2, mints, args.baseline))
                base_rate = base_n / base_s
                print(f"solana-py: {base_n:,} signatures in {base_s:.1f} s = {base_rate:,.0f} tx/s")
                print(f"ratio vs solana-py: {rate / base_rate:.1f}x")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
