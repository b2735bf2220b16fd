"""A fault-injecting JSON-RPC proxy: the network boundary where real peers can't misbehave.

It forwards each HTTP request to a real upstream (anvil, the local Solana server) and,
when its plan says so, answers instead with a fault a real provider produces: 429 with
Retry-After, 5xx, a timeout, a dropped connection, truncated or wrong-shaped JSON, -32603
for every call of a request, a well-formed answer whose result is not the method's, a
stall before the real answer, -32005 "more than 10000 results" (naming a range to use, as
Infura does, with ``suggest_range``), or a head that lags behind. With ``result_cap`` it
also acts as a provider capping eth_getLogs results: an answer with more logs than the cap
becomes -32005 naming the longest range from the query's start that fits under it. The plan is a function of the request number and the parsed body,
so a test states exactly which request fails and how.
"""

from __future__ import annotations

import json
import random
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAULTS = (
    "429",
    "500",
    "502",
    "503",
    "timeout",
    "reset",
    "truncated",
    "wrong_shape",
    "empty",
    "internal_error",
    "wrong_result",
)
# Not a failure: the real answer, after a pause (a provider's cold cache or queue).
DELAYS = ("stall",)


class FaultDeck:
    """A plan: about ``rate`` of requests get a fault, dealt from a reshuffled deck of
    ``kinds``, so every kind comes up once in each run of ``len(kinds)`` faults however the
    requests are ordered. ``skip_first`` leaves that many requests alone (start-up)."""

    def __init__(self, seed: int, kinds: tuple[str, ...], rate: float = 0.1, skip_first: int = 0) -> None:
        self.rng = random.Random(seed)
        self.kinds = kinds
        self.rate = rate
        self.skip_first = skip_first
        self.deck: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, number: int, _body: Any) -> str | None:
        with self.lock:
            if number < self.skip_first or self.rng.random() >= self.rate:
                return None
            if not self.deck:
                self.deck = list(self.kinds)
                self.rng.shuffle(self.deck)
            return self.deck.pop()


Plan = Callable[[int, Any], str | None]


@dataclass
class ProxyLog:
    """What the proxy saw and did, for assertions."""

    requests: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _ProxyServer

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        srv = self.server
        with srv.log.lock:
            number = srv.log.requests
            srv.log.requests += 1
            methods = (
                [c.get("method") for c in parsed] if isinstance(parsed, list) else [parsed and parsed.get("method")]
            )
            srv.log.methods.extend(str(m) for m in methods)
        fault = srv.plan(number, parsed)
        if fault == "logs_too_large":
            # What Infura/Alchemy-style providers answer for too wide an eth_getLogs; in a
            # batch, only that item fails and the others are answered.
            with srv.log.lock:
                srv.log.faults[fault] = srv.log.faults.get(fault, 0) + 1
            answer = json.loads(self._forward(body)[1])
            calls = parsed if isinstance(parsed, list) else [parsed]
            items = answer if isinstance(answer, list) else [answer]
            logs_calls = {c.get("id"): c for c in calls if isinstance(c, dict) and c.get("method") == "eth_getLogs"}
            for item in items:
                if item.get("id") in logs_calls:
                    item.pop("result", None)
                    item["error"] = _too_many_results(logs_calls[item["id"]], srv.suggest_range)
            self._reply(200, json.dumps(answer).encode())
            return
        if fault == "stall":
            # A provider that answers, but only after a long pause (a cold cache, a queue).
            with srv.log.lock:
                srv.log.faults[fault] = srv.log.faults.get(fault, 0) + 1
            time.sleep(srv.stall_seconds)
        elif fault:
            with srv.log.lock:
                srv.log.faults[fault] = srv.log.faults.get(fault, 0) + 1
            self._fault(fault, parsed)
            return
        status, payload = self._forward(body)
        if srv.result_cap is not None and parsed is not None:
            payload = self._cap_results(parsed, payload)
        if srv.rewrite is not None and parsed is not None:
            payload = json.dumps(srv.rewrite(parsed, json.loads(payload))).encode()
        self._reply(status, payload)

    def _cap_results(self, parsed: Any, payload: bytes) -> bytes:
        """Refuse, as a provider capping results does, each eth_getLogs answer over the cap."""
        cap = self.server.result_cap
        assert cap is not None
        calls = parsed if isinstance(parsed, list) else [parsed]
        logs_calls = {c.get("id"): c for c in calls if isinstance(c, dict) and c.get("method") == "eth_getLogs"}
        if not logs_calls:
            return payload
        answer = json.loads(payload)
        items = answer if isinstance(answer, list) else [answer]
        for item in items:
            logs = item.get("result")
            if item.get("id") not in logs_calls or not isinstance(logs, list) or len(logs) <= cap:
                continue
            lo = int(logs_calls[item["id"]]["params"][0]["fromBlock"], 16)
            # The longest range from the query's start whose logs fit (one block at least).
            fits = max(lo, int(sorted(logs, key=lambda e: int(e["blockNumber"], 16))[cap]["blockNumber"], 16) - 1)
            item.pop("result")
            item["error"] = {
                "code": -32005,
                "message": f"query returned more than {cap} results. Try with this block range [{hex(lo)}, {hex(fits)}].",
            }
            with self.server.log.lock:
                self.server.log.faults["result_cap"] = self.server.log.faults.get("result_cap", 0) + 1
        return json.dumps(answer).encode()

    def _forward(self, body: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(self.server.upstream, data=body, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as upstream:
            return upstream.status, upstream.read()

    def _reply(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _fault(self, fault: str, parsed: Any) -> None:
        if fault == "429":
            self._reply(429, b'{"error":"too many requests"}', {"retry-after": str(self.server.retry_after)})
        elif fault in ("500", "502", "503"):
            self._reply(int(fault), b"<html>upstream error</html>")
        elif fault == "413":
            self._reply(413, b'{"error":"batch too large"}')
        elif fault == "timeout":
            time.sleep(self.server.timeout_seconds)
            self._reply(504, b"")
        elif fault == "reset":
            # SO_LINGER 0: the close sends RST, as a crashed load balancer does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
        elif fault == "truncated":
            self._reply(200, b'{"jsonrpc":"2.0","id":1,"result":[{"address":"0x')
        elif fault == "wrong_shape":
            self._reply(200, b'{"hello":"world"}')
        elif fault == "empty":
            self._reply(200, b"")
        elif fault in ("internal_error", "wrong_result"):
            # Well-formed JSON-RPC for every call of the request: -32603 as hosted providers
            # answer their own transient failures, or a result that is not the method's.
            item: dict[str, Any] = (
                {"error": {"code": -32603, "message": "internal error"}}
                if fault == "internal_error"
                else {"result": {"unexpected": "shape"}}
            )
            calls = parsed if isinstance(parsed, list) else [parsed]
            answers = [{"jsonrpc": "2.0", "id": c.get("id") if isinstance(c, dict) else None, **item} for c in calls]
            self._reply(200, json.dumps(answers if isinstance(parsed, list) else answers[0]).encode())
        else:
            raise ValueError(f"unknown fault {fault!r}")


def _too_many_results(call: dict[str, Any], suggest: bool) -> dict[str, Any]:
    """Infura's -32005 for too many logs; with ``suggest``, the range it says would work
    (the first third of the one asked)."""
    message = "query returned more than 10000 results"
    if suggest:
        query = call["params"][0]
        lo, hi = int(query["fromBlock"], 16), int(query["toBlock"], 16)
        message += f". Try with this block range [{hex(lo)}, {hex(lo + (hi - lo) // 3)}]."
    return {"code": -32005, "message": message}


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    upstream: str
    plan: Plan
    log: ProxyLog
    retry_after: float
    timeout_seconds: float
    stall_seconds: float
    suggest_range: bool
    result_cap: int | None
    rewrite: Callable[[Any, Any], Any] | None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up waiting (its own timeout) or a connection reset on purpose:
        # expected here, not worth a traceback on stderr.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextmanager
def fault_proxy(
    upstream: str,
    plan: Plan | None = None,
    *,
    retry_after: float = 1.0,
    timeout_seconds: float = 3.0,
    stall_seconds: float = 3.0,
    suggest_range: bool = False,
    result_cap: int | None = None,
    rewrite: Callable[[Any, Any], Any] | None = None,
) -> Iterator[tuple[str, ProxyLog]]:
    """Run a proxy to ``upstream`` on a free loopback port; yields (url, log)."""
    server = _ProxyServer(("127.0.0.1", 0), _Handler)
    server.upstream = upstream
    server.plan = plan or (lambda _n, _body: None)
    server.log = ProxyLog()
    server.retry_after = retry_after
    server.timeout_seconds = timeout_seconds
    server.stall_seconds = stall_seconds
    server.suggest_range = suggest_range
    server.result_cap = result_cap
    server.rewrite = rewrite
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.log
    finally:
        server.shutdown()
        server.server_close()


def dead_endpoint() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
