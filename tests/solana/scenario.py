"""A four-month io.net / Render history executed with the real token programs.

Every call that moves tokens also writes down the flow the test *meant* (token, source
owner, destination owner, amount), from the arguments it passed — never from the
ledger's records — so the decoder is checked against an independent expectation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account

from indexer.localchains.solana_ledger import (
    ACCOUNT_SIZE,
    TOKEN_2022_PROGRAM_ID,
    MintInfo,
    Sent,
    SolanaLedger,
    associated_token_address,
    memo_ix,
    transfer_checked_ix,
    transfer_ix,
)

IO_DECIMALS = RENDER_DECIMALS = 8
USDC_DECIMALS = 6
START = datetime(2024, 3, 1, tzinfo=UTC)
NODES = 60


@dataclass(frozen=True)
class Flow:
    """A flow as the test intended it."""

    tx: str
    token: str
    src: str | None
    dst: str | None
    amount: int


@dataclass
class World:
    """The ledger, its actors and the flows the scenario meant to make."""

    ledger: SolanaLedger
    io: MintInfo
    render: MintInfo
    usdc: MintInfo
    io22: MintInfo
    junk: MintInfo
    payments: Keypair
    distributor: Keypair
    emissions: Keypair
    customers: list[Keypair]
    nodes: list[Keypair]
    render_users: list[Keypair]
    expected: list[Flow] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cpi: list[str] = field(default_factory=list)
    v0: list[str] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)
    self_transfers: list[str] = field(default_factory=list)

    @property
    def tracked(self) -> set[str]:
        """Mints the indexer follows (``junk`` is not one)."""
        return {str(m.address) for m in (self.io, self.render, self.usdc, self.io22)}

    def ata(self, owner: Keypair | Pubkey, mint: MintInfo) -> Pubkey:
        """Associated token account of ``owner`` for ``mint``."""
        key = owner.pubkey() if isinstance(owner, Keypair) else owner
        return associated_token_address(key, mint.address, mint.program)

    def expect(
        self, sent: Sent, mint: MintInfo, src: Keypair | Pubkey | None, dst: Keypair | Pubkey | None, amount: int
    ) -> None:
        """Write down a flow the transaction ``sent`` was meant to make."""
        assert sent.ok, sent.err
        self.expected.append(Flow(sent.signature, str(mint.address), _name(src), _name(dst), amount))


def _name(who: Keypair | Pubkey | None) -> str | None:
    if who is None:
        return None
    return str(who.pubkey() if isinstance(who, Keypair) else who)


def build_world(seed: str = "tests/solana") -> World:
    """Execute the whole scenario; about 400 transactions, well under a second."""
    ledger = SolanaLedger(start_time=START, seed=seed)
    authority = ledger.wallet("mint-authority")
    emissions = ledger.wallet("render-emissions")
    w = World(
        ledger=ledger,
        io=ledger.create_mint(IO_DECIMALS, authority=authority),
        render=ledger.create_mint(RENDER_DECIMALS, authority=emissions),
        usdc=ledger.create_mint(USDC_DECIMALS, authority=authority),
        io22=ledger.create_mint(IO_DECIMALS, program=TOKEN_2022_PROGRAM_ID, authority=authority),
        junk=ledger.create_mint(9, authority=authority),
        payments=ledger.wallet("ionet-payments"),
        distributor=ledger.wallet("ionet-rewards"),
        emissions=emissions,
        customers=[ledger.wallet(f"customer-{i}") for i in range(5)],
        nodes=[ledger.wallet(f"node-{i}", 0) for i in range(NODES)],
        render_users=[ledger.wallet(f"render-user-{i}") for i in range(3)],
    )
    io, render, usdc, io22, junk = w.io, w.render, w.usdc, w.io22, w.junk

    # Token accounts. Nodes get theirs several per transaction, as distributors do.
    for who in (w.payments, w.distributor, *w.customers):
        for mint in (io, usdc, junk):
            ledger.token_account(who, mint)
    ledger.token_account(w.payments, io22)
    ledger.token_account(w.customers[0], io22)
    ledger.token_accounts(w.nodes, io)
    for user in w.render_users:
        ledger.token_account(user, render)
    operators = w.nodes[:10]
    ledger.token_accounts(operators, render)

    # Funding: mints are flows too (src None).
    w.expect(ledger.mint_to(io, w.ata(w.distributor, io), 10**17), io, None, w.distributor, 10**17)
    for i, customer in enumerate(w.customers):
        w.expect(
            ledger.mint_to(usdc, w.ata(customer, usdc), 50_000 * 10**6, checked=i % 2 == 0),
            usdc,
            None,
            customer,
            50_000 * 10**6,
        )
        w.expect(ledger.mint_to(io, w.ata(customer, io), 10_000 * 10**8), io, None, customer, 10_000 * 10**8)
        ledger.mint_to(junk, w.ata(customer, junk), 10**12)  # untracked: no flow expected
    for user in w.render_users:
        w.expect(
            ledger.mint_to(render, w.ata(user, render), 5_000 * 10**8, checked=True), render, None, user, 5_000 * 10**8
        )
    w.expect(ledger.mint_to(io22, w.ata(w.customers[0], io22), 10**12), io22, None, w.customers[0], 10**12)

    lookup = ledger.create_lookup_table([w.ata(n, io) for n in w.nodes])

    for month in range(4):
        ledger.set_time(datetime(2024, 3 + month, 2, tzinfo=UTC))
        # Customers pay io.net: USDC (checked and plain) and IO.
        for i, customer in enumerate(w.customers):
            amount = (month + 1) * 1_000 * 10**6 + i
            sent = ledger.transfer(
                customer, w.ata(customer, usdc), w.ata(w.payments, usdc), amount, mint=usdc, checked=i % 2 == 1
            )
            w.expect(sent, usdc, customer, w.payments, amount)
            ledger.advance(hours=5)
            sent = ledger.transfer(customer, w.ata(customer, io), w.ata(w.payments, io), 10**8 + month, mint=io)
            w.expect(sent, io, customer, w.payments, 10**8 + month)
        # Node rewards: the distributor pays every node, 15 per legacy transaction ...
        ledger.advance(days=1)
        payouts = [(w.ata(n, io), (month + 1) * 10**8 + k) for k, n in enumerate(w.nodes)]
        if month != 2:
            for start in range(0, NODES, 15):
                chunk = payouts[start : start + 15]
                sent = ledger.transfers(w.distributor, w.ata(w.distributor, io), chunk, mint=io, checked=month % 2 == 1)
                for node, (_, amount) in zip(w.nodes[start : start + 15], chunk, strict=True):
                    w.expect(sent, io, w.distributor, node, amount)
        else:  # ... and once 50 of them in one v0 transaction through the lookup table
            # (a transaction locks at most 64 accounts), the other 10 in a legacy one.
            for part, table in ((slice(0, 50), lookup), (slice(50, NODES), None)):
                chunk = payouts[part]
                sent = ledger.transfers(
                    w.distributor, w.ata(w.distributor, io), chunk, mint=io, checked=True, lookup_table=table
                )
                if table is not None:
                    w.v0.append(sent.signature)
                for node, (_, amount) in zip(w.nodes[part], chunk, strict=True):
                    w.expect(sent, io, w.distributor, node, amount)
        # Render: users burn RENDER to pay for work; emissions mint RENDER to operators.
        ledger.advance(days=2)
        for i, user in enumerate(w.render_users):
            amount = (month + 1) * 10 * 10**8 + i
            sent = ledger.burn(user, w.ata(user, render), render, amount, checked=i == 0)
            w.expect(sent, render, user, None, amount)
        for k, operator in enumerate(operators):
            amount = 3 * 10**8 + month * 1000 + k
            sent = ledger.mint_to(render, w.ata(operator, render), amount, checked=k % 2 == 0)
            w.expect(sent, render, None, operator, amount)
        ledger.advance(days=7)

    # A payment larger than the balance fails (and still lands, with its fee).
    ledger.advance(days=1)
    poor = w.customers[4]
    sent = ledger.transfer(poor, w.ata(poor, usdc), w.ata(w.payments, usdc), 10**15, mint=usdc)
    assert not sent.ok
    w.failed.append(sent.signature)

    # Tracked and untracked transfers in one transaction, with a memo: idx keeps execution order.
    c = w.customers[1]
    ixs = [
        memo_ix("invoice 42", [c.pubkey()]),
        transfer_ix(w.ata(c, junk), w.ata(w.payments, junk), c.pubkey(), 5),
        transfer_checked_ix(w.ata(c, usdc), usdc.address, w.ata(w.payments, usdc), c.pubkey(), 777, USDC_DECIMALS),
        transfer_ix(w.ata(c, io), w.ata(w.payments, io), c.pubkey(), 0),  # zero: not a flow
        transfer_ix(w.ata(c, io), w.ata(w.payments, io), c.pubkey(), 888),
    ]
    sent = ledger.send(ixs, [c])
    w.expect(sent, usdc, c, w.payments, 777)
    w.expect(sent, io, c, w.payments, 888)

    # Token-2022 transfers of a tracked mint.
    c0 = w.customers[0]
    sent = ledger.transfer(c0, w.ata(c0, io22), w.ata(w.payments, io22), 4242, mint=io22, checked=True)
    w.expect(sent, io22, c0, w.payments, 4242)
    sent = ledger.transfer(c0, w.ata(c0, io22), w.ata(w.payments, io22), 4343, mint=io22)
    w.expect(sent, io22, c0, w.payments, 4343)

    # A transfer made by a program (CPI): USDC sent by mistake to a node's IO account
    # (the "nested" account) is recovered by the ATA program's RecoverNested.
    node = w.nodes[0]
    ledger.token_account(node, usdc)
    nested = ledger.nested_account(node, io, usdc)
    w.expect(ledger.transfer(c, w.ata(c, usdc), nested, 1234, mint=usdc), usdc, c, w.ata(node, io), 1234)
    sent = ledger.recover_nested(node, io, usdc)
    w.expect(sent, usdc, w.ata(node, io), node, 1234)
    w.cpi.append(sent.signature)

    # An account created and closed inside one transaction (absent from both balance
    # lists): its owner comes from the InitializeAccount3 that created it.
    temp, broker = ledger.keypair("temp-account"), ledger.wallet("broker")
    rent = ledger.svm.minimum_balance_for_rent_exemption(ACCOUNT_SIZE)
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=ledger.payer.pubkey(),
                to_pubkey=temp.pubkey(),
                lamports=rent,
                space=ACCOUNT_SIZE,
                owner=io.program,
            )
        ),
        Instruction(
            io.program,
            bytes([18]) + bytes(broker.pubkey()),
            [AccountMeta(temp.pubkey(), False, True), AccountMeta(io.address, False, False)],
        ),
        transfer_checked_ix(w.ata(c, io), io.address, temp.pubkey(), c.pubkey(), 5_000, IO_DECIMALS),
        transfer_ix(temp.pubkey(), w.ata(w.payments, io), broker.pubkey(), 5_000),
        Instruction(
            io.program,
            bytes([9]),
            [
                AccountMeta(temp.pubkey(), False, True),
                AccountMeta(broker.pubkey(), False, True),
                AccountMeta(broker.pubkey(), True, False),
            ],
        ),
    ]
    sent = ledger.send(ixs, [temp, c, broker])
    w.expect(sent, io, c, broker, 5_000)
    w.expect(sent, io, broker, w.payments, 5_000)
    w.temporary.append(sent.signature)

    # Between two accounts of one wallet: a flow from the wallet to itself.
    spare = ledger.token_account(w.payments, io, associated=False)
    sent = ledger.transfer(w.payments, w.ata(w.payments, io), spare, 321, mint=io)
    w.expect(sent, io, w.payments, w.payments, 321)
    w.self_transfers.append(sent.signature)

    # Several transactions in one slot (mainnet orders them by signature in listings).
    ledger.advance(days=1)
    with ledger.block():
        for i, customer in enumerate(w.customers[:4]):
            sent = ledger.transfer(customer, w.ata(customer, io), w.ata(w.payments, io), 50 + i, mint=io)
            w.expect(sent, io, customer, w.payments, 50 + i)
    return w
