"""Fuzzing the RPC client: whatever an endpoint sends back, only the client's own errors escape.

A tiny local HTTP server answers each request with what hypothesis draws: random bytes,
random JSON, JSON-RPC-shaped answers with wrong, missing, duplicated or foreign ids, odd
result/error members, any HTTP status, odd ``Retry-After`` values, a body shorter than its
``Content-Length``, a body that claims gzip. ``RpcClient.batch`` must then either return
one item per call (a result or an :class:`RpcError`) or raise :class:`RetryableRpcError` /
:class:`EndpointsExhausted` (or :class:`RpcError` for an endpoint that refuses even a
single call by size). A KeyError, TypeError, AttributeError... escaping is a bug: the
ingestor would crash instead of retrying elsewhere.

Ids and error codes are drawn from any JSON value (arrays and objects included): three
crashes of this kind were found and fixed, and the tests at the end pin them.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indexer.chains.rpc import EndpointsExhausted, RetryableRpcError, RpcClient, RpcError

ROOT = Path(__file__).resolve().parents[2]

# -- the server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the server sends back. ``items``: JSON-RPC-shaped answer, each item's ``id`` an
    ("echo", k) placeholder for the k-th request id or ("raw", value); else ``body`` as is."""

    status: int = 200
    body: bytes = b""
    items: list[dict[str, Any]] | None = None
    as_object: bool = False  # a single item sent as an object instead of an array
    retry_after: str | None = None
    short_body: bool = False  # Content-Length promises more than is sent
    claims_gzip: bool = False


@dataclass
class _State:
    answer: Answer = field(default_factory=Answer)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _render(answer: Answer, request: Any) -> bytes:
    if answer.items is None:
        return answer.body
    ids = [c.get("id") for c in request] if isinstance(request, list) else [request.get("id")]
    items = []
    for template in answer.items:
        item = dict(template)
        if "id" in item:
            how, value = item["id"]
            item["id"] = ids[value % len(ids)] if how == "echo" else value
        items.append(item)
    payload: Any = items[0] if answer.as_object and len(items) == 1 else items
    return json.dumps(payload).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    disable_nagle_algorithm = True  # headers and body go out as two writes: no delayed-ACK stall

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        answer = self.server.state.answer
        body = _render(answer, request)
        self.send_response(answer.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body) + (7 if answer.short_body else 0)))
        if answer.retry_after is not None:
            self.send_header("retry-after", answer.retry_after)
        if answer.claims_gzip:
            self.send_header("content-encoding", "gzip")
        self.end_headers()
        self.wfile.write(body)
        if answer.short_body:
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a short body


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, _State]]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.state = _State()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", srv.state
    srv.shutdown()
    srv.server_close()


# -- strategies ------------------------------------------------------------------------------

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
_hashable_json = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8)
_ids = st.tuples(st.just("echo"), st.integers(0, 5)) | st.tuples(st.just("raw"), _json)
_codes = _json | st.sampled_from([429, -32005, -32603, -32000, -32601])
_messages = _json | st.sampled_from(
    ["rate limit exceeded", "too many requests", "request timed out, try again", "batch too large", "header not found"]
)
_errors = _json | st.fixed_dictionaries({}, optional={"code": _codes, "message": _messages, "data": _json})


@st.composite
def _item(draw: st.DrawFn) -> dict[str, Any]:
    item = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "jsonrpc": st.sampled_from(["2.0", "1.0"]) | _json,
                "id": _ids,
                "result": _json,
                "error": _errors,
            },
        )
    )
    if draw(st.booleans()):
        item["id"] = ("echo", draw(st.integers(0, 5)))  # mostly well-addressed answers
    return item


_statuses = st.sampled_from([200] * 8 + [201, 204, 301, 400, 401, 404, 408, 413, 418, 429, 500, 502, 503, 504, 520])
_retry_after = st.none() | st.sampled_from(
    [
        "0",
        "0.01",
        "-5",
        "nan",
        "inf",
        "1e400",
        "abc",
        "",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ]
)


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    kind = draw(st.sampled_from(["bytes", "json", "rpc", "rpc"]))
    common = {
        "status": draw(_statuses),
        "retry_after": draw(_retry_after),
        "short_body": draw(st.integers(0, 19)) == 0,
        "claims_gzip": draw(st.integers(0, 19)) == 0,
    }
    if kind == "bytes":
        return Answer(body=draw(st.binary(max_size=200)), **common)
    if kind == "json":
        return Answer(body=json.dumps(draw(_json)).encode(), **common)
    return Answer(items=draw(st.lists(_item(), max_size=6)), as_object=draw(st.booleans()), **common)


_calls = st.lists(
    st.tuples(st.sampled_from(["eth_blockNumber", "eth_getLogs", "eth_getBlockByNumber"]), st.just([])),
    min_size=1,
    max_size=4,
)

# -- the property ----------------------------------------------------------------------------


class Asker:
    """One client and one event loop for every example (building an HTTP client costs more
    than the request); each ``batch`` starts with the endpoint's penalties forgotten."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = RpcClient("fuzz", [url], max_attempts=2, timeout=2.0, backoff_base=0.001, backoff_cap=0.002)

    def __call__(self, calls: list[tuple[str, list[Any]]]) -> list[Any] | Exception:
        """What ``batch`` returned, or the error it raised."""
        for endpoint in self.client.endpoints:
            endpoint.penalty_until, endpoint.consecutive_failures = 0.0, 0
        try:
            return self.loop.run_until_complete(self.client.batch(calls))
        except Exception as exc:
            return exc

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


@pytest.fixture(scope="module")
def ask(server: tuple[str, _State]) -> Iterator[Asker]:
    asker = Asker(server[0])
    yield asker
    asker.close()


def _acceptable(outcome: list[Any] | Exception, calls: list[Any]) -> bool:
    if isinstance(outcome, (RetryableRpcError, EndpointsExhausted)):
        return True
    if isinstance(outcome, RpcError):
        return "refuses even a single call" in outcome.message
    return isinstance(outcome, list) and len(outcome) == len(calls)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answer=answers(), calls=_calls)
@example(answer=Answer(body=b'{"jsonrpc":"2.0","id":1,"result":[{"address":"0x'), calls=[("eth_getLogs", [])])
@example(answer=Answer(items=[{"id": ("echo", 0), "error": {"code": "429", "message": None}}]), calls=[("x", [])])
def test_any_answer_gives_results_or_the_clients_own_errors(
    server: tuple[str, _State], ask: Asker, answer: Answer, calls: list[tuple[str, list[Any]]]
) -> None:
    state = server[1]
    with state.lock:
        state.answer = answer
        outcome = ask(calls)
    assert _acceptable(outcome, calls), f"{type(outcome).__name__}: {outcome!r}"


# -- known bugs, each pinned by one answer ------------------------------------------------------


def test_an_answer_with_an_array_as_id_is_retryable(server: tuple[str, _State], ask: Asker) -> None:
    state = server[1]
    with state.lock:
        state.answer = Answer(items=[{"jsonrpc": "2.0", "id": ("raw", [1]), "result": "0x1"}])
        outcome = ask([("eth_blockNumber", [])])
    assert isinstance(outcome, RetryableRpcError | EndpointsExhausted), f"{type(outcome).__name__}: {outcome!r}"


def test_an_error_with_an_array_as_code_comes_back_as_an_rpc_error(server: tuple[str, _State], ask: Asker) -> None:
    state = server[1]
    with state.lock:
        state.answer = Answer(items=[{"jsonrpc": "2.0", "id": ("echo", 0), "error": {"code": [], "message": "x"}}])
        outcome = ask([("eth_blockNumber", [])])
    assert isinstance(outcome, list) and isinstance(outcome[0], RpcError), f"{type(outcome).__name__}: {outcome!r}"


# Run as the indexer runs: in a process of its own. The test process must not decode it,
# since py_ecc (imported with web3 by the anvil helpers) raises the recursion limit to 100000
# and the C JSON decoder then overflows the C stack (a segfault) before hitting the limit.
_CLIENT = """
import asyncio, sys
from indexer.chains.rpc import RpcClient

async def go():
    async with RpcClient("fuzz", [sys.argv[1]], max_attempts=2, backoff_base=0.001, backoff_cap=0.002) as c:
        return await c.batch([("eth_blockNumber", [])])

try:
    print(type(asyncio.run(go())).__name__)
except Exception as exc:
    print(type(exc).__name__)
"""


def test_a_deeply_nested_body_is_retryable(server: tuple[str, _State]) -> None:
    url, state = server
    with state.lock:
        state.answer = Answer(body=b"[" * 100_000)
        proc = subprocess.run(
            [sys.executable, "-c", _CLIENT, url], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
        )
    outcome = proc.stdout.strip() or proc.stderr[-500:]
    assert outcome in ("RetryableRpcError", "EndpointsExhausted"), f"the indexer's client got {outcome}"
