"""ERC-20 Transfer decoding: our batched decoder against eth_abi one log at a time, same run.

The input is what ``json.loads`` makes of ``eth_getLogs`` responses (both decoders get
the very same parsed objects; parsing is not timed). By default the logs are generated,
shaped like Polygon RNDR traffic: one to three transfers per block, log indexes spread
over busy blocks, most transactions with one transfer and some payouts with many,
addresses drawn from a pool of holders, 18-decimal amounts up to ~10^6 tokens plus a few
at 2**256-1. ``--record`` instead produces real logs on a local anvil (npm
@foundry-rs/anvil) with mints, transfers and large batch transfers.

Decoders compared:

* ours — ``indexer.decode.evm.decode_transfer_logs`` (pure standard library, strict
  validation of every field);
* eth_abi, every field — per log: topic check, then ``eth_abi.decode(['address',
  'address', 'uint256'], topic1 + topic2 + data)``: each field of the event decoded by
  eth_abi, as web3's event decoding does (it decodes each indexed topic and the data
  with the ABI codec); block and log index via ``int(x, 16)``. No validation;
* eth_abi, amount only — the same loop with only the amount through eth_abi and the
  addresses sliced from the topics by hand (the leanest eth_abi-based decoder we could
  write; ethereum-etl decodes transfers this way). No validation;
* naive int — the same loop with ``int(data, 16)`` instead of eth_abi, for context: how
  much of the gap is eth_abi and how much is batching.

    python benchmarks/evm_decode.py            # 200,000 logs
    python benchmarks/evm_decode.py --quick    # 20,000 logs
    python benchmarks/evm_decode.py --record   # logs recorded from anvil
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.decode.columns import FlowColumns
from indexer.decode.evm import TRANSFER_TOPIC, decode_transfer_logs

TOKEN = "0x61299774020da444af134c82fa83e3810b309991"  # RNDR on Polygon (legacy), see docs
Logs = list[dict[str, Any]]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _topic(address: str) -> str:
    return "0x" + "0" * 24 + address[2:]


def generate(n: int, seed: int = 7) -> Logs:
    """``n`` Transfer logs as a JSON-RPC response would carry them, parsed by json.loads."""
    rng = random.Random(seed)
    holders = [f"0x{rng.getrandbits(160):040x}" for _ in range(20_000)]
    zero = "0x" + "0" * 40
    block = 48_000_000
    logs: list[dict[str, Any]] = []
    while len(logs) < n:
        block += rng.randint(1, 2)
        block_hash = f"0x{rng.getrandbits(256):064x}"
        used: set[int] = set()
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            tx = f"0x{rng.getrandbits(256):064x}"
            tx_index = rng.randint(0, 150)
            # Most transactions move tokens once; one in twenty is a payout to many.
            count = rng.randint(20, 200) if rng.random() < 0.05 else 1
            sender = rng.choice(holders)
            for _ in range(count):
                index = rng.randint(0, 900)
                while index in used:
                    index = rng.randint(0, 1500)
                used.add(index)
                roll = rng.random()
                src, dst = sender, rng.choice(holders)
                if roll < 0.02:
                    src = zero  # mint
                elif roll < 0.04:
                    dst = zero  # burn
                amount = rng.getrandbits(80) if roll > 0.001 else 2**256 - 1
                logs.append(
                    {
                        "address": TOKEN,
                        "topics": [TRANSFER_TOPIC, _topic(src), _topic(dst)],
                        "data": f"0x{amount:064x}",
                        "blockNumber": hex(block),
                        "blockHash": block_hash,
                        "timeStamp": None,
                        "transactionHash": tx,
                        "transactionIndex": hex(tx_index),
                        "logIndex": hex(index),
                        "removed": False,
                    }
                )
    for entry in logs:
        del entry["timeStamp"]  # only kept the key order realistic while building
    # Through JSON, so strings and dicts are laid out the way a real response's are.
    return json.loads(json.dumps({"jsonrpc": "2.0", "id": 1, "result": logs[:n]}))["result"]


def record(n: int) -> Logs:
    """``n`` real Transfer logs produced on a local anvil (mints, transfers, batch payouts)."""
    from tests.evm.anvil import AnvilNode, Chain, load_artifact

    rng = random.Random(11)
    with AnvilNode(chain_id=137) as node:  # its block gas limit fits 1,000-recipient batches
        chain = Chain(node.url)
        owner = chain.accounts[0]
        token = chain.deploy(load_artifact("TestToken"), "Render Token", "RNDR", 18)
        chain.send(token.functions.mint(owner, 2**200))
        recipients = [f"0x{rng.getrandbits(160):040x}" for _ in range(5_000)]
        start = chain.block_number()
        made = 1
        while made < n:
            size = min(1_000, n - made)
            batch = [chain.w3.to_checksum_address(rng.choice(recipients)) for _ in range(size)]
            amounts = [rng.getrandbits(80) for _ in range(size)]
            chain.send(token.functions.batchTransfer(batch, amounts), gas=900_000_000)
            made += size
        logs: Logs = []
        lo, hi = start, chain.block_number()
        for first in range(lo, hi + 1, 20):
            logs += chain.get_logs(token.address, first, min(hi, first + 19))
        return logs[:n]


def ours(batches: list[Logs], tokens: dict[str, str]) -> FlowColumns:
    """Our decoder, one call per eth_getLogs response."""
    flows = FlowColumns("polygon")
    for batch in batches:
        decode_transfer_logs(batch, tokens, flows)
    return flows


def eth_abi_per_log(batches: list[Logs]) -> FlowColumns:
    """The eth_abi baseline: one log at a time, as ethereum-etl-style indexers do."""
    import eth_abi

    flows = FlowColumns("polygon")
    for batch in batches:
        for entry in batch:
            topics = entry["topics"]
            if not topics or topics[0].casefold() != TRANSFER_TOPIC or len(topics) != 3:
                continue
            (value,) = eth_abi.decode(["uint256"], bytes.fromhex(entry["data"][2:]))
            src = ("0x" + topics[1][-40:]).lower()
            dst = ("0x" + topics[2][-40:]).lower()
            flows.block.append(int(entry["blockNumber"], 16))
            flows.tx.append(entry["transactionHash"].lower())
            flows.idx.append(int(entry["logIndex"], 16))
            flows.token.append(entry["address"].lower())
            flows.src.append(None if src == "0x" + "0" * 40 else src)
            flows.dst.append(None if dst == "0x" + "0" * 40 else dst)
            flows.amount.append(value)
    return flows


def eth_abi_all_fields_per_log(batches: list[Logs]) -> FlowColumns:
    """eth_abi decoding every field of the event, one log at a time (web3's way)."""
    import eth_abi

    flows = FlowColumns("polygon")
    zero = "0x" + "0" * 40
    for batch in batches:
        for entry in batch:
            topics = entry["topics"]
            if not topics or topics[0].casefold() != TRANSFER_TOPIC or len(topics) != 3:
                continue
            src, dst, value = eth_abi.decode(
                ["address", "address", "uint256"], bytes.fromhex(topics[1][2:] + topics[2][2:] + entry["data"][2:])
            )
            flows.block.append(int(entry["blockNumber"], 16))
            flows.tx.append(entry["transactionHash"].lower())
            flows.idx.append(int(entry["logIndex"], 16))
            flows.token.append(entry["address"].lower())
            flows.src.append(None if src == zero else src.lower())
            flows.dst.append(None if dst == zero else dst.lower())
            flows.amount.append(value)
    return flows


def naive_int_per_log(batches: list[Logs]) -> FlowColumns:
    """The same loop with int(x, 16): no eth_abi, no validation (context only)."""
    flows = FlowColumns("polygon")
    for batch in batches:
        for entry in batch:
            topics = entry["topics"]
            if not topics or topics[0].casefold() != TRANSFER_TOPIC or len(topics) != 3:
                continue
            src = ("0x" + topics[1][-40:]).lower()
            dst = ("0x" + topics[2][-40:]).lower()
            flows.block.append(int(entry["blockNumber"], 16))
            flows.tx.append(entry["transactionHash"].lower())
            flows.idx.append(int(entry["logIndex"], 16))
            flows.token.append(entry["address"].lower())
            flows.src.append(None if src == "0x" + "0" * 40 else src)
            flows.dst.append(None if dst == "0x" + "0" * 40 else dst)
            flows.amount.append(int(entry["data"], 16))
    return flows


def columns(flows: FlowColumns) -> tuple[list[Any], ...]:
    """The decoded columns, for comparing decoders."""
    return (flows.block, flows.tx, flows.idx, flows.token, flows.src, flows.dst, flows.amount)


def timed(decoder: Callable[[list[Logs]], FlowColumns], batches: list[Logs], repeat: int) -> tuple[float, FlowColumns]:
    """Median seconds over ``repeat`` runs (GC left on: it is part of the real cost)."""
    times = []
    result = FlowColumns("polygon")
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = decoder(batches)
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    """Generate or record the logs, time the decoders, print rates, ratio and memory."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 logs instead of 200,000")
    parser.add_argument("-n", "--logs", type=int, help="number of logs (overrides --quick)")
    parser.add_argument("--record", action="store_true", help="record real logs from a local anvil")
    parser.add_argument("--batch", type=int, default=10_000, help="logs per eth_getLogs response (default 10,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per decoder; the median is reported")
    args = parser.parse_args()
    n = args.logs or (20_000 if args.quick else 200_000)

    started = time.perf_counter()
    logs = record(n) if args.record else generate(n)
    source = "recorded from anvil" if args.record else "generated"
    print(f"{len(logs):,} Transfer logs {source} in {time.perf_counter() - started:.1f} s; responses of {args.batch:,}")
    batches = [logs[i : i + args.batch] for i in range(0, len(logs), args.batch)]
    rss_input = peak_rss_mb()

    tokens = {address: address for address in {entry["address"] for entry in logs}}
    t_ours, flows_ours = timed(partial(ours, tokens=tokens), batches, args.repeat)
    rss_ours = peak_rss_mb()
    t_full, flows_full = timed(eth_abi_all_fields_per_log, batches, args.repeat)
    t_abi, flows_abi = timed(eth_abi_per_log, batches, args.repeat)
    t_int, flows_int = timed(naive_int_per_log, batches, args.repeat)
    if any(columns(flows_ours) != columns(other) for other in (flows_full, flows_abi, flows_int)):
        raise SystemExit("the decoders disagree: the benchmark is void")

    rate_ours, rate_abi, rate_int = len(logs) / t_ours, len(logs) / t_abi, len(logs) / t_int
    rate_full = len(logs) / t_full
    print(f"ours (batched, strict)   : {rate_ours:>12,.0f} logs/s  ({t_ours * 1e9 / len(logs):6.0f} ns/log)")
    print(
        f"eth_abi, every field, one log at a time: {rate_full:>11,.0f} logs/s  "
        f"({t_full * 1e9 / len(logs):6.0f} ns/log)   ours/eth_abi = {rate_ours / rate_full:.1f}x"
    )
    print(
        f"eth_abi, amount only (addresses sliced by hand): {rate_abi:>11,.0f} logs/s  "
        f"({t_abi * 1e9 / len(logs):6.0f} ns/log)   ours/it = {rate_ours / rate_abi:.1f}x"
    )
    print(
        f"int(x, 16) per log, no validation (context): {rate_int:,.0f} logs/s"
        f"   ours/naive = {rate_ours / rate_int:.2f}x"
    )
    print(
        f"peak RSS: {rss_input:.0f} MB with the parsed input, {rss_ours:.0f} MB after ours, "
        f"{peak_rss_mb():.0f} MB at the end"
    )
    del flows_ours, flows_full, flows_abi, flows_int
    # Memory of decoding alone (result columns plus temporaries), in separate untimed runs.
    for name, decoder in (("ours", partial(ours, tokens=tokens)), ("eth_abi", eth_abi_per_log)):
        gc.collect()
        tracemalloc.start()
        result = decoder(batches)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del result
        print(f"python allocations while decoding ({name}): peak {peak / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
