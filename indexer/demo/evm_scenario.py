"""The demo's EVM traffic, played as real transactions on local anvil nodes.

Polygon (chain 137): the legacy RNDR job escrow. Customers pay RNDR into the escrow; the
escrow pays node operators weekly in one ``batchTransfer``. AIOZ (chain 168): customers
pay native AIOZ to a payments wallet (node rewards move on the Cosmos side of AIOZ:
:mod:`indexer.demo.cosmos_scenario`). One block per day (automine off, ``evm_mine`` at
the day's timestamp) keeps three months of traffic to a few hundred blocks, sent in
JSON-RPC batches.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field
from typing import Any

import httpx
from web3 import Web3

from indexer.localchains.anvil import CONTRACTS

DAY = 86_400
_ids = itertools.count(1)


class LocalEvm:
    """Raw JSON-RPC to one anvil node, with batches."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=60)
        self.w3 = Web3()  # offline: only for ABI encoding

    def call(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call; its ``result``."""
        return self.batch([(method, list(params))])[0]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """A JSON-RPC batch of ``(method, params)``; the results in order, raising on any error."""
        body = [{"jsonrpc": "2.0", "id": next(_ids), "method": m, "params": p} for m, p in calls]
        answers = {a["id"]: a for a in self.http.post(self.url, json=body).json()}
        out = []
        for request in body:
            answer = answers[request["id"]]
            if "error" in answer:
                raise RuntimeError(f"{request['method']} failed on the local chain: {answer['error']}")
            out.append(answer["result"])
        return out

    def accounts(self) -> list[str]:
        """The node's unlocked accounts, lowercase."""
        return [a.lower() for a in self.call("eth_accounts")]

    def fund(self, addresses: list[str], wei: int) -> None:
        """Give addresses gas money and let us send from them (anvil impersonation)."""
        self.batch([("anvil_setBalance", [a, hex(wei)]) for a in addresses])
        self.batch([("anvil_impersonateAccount", [a]) for a in addresses])

    def mine_day(self, timestamp: int, txs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send ``txs`` (pending) and mine them into one block at ``timestamp``; their receipts."""
        if txs:
            hashes = self.batch([("eth_sendTransaction", [tx]) for tx in txs])
        else:
            hashes = []
        self.call("evm_setNextBlockTimestamp", timestamp)
        self.call("evm_mine")
        if not hashes:
            return []
        receipts = self.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        failed = [h for h, r in zip(hashes, receipts, strict=True) if r is None or r["status"] != "0x1"]
        if failed:
            raise RuntimeError(f"{len(failed)} demo transaction(s) failed, e.g. {failed[0]}")
        return list(receipts)

    def deploy(self, name: str, *args: Any, sender: str) -> str:
        """Deploy the compiled contract ``name`` (in ``contracts/``) from ``sender``; its address, lowercase."""
        artifact = json.loads((CONTRACTS / f"{name}.json").read_text())
        contract = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        data = contract.constructor(*args).data_in_transaction
        tx_hash = self.call("eth_sendTransaction", {"from": sender, "data": data, "gas": hex(5_000_000)})
        self.call("evm_mine")
        receipt = self.call("eth_getTransactionReceipt", tx_hash)
        return str(receipt["contractAddress"]).lower()

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()


def _address(rng: random.Random) -> str:
    return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))


@dataclass(frozen=True, slots=True)
class ValueTransfer:
    """One native-coin transfer sent on an EVM chain: block time, parties (0x), wei, fee, hash."""

    time: int
    sender: str
    recipient: str
    value: int
    fee: int
    tx_hash: str


@dataclass
class EvmPlan:
    """Addresses and token of one chain's demo traffic (what the config must label)."""

    token: str | None = None
    revenue: list[str] = field(default_factory=list)
    rewards: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    transactions: int = 0
    value_transfers: list[ValueTransfer] = field(default_factory=list)


def play_polygon(url: str, start: int, days: int, seed: int = 137, nodes: int = 60) -> EvmPlan:
    """Legacy RNDR: customers → job escrow (revenue); escrow → nodes weekly (rewards)."""
    rng = random.Random(seed)
    chain = LocalEvm(url)
    try:
        owner, *customers = chain.accounts()[:8]
        escrow = _address(rng)
        node_addresses = [_address(rng) for _ in range(nodes)]
        uptime = {n: rng.choice((0.2, 0.5, 0.8, 0.95, 1.0)) for n in node_addresses}
        chain.fund([escrow], 10**21)
        chain.call("evm_setAutomine", False)
        chain.call("evm_setNextBlockTimestamp", start - DAY)
        token = chain.deploy("TestToken", "Render Token (demo)", "RNDR", 18, sender=owner)
        erc20 = chain.w3.eth.contract(address=Web3.to_checksum_address(token), abi=_abi("TestToken"))

        def call(sender: str, fn: Any) -> dict[str, Any]:
            return {"from": sender, "to": token, "data": fn._encode_transaction_data(), "gas": hex(3_000_000)}

        setup = [call(owner, erc20.functions.mint(Web3.to_checksum_address(c), 10**24)) for c in customers]
        chain.mine_day(start - DAY // 2, setup)
        plan = EvmPlan(token=token, revenue=[escrow], rewards=[escrow], customers=customers, nodes=node_addresses)
        plan.transactions = len(setup) + 1
        for day in range(days):
            txs = []
            for customer in customers:
                if rng.random() < 0.45:
                    amount = rng.randint(50, 5_000) * 10**18 + rng.randint(0, 10**18 - 1)
                    txs.append(call(customer, erc20.functions.transfer(Web3.to_checksum_address(escrow), amount)))
            if day % 7 == 6:
                paid = [n for n in node_addresses if rng.random() < uptime[n]]
                amounts = [int(rng.uniform(20, 400) * 10**18) for _ in paid]
                txs.append(
                    call(escrow, erc20.functions.batchTransfer([Web3.to_checksum_address(n) for n in paid], amounts))
                )
            chain.mine_day(start + day * DAY + 3600 * (day % 20 + 1), txs)
            plan.transactions += len(txs)
        return plan
    finally:
        chain.close()


def play_aioz(url: str, start: int, days: int, seed: int = 168) -> EvmPlan:
    """Native AIOZ on the EVM side: customers → payments wallet, as EVM value transfers.

    Node rewards are not played here: on AIOZ they are withdrawn through Cosmos
    transactions (docs/sources.md, "AIOZ rewards path"), which the demo plays on its
    CometBFT server (:mod:`indexer.demo.cosmos_scenario`). Every transfer sent here is
    kept in ``value_transfers``, for that server to show as the Cosmos side does.
    """
    rng = random.Random(seed)
    chain = LocalEvm(url)
    try:
        customers = chain.accounts()[1:7]
        payments = _address(rng)
        chain.fund([payments, *customers], 10**27)
        chain.call("evm_setAutomine", False)
        plan = EvmPlan(revenue=[payments], customers=customers)
        for day in range(days):
            txs = []
            for customer in customers:
                if rng.random() < 0.5:
                    value = rng.randint(100, 20_000) * 10**18 + rng.randint(0, 10**18 - 1)
                    txs.append({"from": customer, "to": payments, "value": hex(value), "gas": hex(21_000)})
            when = start + day * DAY + 7200
            receipts = chain.mine_day(when, txs)
            for tx, receipt in zip(txs, receipts, strict=True):
                fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
                plan.value_transfers.append(
                    ValueTransfer(when, tx["from"], tx["to"], int(tx["value"], 16), fee, receipt["transactionHash"])
                )
            plan.transactions += len(txs)
        return plan
    finally:
        chain.close()


def _abi(name: str) -> list[dict[str, Any]]:
    abi: list[dict[str, Any]] = json.loads((CONTRACTS / f"{name}.json").read_text())["abi"]
    return abi
