"""The CometBFT event decoder and the bech32 codec, on hand-written answers."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys

import pytest

from indexer.decode.columns import FlowColumns
from indexer.decode.cosmos import (
    Bech32Error,
    CosmosDecodeError,
    CosmosDecoder,
    bech32_decode,
    bech32_encode,
    canonical_address,
    tx_hash,
)

ALICE = bytes(range(1, 21))
BOB = bytes(range(21, 41))


def test_bech32_matches_published_vectors() -> None:
    # BIP-173's valid vector, and the Cosmos SDK's address of bytes 1..20.
    assert bech32_decode("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", "abcdef").hex() == (
        f"{int(''.join(format(i, '05b') for i in range(32)), 2):040x}"
    )
    assert bech32_encode("cosmos", ALICE) == "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu"


@pytest.mark.parametrize(
    "bad", ["aioz1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xv", "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu", "aioz1b"]
)
def test_bech32_refuses_a_bad_checksum_or_prefix(bad: str) -> None:
    with pytest.raises(Bech32Error):
        bech32_decode(bad, "aioz")


def test_both_forms_of_an_account_are_one_stored_address() -> None:
    bech32 = bech32_encode("aioz", ALICE)
    assert (
        canonical_address(bech32, "aioz") == canonical_address("0x" + ALICE.hex().upper(), "aioz") == "0x" + ALICE.hex()
    )


def _answer(height: int, txs: list[bytes], results: list[dict], **sections: list) -> tuple[dict, dict]:  # type: ignore[type-arg]
    block = {
        "block_id": {"hash": "AB", "parts": {"total": 1, "hash": "CD"}},
        "block": {
            "header": {"height": str(height), "time": "2025-03-01T10:00:00.999999999Z"},
            "data": {"txs": [base64.b64encode(t).decode() for t in txs]},
        },
    }
    return block, {"height": str(height), "txs_results": results or None, **sections}


def _transfer(sender: bytes, recipient: bytes, amount: str, encoded: bool = False) -> dict:  # type: ignore[type-arg]
    attrs = [
        ("recipient", bech32_encode("aioz", recipient)),
        ("sender", bech32_encode("aioz", sender)),
        ("amount", amount),
    ]
    if encoded:
        attrs = [(base64.b64encode(k.encode()).decode(), base64.b64encode(v.encode()).decode()) for k, v in attrs]
    return {"type": "transfer", "attributes": [{"key": k, "value": v, "index": True} for k, v in attrs]}


@pytest.mark.parametrize("encoded", [False, True], ids=["plain-0.37", "base64-0.34"])
def test_transfers_of_configured_denoms_in_txs_and_block_events(encoded: bool) -> None:
    flows = FlowColumns("c")
    tx = b"\x0a\x01\x02"
    mint = {
        "type": "coinbase",
        "attributes": [{"key": "minter", "value": bech32_encode("aioz", BOB)}, {"key": "amount", "value": "7attoaioz"}],
    }
    answer = _answer(
        9,
        [tx],
        [
            {
                "code": 0,
                "events": [{"type": "message", "attributes": []}, _transfer(ALICE, BOB, "12attoaioz,5uatom", encoded)],
            }
        ],
        begin_block_events=[mint],
        end_block_events=None,
    )
    CosmosDecoder("c", {"attoaioz": "attoaioz"}, "aioz").decode([answer], flows)
    rows = list(zip(flows.tx, flows.idx, flows.src, flows.dst, flows.amount, flows.block_time, strict=True))
    when = 1740823200
    assert rows == [
        (hashlib.sha256(tx).hexdigest().upper(), 1000, "0x" + ALICE.hex(), "0x" + BOB.hex(), 12, when),
        ("9:begin_block", 0, None, "0x" + BOB.hex(), 7, when),
    ]
    assert tx_hash(base64.b64encode(tx).decode()) == rows[0][0]


def test_a_transfer_without_a_sender_is_refused_not_stored_as_a_mint() -> None:
    event = {
        "type": "transfer",
        "attributes": [
            {"key": "recipient", "value": bech32_encode("aioz", BOB)},
            {"key": "amount", "value": "1attoaioz"},
        ],
    }
    with pytest.raises(CosmosDecodeError, match="no sender"):
        CosmosDecoder("c", {"attoaioz": "attoaioz"}, "aioz").decode(
            [_answer(3, [b"x"], [{"code": 0, "events": [event]}])], FlowColumns("c")
        )


def test_results_that_do_not_match_the_block_are_refused() -> None:
    with pytest.raises(CosmosDecodeError, match="1 transactions but 0 results"):
        CosmosDecoder("c", {"attoaioz": "attoaioz"}, "aioz").decode([_answer(3, [b"x"], [])], FlowColumns("c"))


def test_the_decoder_imports_no_compiled_extension() -> None:
    probe = "import sys; b = set(sys.modules); import indexer.decode.cosmos; print(sorted(set(sys.modules) - b))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    for name in ("pydantic_core", "orjson", "solders", "eth_abi", "eth_utils", "asyncpg", "httpx"):
        assert f"'{name}" not in loaded, loaded
