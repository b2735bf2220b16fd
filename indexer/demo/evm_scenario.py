"""The demo's EVM traffic, played as real transactions on local anvil nodes.

Polygon (chain 137): the legacy RNDR job escrow. Customers pay RNDR into the escrow; the
escrow pays node operators weekly in one ``batchTransfer``. AIOZ (chain 168): customers
pay native AIOZ to a payments wallet; a rewards wallet pays nodes natively every few
days. One block per day (automine off, ``evm_mine`` at the day's timestamp) keeps three
months of traffic to a few hundred blocks, sent in JSON-RPC batches.
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

    def mine_day(self, timestamp: int, txs: list[dict[str, Any]]) -> None:
        """Send ``txs`` (pending) and mine them into one block at ``timestamp``."""
        if txs:
            hashes = self.batch([("eth_sendTransaction", [tx]) for tx in txs])
        else:
            hashes = []
        self.call("evm_setNextBlockTimestamp", timestamp)
        self.call("evm_mine")
        if hashes:
            receipts = self.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
            failed = [h for h, r in zip(hashes, receipts, strict=True) if r is None or r["status"] != "0x1"]
            if failed:
                raise RuntimeError(f"{len(failed)} demo transaction(s) failed, e.g. {failed[0]}")

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


@dataclass
class EvmPlan:
    """Addresses and token of one chain's demo traffic (what the config must label)."""

    token: str | None = None
    revenue: list[str] = field(default_factory=list)
    rewards: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    transactions: int = 0


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


def play_aioz(url: str, start: int, days: int, seed: int = 168, nodes: int = 50) -> EvmPlan:
    """Native AIOZ: customers → payments wallet (revenue); rewards wallet → nodes."""
    rng = random.Random(seed)
    chain = LocalEvm(url)
    try:
        customers = chain.accounts()[1:7]
        payments, rewards = _address(rng), _address(rng)
        node_addresses = [_address(rng) for _ in range(nodes)]
        uptime = {n: rng.choice((0.3, 0.6, 0.9, 1.0)) for n in node_addresses}
        chain.fund([payments, rewards, *customers], 10**27)
        chain.call("evm_setAutomine", False)
        plan = EvmPlan(revenue=[payments], rewards=[rewards], customers=customers, nodes=node_addresses)
        for day in range(days):
            txs = []
            for customer in customers:
                if rng.random() < 0.5:
                    value = rng.randint(100, 20_000) * 10**18 + rng.randint(0, 10**18 - 1)
                    txs.append({"from": customer, "to": payments, "value": hex(value), "gas": hex(21_000)})
            if day % 3 == 2:
                for node in node_addresses:
                    if rng.random() < uptime[node]:
                        value = int(rng.uniform(5, 120) * 10**18)
                        txs.append({"from": rewards, "to": node, "value": hex(value), "gas": hex(21_000)})
            chain.mine_day(start + day * DAY + 7200, txs)
            plan.transactions += len(txs)
        return plan
    finally:
        chain.close()


def _abi(name: str) -> list[dict[str, Any]]:
    abi: list[dict[str, Any]] = json.loads((CONTRACTS / f"{name}.json").read_text())["abi"]
    return abi
