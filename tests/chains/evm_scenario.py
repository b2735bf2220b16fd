"""Make real token traffic on anvil and remember what was sent: the oracle of EVM tests."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from web3 import HTTPProvider, Web3

from indexer.localchains.anvil import CONTRACTS as FIXTURES

ZERO = "0x" + "0" * 40
JAN_2024 = 1_704_067_200


def artifact(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class EvmScenario:
    """A token on anvil plus a ledger of every transfer made through it."""

    def __init__(self, url: str) -> None:
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
        self.accounts = [a.lower() for a in self.w3.eth.accounts]
        self.owner = self.w3.eth.accounts[0]
        self.sent: list[tuple[str, str | None, str | None, int]] = []  # (tx, src, dst, amount)
        self.token: Any = None
        self.next_time = JAN_2024

    # -- chain control ------------------------------------------------------------------

    def rpc(self, method: str, *params: Any) -> Any:
        return self.w3.provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]

    def at(self, timestamp: int) -> None:
        """The next block gets this timestamp."""
        self.next_time = timestamp
        self.rpc("evm_setNextBlockTimestamp", timestamp)

    def tick(self, seconds: int = 3600) -> None:
        self.at(self.next_time + seconds)

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.tick(60)
            self.rpc("evm_mine")

    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str, forget_after: int) -> None:
        """Revert the chain and drop sent transfers that lived in the undone blocks."""
        assert self.rpc("evm_revert", snapshot_id) is True
        self.sent = [s for s in self.sent if s[0] in self._tx_blocks and self._tx_blocks[s[0]] <= forget_after]

    # -- traffic ------------------------------------------------------------------------

    _tx_blocks: dict[str, int]

    def deploy_token(self, symbol: str = "RNDR", decimals: int = 18) -> str:
        art = artifact("TestToken")
        contract = self.w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        self.tick()
        receipt = self._wait(contract.constructor(f"{symbol} test", symbol, decimals).transact({"from": self.owner}))
        self.token = self.w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])
        self._tx_blocks = {}
        return str(receipt["contractAddress"]).lower()

    def mint(self, to: str, amount: int) -> str:
        self.tick()
        tx = self._wait(self.token.functions.mint(Web3.to_checksum_address(to), amount).transact({"from": self.owner}))
        return self._record(tx, None, to, amount)

    def transfer(self, frm: str, to: str, amount: int) -> str:
        self.tick()
        tx = self._wait(
            self.token.functions.transfer(Web3.to_checksum_address(to), amount).transact(
                {"from": Web3.to_checksum_address(frm)}
            )
        )
        return self._record(tx, frm, to, amount)

    def burn(self, frm: str, amount: int) -> str:
        self.tick()
        tx = self._wait(self.token.functions.burn(amount).transact({"from": Web3.to_checksum_address(frm)}))
        return self._record(tx, frm, None, amount)

    def batch_transfer(self, frm: str, recipients: list[str], amounts: list[int]) -> str:
        self.tick()
        tx = self._wait(
            self.token.functions.batchTransfer([Web3.to_checksum_address(r) for r in recipients], amounts).transact(
                {"from": Web3.to_checksum_address(frm)}
            )
        )
        for r, a in zip(recipients, amounts, strict=True):
            self._record(tx, frm, r, a)
        return str(tx["transactionHash"].to_0x_hex())

    def _wait(self, tx_hash: Any) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, receipt
        return receipt

    def _record(self, receipt: Any, src: str | None, dst: str | None, amount: int) -> str:
        tx = receipt["transactionHash"].to_0x_hex()
        self._tx_blocks[tx] = int(receipt["blockNumber"])
        self.sent.append((tx, src.lower() if src else None, dst.lower() if dst else None, amount))
        return str(tx)

    def expected(self) -> Counter[tuple[str, str | None, str | None, int]]:
        return Counter(self.sent)
