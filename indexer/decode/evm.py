"""EVM decoding: ``eth_getLogs`` Transfer logs, native-coin transfers and block headers.

Pure standard library (a test imports this module in a fresh interpreter and checks
that no compiled extension came with it). Whole responses are decoded at once:

* :func:`decode_transfer_logs` first tries a *fast path*. Per chunk of a few hundred
  logs, one loop gathers the raw fields (each dict is touched once, while it is in the
  CPU cache); then every check and conversion runs column-wise at C speed: ``int(x, 16)``
  through ``map``, ``str.replace`` for addresses, and proofs over each joined column
  (extended slices check prefixes and padding, one ``bytes.translate`` proves the hex
  digits), so that what ``int()`` would tolerate (spaces, ``_``, signs, non-ASCII digits)
  never slips through. It only accepts a batch already in canonical form (lower-case hex,
  exact lengths, exactly three topics). Anything else — upper-case hex, a broken log,
  an event of another shape — sends the *whole* batch to the *careful path*, a plain
  per-log loop that validates each field, normalises case and raises
  :class:`EvmDecodeError` naming the transaction and log index. The two paths accept
  the same logs and produce the same rows (property tests check both claims), so the
  fast path is an optimisation, never a second set of rules.
* Nothing is appended to the output columns unless the whole batch decodes: a batch is
  stored completely or not at all.

Text forms follow the design's contract: lower-case ``0x`` hex addresses and hashes,
``src`` None for a mint (from the zero address), ``dst`` None for a burn (to the zero
address), ``idx`` the log index, ``amount`` the raw integer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import compress, repeat
from typing import Any

from indexer.decode.columns import FlowColumns

__all__ = [
    "NATIVE_IDX",
    "NATIVE_TOKEN",
    "TRANSFER_TOPIC",
    "ZERO_ADDRESS",
    "EvmDecodeError",
    "EvmReorgError",
    "decode_block_headers",
    "decode_native_transfers",
    "decode_transfer_logs",
]

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
"""keccak256("Transfer(address,address,uint256)"), topic 0 of ERC-20 (and ERC-721) transfers."""

ZERO_ADDRESS = "0x" + "0" * 40

NATIVE_TOKEN = "native"
"""Token text of native-coin flows (design contract)."""

NATIVE_IDX = -1
"""``idx`` of a native-coin flow.

The flow key is ``(chain, tx, idx)``. A transaction moves native coin at most once at
top level (its ``value``), and log indexes are never negative, so -1 cannot collide with
a token flow of the same transaction nor with another native flow.
"""

# Upper bounds that keep values inside the store's columns (block bigint, idx integer):
# a value beyond them is a broken response, better refused here with the log named
# than by Postgres in the middle of a COPY.
_MAX_BLOCK = 2**63 - 1
_MAX_LOG_INDEX = 2**31 - 1

_ADDRESS_TOPIC_PREFIX = "0x" + "0" * 24  # 12 zero bytes of left padding
_HEX = frozenset("0123456789abcdefABCDEF")


class EvmDecodeError(ValueError):
    """An RPC response that cannot be decoded faithfully; nothing of the batch was kept."""


class EvmReorgError(EvmDecodeError):
    """The response reflects a reorg while it was fetched (a removed log, a receipt from
    another block): not a bug of the endpoint; fetch the range again."""


class _Fallback(Exception):
    """Internal: the fast path declines the batch; the careful path decides."""


# --------------------------------------------------------------------------- Transfer logs


def decode_transfer_logs(
    logs: Sequence[Mapping[str, Any]],
    tokens: Mapping[str, str],
    flows: FlowColumns,
) -> int:
    """Append the ERC-20 Transfer flows of an ``eth_getLogs`` result to ``flows``.

    ``logs`` is the JSON-RPC ``result`` list as ``json.loads`` returns it; ``tokens`` maps
    each requested contract address (lower-case ``0x`` hex) to the token text stored in
    its flows. Logs whose topic 0 is not Transfer are skipped. Raises
    :class:`EvmReorgError` for a ``removed`` log and :class:`EvmDecodeError` for anything
    else that is not a well-formed ERC-20 Transfer of a requested token (including a log
    of an address that was not requested: that is an endpoint bug, not data). On error
    nothing is appended. ``block_time`` is left for the caller (logs carry no
    timestamps). Returns the number of flows appended.
    """
    token_map = {address.lower(): text for address, text in tokens.items()}
    columns = (flows.block, flows.tx, flows.idx, flows.token, flows.src, flows.dst, flows.amount)
    marks = [len(column) for column in columns]
    try:
        # Straight into the caller's lists: copying them again afterwards would touch
        # every decoded object once more, long after it left the CPU cache.
        _transfers_fast(logs, token_map, columns)
        return len(flows.tx) - marks[1]
    except (_Fallback, TypeError, KeyError, IndexError, ValueError, AttributeError):
        # ValueError covers UnicodeEncodeError (non-ASCII text in a hex field). What the
        # fast path appended goes: the careful path decides about the whole batch.
        for column, mark in zip(columns, marks, strict=True):
            del column[mark:]
    decoded = _transfers_careful(logs, token_map)
    for column, values in zip(columns, decoded, strict=True):
        column += values
    return len(decoded[1])


_Columns = tuple[list[int], list[str], list[int], list[str], list[str | None], list[str | None], list[int]]

# Chunks small enough that the column passes over a chunk find its dicts and strings
# still in the CPU cache. Measured on 200,000 Polygon-shaped logs: 512 is the sweet spot;
# whole 10,000-log responses at once are ~10% slower, column passes over all 200,000
# logs at once about twice as slow.
_CHUNK = 512


def _transfers_fast(logs: Sequence[Mapping[str, Any]], tokens: Mapping[str, str], out: tuple[list[Any], ...]) -> None:
    """Column-wise decoding of a batch already in canonical form, appended to ``out``.

    Raises :class:`_Fallback` (or lets a TypeError, KeyError... escape) for anything it
    does not prove valid, leaving part of the batch in ``out`` for the caller to cut.
    """
    if type(logs) is not list:
        raise _Fallback
    for start in range(0, len(logs), _CHUNK):
        part = _fast_chunk(logs[start : start + _CHUNK], tokens)
        for column, values in zip(out, part, strict=True):
            column += values


def _fast_chunk(logs: list[Any], tokens: Mapping[str, str]) -> _Columns:
    # One pass over the dicts gathers the raw fields (each dict is touched once, while
    # it is in cache); the checks and conversions then run column-wise at C speed.
    topic_lists: list[Any] = []
    topic0: list[Any] = []
    froms: list[Any] = []
    tos: list[Any] = []
    data: list[Any] = []
    txs: list[Any] = []
    blocks_hex: list[Any] = []
    indexes_hex: list[Any] = []
    removed: list[Any] = []
    addresses: list[Any] = []
    add_topics, add_topic0, add_from, add_to = topic_lists.append, topic0.append, froms.append, tos.append
    add_data, add_tx, add_block, add_index = data.append, txs.append, blocks_hex.append, indexes_hex.append
    add_removed, add_address = removed.append, addresses.append
    for entry in logs:
        topics = entry["topics"]
        add_topics(topics)
        # Exactly three topics or ValueError: a 4-topic (ERC-721 shaped) Transfer, an
        # anonymous event or any other shape goes to the careful path.
        first, sender, receiver = topics
        add_topic0(first)
        add_from(sender)
        add_to(receiver)
        add_data(entry["data"])
        add_tx(entry["transactionHash"])
        add_block(entry["blockNumber"])
        add_index(entry["logIndex"])
        add_removed(entry.get("removed"))
        add_address(entry["address"])
    n = len(logs)
    # removed: absent, null or false only; types first, so that 0 cannot pass for false.
    if not set(map(type, removed)) <= _NONE_OR_BOOL or True in removed:
        raise _Fallback
    if set(map(type, topic_lists)) != _LIST:
        raise _Fallback
    # Usually one token per request: equality (a memcmp) is cheaper than hashing each.
    text = tokens.get(addresses[0])
    if text is not None and addresses.count(addresses[0]) == n:
        texts = [text] * n
    else:
        texts = list(map(tokens.get, addresses))
        if None in texts:
            raise _Fallback
    if topic0.count(TRANSFER_TOPIC) != n:
        kinds = set(topic0)
        kinds.discard(TRANSFER_TOPIC)
        for other in kinds:
            # Transfer in another letter case, or a topic that is not text, is for the
            # careful path to judge; any other event is skipped here and there alike.
            if type(other) is not str or other.lower() == TRANSFER_TOPIC:
                raise _Fallback
        keep = list(map(TRANSFER_TOPIC.__eq__, topic0))
        texts = list(compress(texts, keep))
        froms = list(compress(froms, keep))
        tos = list(compress(tos, keep))
        data = list(compress(data, keep))
        txs = list(compress(txs, keep))
        blocks_hex = list(compress(blocks_hex, keep))
        indexes_hex = list(compress(indexes_hex, keep))
        n = len(txs)
        if n == 0:
            return [], [], [], [], [], [], []
    _check_words(froms, padded=True)
    _check_words(tos, padded=True)
    _check_words(txs, padded=False)
    amounts = _words_as_ints(data, n)
    blocks = _quantities(blocks_hex, n, _MAX_BLOCK)
    indexes = _quantities(indexes_hex, n, _MAX_LOG_INDEX)
    # "0x" + 24 zeros + 40 digits -> "0x" + 40 digits: one C-level replace per address.
    srcs: list[str | None] = list(map(str.replace, froms, repeat(_ADDRESS_TOPIC_PREFIX), repeat("0x"), repeat(1)))
    dsts: list[str | None] = list(map(str.replace, tos, repeat(_ADDRESS_TOPIC_PREFIX), repeat("0x"), repeat(1)))
    if ZERO_ADDRESS in srcs:
        srcs = [None if s == ZERO_ADDRESS else s for s in srcs]
    if ZERO_ADDRESS in dsts:
        dsts = [None if d == ZERO_ADDRESS else d for d in dsts]
    return blocks, txs, indexes, texts, srcs, dsts, amounts


_NONE_OR_BOOL = frozenset({type(None), bool})
_LIST = {list}
_WORD_LENGTH = {66}
_LOWER_HEX_DIGITS = b"0123456789abcdef"
_HEX_DIGITS_AND_X = b"0123456789abcdefABCDEFx"

# The proofs below lean on the joined column: once every item is known to be 66
# characters long, the joined text is a grid of 66-character rows, and an extended slice
# (``grid[k::66]``) reads position k of every row at C speed.


def _check_words(column: list[Any], *, padded: bool) -> None:
    """Prove every item is "0x" + 64 lower-case hex digits, the first 24 zeros if ``padded``."""
    if set(map(len, column)) != _WORD_LENGTH:  # TypeError on a non-string: fallback
        raise _Fallback
    n = len(column)
    grid = "".join(column)
    if grid[1::66] != "x" * n or grid[0::66] != "0" * n:
        raise _Fallback
    if padded:
        zeros = "0" * n
        for position in range(2, 26):
            if grid[position::66] != zeros:
                raise _Fallback
    # Deleting the hex digits must leave exactly the n prefix x's (placed by the check
    # above). encode() raises UnicodeEncodeError, a ValueError, on non-ASCII: fallback.
    if grid.encode("ascii").translate(None, _LOWER_HEX_DIGITS) != b"x" * n:
        raise _Fallback


def _words_as_ints(column: list[Any], n: int) -> list[int]:
    """The uint256 of each "0x" + 64 hex digits item (either letter case).

    ``int(x, 16)`` proves the digits, except for what it tolerates: a "0x" prefix (made
    compulsory here by the grid), "_" between digits, surrounding whitespace (leading is
    ruled out by the prefix, trailing by the last column of the grid) and non-ASCII
    digits (ruled out by ``isascii``, a flag lookup, not a scan).
    """
    if set(map(len, column)) != _WORD_LENGTH:
        raise _Fallback
    grid = "".join(column)
    if (
        not grid.isascii()
        or grid[1::66] != "x" * n
        or grid[0::66] != "0" * n
        or "_" in grid
        or grid[65::66].encode().translate(None, _HEX_DIGITS_AND_X)
    ):
        raise _Fallback
    return list(map(int, column, repeat(16)))


def _quantities(column: list[Any], n: int, maximum: int) -> list[int]:
    """Hex quantities (block numbers, log indexes): "0x" + hex digits (either case).

    ``int(x, 16)`` accepts at most one "0x" per item; with exactly n "x" in the column,
    every item has one, and with no sign, space or "_" anywhere it can only sit at
    position 1 behind a "0". Deleting hex digits and "x" must then leave nothing.
    """
    values = list(map(int, column, repeat(16)))  # TypeError/ValueError: fallback
    text = "".join(column)
    if not text.isascii() or text.count("x") != n or text.encode().translate(None, _HEX_DIGITS_AND_X):
        raise _Fallback
    if max(values) > maximum:
        raise _Fallback
    return values


# --------------------------------------------------------------------------- careful path

_WORD = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS_WORD = re.compile(r"0x0{24}[0-9a-fA-F]{40}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_QUANTITY = re.compile(r"0x[0-9a-fA-F]+")


def _describe(where: str | Mapping[str, Any]) -> str:
    """Where a problem is: a fixed text, or 'tx 0x… log index N (block B)' for a log.

    Built only when something is wrong, and readable even when those fields are broken.
    """
    if isinstance(where, str):
        return where
    tx = where.get("transactionHash")
    index = where.get("logIndex")
    block = where.get("blockNumber")
    tx_text = tx.lower() if isinstance(tx, str) and _WORD.fullmatch(tx) else repr(tx)
    index_text = str(int(index, 16)) if isinstance(index, str) and _QUANTITY.fullmatch(index) else repr(index)
    block_text = f" (block {int(block, 16)})" if isinstance(block, str) and _QUANTITY.fullmatch(block) else ""
    return f"tx {tx_text} log index {index_text}{block_text}"


def _bad_hex(where: str | Mapping[str, Any], key: str, value: Any, digits: int | None) -> EvmDecodeError:
    """The error for a field that failed its pattern, saying precisely how."""
    place = _describe(where)
    if not isinstance(value, str):
        return EvmDecodeError(f"{place}: {key} is {value!r}, not a hex string")
    if not value.startswith("0x") or not _HEX.issuperset(value[2:]):
        return EvmDecodeError(f"{place}: {key} is not 0x-prefixed hex: {value[:80]!r}")
    if len(value) == 2:
        return EvmDecodeError(f"{place}: {key} is empty ('0x')")
    if digits is not None and len(value) - 2 != digits:
        got = len(value) - 2
        return EvmDecodeError(
            f"{place}: {key} is {got / 2:g} bytes ({got} hex digits), expected exactly {digits // 2} bytes"
        )
    return EvmDecodeError(f"{place}: {key} is malformed: {value[:80]!r}")


def _hex_field(
    entry: Mapping[str, Any], key: str, where: str | Mapping[str, Any], pattern: re.Pattern[str], digits: int | None
) -> str:
    """The field as lower-case ``0x`` hex, validated against ``pattern``."""
    try:
        value = entry[key]
    except KeyError:
        raise EvmDecodeError(f"{_describe(where)}: field {key!r} is missing") from None
    if type(value) is not str or pattern.fullmatch(value) is None:
        raise _bad_hex(where, key, value, digits)
    return value.lower()


def _quantity(entry: Mapping[str, Any], key: str, where: str | Mapping[str, Any], maximum: int) -> int:
    value = int(_hex_field(entry, key, where, _QUANTITY, None), 16)
    if value > maximum:
        raise EvmDecodeError(f"{_describe(where)}: {key} {value} is out of range (at most {maximum})")
    return value


def _address_topic(topic: Any, which: str, entry: Mapping[str, Any]) -> str | None:
    """The address in a 32-byte topic, or None for the zero address; padding must be zero."""
    if type(topic) is not str or _ADDRESS_WORD.fullmatch(topic) is None:
        if type(topic) is str and _WORD.fullmatch(topic):
            raise EvmDecodeError(f"{_describe(entry)}: topic '{which}' has non-zero padding bytes: {topic}")
        raise _bad_hex(entry, f"topic '{which}'", topic, 64)
    address = "0x" + topic[26:].lower()
    return None if address == ZERO_ADDRESS else address


def _transfers_careful(logs: Sequence[Mapping[str, Any]], tokens: Mapping[str, str]) -> _Columns:
    """Per-log decoding with full validation and precise errors; same rules as the fast path."""
    blocks: list[int] = []
    txs: list[str] = []
    indexes: list[int] = []
    texts: list[str] = []
    srcs: list[str | None] = []
    dsts: list[str | None] = []
    amounts: list[int] = []
    if not isinstance(logs, Sequence) or isinstance(logs, str | bytes):
        raise EvmDecodeError(f"eth_getLogs result is {type(logs).__name__}, not a list of logs")
    for position, entry in enumerate(logs):
        if not isinstance(entry, Mapping):
            raise EvmDecodeError(f"log #{position} of the batch is {entry!r}, not an object")
        removed = entry.get("removed")
        if removed is not None and removed is not False:
            if removed is True:
                raise EvmReorgError(
                    f"{_describe(entry)}: the endpoint marks this log removed (a reorg); refetch the range"
                )
            raise EvmDecodeError(f"{_describe(entry)}: 'removed' is {removed!r}, not a boolean")
        address = entry.get("address")
        text = tokens.get(address.lower()) if isinstance(address, str) else None
        if text is None:
            raise EvmDecodeError(
                f"{_describe(entry)}: log of address {address!r}, which was not requested (an endpoint bug); "
                f"requested: {', '.join(sorted(tokens)) or 'none'}"
            )
        topics = entry.get("topics")
        if not isinstance(topics, list):
            raise EvmDecodeError(f"{_describe(entry)}: topics is {topics!r}, not a list")
        if not topics:
            continue  # an anonymous event: not a Transfer
        topic0 = topics[0]
        if not isinstance(topic0, str):
            raise EvmDecodeError(f"{_describe(entry)}: topic 0 is {topic0!r}, not a hex string")
        if topic0.lower() != TRANSFER_TOPIC:
            continue
        if len(topics) != 3:
            shape = " (shaped like an ERC-721 Transfer)" if len(topics) == 4 else ""
            raise EvmDecodeError(
                f"{_describe(entry)}: Transfer of token {address} has {len(topics)} topics, expected 3{shape}"
            )
        srcs.append(_address_topic(topics[1], "from", entry))
        dsts.append(_address_topic(topics[2], "to", entry))
        amounts.append(int(_hex_field(entry, "data", entry, _WORD, 64), 16))
        txs.append(_hex_field(entry, "transactionHash", entry, _WORD, 64))
        blocks.append(_quantity(entry, "blockNumber", entry, _MAX_BLOCK))
        indexes.append(_quantity(entry, "logIndex", entry, _MAX_LOG_INDEX))
        texts.append(text)
    return blocks, txs, indexes, texts, srcs, dsts, amounts


# --------------------------------------------------------------------------- native coin


def decode_native_transfers(
    transactions: Iterable[Mapping[str, Any]],
    receipts: Mapping[str, Mapping[str, Any]],
    flows: FlowColumns,
    labelled: set[str] | frozenset[str] | None = None,
    *,
    token: str = NATIVE_TOKEN,
) -> int:
    """Append a flow for each successful transaction moving native coin (``value`` > 0).

    ``transactions`` are the full transaction objects of ``eth_getBlockByNumber(n, true)``
    (hash, from, to, value, blockNumber, blockHash, transactionIndex); ``receipts`` maps
    their hashes to ``eth_getTransactionReceipt`` results. With ``labelled`` (lower-case
    addresses) only transactions whose sender or recipient is labelled are kept, and only
    those need a receipt; without it, every transaction passed in is a candidate (the
    caller filtered). ``idx`` is :data:`NATIVE_IDX`. A contract creation (``to`` null)
    pays the created contract: ``dst`` is the receipt's ``contractAddress``. Failed
    transactions (receipt status 0) are skipped: their value never moved. Value moved by
    internal calls is not visible here (it needs traces). Raises :class:`EvmDecodeError`
    naming the transaction; nothing is appended on error. Returns the number appended.
    """
    blocks: list[int] = []
    txs: list[str] = []
    srcs: list[str | None] = []
    dsts: list[str | None] = []
    amounts: list[int] = []
    wanted = None if labelled is None else {a.lower() for a in labelled}
    for entry in transactions:
        if not isinstance(entry, Mapping):
            raise EvmDecodeError(f"transaction {entry!r} is not an object")
        raw_hash = entry.get("hash")
        where = f"tx {raw_hash.lower() if isinstance(raw_hash, str) else repr(raw_hash)}"
        tx = _hex_field(entry, "hash", where, _WORD, 64)
        value = int(_hex_field(entry, "value", where, _QUANTITY, None), 16)
        if value == 0:
            continue
        src = _hex_field(entry, "from", where, _ADDRESS, 40)
        to = entry.get("to")
        dst = None if to is None else _hex_field(entry, "to", where, _ADDRESS, 40)
        # A creation (dst None) is judged after its receipt names the created contract.
        if wanted is not None and dst is not None and src not in wanted and dst not in wanted:
            continue
        receipt = receipts.get(raw_hash) or receipts.get(tx)
        if receipt is None:
            raise EvmDecodeError(f"{where}: no receipt given; cannot tell whether it succeeded")
        if not isinstance(receipt, Mapping):
            raise EvmDecodeError(f"{where}: receipt is {receipt!r}, not an object")
        block = _quantity(entry, "blockNumber", where, _MAX_BLOCK)
        _same_block(entry, receipt, block, where)
        status = _hex_field(receipt, "status", f"{where} receipt", _QUANTITY, None)
        if int(status, 16) == 0:
            continue
        if int(status, 16) != 1:
            raise EvmDecodeError(f"{where}: receipt status is {status}, expected 0x0 or 0x1")
        if dst is None:
            created = receipt.get("contractAddress")
            if created is None:
                raise EvmDecodeError(f"{where}: a contract creation (to is null) whose receipt has no contractAddress")
            dst = _hex_field(receipt, "contractAddress", f"{where} receipt", _ADDRESS, 40)
            if wanted is not None and src not in wanted and dst not in wanted:
                continue
        blocks.append(block)
        txs.append(tx)
        srcs.append(None if src == ZERO_ADDRESS else src)
        dsts.append(None if dst == ZERO_ADDRESS else dst)
        amounts.append(value)
    flows.block += blocks
    flows.tx += txs
    flows.idx += [NATIVE_IDX] * len(txs)
    flows.token += [token] * len(txs)
    flows.src += srcs
    flows.dst += dsts
    flows.amount += amounts
    return len(txs)


def _same_block(entry: Mapping[str, Any], receipt: Mapping[str, Any], block: int, where: str) -> None:
    """A receipt from another block than its transaction means a reorg between the calls."""
    got = receipt.get("blockNumber")
    if got is not None and _quantity(receipt, "blockNumber", f"{where} receipt", _MAX_BLOCK) != block:
        raise EvmReorgError(f"{where}: the receipt is from block {int(got, 16)}, the transaction from {block}")
    tx_hash, receipt_hash = entry.get("blockHash"), receipt.get("blockHash")
    if isinstance(tx_hash, str) and isinstance(receipt_hash, str) and tx_hash.lower() != receipt_hash.lower():
        raise EvmReorgError(f"{where}: the receipt is from block {receipt_hash}, the transaction from {tx_hash}")


# --------------------------------------------------------------------------- block headers


def decode_block_headers(
    results: Sequence[Mapping[str, Any] | None],
    numbers: Sequence[int] | None = None,
) -> list[tuple[int, str, str, int]]:
    """``(number, hash, parent_hash, timestamp)`` of each ``eth_getBlockByNumber`` result.

    The tuples are the writer's ``BlockRow``: hashes in lower-case hex, ``timestamp`` in
    Unix seconds (UTC; ``datetime.fromtimestamp(t, UTC)`` when a datetime is wanted).
    Full-transaction results work too (transactions are ignored). ``numbers``, when
    given, are the block numbers asked for, one per result: a result for another block
    is an error, and a null result is named by its number. A null is "the endpoint does
    not have this block (yet)", never "there is nothing there": it raises
    :class:`EvmDecodeError`.
    """
    if numbers is not None and len(numbers) != len(results):
        raise EvmDecodeError(f"{len(results)} block results for {len(numbers)} requested blocks")
    rows: list[tuple[int, str, str, int]] = []
    for position, result in enumerate(results):
        asked = None if numbers is None else numbers[position]
        if result is None:
            if asked is not None:
                name = f"block {asked}"
            elif rows:
                name = f"block #{position} of the batch (after block {rows[-1][0]})"
            else:
                name = f"block #{position} of the batch"
            raise EvmDecodeError(f"{name}: the endpoint returned null (block not available); refetch")
        if not isinstance(result, Mapping):
            raise EvmDecodeError(f"block #{position} of the batch is {result!r}, not an object")
        where = f"block {asked}" if asked is not None else f"block #{position} of the batch"
        number = _quantity(result, "number", where, _MAX_BLOCK)
        where = f"block {number}"
        if asked is not None and number != asked:
            raise EvmDecodeError(f"block {asked}: the endpoint returned block {number} instead")
        block_hash = _hex_field(result, "hash", where, _WORD, 64)
        parent = _hex_field(result, "parentHash", where, _WORD, 64)
        timestamp = _quantity(result, "timestamp", where, _MAX_BLOCK)
        rows.append((number, block_hash, parent, timestamp))
    return rows
