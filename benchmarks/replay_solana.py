"""A JSON-RPC server that answers like a Solana RPC node from templates, at memory speed.

One address (the payment wallet) has ``count`` transactions in its history. Each is one of
a pool of real ``getTransaction`` results (recorded from the SPL Token programs in LiteSVM
and varied by :func:`benchmarks.solana_decode.generate`: fresh keys, amounts and
signatures) with its own signature, slot and block time spliced in, so every answer
passes the decoder's balance check. Serves ``getSlot``, ``getSignaturesForAddress``
(newest first, ``before``/``until``/``limit`` as mainnet pages), ``getTransaction`` and
``getTokenAccountsByOwner`` (no token accounts). The node's own work is gone, which makes
the ingestor the bottleneck.
"""

from __future__ import annotations

import json
import multiprocessing
from http.server import ThreadingHTTPServer
from typing import Any

from benchmarks._common import ReplayHandler, serve_in_process
from indexer.decode.solana import b58decode, b58encode

WALLET = "F6nx6G8cencWKVMUaUkf9kCK4W6V6jKotgBBd5aXHUtD"  # sha256("bench payments wallet")
SLOT0 = 250_000_000
TIME0 = 1_717_200_000
_MARK = b"\x5a\x17"  # first bytes of every signature we make: tells ours from others


def signature(i: int) -> str:
    """The signature of transaction ``i`` (its index is inside, for the server to read)."""
    return b58encode(_MARK + i.to_bytes(8, "big") + bytes(54))


def index_of(sig: str) -> int | None:
    raw = b58decode(sig)
    if len(raw) != 64 or raw[:2] != _MARK:
        return None
    return int.from_bytes(raw[2:10], "big")


def slot_of(i: int) -> int:
    return SLOT0 + i // 3


def time_of(i: int) -> int:
    return TIME0 + (i // 3) * 2 // 5


_MARKS = {"sig": '"\\u0000SIG\\u0000"', "slot": '"\\u0000SLOT\\u0000"', "time": '"\\u0000TIME\\u0000"'}


class Pool:
    """Transactions as text split around their signature, slot and block time."""

    def __init__(self, texts: list[bytes]) -> None:
        self.parts: list[tuple[list[str], list[str]]] = []  # (text pieces, field between each)
        self.errs: list[str] = []
        for text in texts:
            tx = json.loads(text)
            tx["transaction"]["signatures"][0] = "\x00SIG\x00"
            tx["slot"] = "\x00SLOT\x00"
            tx["blockTime"] = "\x00TIME\x00"
            flat = json.dumps(tx, separators=(",", ":"))
            where = sorted((flat.index(mark), name) for name, mark in _MARKS.items())
            pieces, fields, at = [], [], 0
            for position, name in where:
                pieces.append(flat[at:position])
                fields.append(name)
                at = position + len(_MARKS[name])
            pieces.append(flat[at:])
            self.parts.append((pieces, fields))
            self.errs.append(json.dumps(tx["meta"]["err"], separators=(",", ":")))

    def transaction(self, i: int) -> str:
        pieces, fields = self.parts[i % len(self.parts)]
        values = {"sig": f'"{signature(i)}"', "slot": str(slot_of(i)), "time": str(time_of(i))}
        out = [pieces[0]]
        for name, piece in zip(fields, pieces[1:], strict=True):
            out.append(values[name])
            out.append(piece)
        return "".join(out)

    def err(self, i: int) -> str:
        return self.errs[i % len(self.errs)]


class _Handler(ReplayHandler):
    pool: Pool
    count = 0
    served: Any = None  # multiprocessing.Value: transactions served
    also: str = ""  # a second address (a followed mint) listing the same history

    def _answer(self, call: dict[str, Any]) -> str:
        method, params = call["method"], call.get("params", [])
        if method == "getSlot":
            return str(slot_of(self.count - 1) + 10)
        if method == "getTokenAccountsByOwner":
            return f'{{"context":{{"slot":{slot_of(self.count - 1)}}},"value":[]}}'
        if method == "getSignaturesForAddress":
            return self._signatures(params[0], params[1] if len(params) > 1 else {})
        if method == "getTransaction":
            i = index_of(params[0])
            if i is None or not 0 <= i < self.count:
                return "null"
            with self.served.get_lock():
                self.served.value += 1
            return self.pool.transaction(i)
        return "null"

    def _signatures(self, address: str, options: dict[str, Any]) -> str:
        if address not in (WALLET, self.also):
            return "[]"
        hi = self.count  # exclusive
        if options.get("before"):
            b = index_of(options["before"])
            if b is None:
                return "[]"
            hi = min(hi, b)
        lo = 0
        if options.get("until"):
            u = index_of(options["until"])
            if u is not None:
                lo = u + 1
        limit = int(options.get("limit", 1000))
        entries = []
        for i in range(hi - 1, max(lo, hi - limit) - 1, -1):
            entries.append(
                f'{{"signature":"{signature(i)}","slot":{slot_of(i)},"err":{self.pool.err(i)},"memo":null,'
                f'"blockTime":{time_of(i)},"confirmationStatus":"finalized"}}'
            )
        return "[" + ",".join(entries) + "]"


def _serve(port: int, pool: Pool, count: int, served: Any, also: str) -> None:
    _Handler.pool, _Handler.count, _Handler.served, _Handler.also = pool, count, served, also
    ThreadingHTTPServer(("127.0.0.1", port), _Handler).serve_forever()


def start(texts: list[bytes], count: int, also: str = "") -> tuple[str, multiprocessing.Process, Any]:
    """Run the server in its own process (its CPU is not ours); returns (url, process, served)."""

    served = multiprocessing.Value("q", 0)
    url, proc = serve_in_process(_serve, Pool(texts), count, served, also, probe="getSlot")
    return url, proc, served
