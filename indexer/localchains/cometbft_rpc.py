"""A CometBFT JSON-RPC server over a :class:`~indexer.localchains.cometbft_chain.CometChain`.

Answers ``status``, ``block``, ``block_results``, ``health`` and ``abci_query`` (bank
``Query/Balance`` at a height) shaped as CometBFT 0.34/0.37/0.38 nodes answer them (field
names, string-encoded integers, null lists, error code -32603 with the reason in ``data``);
the shapes and the sources they were checked against are in tests/fixtures/cosmos/README.md.
JSON-RPC batch arrays are supported, over HTTP/1.1 keep-alive. It also serves the Cosmos REST
balance route (``GET /cosmos/bank/v1beta1/balances/{address}/by_denom?denom=…`` with the
``x-cosmos-block-height`` header), so one server can stand for both endpoints.

Usage::

    with CometRpcServer(chain) as url:
        ...  # url is http://127.0.0.1:PORT

``results_not_ready`` maps a height to how many more ``block_results`` calls answer "not yet"
(a node whose ``status`` ran ahead of its results).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from indexer.decode.cosmos import Bech32Error, canonical_address
from indexer.localchains.cometbft_chain import CometChain, Height
from indexer.localchains.loopback import LoopbackServer

COMETBFT_VERSION = {"0.34": "0.34.29", "0.37": "0.37.4", "0.38": "0.38.12"}


class RpcFailure(Exception):
    """A JSON-RPC error answer (code, message and data as CometBFT sends them)."""

    def __init__(self, code: int, message: str, data: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _internal(data: str) -> RpcFailure:
    # CometBFT puts the reason of a failed call in `data`, under a generic message.
    return RpcFailure(-32603, "Internal error", data)


def _fake_hash(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest().upper()


class CometRpcServer(LoopbackServer):
    """A loopback CometBFT RPC server for one chain; a context manager returning its URL."""

    thread_name = "cometbft-rpc"

    def __init__(self, chain: CometChain, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.chain = chain
        self.calls: Counter[str] = Counter()
        self.results_not_ready: dict[int, int] = {}
        self._cache: dict[tuple[str, int], bytes] = {}
        self._methods: dict[str, Callable[[dict[str, Any]], Any]] = {
            "status": self.status,
            "health": lambda params: {},
            "block": self.block,
            "block_results": self.block_results,
            "abci_query": self.abci_query,
        }

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    # --- JSON-RPC ------------------------------------------------------------------------

    def handle(self, body: bytes) -> bytes:
        """Answer one HTTP body (a request or a batch)."""
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _error(-1, RpcFailure(-32700, "Parse error", "error unmarshaling request"))
        if isinstance(request, list):
            if not request:
                return _error(-1, RpcFailure(-32600, "Invalid Request", "empty batch"))
            return b"[" + b",".join(self._one(r) for r in request) + b"]"
        return self._one(request)

    def _one(self, request: Any) -> bytes:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error(-1, RpcFailure(-32600, "Invalid Request", "not a JSON-RPC request"))
        rid = request.get("id", -1)
        fn = self._methods.get(request["method"])
        if fn is None:
            return _error(rid, RpcFailure(-32601, "Method not found", ""))
        params = request.get("params") or {}
        if isinstance(params, list):  # positional params, in the order of the method's arguments
            params = dict(
                zip(
                    ("height",) if request["method"] != "abci_query" else ("path", "data", "height", "prove"),
                    params,
                    strict=False,
                )
            )
        self.calls[request["method"]] += 1
        try:
            with self.chain.lock:
                result = fn(params)
        except RpcFailure as failure:
            return _error(rid, failure)
        if isinstance(result, bytes):
            return b'{"jsonrpc":"2.0","id":' + json.dumps(rid).encode() + b',"result":' + result + b"}"
        return json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}, separators=(",", ":")).encode()

    def _height(self, params: dict[str, Any]) -> Height:
        chain = self.chain
        value = params.get("height")
        if value in (None, "", 0, "0"):
            number = chain.head
        else:
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise RpcFailure(-32602, "Invalid params", f"error converting http param: {value!r}") from None
        if number <= 0:
            raise _internal(f"height must be greater than 0, but got {number}")
        if number > chain.head:
            raise _internal(f"height {number} must be less than or equal to the current blockchain height {chain.head}")
        return chain.heights[number - 1]

    def status(self, params: dict[str, Any]) -> Any:
        """``status`` (0.37 shape)."""
        chain = self.chain
        tip = chain.heights[chain.head - 1] if chain.head else None
        latest_time = chain.iso(tip.time) if tip else "1970-01-01T00:00:00Z"
        version = tip.version if tip else "0.37"
        return {
            "node_info": {
                "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
                "id": "3f4fb1b8e4ab3c8a2a9b1c5d6e7f8091a2b3c4d5",
                "listen_addr": "tcp://0.0.0.0:26656",
                "network": chain.network,
                "version": COMETBFT_VERSION[version],
                "channels": "40202122233038606100",
                "moniker": "local",
                "other": {"tx_index": "on", "rpc_address": "tcp://0.0.0.0:26657"},
            },
            "sync_info": {
                "latest_block_hash": _fake_hash("block", chain.head),
                "latest_app_hash": _fake_hash("app", chain.head),
                "latest_block_height": str(chain.head),
                "latest_block_time": latest_time,
                "earliest_block_hash": _fake_hash("block", 1),
                "earliest_app_hash": _fake_hash("app", 1),
                "earliest_block_height": "1",
                "earliest_block_time": chain.iso(chain.heights[0].time) if chain.heights else latest_time,
                "catching_up": False,
            },
            "validator_info": {
                "address": "0B3F9A5E4A2C1D8E7F6A5B4C3D2E1F0A9B8C7D6E",
                "pub_key": {
                    "type": "tendermint/PubKeyEd25519",
                    "value": "q0qVJ0k6F3dQ0qkJt0mNf2qRr1bG3wq5D1zN1n0QbWQ=",
                },
                "voting_power": "0",
            },
        }

    def block(self, params: dict[str, Any]) -> Any:
        """``block``: header, ``data.txs`` (base64 bytes), evidence, last commit."""
        h = self._height(params)
        key = ("block", h.number)
        if key not in self._cache:
            self._cache[key] = json.dumps(_block_json(self.chain, h), separators=(",", ":")).encode()
        return self._cache[key]

    def block_results(self, params: dict[str, Any]) -> Any:
        """``block_results`` in the shape of the height's CometBFT version."""
        h = self._height(params)
        left = self.results_not_ready.get(h.number, 0)
        if left > 0:
            self.results_not_ready[h.number] = left - 1
            raise _internal(
                f"height {h.number} must be less than or equal to the current blockchain height {h.number - 1}"
            )
        key = ("results", h.number)
        if key not in self._cache:
            self._cache[key] = json.dumps(_results_json(h), separators=(",", ":")).encode()
        return self._cache[key]

    def abci_query(self, params: dict[str, Any]) -> Any:
        """``abci_query`` of ``/cosmos.bank.v1beta1.Query/Balance`` (protobuf in, protobuf out)."""
        if params.get("path") != "/cosmos.bank.v1beta1.Query/Balance":
            return _abci_response(6, b"", 0, f"unknown query path: {params.get('path')}")
        fields = _protobuf_strings(bytes.fromhex(str(params.get("data") or "")))
        height = int(params.get("height") or 0) or self.chain.head
        if height > self.chain.head:
            raise _internal(
                f"height {height} must be less than or equal to the current blockchain height {self.chain.head}"
            )
        try:
            address = canonical_address(fields.get(1, ""), self.chain.prefix)
        except (Bech32Error, ValueError):
            return _abci_response(7, b"", height, "invalid address")
        denom = fields.get(2, "")
        amount = self.chain.balance_at(address, denom, height)
        coin = _protobuf_field(1, denom.encode()) + _protobuf_field(2, str(amount).encode())
        return _abci_response(0, _protobuf_field(1, coin), height, "")

    def rest_balance(self, path: str, height_header: str | None) -> tuple[int, dict[str, Any]]:
        """``GET /cosmos/bank/v1beta1/balances/{address}/by_denom?denom=`` at a height."""
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        if segments[:4] != ["cosmos", "bank", "v1beta1", "balances"] or len(segments) != 6 or segments[5] != "by_denom":
            return 501, {"code": 12, "message": "Not Implemented", "details": []}
        denom = (parse_qs(parts.query).get("denom") or [""])[0]
        with self.chain.lock:
            height = int(height_header or 0) or self.chain.head
            if height > self.chain.head:
                return 400, {"code": 3, "message": "invalid height", "details": []}
            try:
                address = canonical_address(segments[4], self.chain.prefix)
            except (Bech32Error, ValueError):
                return 400, {"code": 3, "message": "invalid address", "details": []}
            amount = self.chain.balance_at(address, denom, height)
        return 200, {"balance": {"denom": denom, "amount": str(amount)}}


def _block_json(chain: CometChain, h: Height) -> dict[str, Any]:
    parts = {"total": 1, "hash": _fake_hash("parts", h.number)}
    previous = (
        {"hash": _fake_hash("block", h.number - 1), "parts": parts}
        if h.number > 1
        else {"hash": "", "parts": {"total": 0, "hash": ""}}
    )
    header = {
        "version": {"block": "11", "app": "0"},
        "chain_id": chain.network,
        "height": str(h.number),
        "time": chain.iso(h.time),
        "last_block_id": previous,
        **{
            name: _fake_hash(name, h.number)
            for name in (
                "last_commit_hash",
                "data_hash",
                "validators_hash",
                "next_validators_hash",
                "consensus_hash",
                "app_hash",
                "last_results_hash",
                "evidence_hash",
            )
        },
        "proposer_address": "0B3F9A5E4A2C1D8E7F6A5B4C3D2E1F0A9B8C7D6E",
    }
    return {
        "block_id": {"hash": _fake_hash("block", h.number), "parts": parts},
        "block": {
            "header": header,
            "data": {"txs": [base64.b64encode(tx).decode() for tx in h.txs]},
            "evidence": {"evidence": []},
            "last_commit": {"height": str(max(0, h.number - 1)), "round": 0, "block_id": previous, "signatures": []},
        },
    }


def _results_json(h: Height) -> dict[str, Any]:
    # CometBFT answers null, not [], for an empty list of results or events.
    results: dict[str, Any] = {"height": str(h.number), "txs_results": h.results or None}
    if h.version == "0.38":
        results |= {
            "finalize_block_events": h.begin,
            "validator_updates": [],
            "consensus_param_updates": None,
            "app_hash": base64.b64encode(bytes.fromhex(_fake_hash("app", h.number))).decode(),
        }
    else:
        results |= {
            "begin_block_events": h.begin or None,
            "end_block_events": h.end or None,
            "validator_updates": None,
            "consensus_param_updates": None,
        }
    return results


def _abci_response(code: int, value: bytes, height: int, log: str) -> dict[str, Any]:
    return {
        "response": {
            "code": code,
            "log": log,
            "info": "",
            "index": "0",
            "key": None,
            "value": base64.b64encode(value).decode() if value else None,
            "proofOps": None,
            "height": str(height),
            "codespace": "sdk" if code else "",
        }
    }


def _protobuf_field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    out = bytearray([number << 3 | 2])
    n = len(payload)
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + payload


def _protobuf_strings(data: bytes) -> dict[int, str]:
    """The length-delimited fields of a flat protobuf message, as text."""
    out: dict[int, str] = {}
    i = 0
    while i < len(data):
        tag = data[i]
        i += 1
        n = shift = 0
        while True:
            byte = data[i]
            i += 1
            n |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        out[tag >> 3] = data[i : i + n].decode()
        i += n
    return out


def _error(rid: Any, failure: RpcFailure) -> bytes:
    body = {
        "jsonrpc": "2.0",
        "id": rid,
        "error": {"code": failure.code, "message": failure.message, "data": failure.data},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _handler_for(server: CometRpcServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            status, body = server.rest_balance(self.path, self.headers.get("x-cosmos-block-height"))
            self._send(status, json.dumps(body).encode())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._send(200, server.handle(self.rfile.read(length) if length else b""))

    return Handler
