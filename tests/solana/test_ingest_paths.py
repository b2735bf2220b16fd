"""The Solana ingestor's harder paths, on real SPL Token transactions served over JSON-RPC:
page boundaries of getSignaturesForAddress, `confirmed` commitment with rolled-back
transactions, and faulty endpoints in front of the server."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from indexer.chains.rpc import RpcClient
from indexer.chains.solana import SolanaIngestor, TransactionsUnavailable
from indexer.localchains.solana_ledger import MintInfo, SolanaLedger
from indexer.localchains.solana_rpc import SolanaRpcServer
from schemas.config import LabelConfig, SolanaChain
from tests.faults.proxy import DELAYS, FAULTS, FaultDeck, fault_proxy
from tests.solana.scenario import World

FlowKey = tuple[str, str, str | None, str | None, int]


@dataclass
class Shop:
    """One payment wallet and its customers on a fresh ledger; every flow written down."""

    ledger: SolanaLedger
    mint: MintInfo
    wallet: Keypair
    account: Pubkey
    customers: list[tuple[Keypair, Pubkey]]
    expected: Counter[FlowKey] = field(default_factory=Counter)
    checked: bool = False  # TransferChecked (names the mint) rather than Transfer
    minted: Counter[FlowKey] = field(default_factory=Counter)  # the customers' funding (MintTo)

    @classmethod
    def open(cls, *, customers: int = 3, finalized_lag: int = 0) -> Shop:
        ledger = SolanaLedger(finalized_lag=finalized_lag, seed=f"shop-{random.random()}")
        mint = ledger.create_mint(6)
        wallet = ledger.wallet("payments")
        account = ledger.token_account(wallet, mint)
        buyers = []
        minted: Counter[FlowKey] = Counter()
        for i in range(customers):
            buyer = ledger.wallet(f"customer{i}")
            source = ledger.token_account(buyer, mint)
            funded = ledger.mint_to(mint, source, 10**15)
            minted[(funded.signature, str(mint.address), None, str(buyer.pubkey()), 10**15)] += 1
            buyers.append((buyer, source))
        return cls(ledger, mint, wallet, account, buyers, minted=minted)

    def pay(self, n: int, *, amount: int = 1_000_000) -> list[str]:
        """``n`` payments into the wallet's token account, one slot each."""
        sent = []
        for i in range(n):
            buyer, source = self.customers[i % len(self.customers)]
            self.ledger.advance(1)
            tx = self.ledger.transfer(buyer, source, self.account, amount + i, mint=self.mint, checked=self.checked)
            self.expected[
                (tx.signature, str(self.mint.address), str(buyer.pubkey()), str(self.wallet.pubkey()), amount + i)
            ] += 1
            sent.append(tx.signature)
        return sent

    def forget(self, signature: str) -> None:
        """Roll a transaction back on the ledger and in what the test expects."""
        self.ledger.forget(signature)
        for key in [k for k in self.expected if k[0] == signature]:
            del self.expected[key]

    def tracked(self) -> list[str]:
        """The addresses the ingestor walks: the labelled wallet and its token account."""
        return [str(self.wallet.pubkey()), str(self.account)]

    def labels(self) -> list[LabelConfig]:
        return [LabelConfig(network="io.net", chain="solana", address=str(self.wallet.pubkey()), role="revenue")]


async def stored(conn: asyncpg.Connection) -> Counter[FlowKey]:
    rows = await conn.fetch("select tx, token, src, dst, amount from core.flows where chain = 'solana'")
    return Counter((r["tx"], r["token"], r["src"], r["dst"], int(r["amount"])) for r in rows)


@asynccontextmanager
async def ingestor_for(
    url: str | list[str], mints: set[str], labels: list[LabelConfig], **chain: object
) -> AsyncIterator[SolanaIngestor]:
    urls = url if isinstance(url, list) else [url]
    config = SolanaChain(kind="solana", rpc=urls, **chain)  # type: ignore[arg-type]
    client = RpcClient("solana", urls, timeout=config.request_timeout, backoff_base=0.02, backoff_cap=0.2)
    try:
        ingestor = SolanaIngestor("solana", config, sorted(mints), labels, client, null_retries=2)
        await ingestor.start()
        yield ingestor
    finally:
        await client.close()


# --- page boundaries ----------------------------------------------------------------------


@pytest.mark.parametrize("payments", [999, 1000, 1999])
async def test_histories_at_page_boundaries_are_complete(conn: asyncpg.Connection, payments: int) -> None:
    """The token account's history is the account's creation plus the payments: 1,000,
    1,001 and 2,000 signatures, i.e. exactly one full page, one more, two full pages."""
    shop = Shop.open()
    shop.pay(payments)
    with SolanaRpcServer(shop.ledger) as url:
        async with ingestor_for(url, {str(shop.mint.address)}, shop.labels()) as ingestor:
            listed = len(shop.ledger.listing(str(shop.account)))
            assert listed == payments + 1
            stats = await ingestor.sync(conn)
            assert await stored(conn) == shop.expected
            assert stats.flows_new == payments
            # Incremental: exactly the new payments, whatever page the cursor sits on.
            shop.pay(3)
            again = await ingestor.sync(conn)
            assert again.flows_new == 3 and again.transactions == 3
            assert await stored(conn) == shop.expected


async def test_small_pages_resume_a_walk_and_store_each_transaction_once(conn: asyncpg.Connection) -> None:
    shop = Shop.open()
    shop.pay(57)
    with SolanaRpcServer(shop.ledger) as url:
        async with ingestor_for(url, {str(shop.mint.address)}, shop.labels(), signatures_per_request=7) as ingestor:
            calls = []

            def stop_part_way() -> bool:
                # Asked before each address and each page: the wallet's own short
                # history, then three pages of its token account.
                calls.append(1)
                return len(calls) > 6

            await ingestor.sync(conn, should_stop=stop_part_way)
            partial = await stored(conn)
            assert 0 < sum(partial.values()) < 57, "the walk stopped part-way"
            walk = await conn.fetchval(
                "select ref from core.cursors where chain = 'solana' and source = $1", f"{shop.account}@walk"
            )
            assert walk, "an interrupted walk records where it was"
            await ingestor.sync(conn)
            assert await stored(conn) == shop.expected


# --- confirmed commitment and rollback ---------------------------------------------------


async def test_confirmed_transactions_that_vanish_are_rolled_back(conn: asyncpg.Connection) -> None:
    shop = Shop.open(finalized_lag=100)
    shop.pay(40)
    mints = {str(shop.mint.address)}
    with SolanaRpcServer(shop.ledger) as url:
        async with ingestor_for(url, mints, shop.labels(), commitment="confirmed") as ingestor:
            await ingestor.sync(conn)
            assert await stored(conn) == shop.expected
            watched = {
                r["signature"]: r["slot"]
                for r in await conn.fetch("select signature, slot from core.unfinalised_transactions")
            }
            final = shop.ledger.finalized_slot
            reached = {sig for address in shop.tracked() for _, _, sig in shop.ledger.listing(address)}
            unfinalised = {s: e.slot for s in reached if (e := shop.ledger.entry(s)) and e.slot > final}
            assert watched == unfinalised and len(watched) >= 20

            # Two confirmed payments vanish with their fork, then new payments arrive.
            dropped = sorted(watched, key=watched.__getitem__)[-5:-3]
            for signature in dropped:
                shop.forget(signature)
            await conn.execute("delete from core.dirty_days")
            shop.pay(4)
            stats = await ingestor.sync(conn)
            assert await stored(conn) == shop.expected, "a vanished transaction's flows remain, or new ones are missing"
            assert stats.reorgs == 1 and stats.rewound_flows == 2
            assert await conn.fetchval("select count(*) from core.dirty_days") >= 1, "the rollback marks its days dirty"
            cursor = await conn.fetchval(
                "select ref from core.cursors where chain = 'solana' and source = $1", str(shop.account)
            )
            assert shop.ledger.entry(cursor).slot <= shop.ledger.finalized_slot, "cursors name finalized signatures"

            # Once everything is finalized, nothing is watched any more.
            shop.ledger.advance(60)  # 150 slots on: the next transaction finalizes all before it
            shop.ledger.mint_to(shop.mint, shop.customers[0][1], 1)
            final_stats = await ingestor.sync(conn)
            assert final_stats.reorgs == 0
            assert await stored(conn) == shop.expected
            left = await conn.fetchval("select count(*) from core.unfinalised_transactions")
            assert left == 0, "finalized transactions are still watched"


async def _interrupted_walk(conn: asyncpg.Connection, ingestor: SolanaIngestor, shop: Shop) -> str:
    """Run until three pages of the token account are stored; return the walk position."""
    asked = []
    # should_stop is asked before each address and each page: the wallet's short
    # history, then three pages of its token account.
    await ingestor.sync(conn, should_stop=lambda: (asked.append(1), len(asked) > 6)[1])
    ref = await conn.fetchval(
        "select ref from core.cursors where chain = 'solana' and source = $1", f"{shop.account}@walk"
    )
    assert ref, "the walk was interrupted"
    return str(ref.split(":", 1)[1])


async def test_a_walk_positioned_on_a_rolled_back_payment_starts_over(conn: asyncpg.Connection) -> None:
    shop = Shop.open(finalized_lag=500)
    shop.pay(45)
    chain = {"commitment": "confirmed", "signatures_per_request": 10}
    with SolanaRpcServer(shop.ledger) as url:
        async with ingestor_for(url, {str(shop.mint.address)}, shop.labels(), **chain) as ingestor:
            position = await _interrupted_walk(conn, ingestor, shop)
            shop.forget(position)  # stored and watched: the re-check finds it gone
            stats = await ingestor.sync(conn)
            assert stats.reorgs == 1
            assert await stored(conn) == shop.expected, "the walk skipped history below the vanished signature"


async def test_a_walk_positioned_on_a_rolled_back_failed_transaction_starts_over(conn: asyncpg.Connection) -> None:
    """A failed transaction is listed but never fetched nor watched: only the listing shows
    that the walk's position vanished (paging from it returns nothing)."""
    shop = Shop.open(finalized_lag=500)
    shop.pay(8)
    buyer, source = shop.customers[0]
    shop.ledger.advance(1)
    failed = shop.ledger.transfer(buyer, source, shop.account, 10**18)
    assert not failed.ok
    shop.pay(29)  # the failed transfer is the 30th newest: the position after three pages
    chain = {"commitment": "confirmed", "signatures_per_request": 10}
    with SolanaRpcServer(shop.ledger) as url:
        async with ingestor_for(url, {str(shop.mint.address)}, shop.labels(), **chain) as ingestor:
            position = await _interrupted_walk(conn, ingestor, shop)
            assert position == failed.signature
            shop.forget(position)
            await ingestor.sync(conn)
            assert await stored(conn) == shop.expected, "the walk skipped history below the vanished signature"
            assert (
                await conn.fetchval(
                    "select ref from core.cursors where chain = 'solana' and source = $1", f"{shop.account}@walk"
                )
                is None
            )


# --- faulty endpoints ----------------------------------------------------------------------


@pytest.mark.slow
async def test_faulty_endpoint_gives_the_same_table_as_a_clean_one(
    world: World, server: SolanaRpcServer, conn: asyncpg.Connection, pg_server: str
) -> None:
    labels = [
        LabelConfig(network="io.net", chain="solana", address=str(world.payments.pubkey()), role="revenue"),
        LabelConfig(network="io.net", chain="solana", address=str(world.distributor.pubkey()), role="rewards"),
        LabelConfig(network="render", chain="solana", address=str(world.render.address), role="burn_revenue"),
    ]
    # Small requests: many of them, so a tenth being faulty means dozens of faults.
    small = {"transactions_per_request": 1, "signatures_per_request": 3}
    async with ingestor_for(server.url, world.tracked, labels, **small) as ingestor:
        await ingestor.sync(conn)
    clean = await stored(conn)
    assert sum(clean.values()) > 100
    await conn.execute("truncate core.flows, core.cursors, core.dirty_days")

    faults: Counter[str] = Counter()
    requests = 0
    for seed in (11, 12):
        await conn.execute("truncate core.flows, core.cursors, core.dirty_days")
        # Every kind of fault the proxy has, on a tenth of requests; never the first (start-up).
        plan = FaultDeck(seed, FAULTS + DELAYS, skip_first=1)
        with fault_proxy(server.url, plan, retry_after=0.05, timeout_seconds=1.5) as (proxy, log):
            async with ingestor_for(proxy, world.tracked, labels, request_timeout=1.0, **small) as ingestor:
                for _ in range(6):  # a run that gives up (too many faults in a row) is retried
                    try:
                        await ingestor.sync(conn)
                        break
                    except Exception as error:  # any failure is retried, as the service does
                        print(f"run failed, retrying: {error}")
                else:
                    pytest.fail("six runs failed in a row")
        assert await stored(conn) == clean, f"seed {seed}: the table differs from a clean run"
        faults.update(log.faults)
        requests += log.requests
    print(f"{requests} requests, faults: {dict(faults)}")
    assert sum(faults.values()) >= 30 and set(faults) == set(FAULTS + DELAYS), faults


async def test_null_transactions_are_retried_never_skipped(conn: asyncpg.Connection) -> None:
    shop = Shop.open()
    sent = shop.pay(12)
    server = SolanaRpcServer(shop.ledger)
    with server as url:
        async with ingestor_for(url, {str(shop.mint.address)}, shop.labels()) as ingestor:
            # Listed but not served yet (a node behind the one that listed it): the run
            # gives up on the address without moving its cursor past the missing one.
            server.unavailable.add(sent[5])
            with pytest.raises(TransactionsUnavailable, match=sent[5]):
                await ingestor.sync(conn)
            assert not any(key[0] == sent[5] for key in await stored(conn))
            server.unavailable.clear()
            await ingestor.sync(conn)
            assert await stored(conn) == shop.expected

            # A null that clears up while retrying costs nothing but the wait.
            more = shop.pay(3)
            server.unavailable.add(more[1])
            calls = server.calls["getTransaction"]
            clear_later = asyncio.get_running_loop().call_later(0.3, server.unavailable.clear)
            await ingestor.sync(conn)
            clear_later.cancel()
            assert server.calls["getTransaction"] > calls + 3, "the null was asked for again"
            assert await stored(conn) == shop.expected
