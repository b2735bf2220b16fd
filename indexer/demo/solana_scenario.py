"""The demo's Solana traffic: io.net and Render, as real SPL Token transactions in LiteSVM.

io.net: customers pay a payments wallet in USDC and IO; a distributor pays 200 nodes in IO
every day, each node with its own uptime, several payouts per transaction. Around them,
IO is traded by wallets that are no part of the network (:class:`_Noise`): a few large
holders, traders trading among themselves, one-off transfers to fresh wallets; the demo
follows the IO mint, so ``discover`` has to find the io.net wallets among them. Render:
users burn RENDER to pay for work (burn-and-mint), RENDER is minted to an emissions
wallet (the network's own: no earning) and paid out from it to node operators weekly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from indexer.localchains.solana_ledger import MintInfo, SolanaLedger, associated_token_address

DAY = 86_400
_PER_TX = 8  # payouts per transaction: well inside the transaction size limit
_IO = 10**8  # raw units of one IO


class _Noise:
    """IO traffic of wallets outside io.net, as TransferChecked (it names the mint, so
    following the mint sees it): large holders minted at genesis and selling to traders,
    traders trading among themselves (a few far more often than the rest), large holders
    moving large amounts now and then, and one-off transfers to fresh wallets. Balances are
    tracked so that every transfer succeeds."""

    def __init__(self, ledger: SolanaLedger, io: MintInfo, rng: random.Random, traders: int = 60) -> None:
        self.ledger, self.io, self.rng = ledger, io, rng
        self.holders = [ledger.wallet(f"io-holder-{i}", 0) for i in range(3)]
        self.traders = [ledger.wallet(f"io-trader-{i}", 0) for i in range(traders)]
        self.weights = [1 / (i + 1) ** 0.8 for i in range(traders)]
        self.account: dict[Pubkey, Pubkey] = {}
        self.balance: dict[Pubkey, int] = {}
        self._open(self.holders + self.traders)
        self.transactions = 0
        for holder in self.holders:
            ledger.mint_to(io, self.account[holder.pubkey()], 50_000_000 * _IO, checked=True)
            self.balance[holder.pubkey()] = 50_000_000 * _IO
        for k, trader in enumerate(self.traders):
            self.send(self.holders[k % 3], trader, rng.randint(20_000, 200_000) * _IO)

    def _open(self, wallets: list[Keypair]) -> None:
        # Genesis accounts (no transaction): thousands of account creations would cost more
        # than the traffic, and discover never looks at them.
        for wallet, account in zip(wallets, self.ledger.genesis_token_accounts(wallets, self.io), strict=True):
            self.account[wallet.pubkey()] = account
            self.balance[wallet.pubkey()] = 0

    def send(self, src: Keypair, dst: Keypair, amount: int) -> None:
        """One TransferChecked, if ``src`` holds ``amount``."""
        if amount <= 0 or self.balance[src.pubkey()] < amount or src == dst:
            return
        self.ledger.transfer(
            src, self.account[src.pubkey()], self.account[dst.pubkey()], amount, mint=self.io, checked=True
        )
        self.balance[src.pubkey()] -= amount
        self.balance[dst.pubkey()] += amount
        self.transactions += 1

    def day(self, number: int) -> None:
        """A day of trading, at the ledger's current time and after."""
        rng = self.rng
        for _ in range(rng.randint(3, 9)):
            self.ledger.advance(minutes=rng.randint(5, 90))
            src, dst = rng.choices(self.traders, self.weights, k=2)
            self.send(src, dst, min(self.balance[src.pubkey()] // 4, int(rng.lognormvariate(7, 1.5) * _IO)))
        if number % 9 == 4:
            self.send(self.holders[number % 3], self.holders[(number + 1) % 3], 1_000_000 * _IO)
        if rng.random() < 0.3:
            fresh = self.ledger.wallet(f"io-one-off-{number}", 0)
            self._open([fresh])
            self.send(rng.choice(self.traders), fresh, rng.randint(100, 2_000) * _IO)


@dataclass
class SolanaPlan:
    """What the config must know: mints and labelled wallets (base58)."""

    io: MintInfo
    usdc: MintInfo
    render: MintInfo
    payments: str
    distributor: str
    emissions: str
    transactions: int = 0


def play_solana(start: int, days: int, seed: int = 101, nodes: int = 200) -> tuple[SolanaLedger, SolanaPlan]:
    """Run the scenario; returns the ledger (to serve over JSON-RPC) and the plan."""
    rng = random.Random(seed)
    ledger = SolanaLedger(start_time=start - DAY, seed=f"depin-demo-{seed}")
    authority = ledger.wallet("mint-authority")
    emissions = ledger.wallet("render-emissions")
    io = ledger.create_mint(8, authority=authority)
    usdc = ledger.create_mint(6, authority=authority)
    render = ledger.create_mint(8, authority=emissions)
    payments, distributor = ledger.wallet("ionet-payments"), ledger.wallet("ionet-rewards")
    customers = [ledger.wallet(f"customer-{i}") for i in range(6)]
    node_wallets = [ledger.wallet(f"node-{i}", 0) for i in range(nodes)]
    users = [ledger.wallet(f"render-user-{i}") for i in range(4)]
    operators = [ledger.wallet(f"render-operator-{i}", 0) for i in range(25)]

    def ata(owner: object, mint: MintInfo):  # type: ignore[no-untyped-def]
        return associated_token_address(owner.pubkey(), mint.address, mint.program)  # type: ignore[attr-defined]

    for who in (payments, *customers):
        ledger.token_account(who, usdc)
        ledger.token_account(who, io)
    ledger.token_account(distributor, io)
    ledger.token_accounts(node_wallets, io)
    ledger.token_account(emissions, render)
    for user in users:
        ledger.token_account(user, render)
    ledger.token_accounts(operators, render)
    ledger.mint_to(io, ata(distributor, io), 10**18)
    for customer in customers:
        ledger.mint_to(usdc, ata(customer, usdc), 10**13)
        ledger.mint_to(io, ata(customer, io), 10**14)
    for user in users:
        ledger.mint_to(render, ata(user, render), 10**14)
    uptime = {i: rng.choice((0.25, 0.5, 0.8, 0.95, 1.0)) for i in range(nodes)}
    plan = SolanaPlan(io, usdc, render, str(payments.pubkey()), str(distributor.pubkey()), str(emissions.pubkey()))
    noise = _Noise(ledger, io, random.Random(seed + 1))
    for day in range(days):
        ledger.set_time(start + day * DAY + 600)
        for customer in customers:
            if rng.random() < 0.5:
                amount = rng.randint(200, 9_000) * 10**6 + rng.randint(0, 10**6 - 1)
                ledger.transfer(customer, ata(customer, usdc), ata(payments, usdc), amount, mint=usdc, checked=True)
                plan.transactions += 1
            if rng.random() < 0.15:
                amount = rng.randint(50, 2_000) * 10**8 + rng.randint(0, 10**8 - 1)
                ledger.transfer(customer, ata(customer, io), ata(payments, io), amount)
                plan.transactions += 1
        ledger.advance(hours=6)
        paid = [
            (ata(node_wallets[i], io), int(rng.uniform(2, 40) * 10**8))
            for i in range(nodes)
            if rng.random() < uptime[i]
        ]
        for k in range(0, len(paid), _PER_TX):
            ledger.transfers(distributor, ata(distributor, io), paid[k : k + _PER_TX])
            plan.transactions += 1
        ledger.advance(hours=3)
        for user in users:
            if rng.random() < 0.5:
                ledger.burn(user, ata(user, render), render, rng.randint(10, 500) * 10**8, checked=True)
                plan.transactions += 1
        noise.day(day)
        if day % 7 == 0:
            ledger.mint_to(render, ata(emissions, render), 10**13)  # to the network's own wallet
            payouts = [(ata(op, render), int(rng.uniform(50, 900) * 10**8)) for op in operators if rng.random() < 0.85]
            for k in range(0, len(payouts), _PER_TX):
                ledger.transfers(emissions, ata(emissions, render), payouts[k : k + _PER_TX])
                plan.transactions += 1
    plan.transactions += noise.transactions
    return ledger, plan
