"""Edge cases executed with the real programs: transfer fees, owner changes, u64 extremes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.signature import Signature

from indexer.decode.columns import FlowColumns
from indexer.decode.solana import (
    SolanaDecodeError,
    SolanaDecodeMismatch,
    SolanaUnsupportedInstruction,
    b58decode,
    b58encode,
    decode_transactions,
    missing_signatures,
)
from indexer.localchains.solana_ledger import (
    TOKEN_2022_PROGRAM_ID,
    SolanaLedger,
    transfer_checked_with_fee_ix,
)

ROOT = Path(__file__).resolve().parents[2]


def decode(txs: list[Any], mints: set[str]) -> FlowColumns:
    out = FlowColumns("solana")
    decode_transactions(txs, mints, out)
    return out


@pytest.fixture(scope="module")
def fee_ledger() -> tuple[SolanaLedger, list[Any], str]:
    """A Token-2022 mint with a 1% transfer fee, moved both ways."""
    ledger = SolanaLedger(seed="fees")
    mint = ledger.create_mint(6, program=TOKEN_2022_PROGRAM_ID, transfer_fee_bps=100)
    alice, bob = ledger.wallet("alice"), ledger.wallet("bob")
    a, b = ledger.token_account(alice, mint), ledger.token_account(bob, mint)
    minted = ledger.mint_to(mint, a, 10**9)
    plain = ledger.transfer(alice, a, b, 10_000, mint=mint, checked=True)
    with_fee = ledger.send(
        [transfer_checked_with_fee_ix(a, mint.address, b, alice.pubkey(), 10_000, 6, 100)], [ledger.payer, alice]
    )
    assert plain.ok and with_fee.ok and ledger.balance(b) == 2 * 9_900
    return ledger, [minted.record, plain.record, with_fee.record], str(mint.address)


def test_transfer_fee_mint_is_refused_clearly(fee_ledger: tuple[SolanaLedger, list[Any], str]) -> None:
    _, (minted, plain, with_fee), mint = fee_ledger
    assert len(decode([minted], {mint})) == 1  # minting has no fee
    with pytest.raises(SolanaDecodeMismatch, match="transfer fee") as caught:
        decode([plain], {mint})
    assert (caught.value.expected, caught.value.decoded) == (9_900, 10_000)
    assert caught.value.signature == plain["transaction"]["signatures"][0]
    with pytest.raises(SolanaUnsupportedInstruction, match="TransferCheckedWithFee"):
        decode([with_fee], {mint})
    # Untracked, the fee mint is nobody's business.
    assert len(decode([minted, plain, with_fee], {str(Pubkey.new_unique())})) == 0


def test_owner_changed_inside_a_transaction_is_refused() -> None:
    ledger = SolanaLedger(seed="set-authority")
    mint = ledger.create_mint(8)
    alice, bob = ledger.wallet("alice"), ledger.wallet("bob")
    account = ledger.token_account(alice, mint, associated=False)
    ledger.mint_to(mint, account, 500)
    set_owner = Instruction(  # SetAuthority(AccountOwner -> bob): a real, legal move of 500 tokens
        mint.program,
        bytes([6, 2, 1]) + bytes(bob.pubkey()),
        [AccountMeta(account, False, True), AccountMeta(alice.pubkey(), True, False)],
    )
    sent = ledger.send([set_owner], [alice])
    assert sent.ok
    with pytest.raises(SolanaDecodeError, match="owner or mint changed inside it"):
        decode([sent.record], {str(mint.address)})


def test_u64_extremes_are_exact() -> None:
    ledger = SolanaLedger(seed="u64")
    mint = ledger.create_mint(8)
    alice, bob = ledger.wallet("alice"), ledger.wallet("bob")
    a, b = ledger.token_account(alice, mint), ledger.token_account(bob, mint)
    top = 2**64 - 1
    sent = [ledger.mint_to(mint, a, top), ledger.transfer(alice, a, b, top - 1, mint=mint, checked=True)]
    sent.append(ledger.burn(bob, b, mint, top - 2))
    out = decode([s.record for s in sent], {str(mint.address)})
    assert out.amount == [top, top - 1, top - 2]
    assert sent[0].record["meta"]["postTokenBalances"][0]["uiTokenAmount"]["uiAmountString"] == "184467440737.09551615"


def test_batch_is_atomic_and_failures_name_the_transaction() -> None:
    ledger = SolanaLedger(seed="atomic")
    mint = ledger.create_mint(6)
    alice = ledger.wallet("alice")
    a = ledger.token_account(alice, mint)
    good = ledger.mint_to(mint, a, 10).record
    bad = copy.deepcopy(ledger.mint_to(mint, a, 20).record)
    bad["meta"] = None
    out = FlowColumns("solana")
    with pytest.raises(SolanaDecodeError, match=bad["transaction"]["signatures"][0]):
        decode_transactions([good, bad], {str(mint.address)}, out)
    assert len(out) == 0 and out.block_time == []
    weird = copy.deepcopy(good)
    weird["version"] = 1
    with pytest.raises(SolanaDecodeError, match="unsupported transaction version 1"):
        decode([weird], {str(mint.address)})
    broken = copy.deepcopy(good)
    broken["transaction"]["message"]["instructions"][0]["data"] = "0OIl0OIl0OIl"
    with pytest.raises(SolanaDecodeError, match="malformed"):
        decode([broken], {str(mint.address)})
    with pytest.raises(ValueError, match="results for"):
        missing_signatures([good], [])


def test_failed_transaction_whose_balances_moved_is_refused() -> None:
    ledger = SolanaLedger(seed="err")
    mint = ledger.create_mint(6)
    alice = ledger.wallet("alice")
    a = ledger.token_account(alice, mint)
    tx = copy.deepcopy(ledger.mint_to(mint, a, 10).record)
    tx["meta"]["err"] = {"InstructionError": [0, "InvalidArgument"]}
    tx["meta"]["status"] = {"Err": tx["meta"]["err"]}
    with pytest.raises(SolanaDecodeError, match="failed .* yet token account"):
        decode([tx], {str(mint.address)})


@given(st.binary(min_size=0, max_size=80))
def test_base58_round_trips(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64))
def test_base58_agrees_with_solders(key: bytes, sig: bytes) -> None:
    assert b58encode(key) == str(Pubkey(key))
    assert b58encode(sig) == str(Signature(sig))
    assert b58decode(str(Pubkey(key))) == key


def test_base58_rejects_foreign_characters() -> None:
    for bad in ("0", "O", "I", "l", "abc+", "é"):
        with pytest.raises(ValueError):
            b58decode(bad)


def test_importing_the_decoder_loads_no_compiled_extension() -> None:
    # sys.modules is read before json is imported to print it (json loads _json.so).
    code = (
        "import sys\n"
        "import indexer.decode.solana\n"
        "modules = {name: getattr(module, '__file__', None) for name, module in sys.modules.items()}\n"
        "import json\n"
        "print(json.dumps(modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    modules: dict[str, str | None] = json.loads(done.stdout)
    assert "indexer.decode.solana" in modules
    # msgspec parses RPC answers in indexer/chains: it must not reach the decoder.
    forbidden = (
        "solders",
        "solana",
        "pydantic_core",
        "pydantic",
        "orjson",
        "msgspec",
        "construct",
        "based58",
        "base58",
    )
    assert sorted(n for n in modules if n.split(".")[0] in forbidden) == []
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    dynload = {
        (Path(sys.base_exec_prefix) / "lib" / version / "lib-dynload").resolve(),
        Path(sysconfig.get_config_var("DESTSHARED") or "/nonexistent").resolve(),
    }
    compiled = sorted(
        f for f in modules.values() if f and f.endswith((".so", ".pyd")) and Path(f).resolve().parent not in dynload
    )
    assert compiled == []
