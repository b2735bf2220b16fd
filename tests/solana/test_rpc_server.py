"""The local JSON-RPC server: mainnet shapes, mainnet errors, mainnet paging."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.models import TokenAccountOpts
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetBlockTimeResp,
    GetLatestBlockhashResp,
    GetSignaturesForAddressResp,
    GetSlotResp,
    GetTokenAccountsByOwnerJsonParsedResp,
    GetTransactionResp,
)
from solders.signature import Signature

from indexer.decode.solana import b58decode
from indexer.localchains.solana_ledger import SolanaLedger
from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.solana.conftest import Rpc
from tests.solana.scenario import World

MAINNET = Path(__file__).resolve().parents[1] / "fixtures" / "solana" / "mainnet"
V0 = {"encoding": "json", "maxSupportedTransactionVersion": 0}


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and element shapes, not values."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value and isinstance(value[0], (dict, list)) else "list"
    return type(value).__name__ if value is not None else "null"


def test_transaction_shape_matches_a_real_mainnet_answer(world: World, rpc: Rpc) -> None:
    real = json.loads(
        (
            MAINNET / "5bvyp1nob51M6FCjCeZd68AjXFWJJEvdqkHu9ZCeRt6sMz5wpUiTi3LPBEuonUHuVg8LwzSnx5MX2RFGSv6Mb36v.json"
        ).read_text()
    )
    (sig,) = world.cpi  # a transaction with inner instructions and token balances
    ours = rpc.raw("getTransaction", [world.v0[0], V0])
    cpi = rpc.raw("getTransaction", [sig, V0])
    assert set(ours) == set(real) == {"jsonrpc", "result", "id"}
    want, got = real["result"], cpi["result"]
    assert set(got) == set(want)
    # costUnits is newer than the validator LiteSVM mirrors; everything else is there.
    assert set(got["meta"]) == set(want["meta"]) - {"costUnits"}
    # A v0 message has addressTableLookups; a legacy one (like mainnet's) has none.
    assert set(ours["result"]["transaction"]["message"]) == set(want["transaction"]["message"])
    assert set(got["transaction"]["message"]) == set(want["transaction"]["message"]) - {"addressTableLookups"}
    assert shape(got["transaction"]["message"]["instructions"][0]) == shape(
        want["transaction"]["message"]["instructions"][0]
    )
    assert shape(got["meta"]["innerInstructions"][0]) == shape(want["meta"]["innerInstructions"][0])
    assert shape(got["meta"]["postTokenBalances"][0]) == shape(want["meta"]["postTokenBalances"][0])
    assert shape(got["meta"]["loadedAddresses"]) == shape(want["meta"]["loadedAddresses"])
    assert got["meta"]["status"] == {"Ok": None} and got["meta"]["rewards"] == []
    # A zero balance reads back with a null uiAmount, like the real one.
    balances = got["meta"]["preTokenBalances"] + got["meta"]["postTokenBalances"]
    zero = next(b for b in balances if b["uiTokenAmount"]["amount"] == "0")
    assert zero["uiTokenAmount"]["uiAmount"] is None and zero["uiTokenAmount"]["uiAmountString"] == "0"


def test_solders_parses_every_answer(world: World, rpc: Rpc) -> None:
    for sig in world.ledger.signatures[::7]:
        parsed = GetTransactionResp.from_json(rpc.text("getTransaction", [sig, V0]))
        assert str(parsed.value.transaction.transaction.signatures[0]) == sig  # type: ignore[union-attr]
    parsed_v0 = GetTransactionResp.from_json(rpc.text("getTransaction", [world.v0[0], V0]))
    assert parsed_v0.value.transaction.version == 0  # type: ignore[union-attr]
    payments_usdc = str(world.ata(world.payments, world.usdc))
    sigs = GetSignaturesForAddressResp.from_json(rpc.text("getSignaturesForAddress", [payments_usdc]))
    assert len(sigs.value) > 20 and any(s.err is not None for s in sigs.value)
    accounts = GetTokenAccountsByOwnerJsonParsedResp.from_json(
        rpc.text(
            "getTokenAccountsByOwner",
            [str(world.payments.pubkey()), {"programId": str(world.io.program)}, {"encoding": "jsonParsed"}],
        )
    )
    assert len(accounts.value) == 4  # IO, USDC, junk, and the ordinary IO account
    assert GetSlotResp.from_json(rpc.text("getSlot")).value == world.ledger.head_slot
    assert GetBlockTimeResp.from_json(rpc.text("getBlockTime", [world.ledger.head_slot])).value == world.ledger.now
    assert GetLatestBlockhashResp.from_json(rpc.text("getLatestBlockhash")).value.last_valid_block_height > 0


async def test_solana_py_async_client_reads_the_server(world: World, server: SolanaRpcServer) -> None:
    async with AsyncClient(server.url) as client:
        assert await client.is_connected()
        payments_io = world.ata(world.payments, world.io)
        page = (await client.get_signatures_for_address(payments_io, limit=5)).value
        assert len(page) == 5
        older = (await client.get_signatures_for_address(payments_io, before=page[-1].signature, limit=5)).value
        assert older[0].slot <= page[-1].slot and older[0].signature not in {p.signature for p in page}
        tx = (
            await client.get_transaction(page[0].signature, encoding="json", max_supported_transaction_version=0)
        ).value
        assert tx is not None and tx.slot == page[0].slot
        accounts = (
            await client.get_token_accounts_by_owner_json_parsed(
                world.payments.pubkey(), TokenAccountOpts(mint=world.io.address)
            )
        ).value
        mine = world.ledger.token_accounts_of(world.payments.pubkey(), mint=world.io.address)
        assert {a.pubkey for a in accounts} == {address for address, _ in mine} and len(accounts) == 2
        balance = (await client.get_token_account_balance(payments_io)).value
        assert int(balance.amount) == world.ledger.balance(payments_io)


def test_token_accounts_by_owner_find_incoming_payments(world: World, rpc: Rpc) -> None:
    # An incoming SPL payment names the receiver's token account, not its wallet: the
    # wallet's own listing misses it, its token account's listing has it.
    customer_payment = next(f.tx for f in world.expected if f.dst == str(world.payments.pubkey()) and f.src is not None)
    wallet = {e["signature"] for e in rpc.all_signatures(str(world.payments.pubkey()))}
    assert customer_payment not in wallet
    result = rpc.call(
        "getTokenAccountsByOwner",
        [str(world.payments.pubkey()), {"mint": str(world.usdc.address)}, {"encoding": "jsonParsed"}],
    )
    (account,) = result["value"]
    info = account["account"]["data"]["parsed"]["info"]
    assert info["owner"] == str(world.payments.pubkey()) and info["mint"] == str(world.usdc.address)
    assert account["account"]["data"]["program"] == "spl-token" and account["account"]["space"] == 165
    listed = {e["signature"] for e in rpc.all_signatures(account["pubkey"])}
    usdc_payment = next(
        f.tx
        for f in world.expected
        if f.dst == str(world.payments.pubkey()) and f.token == str(world.usdc.address) and f.src
    )
    assert usdc_payment in listed
    t22 = rpc.call(
        "getTokenAccountsByOwner",
        [str(world.payments.pubkey()), {"programId": str(world.io22.program)}, {"encoding": "jsonParsed"}],
    )
    (acc22,) = t22["value"]
    assert acc22["account"]["data"]["program"] == "spl-token-2022"
    assert {"extension": "immutableOwner"} in acc22["account"]["data"]["parsed"]["info"]["extensions"]


def test_same_slot_order_and_paging_inside_a_slot(world: World, rpc: Rpc) -> None:
    address = str(world.ata(world.payments, world.io))
    top = rpc.call("getSignaturesForAddress", [address, {"limit": 6}])
    same = [e for e in top if e["slot"] == top[0]["slot"]]
    assert len(same) == 4  # the block() of four payments
    raw = [b58decode(e["signature"]) for e in same]
    assert raw == sorted(raw, reverse=True)  # mainnet: by signature, newest "first"
    after_second = rpc.call("getSignaturesForAddress", [address, {"limit": 3, "before": same[1]["signature"]}])
    assert [e["signature"] for e in after_second] == [e["signature"] for e in top[2:5]]
    newer_than_third = rpc.call("getSignaturesForAddress", [address, {"until": same[2]["signature"]}])
    assert [e["signature"] for e in newer_than_third] == [e["signature"] for e in same[:2]]


def test_memo_is_listed_like_mainnet(world: World, rpc: Rpc) -> None:
    customer = str(world.customers[1].pubkey())
    memos = [e["memo"] for e in rpc.all_signatures(customer) if e["memo"]]
    assert memos == ["[10] invoice 42"]


def test_json_rpc_errors_are_shaped_like_mainnet(world: World, server: SolanaRpcServer, rpc: Rpc) -> None:
    http = rpc.http
    assert rpc.raw("getNothing", []) == {
        "jsonrpc": "2.0",
        "error": {"code": -32601, "message": "Method not found"},
        "id": rpc._id,
    }
    assert http.post(server.url, content=b"{not json").json() == {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Parse error"},
        "id": None,
    }
    assert http.post(server.url, content=b"[]").json()["error"] == {"code": -32600, "message": "Invalid request"}
    assert http.post(server.url, json={"id": 1, "method": "getSlot"}).json()["error"]["code"] == -32600
    notification = http.post(server.url, json={"jsonrpc": "2.0", "method": "getSlot"})
    assert notification.status_code == 200 and notification.content == b""
    v0 = rpc.raw("getTransaction", [world.v0[0], {"encoding": "json"}])
    assert v0["error"] == {
        "code": -32015,
        "message": "Transaction version (0) is not supported by the requesting client. Please try the request "
        'again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
    }
    legacy = rpc.call("getTransaction", [world.failed[0], "json"])
    assert "version" not in legacy and legacy["slot"] > 0
    assert rpc.call("getTransaction", [str(Signature.new_unique()), V0]) is None
    for bad, message in (("abc", "Invalid param: WrongSize"), ("0OIl" * 22, "Invalid param: Invalid")):
        assert rpc.raw("getTransaction", [bad, V0])["error"] == {"code": -32602, "message": message}
    assert rpc.raw("getTransaction", [world.failed[0], {"commitment": "processed"}])["error"]["message"] == (
        "Method does not support commitment below `confirmed`"
    )
    address = str(world.payments.pubkey())
    for limit in (0, 1001):
        assert rpc.raw("getSignaturesForAddress", [address, {"limit": limit}])["error"] == {
            "code": -32602,
            "message": "Invalid limit; max 1000",
        }
    assert rpc.raw("getSignaturesForAddress", ["not-a-key!", {}])["error"]["code"] == -32602
    assert rpc.raw("getBlockTime", [world.ledger.head_slot + 10])["error"] == {
        "code": -32004,
        "message": f"Block not available for slot {world.ledger.head_slot + 10}",
    }
    unknown_mint = str(Pubkey.new_unique())
    assert rpc.raw("getTokenAccountsByOwner", [address, {"mint": unknown_mint}, {"encoding": "jsonParsed"}])[
        "error"
    ] == {
        "code": -32602,
        "message": "Invalid param: could not find mint",
    }
    assert rpc.raw("getTokenAccountsByOwner", [address, {"programId": address}])["error"]["message"] == (
        "Invalid param: unrecognized Token program id"
    )
    slot = world.ledger.head_slot
    assert rpc.raw("getSlot", [{"minContextSlot": slot + 1}])["error"]["code"] == -32016
    assert http.get(server.url + "/health").text == "ok"


def test_request_bodies_are_limited_like_agave(world: World, server: SolanaRpcServer) -> None:
    # Agave refuses bodies over 50 KiB: 1,000 getTransaction calls in one batch do not fit.
    calls = [
        {"jsonrpc": "2.0", "id": i, "method": "getTransaction", "params": [s, V0]}
        for i, s in enumerate((world.ledger.signatures * 6)[:1000])
    ]
    body = json.dumps(calls).encode()
    assert len(body) > 50 * 1024
    answer = httpx.post(server.url, content=body)
    assert answer.status_code == 413


def test_batches_answer_each_call_in_order(world: World, rpc: Rpc) -> None:
    sigs = world.ledger.signatures[:30]
    calls: list[tuple[str, list[Any]]] = [("getTransaction", [s, V0]) for s in sigs]
    calls.insert(10, ("noSuchMethod", []))
    answers = rpc.batch(calls)
    assert len(answers) == 31
    assert answers[10]["error"]["code"] == -32601
    got = [a["result"]["transaction"]["signatures"][0] for a in answers if "result" in a]
    assert got == sigs


# --- paging: exactly 1,000 and 1,001 signatures ----------------------------------------


@pytest.fixture(scope="module")
def busy() -> Iterator[tuple[SolanaLedger, str, str, str]]:
    """A wallet in exactly 1,000 transactions and its token account in exactly 1,001."""
    ledger = SolanaLedger(seed="paging")
    mint = ledger.create_mint(6)
    owner = ledger.wallet("busy")
    source = ledger.token_account(owner, mint)  # mentions the wallet: 1
    sink = ledger.token_account(ledger.wallet("sink"), mint)
    ledger.mint_to(mint, source, 10**12)  # mentions the account, not the wallet
    for i in range(999):
        if i % 100 == 0:
            ledger.advance(hours=6)
        ledger.transfer(owner, source, sink, 1 + i)
    server = SolanaRpcServer(ledger)
    server.start()
    yield ledger, server.url, str(owner.pubkey()), str(source)
    server.stop()


def reference(
    ledger: SolanaLedger, address: str, limit: int = 10**9, before: str | None = None, until: str | None = None
) -> list[str]:
    """Mainnet's rule, spelled out: newest first by (slot, signature bytes); ``before`` and
    ``until`` are exclusive; an unknown ``before`` gives nothing, an unknown ``until`` is ignored."""
    every = sorted(ledger.listing(address), reverse=True)
    if before is not None:
        at = ledger.position(before)
        if at is None:
            return []
        every = [e for e in every if (e[0], e[1]) < at]
    if until is not None and (at := ledger.position(until)) is not None:
        every = [e for e in every if (e[0], e[1]) > at]
    return [e[2] for e in every[:limit]]


def test_exactly_1000_and_1001_signatures(busy: tuple[SolanaLedger, str, str, str]) -> None:
    ledger, url, wallet, account = busy
    rpc = Rpc(url)
    first = rpc.call("getSignaturesForAddress", [wallet])
    assert len(first) == 1000
    assert rpc.call("getSignaturesForAddress", [wallet, {"before": first[-1]["signature"]}]) == []
    assert [e["signature"] for e in first] == reference(ledger, wallet)
    page1 = rpc.call("getSignaturesForAddress", [account, {"limit": 1000}])
    page2 = rpc.call("getSignaturesForAddress", [account, {"limit": 1000, "before": page1[-1]["signature"]}])
    assert (len(page1), len(page2)) == (1000, 1)
    assert [e["signature"] for e in page1 + page2] == reference(ledger, account)
    slots = [e["slot"] for e in page1 + page2]
    assert slots == sorted(slots, reverse=True)
    assert all(e["confirmationStatus"] == "finalized" and e["err"] is None for e in page1 + page2)
    # until: everything newer than the boundary, never the boundary itself.
    newest = rpc.call("getSignaturesForAddress", [account, {"until": page1[999]["signature"]}])
    assert [e["signature"] for e in newest] == [e["signature"] for e in page1[:999]]
    assert rpc.call("getSignaturesForAddress", [account, {"until": page1[0]["signature"]}]) == []
    window = rpc.call(
        "getSignaturesForAddress", [account, {"before": page1[10]["signature"], "until": page1[20]["signature"]}]
    )
    assert [e["signature"] for e in window] == [e["signature"] for e in page1[11:20]]
    # Mainnet: an unknown `before` gives an empty page; an unknown `until` is ignored.
    stranger = str(Signature.new_unique())
    assert rpc.call("getSignaturesForAddress", [account, {"before": stranger}]) == []
    assert len(rpc.call("getSignaturesForAddress", [account, {"until": stranger, "limit": 5}])) == 5
    # `before` may be any transaction of the ledger, not only one of this address.
    other = next(s for s in ledger.signatures if s not in {e["signature"] for e in page1 + page2})
    assert [e["signature"] for e in rpc.call("getSignaturesForAddress", [account, {"before": other}])] == reference(
        ledger, account, before=other
    )
    rpc.http.close()


def test_paging_walk_with_small_limits_matches_the_reference(busy: tuple[SolanaLedger, str, str, str]) -> None:
    ledger, url, _, account = busy
    rpc = Rpc(url)
    for limit in (1, 7, 333):
        walked = [e["signature"] for e in rpc.all_signatures(account, limit=limit)]
        assert walked == reference(ledger, account)
    rpc.http.close()


def test_finalized_lags_confirmed() -> None:
    ledger = SolanaLedger(seed="lag", finalized_lag=3)
    mint = ledger.create_mint(6)
    owner = ledger.wallet()
    source = ledger.token_account(owner, mint)
    ledger.mint_to(mint, source, 1000)
    sent = [ledger.transfer(owner, source, source, 1) for _ in range(5)]
    with SolanaRpcServer(ledger) as url:
        rpc = Rpc(url)
        assert rpc.call("getSlot", [{"commitment": "confirmed"}]) == ledger.head_slot
        assert rpc.call("getSlot", [{"commitment": "finalized"}]) == ledger.head_slot - 3
        final = rpc.call("getSignaturesForAddress", [str(owner.pubkey()), {"commitment": "finalized"}])
        confirmed = rpc.call("getSignaturesForAddress", [str(owner.pubkey()), {"commitment": "confirmed"}])
        assert len(confirmed) == len(final) + 3
        assert [e["confirmationStatus"] for e in confirmed[:4]] == ["confirmed"] * 3 + ["finalized"]
        newest = sent[-1].signature
        assert rpc.call("getTransaction", [newest, {**V0, "commitment": "finalized"}]) is None
        assert rpc.call("getTransaction", [newest, {**V0, "commitment": "confirmed"}])["slot"] == sent[-1].slot
        rpc.http.close()


def test_server_releases_its_port() -> None:
    ledger = SolanaLedger(seed="port")
    with SolanaRpcServer(ledger) as url:
        assert httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}).json()["result"] == "ok"
    with pytest.raises(httpx.TransportError):
        httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}, timeout=2)
