"""Fixtures of the Solana tests: one scenario ledger per session, served over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.solana.scenario import World, build_world


class Rpc:
    """A minimal JSON-RPC client over httpx (raw answers, so shapes can be checked)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=30)
        self._id = 0

    def raw(self, method: str, params: list[Any] | None = None) -> dict[str, Any]:
        """The whole JSON-RPC answer object."""
        self._id += 1
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": self._id, "method": method}
        if params is not None:
            body["params"] = params
        return self.http.post(self.url, json=body).json()

    def text(self, method: str, params: list[Any] | None = None) -> str:
        """The answer as text (for solders' ``from_json``)."""
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": params or []}
        return self.http.post(self.url, json=body).text

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        """The ``result``; an ``error`` fails the test."""
        answer = self.raw(method, params)
        assert "error" not in answer, answer
        return answer["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """One HTTP request, many calls; answers in request order."""
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        answers = self.http.post(self.url, content=json.dumps(body)).json()
        return sorted(answers, key=lambda a: a["id"])

    def transactions(self, signatures: list[str]) -> list[Any]:
        """getTransaction (json, v0) of each signature, 100 per HTTP request."""
        options = {"encoding": "json", "maxSupportedTransactionVersion": 0, "commitment": "finalized"}
        out: list[Any] = []
        for start in range(0, len(signatures), 100):
            part = signatures[start : start + 100]
            for answer in self.batch([("getTransaction", [s, options]) for s in part]):
                assert "error" not in answer, answer
                out.append(answer["result"])
        return out

    def all_signatures(self, address: str, **options: Any) -> list[dict[str, Any]]:
        """Every getSignaturesForAddress entry of ``address``, paging with ``before``."""
        found: list[dict[str, Any]] = []
        before = None
        while True:
            config = dict(options)
            if before:
                config["before"] = before
            page = self.call("getSignaturesForAddress", [address, config])
            found += page
            if len(page) < config.get("limit", 1000):
                return found
            before = page[-1]["signature"]


@pytest.fixture(scope="session")
def world() -> World:
    """The scenario, executed once per session."""
    return build_world()


@pytest.fixture(scope="session")
def server(world: World) -> Iterator[SolanaRpcServer]:
    """The scenario's ledger on a loopback JSON-RPC server."""
    srv = SolanaRpcServer(world.ledger)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def rpc(server: SolanaRpcServer) -> Iterator[Rpc]:
    """A client of :func:`server`."""
    client = Rpc(server.url)
    yield client
    client.http.close()


@pytest.fixture(scope="session")
def fetched(world: World, rpc: Rpc) -> list[dict[str, Any]]:
    """Every transaction of the scenario, fetched over HTTP."""
    return rpc.transactions(world.ledger.signatures)
