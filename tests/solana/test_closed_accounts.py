"""Payments into a token account that its wallet closed later are indexed, exactly once.

getTokenAccountsByOwner lists what a wallet owns *now*. On mainnet wallets close token
accounts all the time to recover rent, and a payment into an account names the account,
never the wallet. The story, executed by the real SPL Token program in LiteSVM: a labelled
wallet owns a second, non-associated token account; customers pay into it; the wallet
moves the funds out and closes it (CloseAccount); more payments arrive at a new account.

The expected flows are what the ledger executed (each transfer as it was sent), never
what any discovery finds.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from indexer.localchains.solana_ledger import MintInfo, Sent, SolanaLedger
from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.faults.proxy import fault_proxy
from tests.processes import run_cli

Flow = tuple[str, str, str | None, str | None, int]  # (tx, mint, src owner, dst owner, amount)


@dataclass
class Story:
    ledger: SolanaLedger
    io: MintInfo
    treasury: Keypair  # labelled: io.net revenue
    cold: Keypair  # unlabelled: where the treasury moves its funds
    customers: list[Keypair]
    side: Pubkey = Pubkey.default()  # the non-associated account, closed in act two
    atas: dict[str, Pubkey] = field(default_factory=dict)  # wallet -> its associated account
    owners: dict[str, str] = field(default_factory=dict)  # account -> wallet
    expected: list[Flow] = field(default_factory=list)

    def pay(self, customer: Keypair, into: Pubkey, amount: int) -> Sent:
        """A customer payment into ``into``, written down as the flow it makes."""
        sent = self.ledger.transfer(customer, self.ata(customer), into, amount, mint=self.io)
        assert sent.ok, sent.err
        owner = self.owners[str(into)]
        self.expected.append((sent.signature, str(self.io.address), str(customer.pubkey()), owner, amount))
        return sent

    def ata(self, who: Keypair) -> Pubkey:
        return self.atas[str(who.pubkey())]


def _act_one() -> Story:
    """Customers pay into the treasury's second (non-associated) account, still open."""
    ledger = SolanaLedger(seed="closed-accounts")
    io = ledger.create_mint(8)
    story = Story(
        ledger, io, ledger.wallet("treasury"), ledger.wallet("cold"), [ledger.wallet(f"c{i}") for i in range(3)]
    )
    for who in [*story.customers, story.cold]:
        ata = ledger.token_account(who, io)
        story.atas[str(who.pubkey())] = ata
        story.owners[str(ata)] = str(who.pubkey())
        if who is not story.cold:
            assert ledger.mint_to(io, ata, 10**12).ok
    story.side = ledger.token_account(story.treasury, io, associated=False)
    story.owners[str(story.side)] = str(story.treasury.pubkey())
    for number, customer in enumerate(story.customers * 2):
        ledger.advance(minutes=10)
        story.pay(customer, story.side, 1_000_000 * (number + 1))
    return story


def _act_two(story: Story) -> None:
    """One more payment into the account; the treasury empties and closes it; later
    payments go to a new one."""
    ledger, io = story.ledger, story.io
    ledger.advance(hours=1)
    story.pay(story.customers[0], story.side, 9_000_000)
    ledger.advance(minutes=5)
    held = ledger.balance(story.side)
    out = ledger.transfer(story.treasury, story.side, story.ata(story.cold), held, mint=io)
    assert out.ok, out.err
    story.expected.append(
        (out.signature, str(io.address), str(story.treasury.pubkey()), str(story.cold.pubkey()), held)
    )
    closed = ledger.close_account(story.treasury, story.side, io)
    assert closed.ok, closed.err
    assert ledger.account(story.side) is None or ledger.balance(story.side) == 0
    fresh = ledger.token_account(story.treasury, io, associated=False)
    story.owners[str(fresh)] = str(story.treasury.pubkey())
    for number, customer in enumerate(story.customers):
        ledger.advance(minutes=10)
        story.pay(customer, fresh, 7_000_000 + number)


def _config(tmp: Path, url: str, story: Story) -> Path:
    path = tmp / "depin.toml"
    path.write_text(
        f"""
[chains.solana]
kind = "solana"
rpc = ["{url}"]
signatures_per_request = 3
transactions_per_request = 2

[[tokens]]
chain = "solana"
address = "{story.io.address}"
symbol = "IO"
decimals = 8

[[labels]]
network = "io.net"
chain = "solana"
address = "{story.treasury.pubkey()}"
role = "revenue"
"""
    )
    return path


class Calls:
    """A proxy plan that faults nothing and records each JSON-RPC call (method, first param)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, _number: int, body: Any) -> None:
        calls = body if isinstance(body, list) else [body]
        with self.lock:
            self.seen += [(c.get("method"), (c.get("params") or [None])[0]) for c in calls if isinstance(c, dict)]

    def of(self, method: str) -> list[Any]:
        with self.lock:
            return [param for m, param in self.seen if m == method]


async def _stored(db_url: str) -> Counter[Flow]:
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("select tx, token, src, dst, amount from core.flows where chain = 'solana'")
    finally:
        await conn.close()
    return Counter((r["tx"], r["token"], r["src"], r["dst"], int(r["amount"])) for r in rows)


@pytest.mark.slow
async def test_a_backfill_after_the_close_stores_every_payment_once(db_url: str, tmp_path: Path) -> None:
    story = _act_one()
    _act_two(story)
    server = SolanaRpcServer(story.ledger)
    server.start()
    try:
        config = _config(tmp_path, server.url, story)
        done = run_cli(config, db_url, tmp_path, "backfill")
        assert done.returncode == 0, done.stderr[-3000:]
        stored = await _stored(db_url)
        assert stored == Counter(story.expected), (
            f"missing {Counter(story.expected) - stored}, unexpected {stored - Counter(story.expected)}"
        )
        verified = run_cli(config, db_url, tmp_path, "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        conn = await asyncpg.connect(db_url)
        try:
            recorded = await conn.fetchrow(
                "select owner, first_slot, last_slot from core.token_accounts where account = $1", str(story.side)
            )
            # Lose one payment into the closed account: verify must notice, and repair it.
            lost = story.expected[0][0]
            await conn.execute("delete from core.flows where tx = $1", lost)
        finally:
            await conn.close()
        assert recorded is not None and recorded["owner"] == str(story.treasury.pubkey())
        assert recorded["first_slot"] <= recorded["last_slot"]
        bad = run_cli(config, db_url, tmp_path, "verify")
        assert bad.returncode == 1 and lost in bad.stdout, bad.stdout
    finally:
        server.stop()


@pytest.mark.slow
async def test_the_run_after_a_close_fetches_only_what_is_new(db_url: str, tmp_path: Path) -> None:
    story = _act_one()
    server = SolanaRpcServer(story.ledger)
    server.start()
    try:
        calls = Calls()
        with fault_proxy(server.url, calls) as (url, _seen):
            config = _config(tmp_path, url, story)
            first = run_cli(config, db_url, tmp_path, "backfill")
            assert first.returncode == 0, first.stderr[-3000:]
            assert await _stored(db_url) == Counter(story.expected)
            fetched_before = set(calls.of("getTransaction"))
            calls.seen.clear()
            _act_two(story)
            second = run_cli(config, db_url, tmp_path, "backfill")
            assert second.returncode == 0, second.stderr[-3000:]
            assert await _stored(db_url) == Counter(story.expected), "every payment stored exactly once"
            refetched = [sig for sig in calls.of("getTransaction") if sig in fetched_before]
            assert not refetched, f"{len(refetched)} transaction(s) of the first run fetched again"
            calls.seen.clear()
            third = run_cli(config, db_url, tmp_path, "backfill")
            assert third.returncode == 0, third.stderr[-3000:]
        assert calls.of("getTransaction") == [], "nothing new, nothing fetched"
        listed = calls.of("getSignaturesForAddress")
        assert str(story.side) not in listed, "a closed account whose history is complete is not listed again"
    finally:
        server.stop()
