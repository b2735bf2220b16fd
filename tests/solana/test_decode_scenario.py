"""The decoder on transactions executed by the real token programs, fetched over HTTP."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

from indexer.decode.columns import FlowColumns
from indexer.decode.solana import (
    SolanaDecodeError,
    SolanaDecodeMismatch,
    SolanaTransactionMissing,
    decode_transactions,
    missing_signatures,
)
from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.solana.conftest import Rpc
from tests.solana.scenario import NODES, World


def rows(out: FlowColumns) -> list[tuple[Any, ...]]:
    """(tx, token, src, dst, amount) of every decoded flow."""
    return list(zip(out.tx, out.token, out.src, out.dst, out.amount, strict=True))


def decode(txs: list[Any], mints: set[str], **kwargs: Any) -> FlowColumns:
    out = FlowColumns("solana")
    decode_transactions(txs, mints, out, **kwargs)
    return out


def test_every_intended_flow_and_nothing_else(world: World, fetched: list[Any]) -> None:
    out = decode(fetched, world.tracked)
    expected = [(f.tx, f.token, f.src, f.dst, f.amount) for f in world.expected]
    assert Counter(rows(out)) == Counter(expected)
    assert len(out) == len(expected) == 360
    # Per transaction, idx follows execution order: the order the scenario sent them.
    by_tx: dict[str, list[tuple[int, tuple[Any, ...]]]] = {}
    for idx, row in zip(out.idx, rows(out), strict=True):
        by_tx.setdefault(row[0], []).append((idx, row))
    meant: dict[str, list[tuple[Any, ...]]] = {}
    for row in expected:
        meant.setdefault(row[0], []).append(row)
    for tx, found in by_tx.items():
        assert len({idx for idx, _ in found}) == len(found)
        assert [row for _, row in sorted(found)] == meant[tx]


def test_block_and_time_come_from_the_transaction(world: World, fetched: list[Any]) -> None:
    out = decode(fetched, world.tracked)
    by_sig = {tx["transaction"]["signatures"][0]: tx for tx in fetched}
    for block, block_time, sig in zip(out.block, out.block_time, out.tx, strict=True):
        assert block == by_sig[sig]["slot"] == world.ledger.entry(sig).slot  # type: ignore[union-attr]
        assert block_time == by_sig[sig]["blockTime"]
    # Four months of history: March to June 2024.
    assert min(out.block_time) < 1_709_600_000 < 1_717_200_000 < max(out.block_time)
    assert out.days() and len(out.days()) >= 16


def test_untracked_mints_are_skipped(world: World, fetched: list[Any]) -> None:
    only_usdc = decode(fetched, {str(world.usdc.address)})
    assert set(only_usdc.token) == {str(world.usdc.address)}
    assert len(only_usdc) == sum(1 for f in world.expected if f.token == str(world.usdc.address))
    # Untracked by the scenario, but flows all the same when asked for: 5 mints, 1 transfer.
    assert len(decode(fetched, {str(world.junk.address)})) == 6


def test_failed_transaction_lists_with_err_and_decodes_to_nothing(world: World, rpc: Rpc) -> None:
    (sig,) = world.failed
    tx = rpc.call("getTransaction", [sig, {"encoding": "json", "maxSupportedTransactionVersion": 0}])
    assert tx["meta"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert tx["meta"]["status"] == {"Err": tx["meta"]["err"]}
    assert tx["meta"]["fee"] == 10_000 and tx["meta"]["postBalances"][0] == tx["meta"]["preBalances"][0] - 10_000
    assert tx["meta"]["preTokenBalances"] == tx["meta"]["postTokenBalances"]
    assert "Program log: Error: insufficient funds" in tx["meta"]["logMessages"]
    assert len(decode([tx], world.tracked)) == 0
    customer = str(world.customers[4].pubkey())
    listed = {entry["signature"]: entry for entry in rpc.all_signatures(customer)}
    assert listed[sig]["err"] == {"InstructionError": [0, {"Custom": 1}]}


def test_v0_transaction_through_a_lookup_table(world: World, rpc: Rpc) -> None:
    (sig,) = world.v0
    tx = rpc.call("getTransaction", [sig, {"encoding": "json", "maxSupportedTransactionVersion": 0}])
    assert tx["version"] == 0
    lookups = tx["transaction"]["message"]["addressTableLookups"]
    assert len(lookups) == 1 and len(lookups[0]["writableIndexes"]) == 50
    loaded = tx["meta"]["loadedAddresses"]
    assert len(loaded["writable"]) == 50 and loaded["readonly"] == []
    # Node accounts are only in the loaded addresses, and their balances point there.
    static = len(tx["transaction"]["message"]["accountKeys"])
    assert all(
        b["accountIndex"] >= static
        for b in tx["meta"]["postTokenBalances"]
        if b["owner"] != str(world.distributor.pubkey())
    )
    out = decode([tx], world.tracked)
    assert len(out) == 50
    assert set(out.dst) == {str(n.pubkey()) for n in world.nodes[:50]}
    assert out.idx == list(range(50))
    # The node's token account lists the v0 transaction too (loaded addresses are indexed).
    node_account = str(world.ata(world.nodes[7], world.io))
    assert sig in {e["signature"] for e in rpc.all_signatures(node_account)}


def test_distributor_pays_every_node_in_several_transactions(world: World, fetched: list[Any]) -> None:
    out = decode(fetched, {str(world.io.address)})
    distributor = str(world.distributor.pubkey())
    payouts = [(tx, dst) for tx, src, dst in zip(out.tx, out.src, out.dst, strict=True) if src == distributor]
    assert len({dst for _, dst in payouts}) == NODES
    assert len({tx for tx, _ in payouts}) == 3 * 4 + 2  # 4 per month, except the v0 month: 2
    assert len(payouts) == 4 * NODES


def test_transfer_made_by_a_program_through_cpi(world: World, rpc: Rpc) -> None:
    (sig,) = world.cpi
    tx = rpc.call("getTransaction", [sig, {"encoding": "json", "maxSupportedTransactionVersion": 0}])
    (group,) = tx["meta"]["innerInstructions"]
    assert group["index"] == 0 and [i["stackHeight"] for i in group["instructions"]] == [2, 2]
    out = decode([tx], world.tracked)
    node_io_account = str(world.ata(world.nodes[0], world.io))
    assert rows(out) == [(sig, str(world.usdc.address), node_io_account, str(world.nodes[0].pubkey()), 1234)]
    assert out.idx == [1]  # inner instruction 0 of top-level instruction 0
    # The nested account was closed: it is in preTokenBalances only.
    pre = {b["accountIndex"] for b in tx["meta"]["preTokenBalances"]}
    post = {b["accountIndex"] for b in tx["meta"]["postTokenBalances"]}
    assert pre - post


def test_account_created_and_closed_inside_the_transaction(world: World, rpc: Rpc) -> None:
    (sig,) = world.temporary
    tx = rpc.call("getTransaction", [sig, {"encoding": "json", "maxSupportedTransactionVersion": 0}])
    temp_index = 1  # signer after the fee payer
    indexes = {b["accountIndex"] for b in tx["meta"]["preTokenBalances"] + tx["meta"]["postTokenBalances"]}
    assert temp_index not in indexes
    out = decode([tx], world.tracked)
    assert out.idx == [2, 3] and len(set(out.src) | set(out.dst)) == 3


def test_self_transfer_is_a_flow_from_a_wallet_to_itself(world: World, fetched: list[Any]) -> None:
    (sig,) = world.self_transfers
    tx = next(t for t in fetched if t["transaction"]["signatures"][0] == sig)
    out = decode([tx], world.tracked)
    payments = str(world.payments.pubkey())
    assert rows(out) == [(sig, str(world.io.address), payments, payments, 321)]


def test_tracked_and_untracked_in_one_transaction_keep_execution_positions(world: World, fetched: list[Any]) -> None:
    sig = next(f.tx for f in world.expected if f.amount == 777)
    tx = next(t for t in fetched if t["transaction"]["signatures"][0] == sig)
    out = decode([tx], world.tracked)
    assert out.idx == [2, 4]  # memo 0, junk 1, USDC 2, zero IO 3 (no flow), IO 4
    assert out.amount == [777, 888]
    junk = decode([tx], {str(world.junk.address)})
    assert junk.idx == [1]
    # idx does not depend on which mints are tracked: tracking more never renumbers.
    both = decode([tx], world.tracked | {str(world.junk.address)})
    assert both.idx == [1, 2, 4]


def test_tampered_balance_rejects_the_batch_naming_the_signature(world: World, fetched: list[Any]) -> None:
    sig = world.expected[-1].tx
    txs = copy.deepcopy(fetched)
    tx = next(t for t in txs if t["transaction"]["signatures"][0] == sig)
    entry = next(b for b in tx["meta"]["postTokenBalances"] if b["owner"] == str(world.payments.pubkey()))
    entry["uiTokenAmount"]["amount"] = str(int(entry["uiTokenAmount"]["amount"]) + 1)
    out = FlowColumns("solana")
    with pytest.raises(SolanaDecodeMismatch) as caught:
        decode_transactions(txs, world.tracked, out)
    assert len(out) == 0  # nothing of the batch was kept
    error = caught.value
    assert error.signature == sig and sig in str(error)
    assert error.owner == str(world.payments.pubkey()) and error.mint == str(world.io.address)
    assert error.expected == error.decoded + 1
    assert f"changed by {error.expected}" in str(error) and f"move {error.decoded}" in str(error)


def test_tampered_instruction_amount_is_caught(world: World, fetched: list[Any]) -> None:
    from indexer.decode.solana import b58decode, b58encode

    sig = world.expected[-1].tx
    tx = copy.deepcopy(next(t for t in fetched if t["transaction"]["signatures"][0] == sig))
    ix = tx["transaction"]["message"]["instructions"][0]
    raw = bytearray(b58decode(ix["data"]))
    raw[1] ^= 1
    ix["data"] = b58encode(bytes(raw))
    with pytest.raises(SolanaDecodeMismatch, match=sig):
        decode([tx], world.tracked)


def test_null_results_are_named_and_never_empty(world: World, server: SolanaRpcServer, rpc: Rpc) -> None:
    wanted = world.ledger.signatures[-5:]
    server.unavailable.add(wanted[2])
    try:
        txs = rpc.transactions(wanted)
    finally:
        server.unavailable.clear()
    assert txs[2] is None
    assert missing_signatures(txs, wanted) == [wanted[2]]
    out = FlowColumns("solana")
    with pytest.raises(SolanaTransactionMissing) as caught:
        decode_transactions(txs, world.tracked, out, signatures=wanted)
    assert caught.value.signatures == [wanted[2]] and caught.value.positions == [2]
    assert wanted[2] in str(caught.value) and len(out) == 0
    with pytest.raises(SolanaTransactionMissing, match="#2"):
        decode_transactions(txs, world.tracked, out)
    # Fetched again later, the batch decodes.
    again = rpc.transactions(wanted)
    assert decode_transactions(again, world.tracked, out, signatures=wanted) == len(out) > 0


def test_cross_checks_against_what_was_asked_and_listed(world: World, rpc: Rpc) -> None:
    address = str(world.ata(world.payments, world.io))
    listed = rpc.all_signatures(address)
    ok = [e for e in listed if e["err"] is None][:20]
    sigs = [e["signature"] for e in ok]
    txs = rpc.transactions(sigs)
    assert decode_transactions(txs, world.tracked, FlowColumns("solana"), signatures=sigs, listed=ok) > 0
    with pytest.raises(SolanaDecodeError, match="was asked for"):
        decode(txs, world.tracked, signatures=sigs[::-1])
    moved = [dict(e) for e in ok]
    moved[3]["slot"] += 1
    with pytest.raises(SolanaDecodeError, match="listed at slot"):
        decode(txs, world.tracked, listed=moved)
    moved = [dict(e) for e in ok]
    moved[4]["blockTime"] += 60
    with pytest.raises(SolanaDecodeError, match="blockTime"):
        decode(txs, world.tracked, listed=moved)


def test_missing_block_time_names_the_signature(world: World, fetched: list[Any]) -> None:
    sig = world.expected[0].tx
    tx = copy.deepcopy(next(t for t in fetched if t["transaction"]["signatures"][0] == sig))
    tx["blockTime"] = None
    with pytest.raises(SolanaDecodeError, match=f"{sig}: blockTime is null"):
        decode([tx], world.tracked)
