"""A Cosmos SDK chain's history as CometBFT serves it: blocks, transactions, events.

:class:`CometChain` holds heights built by the helpers here (a bank send, a failed
transaction, block-level mints, rewards and burns), each one emitting the events a Cosmos
SDK node emits for it (coin_spent, coin_received, transfer, message, tx, coinbase, burn),
and keeps its **own record** of every bank movement and every balance. Tests compare what
the indexer stored with that record, never with the indexer's decoder.

Encodings follow the CometBFT version of each height: ``0.34`` (attributes base64),
``0.37`` (plain, ``begin_block_events``/``end_block_events``), ``0.38`` (plain,
``finalize_block_events``). A chain can change version at a height, as real chains upgrade.
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from indexer.decode.cosmos import bech32_encode, module_address

# (tx id, idx, src 0x, dst 0x, denom, amount, height, block time)
Movement = tuple[str, int, str | None, str | None, str, int, int, int]
_COINS_PER_EVENT = 1000


@dataclass
class Height:
    """One height: its block time, transactions (bytes, result) and block-level events."""

    number: int
    time: int
    version: str
    txs: list[bytes] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    begin: list[dict[str, Any]] = field(default_factory=list)
    end: list[dict[str, Any]] = field(default_factory=list)


def _attribute(key: str, value: str, encoded: bool) -> dict[str, Any]:
    if encoded:
        key = base64.b64encode(key.encode()).decode()
        value = base64.b64encode(value.encode()).decode()
    return {"key": key, "value": value, "index": True}


def coins_text(coins: list[tuple[int, str]]) -> str:
    """``12attoaioz,5uatom`` (the SDK sorts a coin list by denom)."""
    return ",".join(f"{amount}{denom}" for amount, denom in sorted(coins, key=lambda c: c[1]))


class CometChain:
    """A chain history, thread-safe for the server; heights above ``head`` are not there yet."""

    def __init__(self, prefix: str = "aioz", network: str = "aioz_168-1", start_time: int = 1_735_689_600) -> None:
        self.prefix = prefix
        self.network = network
        self.heights: list[Height] = []
        self.movements: list[Movement] = []
        self.balances: dict[tuple[str, str], int] = defaultdict(int)
        self.balance_history: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
        self.head = 0
        self.lock = threading.Lock()
        self._bech32: dict[bytes, str] = {}
        self._time = start_time
        self.fee_collector = module_address("fee_collector")
        self.mint_module = module_address("mint")
        self.distribution = module_address("distribution")
        self.node_rewards = module_address("bonus")
        self.evm_module = module_address("evm")

    def bech32(self, raw: bytes) -> str:
        """The chain's text form of an account (cached: encoding is most of building a height)."""
        text = self._bech32.get(raw)
        if text is None:
            text = self._bech32[raw] = bech32_encode(self.prefix, raw)
        return text

    # --- building heights -----------------------------------------------------------------

    def new_height(self, version: str = "0.37", seconds: int = 6, *, at: int | None = None) -> Height:
        """Append an empty height ``seconds`` after the last one, or at unix time ``at``
        (not before the last one); visible once ``head`` reaches it."""
        if at is not None:
            if at < self._time:
                raise ValueError(f"height at {at} would be before the last height ({self._time})")
            seconds = at - self._time
        self._time += seconds
        height = Height(len(self.heights) + 1, self._time, version)
        self.heights.append(height)
        return height

    def _move(
        self,
        h: Height,
        tx: str,
        events: list[dict[str, Any]],
        kind: str,
        parties: dict[str, bytes],
        coins: list[tuple[int, str]],
    ) -> None:
        """Emit one bank event (transfer/coinbase/burn with coin_spent/coin_received) and record it."""
        enc = h.version == "0.34"
        text = coins_text(coins)
        src = parties.get("sender") or parties.get("burner")
        dst = parties.get("recipient") or parties.get("minter")
        if src is not None:
            events.append(
                {
                    "type": "coin_spent",
                    "attributes": [_attribute("spender", self.bech32(src), enc), _attribute("amount", text, enc)],
                }
            )
        if dst is not None:
            events.append(
                {
                    "type": "coin_received",
                    "attributes": [_attribute("receiver", self.bech32(dst), enc), _attribute("amount", text, enc)],
                }
            )
        position = len(events)
        attrs = [_attribute(k, self.bech32(v), enc) for k, v in parties.items()]
        events.append({"type": kind, "attributes": attrs + [_attribute("amount", text, enc)]})
        for j, (amount, denom) in enumerate(sorted(coins, key=lambda c: c[1])):
            self._record(tx, position * _COINS_PER_EVENT + j, src, dst, denom, amount, h)

    def _record(
        self, tx: str, idx: int, src: bytes | None, dst: bytes | None, denom: str, amount: int, h: Height
    ) -> None:
        s = None if src is None else "0x" + src.hex()
        d = None if dst is None else "0x" + dst.hex()
        self.movements.append((tx, idx, s, d, denom, amount, h.number, h.time))
        for who, sign in ((s, -1), (d, 1)):
            if who is not None:
                self.balances[(who, denom)] += sign * amount
                self.balance_history[(who, denom)].append((h.number, self.balances[(who, denom)]))

    def send(
        self,
        h: Height,
        sender: bytes,
        outputs: list[tuple[bytes, list[tuple[int, str]]]],
        fee: list[tuple[int, str]],
        *,
        fail: bool = False,
        source: bytes | None = None,
        action: str = "/cosmos.bank.v1beta1.MsgSend",
    ) -> str:
        """A transaction from ``sender`` paying ``fee`` and moving ``outputs``; a failed one
        (``fail``) keeps only its ante-handler events, as the SDK answers (the fee moves).

        ``source``: the account the outputs come from when it is not the signer (a module
        paying out on the signer's request, as a reward withdrawal does); ``action`` names
        the message in its ``message`` event (the decoder reads only bank events)."""
        enc = h.version == "0.34"
        tx, events = self._new_tx(h)
        if fee:
            self._move(h, tx, events, "transfer", {"recipient": self.fee_collector, "sender": sender}, fee)
        events.append({"type": "message", "attributes": [_attribute("sender", self.bech32(sender), enc)]})
        events.append(
            {
                "type": "tx",
                "attributes": [
                    _attribute("fee", coins_text(fee), enc),
                    _attribute("fee_payer", self.bech32(sender), enc),
                ],
            }
        )
        if fail:
            result = {
                "code": 5,
                "codespace": "sdk",
                "log": "failed to execute message; message index: 0: insufficient funds",
                "events": events,
            }
        else:
            for recipient, coins in outputs:
                events.append(
                    {
                        "type": "message",
                        "attributes": [
                            _attribute("action", action, enc),
                            _attribute("sender", self.bech32(sender), enc),
                            _attribute("module", "bank", enc),
                        ],
                    }
                )
                payer = sender if source is None else source
                self._move(h, tx, events, "transfer", {"recipient": recipient, "sender": payer}, coins)
            result = {"code": 0, "codespace": "", "log": "", "events": events}
        self._add_tx(h, result)
        return tx

    def _new_tx(self, h: Height) -> tuple[str, list[dict[str, Any]]]:
        """The id of the next transaction of ``h`` (sha256 of its bytes) and its event list."""
        raw = b"\x0a\x28" + hashlib.sha256(f"{self.network}/{h.number}/{len(h.txs)}".encode()).digest() + bytes(8)
        h.txs.append(raw)
        return hashlib.sha256(raw).hexdigest().upper(), []

    @staticmethod
    def _add_tx(h: Height, result: dict[str, Any]) -> None:
        gas = str(60000 + 7 * len(result["events"]))
        h.results.append({"data": "", "info": "", "gas_wanted": "200000", "gas_used": gas, **result})

    def evm_transfer(
        self, h: Height, sender: bytes, recipient: bytes, value: int, fee: int, evm_hash: str, denom: str = "attoaioz"
    ) -> str:
        """An EVM value transfer (``MsgEthereumTx``) as an ethermint chain reports it on the
        Cosmos side: the ante handler moves the fee to the fee collector, and the EVM's
        balance changes reach the bank through the ``evm`` module account (a decrease is a
        send to the module and a burn, an increase a mint and a send from the module:
        evmos/ethermint x/evm/keeper/statedb.go, SubBalance and AddBalance). The bank view
        therefore names the evm module, not the other party, as each side's counterparty."""
        enc = h.version == "0.34"
        tx, events = self._new_tx(h)
        evm = self.evm_module
        self._move(h, tx, events, "transfer", {"recipient": self.fee_collector, "sender": sender}, [(fee, denom)])
        events.append(
            {
                "type": "message",
                "attributes": [
                    _attribute("action", "/ethermint.evm.v1.MsgEthereumTx", enc),
                    _attribute("sender", self.bech32(sender), enc),
                    _attribute("module", "evm", enc),
                ],
            }
        )
        self._move(h, tx, events, "transfer", {"recipient": evm, "sender": sender}, [(value, denom)])
        self._move(h, tx, events, "burn", {"burner": evm}, [(value, denom)])
        self._move(h, tx, events, "coinbase", {"minter": evm}, [(value, denom)])
        self._move(h, tx, events, "transfer", {"recipient": recipient, "sender": evm}, [(value, denom)])
        events.append(
            {
                "type": "ethereum_tx",
                "attributes": [
                    _attribute("amount", str(value), enc),
                    _attribute("ethereumTxHash", evm_hash, enc),
                    _attribute("txIndex", str(len(h.txs) - 1), enc),
                    _attribute("txGasUsed", "21000", enc),
                    _attribute("recipient", "0x" + recipient.hex(), enc),
                ],
            }
        )
        self._add_tx(h, {"code": 0, "codespace": "", "log": "", "events": events})
        return tx

    def block_event(
        self, h: Height, section: str, kind: str, parties: dict[str, bytes], coins: list[tuple[int, str]]
    ) -> None:
        """A block-level bank event (``section`` "begin" or "end"; 0.38 puts both in finalize)."""
        events = h.end if section == "end" and h.version != "0.38" else h.begin
        name = "finalize_block" if h.version == "0.38" else f"{section}_block"
        self._move(h, f"{h.number}:{name}", events, kind, parties, coins)
        if h.version == "0.38":
            mode = "BeginBlock" if section == "begin" else "EndBlock"
            events[-1]["attributes"].append(_attribute("mode", mode, False))

    # --- what the server reads ---------------------------------------------------------------

    def balance_at(self, address_hex: str, denom: str, height: int) -> int:
        """The account's balance after ``height``, from the chain's own record."""
        balance = 0
        for h, value in self.balance_history.get((address_hex, denom), ()):
            if h > height:
                break
            balance = value
        return balance

    @staticmethod
    def iso(unix: int) -> str:
        """RFC 3339 with nanoseconds, as CometBFT writes block times."""
        return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"


def random_history(
    chain: CometChain,
    rng: random.Random,
    heights: int,
    *,
    accounts: int = 12,
    denoms: tuple[str, ...] = ("attoaioz", "uatom"),
    versions: tuple[str, ...] = ("0.34", "0.37", "0.38"),
    max_txs: int = 4,
) -> None:
    """Append ``heights`` random heights: sends (multi-coin, multi-output), failed
    transactions, block-level mints, rewards and burns; the chain upgrades its CometBFT
    version at evenly spaced heights through ``versions``."""
    wallets = [rng.randbytes(20) for _ in range(accounts)]
    big = 10**18
    start = len(chain.heights)
    for i in range(heights):
        h = chain.new_height(versions[min(len(versions) - 1, i * len(versions) // max(heights, 1))], rng.randint(1, 9))
        if rng.random() < 0.6:
            minted = rng.randint(1, 50) * big + rng.randint(0, big)
            chain.block_event(h, "begin", "coinbase", {"minter": chain.mint_module}, [(minted, denoms[0])])
            chain.block_event(
                h,
                "begin",
                "transfer",
                {"recipient": chain.node_rewards, "sender": chain.mint_module},
                [(minted, denoms[0])],
            )
            for node in rng.sample(wallets, rng.randint(0, 3)):
                chain.block_event(
                    h,
                    "begin",
                    "transfer",
                    {"recipient": node, "sender": chain.node_rewards},
                    [(rng.randint(1, minted // 4), denoms[0])],
                )
        for _ in range(rng.randint(0, max_txs)):
            sender = rng.choice(wallets)
            outputs = []
            for _ in range(rng.choice((1, 1, 1, 2))):
                coins = [(rng.randint(1, 5 * big), denoms[0])]
                if rng.random() < 0.3:
                    coins.append((rng.randint(1, 10**6), rng.choice(denoms[1:] or denoms)))
                outputs.append((rng.choice(wallets), coins))
            fee = [(rng.randint(10**14, 10**16), denoms[0])] if rng.random() < 0.9 else []
            chain.send(h, sender, outputs, fee, fail=rng.random() < 0.15)
        if rng.random() < 0.2:
            chain.block_event(h, "end", "burn", {"burner": chain.distribution}, [(rng.randint(1, big), denoms[0])])
    chain.head = max(chain.head, start + heights)
