"""Real ``anvil`` EVM nodes for the tests, and a small typed client to drive them.

:class:`AnvilNode` runs one anvil process on a free loopback port; :class:`Chain` talks to
it (web3 for contracts, raw JSON-RPC for what the indexer itself sees). No pytest here,
so benchmarks and scripts can use it too; the fixtures live in ``tests/evm/conftest.py``.

Blocks are mined when a transaction arrives (anvil's automine) with timestamps the test
chooses: :meth:`Chain.set_next_timestamp` / :meth:`Chain.mine` place blocks anywhere in
time (months apart), :meth:`Chain.block` puts several transactions into one block, and
:meth:`Chain.snapshot` / :meth:`Chain.revert` undo blocks (a reorg, as far as an
indexer polling the node can tell).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction

from indexer.localchains.anvil import (  # noqa: F401  (re-exported for the tests)
    BLOCK_GAS_LIMIT,
    CONTRACTS,
    GENESIS_TIMESTAMP,
    AnvilNode,
    AnvilNotFound,
    find_anvil,
    free_port,
)

FIXTURES = CONTRACTS

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


class RpcError(RuntimeError):
    """A JSON-RPC error answered by the node."""


def load_artifact(name: str) -> dict[str, Any]:
    """A compiled test contract, ``{"abi": [...], "bytecode": "0x..."}`` (see indexer/demo/contracts)."""
    artifact: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return artifact


_ids = itertools.count(1)


def rpc_call(client: httpx.Client, url: str, method: str, params: Sequence[Any] = ()) -> Any:
    """One raw JSON-RPC call; the ``result`` exactly as the node sent it."""
    response = client.post(url, json={"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": list(params)})
    response.raise_for_status()
    body = response.json()
    if "error" in body:
        raise RpcError(f"{method}: {body['error']}")
    return body["result"]


@dataclass
class PendingBlock:
    """Transactions gathered by :meth:`Chain.block`; ``number`` and ``receipts`` once mined."""

    hashes: list[str] = field(default_factory=list)
    number: int | None = None
    receipts: list[dict[str, Any]] = field(default_factory=list)


class Chain:
    """A typed handle on one anvil node: deploy, transact, mine, travel in time, fork."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
        self.http = httpx.Client(timeout=60.0)
        # anvil's default accounts: unlocked and funded, eth_sendTransaction works.
        self.accounts: list[str] = list(self.w3.eth.accounts)
        self._pending: PendingBlock | None = None

    def close(self) -> None:
        """Close the HTTP client (the node keeps running)."""
        self.http.close()

    # -- raw JSON-RPC: what the indexer sees -------------------------------------------

    def rpc(self, method: str, *params: Any) -> Any:
        """A raw JSON-RPC call; the result as ``json.loads`` made it (hex strings, no web3 formatting)."""
        return rpc_call(self.http, self.url, method, params)

    @property
    def chain_id(self) -> int:
        """The node's chain id, as eth_chainId reports it."""
        return int(self.rpc("eth_chainId"), 16)

    def block_number(self) -> int:
        """The newest block's number."""
        return int(self.rpc("eth_blockNumber"), 16)

    def get_block(self, number: int | str, full: bool = False) -> dict[str, Any] | None:
        """Raw eth_getBlockByNumber (a number or a tag); None where the node has no such block."""
        tag = hex(number) if isinstance(number, int) else number
        result: dict[str, Any] | None = self.rpc("eth_getBlockByNumber", tag, full)
        return result

    def get_receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """Raw eth_getTransactionReceipt."""
        result: dict[str, Any] | None = self.rpc("eth_getTransactionReceipt", tx_hash)
        return result

    def get_logs(
        self,
        address: str | Sequence[str],
        from_block: int,
        to_block: int,
        topics: Sequence[Any] | None = (TRANSFER_TOPIC,),
    ) -> list[dict[str, Any]]:
        """Raw ``eth_getLogs``: Transfer logs by default, every log with ``topics=None``."""
        query: dict[str, Any] = {
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "address": address if isinstance(address, str) else list(address),
        }
        if topics is not None:
            query["topics"] = list(topics)
        result: list[dict[str, Any]] = self.rpc("eth_getLogs", query)
        return result

    # -- transactions -------------------------------------------------------------------

    def deploy(self, artifact: dict[str, Any] | str, *args: Any, sender: str | None = None) -> Contract:
        """Deploy a compiled contract (an artifact or its name); the web3 contract at its address."""
        if isinstance(artifact, str):
            artifact = load_artifact(artifact)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self.send(factory.constructor(*args), sender=sender)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    def submit(
        self,
        tx: dict[str, Any] | ContractFunction | Any,
        *,
        sender: str | None = None,
        value: int | None = None,
        gas: int | None = None,
    ) -> str:
        """Send a transaction (a dict, a contract call or constructor); its hash (lower-case hex).

        Inside :meth:`block` the transaction waits in the pool; outside, anvil mines it at
        once. Without ``gas``, web3 estimates it, which fails for a call that depends on
        another transaction still pending: give ``gas`` inside :meth:`block`.
        """
        params: dict[str, Any] = {"from": sender or self.accounts[0]}
        if value is not None:
            params["value"] = value
        if gas is None and self._pending is not None:
            gas = 5_000_000
        if gas is not None:
            params["gas"] = gas
        if isinstance(tx, dict):
            payload = {**params, **tx}
            payload.setdefault("from", params["from"])
            tx_hash = self.w3.eth.send_transaction(payload)  # type: ignore[arg-type]
        else:
            tx_hash = tx.transact(params)
        text = Web3.to_hex(tx_hash).lower()
        if self._pending is not None:
            self._pending.hashes.append(text)
        return text

    def send(
        self,
        tx: dict[str, Any] | ContractFunction | Any,
        *,
        sender: str | None = None,
        value: int | None = None,
        gas: int | None = None,
    ) -> Any:
        """Send a transaction and return its receipt (web3's), mined at once.

        A reverted transaction is mined (status 0) when ``gas`` is given; without it web3's
        gas estimate raises instead.
        """
        if self._pending is not None:
            raise RuntimeError("send() inside block(): use submit(), receipts come when the block is mined")
        tx_hash = self.submit(tx, sender=sender, value=value, gas=gas)
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)  # type: ignore[arg-type]

    def transfer_native(self, sender: str, to: str | None, value: int, **extra: Any) -> Any:
        """Move native coin (``to=None`` with ``data`` in ``extra``: a contract creation)."""
        tx: dict[str, Any] = {"from": sender, "value": value, **extra}
        if to is not None:
            tx["to"] = Web3.to_checksum_address(to)
        return self.send(tx)

    @contextlib.contextmanager
    def block(self, timestamp: int | datetime | None = None) -> Iterator[PendingBlock]:
        """Gather the transactions submitted inside into one block, mined on exit."""
        if self._pending is not None:
            raise RuntimeError("block() does not nest")
        self.rpc("evm_setAutomine", False)
        pending = self._pending = PendingBlock()
        try:
            yield pending
        finally:
            self._pending = None
            try:
                pending.number = self.mine(1, timestamp=timestamp)
            finally:
                self.rpc("evm_setAutomine", True)
        pending.receipts = [self.get_receipt(h) or {} for h in pending.hashes]
        included = self.get_block(pending.number) or {}
        missing = set(pending.hashes) - {h.lower() for h in included.get("transactions", [])}
        if missing:
            raise RuntimeError(f"block {pending.number} lacks transactions {sorted(missing)}")

    # -- time and forks -----------------------------------------------------------------

    def set_next_timestamp(self, timestamp: int | datetime) -> None:
        """The next block's timestamp (Unix seconds or an aware datetime); must not go back."""
        self.rpc("evm_setNextBlockTimestamp", _seconds(timestamp))

    def mine(self, n: int = 1, timestamp: int | datetime | None = None, interval: int = 1) -> int:
        """Mine ``n`` blocks (the first at ``timestamp`` if given, then ``interval`` s apart);
        returns the number of the last one."""
        if timestamp is not None:
            self.set_next_timestamp(timestamp)
        self.rpc("anvil_mine", hex(n), hex(interval))
        return self.block_number()

    def snapshot(self) -> str:
        """Remember the chain's state; :meth:`revert` goes back to it (once)."""
        snapshot_id: str = self.rpc("evm_snapshot")
        return snapshot_id

    def revert(self, snapshot_id: str) -> None:
        """Back to a snapshot: later blocks disappear, as in a reorg."""
        if self.rpc("evm_revert", snapshot_id) is not True:
            raise RpcError(f"evm_revert({snapshot_id}) failed: unknown or already used snapshot")

    def reset_pool(self) -> None:
        """Automine back on and no transaction left pending (after a test that failed midway)."""
        self.rpc("evm_setAutomine", True)
        self.rpc("anvil_dropAllTransactions")


def _seconds(timestamp: int | datetime) -> int:
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("use an aware datetime (UTC) for block timestamps")
        return int(timestamp.timestamp())
    return int(timestamp)


class AnvilPool:
    """Anvil nodes started on first use, one per chain id; :meth:`close` stops them all."""

    def __init__(self) -> None:
        self.nodes: dict[int, AnvilNode] = {}

    def node(self, chain_id: int) -> AnvilNode:
        """The pool's node for ``chain_id``, started if needed (raises :class:`AnvilNotFound`)."""
        if chain_id not in self.nodes:
            self.nodes[chain_id] = AnvilNode(chain_id).start()
        return self.nodes[chain_id]

    def close(self) -> None:
        """Stop every node of the pool."""
        for node in self.nodes.values():
            node.stop()
        self.nodes.clear()


@contextlib.contextmanager
def isolated_chain(pool: AnvilPool, chain_id: int) -> Iterator[Chain]:
    """A :class:`Chain` on the pool's node for ``chain_id``; its changes are reverted on exit."""
    chain = Chain(pool.node(chain_id).url)
    snapshot = chain.snapshot()
    try:
        yield chain
    finally:
        chain.reset_pool()
        chain.revert(snapshot)
        chain.close()
