"""A JSON-RPC server that answers like an EVM node from templates, at memory speed.

Serves ``eth_chainId``, ``eth_blockNumber``, ``eth_getBlockByNumber`` (headers) and
``eth_getLogs`` (ERC-20 Transfer logs) for a synthetic chain of ``blocks`` blocks with
``per_block`` transfers each. The log and header shapes are those anvil returns (every
key, same hex forms), so the ingestor parses and checks exactly what it would from a
node; only the node's own work is gone, which makes the ingestor the bottleneck.

With ``result_cap`` it refuses, as hosted providers do, an ``eth_getLogs`` that would
return more than that many logs: -32005 "query returned more than 10000 results. Try with
this block range [0x.., 0x..]." (Infura's and Alchemy's wording), the suggested range
starting at the query's start and holding as many blocks as fit under the cap.
"""

from __future__ import annotations

import multiprocessing
from http.server import ThreadingHTTPServer

from benchmarks._common import ReplayError, ReplayHandler, serve_in_process

TOKEN = "0x61299774020da444af134c82fa83e3810b309991"
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
T0 = 1_704_067_200


def block_hash(n: int) -> str:
    return f"0x{(n * 0x9E3779B97F4A7C15) % (1 << 256):064x}"


def header(n: int) -> str:
    return (
        f'{{"number":"{hex(n)}","hash":"{block_hash(n)}","parentHash":"{block_hash(n - 1)}",'
        f'"timestamp":"{hex(T0 + 2 * n)}","transactions":[],"logsBloom":"0x{"0" * 512}",'
        f'"gasLimit":"0x1c9c380","gasUsed":"0x5208","miner":"0x{"0" * 40}"}}'
    )


def logs(lo: int, hi: int, per_block: int) -> str:
    parts = []
    for n in range(lo, hi + 1):
        bh = block_hash(n)
        bn = hex(n)
        for i in range(per_block):
            k = n * per_block + i
            parts.append(
                f'{{"address":"{TOKEN}","topics":["{TRANSFER}",'
                f'"0x000000000000000000000000{(k * 40503) % (1 << 160):040x}",'
                f'"0x000000000000000000000000{(k * 65537 + 7) % (1 << 160):040x}"],'
                f'"data":"0x{10**18 * (k % 9973) + k:064x}","blockNumber":"{bn}","blockHash":"{bh}",'
                f'"transactionHash":"0x{(k * 2654435761) % (1 << 256):064x}","transactionIndex":"{hex(i)}",'
                f'"logIndex":"{hex(i)}","removed":false}}'
            )
    return "[" + ",".join(parts) + "]"


def too_many_results(lo: int, hi: int, per_block: int, cap: int) -> ReplayError | None:
    """The provider's refusal of ``lo..hi`` under a result cap, or None if it fits."""
    if cap <= 0 or (hi - lo + 1) * per_block <= cap:
        return None
    fits = max(1, cap // max(1, per_block))
    return ReplayError(
        -32005, f"query returned more than {cap} results. Try with this block range [{hex(lo)}, {hex(lo + fits - 1)}]."
    )


class _Handler(ReplayHandler):
    blocks = 0
    per_block = 0
    result_cap = 0

    def _answer(self, call: dict) -> str:  # type: ignore[type-arg]
        method, params = call["method"], call.get("params", [])
        if method == "eth_chainId":
            return '"0x89"'
        if method == "eth_blockNumber":
            return f'"{hex(self.blocks)}"'
        if method == "eth_getBlockByNumber":
            tag = params[0]
            n = self.blocks if tag in ("latest", "finalized", "safe") else int(tag, 16)
            return header(n) if 0 <= n <= self.blocks else "null"
        if method == "eth_getLogs":
            q = params[0]
            lo, hi = int(q["fromBlock"], 16), min(int(q["toBlock"], 16), self.blocks)
            refusal = too_many_results(lo, hi, self.per_block, self.result_cap)
            if refusal is not None:
                raise refusal
            return logs(lo, hi, self.per_block)
        return "null"


def _serve(port: int, blocks: int, per_block: int, result_cap: int) -> None:
    _Handler.blocks = blocks
    _Handler.per_block = per_block
    _Handler.result_cap = result_cap
    ThreadingHTTPServer(("127.0.0.1", port), _Handler).serve_forever()


def start(blocks: int, per_block: int, result_cap: int = 0) -> tuple[str, multiprocessing.Process]:
    """Run the server in its own process (its CPU is not ours); returns (url, process).

    ``result_cap`` > 0: eth_getLogs refuses more results than that, as providers do."""

    return serve_in_process(_serve, blocks, per_block, result_cap, probe="eth_chainId")
