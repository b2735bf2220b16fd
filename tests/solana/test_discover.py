"""``discover`` on real SPL Token transactions (LiteSVM): each seed's hidden distributor,
collector and emission recipient come out first in their kinds, among noise.

Every seed is its own token (its own mint and wallets) in one shared ledger, played in
time order as real TransferChecked and MintToChecked transactions, served over JSON-RPC,
indexed by the real ``depin-indexer backfill`` following each mint (``follow = "mint"``),
and ranked by the real ``depin-indexer discover --format json``. The expected answers are
the scenario's own record (tests/discover_scenario.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from indexer.localchains.solana_ledger import MintInfo, SolanaLedger, mint_to_ix, transfer_checked_ix
from indexer.localchains.solana_rpc import SolanaRpcServer
from tests.discover_cli import check_scenario, discover_all, misses
from tests.discover_scenario import DAY, START, Action, Scenario, build
from tests.processes import run_cli

pytestmark = pytest.mark.slow
SEEDS = list(range(int(os.environ.get("DISCOVER_SEEDS", "20"))))
PER_TX = 15  # payouts per transaction: inside the 1,232-byte transaction limit
NOISE_SIGNERS = 4  # single transfers by different wallets (or mints) packed into one transaction


class _Token:
    """One seed's mint and wallets on the ledger."""

    def __init__(self, ledger: SolanaLedger, scenario: Scenario) -> None:
        self.mint: MintInfo = ledger.create_mint(scenario.decimals)
        self.keys: dict[str, Keypair] = {name: ledger.keypair(f"{scenario.seed}/{name}") for name in scenario.wallets}
        accounts = ledger.genesis_token_accounts(self.keys.values(), self.mint)
        self.account: dict[str, Pubkey] = dict(zip(self.keys, accounts, strict=True))
        self.address = {name: str(key.pubkey()) for name, key in self.keys.items()}

    def instructions(self, action: Action) -> list[Instruction]:
        mint = self.mint
        if action.sender is None:
            dst, amount = action.payouts[0]
            return [
                mint_to_ix(mint.address, self.account[dst], mint.authority.pubkey(), amount, decimals=mint.decimals)
            ]
        src, owner = self.account[action.sender], self.keys[action.sender].pubkey()
        return [
            transfer_checked_ix(src, mint.address, self.account[dst], owner, amount, mint.decimals)
            for dst, amount in action.payouts
        ]

    def signer(self, action: Action) -> Keypair:
        return self.mint.authority if action.sender is None else self.keys[action.sender]


def _send(ledger: SolanaLedger, when: int, ixs: list[Instruction], signers: list[Keypair]) -> None:
    ledger.set_time(when)
    sent = ledger.send(ixs, [ledger.payer, *signers])
    assert sent.ok, f"scenario transaction failed: {sent.err} {sent.record['meta']['logMessages'][-3:]}"


def _play(ledger: SolanaLedger, scenarios: list[Scenario], tokens: dict[int, _Token]) -> int:
    """Every seed's actions in time order; returns how many transactions were sent.

    Consecutive single transfers of different wallets share a transaction (as in a swap
    or a batch of payments), up to NOISE_SIGNERS; so do consecutive mints. The
    distributor's rounds go out PER_TX payouts a transaction.
    """
    merged = sorted((a.time, s.seed, i, a) for s in scenarios for i, a in enumerate(s.actions))
    sent = 0
    pack: list[tuple[int, Action]] = []

    def flush() -> None:
        nonlocal sent
        if pack:
            ixs = [ix for seed, a in pack for ix in tokens[seed].instructions(a)]
            _send(ledger, pack[0][1].time, ixs, [tokens[seed].signer(a) for seed, a in pack])
            sent += 1
            pack.clear()

    for _, seed, _, action in merged:
        if len(action.payouts) == 1 and action.sender != "distributor":
            mints = action.sender is None
            if pack and (pack[0][1].sender is None) != mints:
                flush()  # mints and transfers apart: the mint authority signs one, wallets the other
            if mints or all(a.sender != action.sender for _, a in pack):
                pack.append((seed, action))
                if len(pack) == NOISE_SIGNERS:
                    flush()
                continue
        flush()
        token = tokens[seed]
        ixs = token.instructions(action)
        for k in range(0, len(ixs), PER_TX):
            _send(ledger, action.time, ixs[k : k + PER_TX], [token.signer(action)])
            sent += 1
    flush()
    return sent


def _config(tmp: Path, url: str, tokens: dict[int, _Token]) -> Path:
    lines = ["[chains.solana]", 'kind = "solana"', f'rpc = ["{url}"]', "transactions_per_request = 100"]
    for seed, token in tokens.items():
        lines += ["", "[[tokens]]", 'chain = "solana"', f'address = "{token.mint.address}"']
        lines += [f'symbol = "S{seed:02d}"', f"decimals = {token.mint.decimals}", 'follow = "mint"']
    path = tmp / "depin.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_discover_finds_each_hidden_wallet_first_on_a_solana_ledger(db_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    scenarios = [build(seed, decimals=8) for seed in SEEDS]
    for scenario in scenarios:
        check_scenario(scenario)
    ledger = SolanaLedger(start_time=START - DAY, seed="discover")
    tokens = {s.seed: _Token(ledger, s) for s in scenarios}
    transactions = _play(ledger, scenarios, tokens)
    played = time.monotonic()
    with SolanaRpcServer(ledger) as url:
        config = _config(tmp_path, url, tokens)
        done = run_cli(config, db_url, tmp_path, "backfill")
        assert done.returncode == 0, done.stderr[-3000:]
        indexed = time.monotonic()
        answers = discover_all(config, db_url, tmp_path, "solana", [f"S{seed:02d}" for seed in SEEDS])
    print(
        f"{len(SEEDS)} seeds, {transactions:,} transactions: played in {played - started:.1f} s, "
        f"indexed in {indexed - played:.1f} s, discovered in {time.monotonic() - indexed:.1f} s"
    )
    wrong = [miss for s in scenarios for miss in misses(s, answers[f"S{s.seed:02d}"], tokens[s.seed].address)]
    assert not wrong, "\n".join(wrong)
