"""CometBFT ``block`` + ``block_results`` answers → token flows, batched, standard library only.

Every bank movement of a Cosmos SDK chain is an ABCI event: ``transfer`` (sender,
recipient, amount) for a send between accounts, ``coinbase`` (minter, amount) for a mint
and ``burn`` (burner, amount) for a burn. They come in each transaction result and in the
block-level events (``begin_block_events``/``end_block_events``, or
``finalize_block_events`` on CometBFT 0.38), where modules pay rewards.

Text forms (docs/methodology.md, "Cosmos chains"):

- ``tx``: a transaction's CometBFT hash, upper-case hex of sha256 over its bytes (base64 in
  ``block.data.txs``); a block-level event has no transaction and gets
  ``"{height}:{section}"`` (``begin_block``, ``end_block``, ``finalize_block``).
- ``idx``: ``event position × 1000 + coin position`` in the event's coin list, so an id
  never depends on which denoms are configured (adding one later re-indexes nothing twice).
- ``src``/``dst``: lower-case ``0x`` hex of the account's bytes. AIOZ keys are
  ethsecp256k1, so ``aioz1…`` and the EVM ``0x…`` name the same 20 bytes and flows line
  up with the AIOZ EVM chain.
- ``token``: the denom (``attoaioz``); amounts are raw integers.

A failed transaction (``code != 0``) keeps only the events of the ante handler: the node
drops the failed messages' events together with their state changes, so what remains is
the fee payment. Fees are real bank movements (payer → fee collector module) and are
stored like any other transfer.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from indexer.decode.columns import FlowColumns
from indexer.errors import DepinError

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {c: i for i, c in enumerate(_CHARSET)}
_GENERATORS = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_COIN = re.compile(r"(\d+)([a-zA-Z][a-zA-Z0-9/:._-]{1,127})")
# Coin positions per event: idx = event position * _COINS_PER_EVENT + coin position.
_COINS_PER_EVENT = 1000
_SECTIONS = ("begin_block_events", "end_block_events", "finalize_block_events")
_SECTION_NAMES = {s: s.removesuffix("_events") for s in _SECTIONS}


class CosmosDecodeError(DepinError):
    """An answer this decoder cannot turn into flows without guessing; names the height."""


class Bech32Error(ValueError):
    """Not a valid bech32 address (of the expected prefix)."""


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATORS[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits or (acc << (to_bits - bits)) & maxv:
        raise Bech32Error("non-zero padding")
    return out


def bech32_decode(address: str, prefix: str) -> bytes:
    """The bytes a bech32 address (BIP-173 checksum) names; its prefix must be ``prefix``."""
    if address.lower() != address and address.upper() != address:
        raise Bech32Error("mixed case")
    address = address.lower()
    hrp, sep, data = address.rpartition("1")
    if not sep or hrp != prefix:
        raise Bech32Error(f"not a {prefix}1... address")
    try:
        values = [_CHARSET_INDEX[c] for c in data]
    except KeyError as exc:
        raise Bech32Error(f"character {exc.args[0]!r} is not bech32") from None
    if len(values) < 6 or _polymod(_hrp_expand(hrp) + values) != 1:
        raise Bech32Error("bad checksum")
    return bytes(_convert_bits(values[:-6], 5, 8, pad=False))


def bech32_encode(prefix: str, payload: bytes) -> str:
    """``prefix1…`` for ``payload`` (used by the local CometBFT server and by verify)."""
    data = _convert_bits(payload, 8, 5, pad=True)
    polymod = _polymod(_hrp_expand(prefix) + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return prefix + "1" + "".join(_CHARSET[d] for d in data + checksum)


def hex_to_bech32(address: str, prefix: str) -> str:
    """``0x…`` → ``prefix1…`` (the same bytes)."""
    return bech32_encode(prefix, bytes.fromhex(address.removeprefix("0x")))


def canonical_address(address: str, prefix: str) -> str:
    """The stored form of a Cosmos account: lower-case ``0x`` hex, from bech32 or 0x input."""
    if address[:2] in ("0x", "0X"):
        raw = bytes.fromhex(address[2:])
        if len(raw) not in (20, 32):
            raise Bech32Error("not 20 or 32 bytes")
        return "0x" + raw.hex()
    return "0x" + bech32_decode(address, prefix).hex()


# Module accounts of the Cosmos SDK and ethermint (what AIOZ runs): no key holds them, and
# some behave like a network's wallets to discover (every signer pays the fee collector).
MODULE_NAMES = (
    "fee_collector",
    "distribution",
    "mint",
    "bonded_tokens_pool",
    "not_bonded_tokens_pool",
    "gov",
    "transfer",
    "evm",
    "erc20",
)


def module_address(name: str) -> bytes:
    """A module account's 20 bytes, as the SDK derives them (sha256 of the name, truncated)."""
    return hashlib.sha256(name.encode()).digest()[:20]


def module_accounts() -> dict[str, str]:
    """The stored (``0x`` hex) form of each module account of :data:`MODULE_NAMES` → its name."""
    return {"0x" + module_address(name).hex(): name for name in MODULE_NAMES}


def tx_hash(tx_base64: str) -> str:
    """CometBFT's transaction hash: upper-case hex of sha256 over the transaction bytes."""
    return hashlib.sha256(base64.b64decode(tx_base64)).hexdigest().upper()


def block_time(header_time: str) -> int:
    """Unix seconds of an RFC 3339 UTC time as CometBFT writes it (``…T12:00:00.123456789Z``)."""
    if not header_time.endswith("Z") or len(header_time) < 20:
        raise CosmosDecodeError(f"block time {header_time!r} is not RFC 3339 UTC")
    return calendar.timegm(time.strptime(header_time[:19], "%Y-%m-%dT%H:%M:%S"))


# Attribute keys as 0.37+ sends them and as 0.34 sends them (base64): key -> (name, encoded).
_KEYS: dict[str, tuple[str, bool]] = {}
for _name in ("sender", "recipient", "amount", "minter", "burner"):
    _KEYS[_name] = (_name, False)
    _KEYS[base64.b64encode(_name.encode()).decode()] = (_name, True)
# Event type -> (source attribute, destination attribute); None is a mint's source / a burn's destination.
_MOVES: dict[str, tuple[str | None, str | None]] = {
    "transfer": ("sender", "recipient"),
    "coinbase": (None, "minter"),
    "burn": ("burner", None),
}


class CosmosDecoder:
    """Decodes pairs of (``block``, ``block_results``) answers into one :class:`FlowColumns`.

    ``denoms`` maps a denom as the chain names it to the token text stored (the same here).
    Bech32 conversions are cached: a chain has far fewer accounts than transfers.
    """

    def __init__(self, chain: str, denoms: Mapping[str, str], prefix: str) -> None:
        self.chain = chain
        self.denoms = dict(denoms)
        self.prefix = prefix
        self._addresses: dict[str, str] = {}

    def address(self, text: str, height: int) -> str:
        """Stored form of an event's account (cached)."""
        cached = self._addresses.get(text)
        if cached is not None:
            return cached
        try:
            out = canonical_address(text, self.prefix)
        except (Bech32Error, ValueError) as exc:
            raise CosmosDecodeError(f"{self.chain}: height {height}: account {text!r}: {exc}") from None
        self._addresses[text] = out
        return out

    def decode(self, answers: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], flows: FlowColumns) -> None:
        """Append the flows of every (block, block_results) pair, in height order."""
        for block_answer, results in answers:
            block = block_answer["block"]
            header = block["header"]
            height = int(header["height"])
            if int(results["height"]) != height:
                raise CosmosDecodeError(
                    f"{self.chain}: block_results of {results['height']} paired with block {height}"
                )
            when = block_time(header["time"])
            txs = block["data"].get("txs") or ()
            tx_results = results.get("txs_results") or ()
            if len(txs) != len(tx_results):
                raise CosmosDecodeError(
                    f"{self.chain}: height {height}: {len(txs)} transactions but {len(tx_results)} results"
                )
            for tx_bytes, result in zip(txs, tx_results, strict=True):
                events = result.get("events")
                if events:
                    self._events(events, height, when, tx_hash(tx_bytes), flows)
            for section in _SECTIONS:
                events = results.get(section)
                if events:
                    self._events(events, height, when, f"{height}:{_SECTION_NAMES[section]}", flows)

    def _events(self, events: Sequence[Mapping[str, Any]], height: int, when: int, tx: str, flows: FlowColumns) -> None:
        # The hot loop: plain dict lookups, columns appended directly.
        denoms = self.denoms
        for position, event in enumerate(events):
            move = _MOVES.get(event["type"])
            if move is None:
                continue
            found: dict[str, str] = {}
            for attribute in event.get("attributes") or ():
                key = _KEYS.get(attribute["key"])
                if key is None:
                    continue
                name, encoded = key
                value = attribute.get("value") or ""
                if encoded:
                    try:
                        value = base64.b64decode(value).decode()
                    except (binascii.Error, UnicodeDecodeError):
                        raise CosmosDecodeError(
                            f"{self.chain}: height {height}, {tx}: attribute {name} is not base64"
                        ) from None
                if name in found:
                    raise CosmosDecodeError(
                        f"{self.chain}: height {height}, {tx}: event {position} ({event['type']}) has two {name}s"
                    )
                found[name] = value
            amount = found.get("amount")
            if not amount:
                continue
            src_key, dst_key = move
            src = self._party(found, src_key, height, tx, position)
            dst = self._party(found, dst_key, height, tx, position)
            for j, coin in enumerate(amount.split(",")):
                match = _COIN.fullmatch(coin.strip())
                if match is None:
                    raise CosmosDecodeError(
                        f"{self.chain}: height {height}, {tx}: coin {coin!r} is not <amount><denom>"
                    )
                token = denoms.get(match.group(2))
                if token is None:
                    continue
                if j >= _COINS_PER_EVENT:
                    raise CosmosDecodeError(f"{self.chain}: height {height}, {tx}: more than 1000 coins in one event")
                flows.block.append(height)
                flows.block_time.append(when)
                flows.tx.append(tx)
                flows.idx.append(position * _COINS_PER_EVENT + j)
                flows.token.append(token)
                flows.src.append(src)
                flows.dst.append(dst)
                flows.amount.append(int(match.group(1)))

    def _party(self, found: Mapping[str, str], key: str | None, height: int, tx: str, position: int) -> str | None:
        if key is None:
            return None
        text = found.get(key)
        if not text:
            # SDK 0.45 MultiSend names the sender in a separate `message` event: refusing is
            # safer than storing the movement as a mint or a burn.
            raise CosmosDecodeError(f"{self.chain}: height {height}, {tx}: event {position} has no {key}")
        return self.address(text, height)
