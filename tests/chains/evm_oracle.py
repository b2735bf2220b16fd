"""What the chain itself says: every Transfer of a token with every column the indexer
stores, read through web3 (not through any code under test)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import asyncpg
from web3 import Web3

TRANSFER = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex().removeprefix("0x")
ZERO = "0x" + "0" * 40

# (tx, idx, src, dst, amount, block, block time as Unix seconds)
FullFlow = tuple[str, int, str | None, str | None, int, int, int]


def chain_flows(w3: Web3, token: str) -> Counter[FullFlow]:
    """Every Transfer of ``token`` on the canonical chain now, with its block's timestamp."""
    logs = w3.eth.get_logs(
        {"fromBlock": 0, "toBlock": "latest", "address": Web3.to_checksum_address(token), "topics": [TRANSFER]}
    )
    times: dict[int, int] = {}
    out: Counter[FullFlow] = Counter()
    for entry in logs:
        block = int(entry["blockNumber"])
        if block not in times:
            times[block] = int(w3.eth.get_block(block)["timestamp"])
        src, dst = (_address(topic) for topic in entry["topics"][1:3])
        amount = int.from_bytes(bytes(entry["data"]), "big")
        out[(entry["transactionHash"].to_0x_hex(), int(entry["logIndex"]), src, dst, amount, block, times[block])] += 1
    return out


def _address(topic: Any) -> str | None:
    address = "0x" + bytes(topic)[-20:].hex()
    return None if address == ZERO else address


async def stored_flows(conn: asyncpg.Connection, chain: str = "polygon") -> Counter[FullFlow]:
    """Every stored flow of ``chain``, the same columns."""
    rows = await conn.fetch(
        "select tx, idx, src, dst, amount, block, extract(epoch from block_time)::bigint as t "
        "from core.flows where chain = $1",
        chain,
    )
    return Counter((r["tx"], r["idx"], r["src"], r["dst"], int(r["amount"]), r["block"], r["t"]) for r in rows)


def differences(expected: Counter[FullFlow], got: Counter[FullFlow], most: int = 5) -> str:
    """The first rows that differ, for an assertion message."""
    missing = list((expected - got).elements())[:most]
    extra = list((got - expected).elements())[:most]
    return f"{sum((expected - got).values())} missing, e.g. {missing}; {sum((got - expected).values())} extra, e.g. {extra}"
