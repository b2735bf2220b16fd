"""Property: a corrupted transaction decodes to the same rows or raises a named error.

Real transactions (the scenario's, executed by the token programs, and the mainnet
fixtures) are corrupted one field at a time — any number, string, null or type in the
message, the instructions, the balances, the metadata; balance entries or object keys
removed. The decoder must then either give exactly the rows of the untouched
transaction or raise :class:`SolanaDecodeError`; never different rows, never another
exception.

Three corruptions are outside what any decoder can notice from the transaction alone,
so they are not generated (and the docstring of ``indexer.decode.solana`` says so):
the ``index`` of an inner-instruction group (moving a group renumbers positions
consistently), the owner in the only balance entry of an account that was closed in the
transaction (no other field names that owner), and removing instructions. Signature,
slot and block time are covered through the ``signatures``/``listed`` cross-checks.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.chains.rpc import parse_json
from indexer.chains.solana_answer import TRANSACTIONS
from indexer.decode.columns import FlowColumns
from indexer.decode.solana import SolanaDecodeError, decode_transactions
from tests.solana.scenario import World

MAINNET = Path(__file__).resolve().parents[1] / "fixtures" / "solana" / "mainnet"
MAINNET_MINTS = {
    "EWV6bjhKF5zkXANCdWPvDs7dofRVk4pKyVTitqgEWj8E",
    "8k1DvnFBsbuWJw2t4JqTibR7cAgqadMveqiykMr1pump",
    "7eR1yv7pUzhaqQneKJ2fmVTRuzY61ja5KwfbBrLsq1Gu",
    "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
}
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

Path_ = tuple[Any, ...]


def leaves(value: Any, path: Path_ = ()) -> list[Path_]:
    """Paths of every scalar in ``value`` (and of every list/dict, to replace it whole)."""
    out: list[Path_] = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += leaves(item, (*path, i))
    return out


def closed_only(tx: dict[str, Any]) -> set[int]:
    pre = {b["accountIndex"] for b in tx["meta"]["preTokenBalances"]}
    post = {b["accountIndex"] for b in tx["meta"]["postTokenBalances"]}
    return pre - post


def allowed(tx: dict[str, Any], path: Path_) -> bool:
    if len(path) >= 3 and path[:2] == ("meta", "innerInstructions") and path[-1] == "index":
        return False
    if len(path) == 4 and path[:2] == ("meta", "preTokenBalances") and path[3] == "owner":
        return tx["meta"]["preTokenBalances"][path[2]]["accountIndex"] not in closed_only(tx)
    return True


def get(value: Any, path: Path_) -> Any:
    for step in path:
        value = value[step]
    return value


def put(value: Any, path: Path_, new: Any) -> None:
    get(value, path[:-1])[path[-1]] = new


def decode(tx: dict[str, Any], mints: set[str], original: dict[str, Any]) -> list[tuple[Any, ...]]:
    out = FlowColumns("solana")
    sig = original["transaction"]["signatures"][0]
    listed = [{"signature": sig, "slot": original["slot"], "blockTime": original["blockTime"], "err": None}]
    decode_transactions([tx], mints, out, signatures=[sig], listed=listed)
    return list(zip(out.block, out.block_time, out.tx, out.idx, out.token, out.src, out.dst, out.amount, strict=True))


@pytest.fixture(scope="module")
def corpus(
    world: World, fetched: list[Any]
) -> list[tuple[dict[str, Any], set[str], list[tuple[Any, ...]], list[Path_]]]:
    cases = [(tx, world.tracked) for tx in fetched]
    for path in sorted(MAINNET.glob("*.json")):
        cases.append((json.loads(path.read_text())["result"], MAINNET_MINTS))
    out = []
    for tx, mints in cases:
        paths = [p for p in leaves(tx) if allowed(tx, p)]
        out.append((tx, mints, decode(tx, mints, tx), paths))
    # The corpus must contain flows worth corrupting.
    assert sum(len(rows) for _, _, rows, _ in out) > 300
    return out


def replacement(draw: st.DrawFn, old: Any, tx: dict[str, Any]) -> Any:
    """A new value for a field holding ``old``: near misses first, then anything."""
    choices: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.booleans(),
        st.floats(allow_nan=False),
        st.just([]),
        st.just({}),
        st.integers(-3, 300),
        st.text(B58, max_size=60),
    ]
    if type(old) is int:
        choices += [st.integers(-3, 3).map(lambda d: old + d), st.just(old + 2**64), st.just(str(old))]
    if isinstance(old, str):
        keys = tx["transaction"]["message"]["accountKeys"]
        choices += [
            st.sampled_from(keys),
            st.integers(0, max(0, len(old) - 1)).flatmap(
                lambda i: st.sampled_from(B58).map(lambda c: old[:i] + c + old[i + 1 :])
            ),
            st.integers(0, 2**64).map(str),
            st.just(old + "1"),
            st.just(old[:-1]),
            st.just(" " + old),
        ]
        if old.isdigit():
            choices += [st.integers(-3, 3).map(lambda d: str(int(old) + d)), st.just(int(old))]
    return draw(st.one_of(choices))


@st.composite
def mutation(draw: st.DrawFn, corpus: list[Any]) -> tuple[dict[str, Any], dict[str, Any], set[str], list[Any]]:
    tx, mints, rows, paths = draw(st.sampled_from(corpus))
    mutated = copy.deepcopy(tx)
    kind = draw(st.sampled_from(["replace", "replace", "replace", "drop-entry", "drop-key"]))
    if kind == "drop-entry":
        lists = [p for p in (("meta", "preTokenBalances"), ("meta", "postTokenBalances")) if get(tx, p)]
        if lists:
            where = draw(st.sampled_from(lists))
            entries = get(mutated, where)
            del entries[draw(st.integers(0, len(entries) - 1))]
            return tx, mutated, mints, rows
    if kind == "drop-key":
        dicts = [p for p in paths if isinstance(get(tx, p), dict) and get(tx, p)] + [()]
        where = draw(st.sampled_from(dicts))
        holder = get(mutated, where)
        key = draw(st.sampled_from(sorted(holder)))
        if not (where and where[-2:-1] == ("preTokenBalances",) and key == "owner" and not allowed(tx, (*where, key))):
            del holder[key]
            return tx, mutated, mints, rows
    path = draw(st.sampled_from(paths))
    put(mutated, path, replacement(draw, get(tx, path), tx))
    return tx, mutated, mints, rows


def test_corrupted_transactions_decode_the_same_or_raise(corpus: list[Any]) -> None:
    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(mutation(corpus))
    def check(case: tuple[dict[str, Any], dict[str, Any], set[str], list[Any]]) -> None:
        original, mutated, mints, rows = case
        try:
            got = decode(mutated, mints, original)
        except SolanaDecodeError:
            return
        assert got == rows, "silently different rows"

    check()


def test_targeted_corruptions_are_caught(corpus: list[Any]) -> None:
    """Hand-picked corruptions of flow-carrying transactions, every one detected."""
    caught = 0
    for tx, mints, rows, _ in corpus:
        if not rows:
            continue
        for entry_list in ("preTokenBalances", "postTokenBalances"):
            for i, entry in enumerate(tx["meta"][entry_list]):
                if entry["mint"] not in mints:
                    continue
                for field, new in (
                    ("amount", "1"),
                    ("owner", None),
                    ("mint", "So11111111111111111111111111111111111111112"),
                ):
                    mutated = copy.deepcopy(tx)
                    target = mutated["meta"][entry_list][i]
                    if field == "amount":
                        if entry["uiTokenAmount"]["amount"] == "1":
                            continue
                        target["uiTokenAmount"]["amount"] = new
                    else:
                        if field == "owner" and entry["accountIndex"] in closed_only(tx):
                            continue
                        target[field] = new if new is not None else "11111111111111111111111111111111"
                    try:
                        got = decode(mutated, mints, tx)
                    except SolanaDecodeError:
                        caught += 1
                        continue
                    assert got == rows, (field, entry_list, i)
    assert caught > 500


def _as_parsed(tx: dict[str, Any], typed: bool) -> Any:
    """``tx`` as the RPC client hands it over: in a batch answer, parsed typed or whole."""
    raw = json.dumps([{"jsonrpc": "2.0", "id": 7, "result": tx}]).encode()
    return parse_json(raw, TRANSACTIONS if typed else None)[0]["result"]


def _outcome(tx: Any, mints: set[str], original: dict[str, Any]) -> tuple[str, Any]:
    """The rows, or the error's type and message; a message quoting part of the answer is
    cut where the quote starts (the typed parse quotes fewer fields)."""
    try:
        return "rows", decode(tx, mints, original)
    except SolanaDecodeError as exc:
        return type(exc).__name__, str(exc).split("{'", 1)[0]


def test_the_typed_parse_decodes_every_corruption_as_the_whole_answer_does(corpus: list[Any]) -> None:
    """The ingestor parses answers for the decoder's fields only (indexer/chains/solana_answer.py).
    Whatever a field holds, the decoder must then give the same rows or the same error as
    on the whole answer: a field it reads but the types drop would show here."""
    seen: set[str] = set()

    @settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(mutation(corpus))
    def check(case: tuple[dict[str, Any], dict[str, Any], set[str], list[Any]]) -> None:
        original, mutated, mints, _rows = case
        whole = _outcome(_as_parsed(mutated, typed=False), mints, original)
        assert _outcome(_as_parsed(mutated, typed=True), mints, original) == whole
        seen.add(whole[0])

    check()
    assert {"rows", "SolanaDecodeError"} <= seen
