"""The decoder on real mainnet getTransaction responses (see tests/fixtures/solana/mainnet)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from solders.rpc.responses import GetTransactionResp

from indexer.chains import shapes
from indexer.decode.columns import FlowColumns
from indexer.decode.solana import NATIVE_MINT, SolanaDecodeMismatch, decode_transactions

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "solana" / "mainnet"
EWV6 = "EWV6bjhKF5zkXANCdWPvDs7dofRVk4pKyVTitqgEWj8E"  # Token-2022, 9 decimals
PUMP = "8k1DvnFBsbuWJw2t4JqTibR7cAgqadMveqiykMr1pump"  # SPL Token, 6 decimals
MINT_7ER1 = "7eR1yv7pUzhaqQneKJ2fmVTRuzY61ja5KwfbBrLsq1Gu"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
MINT_93NC = "93NckFnFGA49ugiohaPh1jrhEHRQrmK5vAEh2LfSEEv4"


def load(prefix: str) -> dict[str, Any]:
    (path,) = FIXTURES.glob(f"{prefix}*.json")
    return json.loads(path.read_text())["result"]


def flows(tx: dict[str, Any], mints: set[str]) -> list[tuple[Any, ...]]:
    out = FlowColumns("solana")
    decode_transactions([tx], mints, out)
    return list(zip(out.block, out.block_time, out.idx, out.token, out.src, out.dst, out.amount, strict=True))


def test_fixtures_are_real_responses_solders_can_parse() -> None:
    paths = sorted(FIXTURES.glob("*.json"))
    assert len(paths) == 5
    for path in paths:
        text = path.read_text()
        parsed = GetTransactionResp.from_json(text)
        assert parsed.value is not None
        assert str(parsed.value.transaction.transaction.signatures[0]) == path.stem  # type: ignore[union-attr]


def test_the_rpc_clients_shape_check_accepts_every_real_answer() -> None:
    """The client retries a getTransaction result of the wrong shape; a real mainnet answer
    must never be taken for one (it would be retried until the run gives up)."""
    paths = sorted(FIXTURES.glob("*.json"))
    assert len(paths) == 5
    for path in paths:
        result = json.loads(path.read_text())["result"]
        assert shapes.problem("getTransaction", result) is None, path.name
    assert shapes.problem("getTransaction", {"unexpected": "shape"}) is not None


def test_token_2022_transfers_inside_a_cpi() -> None:
    tx = load("5bvyp1no")
    sig = tx["transaction"]["signatures"][0]
    buyer, pool, fees = (
        "95rVs91daKmzom4SM41dg4MRmy5M7rMEHPerenZwWaCq",
        "CW644FAJoQE9B9MGqmdfDseS4XfsmgS77ve7zJDJxiPS",
        "JCRGumoE9Qi5BBgULTgdgTLjSgkCMSbF62ZZfGs84JeU",
    )
    # Computed by hand from the balance lists: the buyer's account fell by the sum of both.
    to_pool = 344503076480687631 - 344034375969831999
    to_fees = 1956444834189033 - 1956211068348207
    assert to_pool + to_fees == 944780237596635 - 475845960900177
    # Positions: ATA create 0 (+ inner 1-4), AMM 5 (+ GetFees 6, wSOL 7, EWV6 8, EWV6 9, event 10), close 11.
    assert flows(tx, {EWV6}) == [
        (376243586, 1761609724, 8, EWV6, buyer, pool, to_pool),
        (376243586, 1761609724, 9, EWV6, buyer, fees, to_fees),
    ]
    assert sig == "5bvyp1nob51M6FCjCeZd68AjXFWJJEvdqkHu9ZCeRt6sMz5wpUiTi3LPBEuonUHuVg8LwzSnx5MX2RFGSv6Mb36v"


def test_spl_token_through_an_intermediate_account_at_two_stack_heights() -> None:
    tx = load("2zNeSn8c")
    pool, router, trader = (
        "9S3zAF8zVffQvD6EfqaVAdRbnYjVW51kVQDH2vHjk4vq",
        "HV1KXxWFaSeriyFvXyx48FqG9BoFbfinB8njCJonqP7K",
        "G2341KGbNxuSAfCfqNuPhfLQtPB94hPfgyVPC89Faor4",
    )
    amount = 147932989042582 - 147928614899239
    assert amount == 4374143343
    got = flows(tx, {PUMP})
    assert [(idx, src, dst, amt) for _, _, idx, _, src, dst, amt in got] == [
        (16, pool, router, amount),  # stack height 3, inside the AMM inside the router
        (21, router, trader, amount),  # stack height 2, the router pays the trader
    ]


def test_inner_transfer_of_a_swap() -> None:
    tx = load("2cd7QQSB")
    got = flows(tx, {MINT_7ER1})
    assert [(idx, src, dst, amt) for _, _, idx, _, src, dst, amt in got] == [
        (
            6,
            "EM4Fvu4G3qLuSNdBeturuHzqh871hh1evxY7RLBoF6ZL",
            "98QXkwe6DThTsTq7tukKF4g9Wc6WnRbZyTBZ1iBupY39",
            658458805300853 - 657651035772212,
        )
    ]


def test_transactions_that_moved_nothing() -> None:
    assert flows(load("39ZSBSYR"), {USDC, MINT_93NC}) == []
    assert flows(load("2E9Ddokz"), {USDC, NATIVE_MINT}) == []


def test_all_five_in_one_batch() -> None:
    txs = [json.loads(p.read_text())["result"] for p in sorted(FIXTURES.glob("*.json"))]
    out = FlowColumns("solana")
    assert decode_transactions(txs, {EWV6, PUMP, MINT_7ER1, USDC, MINT_93NC}, out) == 5


@pytest.mark.parametrize("prefix", ["5bvyp1no", "2zNeSn8c", "2cd7QQSB"])
def test_wrapped_sol_is_refused_with_a_reason(prefix: str) -> None:
    # Wrapped SOL follows lamports (SyncNative, closing with a balance): not decodable as flows.
    with pytest.raises(SolanaDecodeMismatch, match="wrapped SOL"):
        flows(load(prefix), {NATIVE_MINT})
