"""getTransaction answers parsed for the decoder's fields only (indexer/chains/solana_answer.py).

On the real mainnet answers of tests/fixtures/solana/mainnet: what the typed parse keeps
equals the whole answer field for field, it drops what nothing reads, and the shape check,
the decoder and the token-account finder see no difference. An answer whose containers
are of another type is parsed whole. (Every corruption of a field is compared in
tests/solana/test_decode_mutations.py; the record path, which stores answers whole, in
tests/solana/test_undecodable.py.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from indexer.chains import shapes
from indexer.chains.rpc import parse_json
from indexer.chains.solana_answer import TRANSACTIONS
from indexer.decode.columns import FlowColumns
from indexer.decode.solana import decode_transactions
from indexer.decode.solana_accounts import owned_token_accounts
from tests.solana.test_decode_mutations import MAINNET, MAINNET_MINTS

ANSWERS = sorted(MAINNET.glob("*.json"))


def batch(*results: Any) -> bytes:
    return json.dumps([{"jsonrpc": "2.0", "id": i, "result": r} for i, r in enumerate(results)]).encode()


def kept_within(part: Any, whole: Any, path: str = "") -> None:
    """Every value of ``part`` equals the one at the same place in ``whole``."""
    if isinstance(part, dict):
        assert isinstance(whole, dict), path
        for key, value in part.items():
            assert key in whole, f"{path}.{key} is not in the answer"
            kept_within(value, whole[key], f"{path}.{key}")
    elif isinstance(part, list):
        assert isinstance(whole, list) and len(part) == len(whole), path
        for i, (a, b) in enumerate(zip(part, whole, strict=True)):
            kept_within(a, b, f"{path}[{i}]")
    else:
        assert type(part) is type(whole) and part == whole, path


def columns(flows: FlowColumns) -> tuple[list[Any], ...]:
    return (flows.block, flows.block_time, flows.tx, flows.idx, flows.token, flows.src, flows.dst, flows.amount)


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: p.stem[:8])
def test_a_real_answer_parses_to_the_fields_read_and_decodes_the_same(path: Path) -> None:
    whole = json.loads(path.read_text())["result"]
    raw = batch(whole, None)
    typed = parse_json(raw, TRANSACTIONS)
    assert typed[1]["result"] is None
    answer = typed[0]["result"]
    kept_within(answer, whole)
    assert "logMessages" not in answer["meta"] and "header" not in answer["transaction"]["message"]
    assert len(json.dumps(answer)) < len(json.dumps(whole))
    assert shapes.problem("getTransaction", answer) is None

    sig = whole["transaction"]["signatures"][0]
    out_typed, out_whole = FlowColumns("solana"), FlowColumns("solana")
    decode_transactions([answer], MAINNET_MINTS, out_typed, signatures=[sig])
    decode_transactions([whole], MAINNET_MINTS, out_whole, signatures=[sig])
    assert columns(out_typed) == columns(out_whole)
    owners = {
        entry["owner"]
        for entry in whole["meta"]["preTokenBalances"] + whole["meta"]["postTokenBalances"]
        if "owner" in entry
    }
    mints = {entry["mint"] for entry in whole["meta"]["preTokenBalances"] + whole["meta"]["postTokenBalances"]}
    found = owned_token_accounts([answer], owners, mints)
    assert found == owned_token_accounts([whole], owners, mints)
    assert bool(found) == bool(owners)


@pytest.mark.parametrize(
    "where, value",
    [
        (("meta", "preTokenBalances"), {"accountIndex": 1}),
        (("transaction", "message", "instructions"), "not a list"),
        (("meta",), ["a", "list"]),
        (("meta", "innerInstructions"), [None]),
    ],
)
def test_an_answer_of_another_shape_is_parsed_whole(where: tuple[str, ...], value: Any) -> None:
    answer = json.loads(ANSWERS[0].read_text())["result"]
    holder = answer
    for key in where[:-1]:
        holder = holder[key]
    holder[where[-1]] = value
    raw = batch(answer)
    assert parse_json(raw, TRANSACTIONS) == json.loads(raw)


def test_a_body_that_is_no_batch_of_answers_is_parsed_whole() -> None:
    for raw in (b'{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"slow down"}}', b'"text"', b"[1, 2]"):
        assert parse_json(raw, TRANSACTIONS) == json.loads(raw)
    with pytest.raises(ValueError):
        parse_json(b'[{"jsonrpc": "2.0", "id": 1, "result": {"slot": 1', TRANSACTIONS)
