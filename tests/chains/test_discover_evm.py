"""``discover`` on a real EVM chain (anvil): each seed's hidden distributor, collector and
emission recipient come out first in their kinds, among noise.

Every seed is its own ERC-20 (TestToken) with its own wallets and its own Distributor
contract (the payouts are Transfer logs from the contract, sent by its owner); half the
seeds on each of two anvil nodes (two chains of one config), played side by side. Every
seed's actions are played in time order, batched into one block per hour with automine
off; the trades between wallets of a block go out as one Router transaction (each still a
Transfer log from its wallet: anvil spends ~40 ms a block and ~1 ms a transaction, so
blocks and transactions are what this test's time is made of). Then the real
``depin-indexer backfill`` indexes them and the real ``depin-indexer discover --format
json`` ranks them. The expected answers are the scenario's own record
(tests/discover_scenario.py).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from indexer.demo.evm_scenario import LocalEvm
from indexer.localchains.anvil import AnvilNode
from tests.discover_cli import check_scenario, discover_all, misses
from tests.discover_scenario import DAY, START, Action, Scenario, build
from tests.processes import run_cli

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
# Twenty seeds, as on the LiteSVM ledger (tests/solana/test_discover.py); seeds 100+ so the
# two tests cover forty different ones.
SEEDS = [100 + k for k in range(int(os.environ.get("DISCOVER_SEEDS", "20")))]
BLOCK_SECONDS = 3600  # one block per hour of scenario time: hourly rounds stay in their hour
_TRANSFER = Web3.keccak(text="transfer(address,uint256)")[:4].hex()
_MINT = Web3.keccak(text="mint(address,uint256)")[:4].hex()
_BATCH = Web3.keccak(text="batchTransfer(address[],uint256[])")[:4].hex()
_DISTRIBUTE = Web3.keccak(text="distribute(address,address[],uint256[])")[:4].hex()
_APPROVE = Web3.keccak(text="approve(address,uint256)")[:4].hex()
_MOVES = Web3.keccak(text="moves(address[],address[],address[],uint256[])")[:4].hex()


def _word(value: int | str) -> str:
    return (value[2:] if isinstance(value, str) else f"{value:x}").rjust(64, "0")


def _arrays(head: list[str], recipients: list[str], amounts: list[int]) -> str:
    """ABI encoding of ``head`` static words, then ``address[]`` and ``uint256[]``."""
    first = 32 * (len(head) + 2)
    second = first + 32 * (1 + len(recipients))
    return "".join(
        [*head, _word(first), _word(second), _word(len(recipients)), *map(_word, recipients)]
        + [_word(len(amounts)), *map(_word, amounts)]
    )


class _Token:
    """One seed's ERC-20, Distributor contract and wallet addresses on the chain."""

    def __init__(self, chain: LocalEvm, owner: str, scenario: Scenario) -> None:
        self.owner = owner
        self.token = chain.deploy("TestToken", f"Seed {scenario.seed}", f"S{scenario.seed:02d}", 18, sender=owner)
        self.distributor = chain.deploy("Distributor", sender=owner)
        self.address = {
            name: "0x" + hashlib.sha256(f"{scenario.seed}/{name}".encode()).hexdigest()[:40]
            for name in scenario.wallets
        }
        self.address["distributor"] = self.distributor

    def transaction(self, action: Action) -> dict[str, Any]:
        """The call that makes ``action``: mint, transfer, batchTransfer, or distribute."""
        recipients = [self.address[dst] for dst, _ in action.payouts]
        amounts = [amount for _, amount in action.payouts]
        gas = 80_000 + 40_000 * len(recipients)
        if action.sender is None:
            return self._call(self.owner, self.token, _MINT + _word(recipients[0]) + _word(amounts[0]), gas)
        if action.sender == "distributor":  # the owner asks the contract to pay
            data = _DISTRIBUTE + _arrays([_word(self.token)], recipients, amounts)
            return self._call(self.owner, self.distributor, data, gas)
        if len(recipients) == 1:
            data = _TRANSFER + _word(recipients[0]) + _word(amounts[0])
        else:
            data = _BATCH + _arrays([], recipients, amounts)
        return self._call(self.address[action.sender], self.token, data, gas)

    @staticmethod
    def _call(sender: str, to: str, data: str, gas: int) -> dict[str, Any]:
        return {"from": sender, "to": to, "data": "0x" + data, "gas": hex(gas)}


def _noise(action: Action) -> bool:
    """A trade between two wallets: played through the Router, many to a transaction."""
    return not action.network and action.sender not in (None, "distributor") and len(action.payouts) == 1


def _words(values: list[str] | list[int]) -> list[str]:
    return [_word(len(values)), *map(_word, values)]


def _moves(router: str, owner: str, moves: list[tuple[_Token, Action]]) -> dict[str, Any]:
    """One Router.moves call making every trade of ``moves``, in order."""
    columns: list[list[Any]] = [[], [], [], []]
    for token, action in moves:
        ((dst, amount),) = action.payouts
        for column, value in zip(
            columns, (token.token, token.address[action.sender], token.address[dst], amount), strict=True
        ):
            column.append(value)
    heads, offset, tails = [], 32 * 4, []
    for column in columns:
        heads.append(_word(offset))
        tails += _words(column)
        offset += 32 * (1 + len(column))
    return _Token._call(owner, router, _MOVES + "".join(heads + tails), 60_000 + 45_000 * len(moves))


def _approve(chain: LocalEvm, router: str, scenarios: list[Scenario], tokens: dict[int, _Token]) -> list[str]:
    """Every trading wallet lets the Router move its tokens (one block before the history);
    returns the wallets, each of which has now sent one transaction."""
    traders = sorted({(s.seed, a.sender) for s in scenarios for a in s.actions if _noise(a)})
    for k in range(0, len(traders), 1000):
        txs = [
            _Token._call(
                tokens[seed].address[name], tokens[seed].token, _APPROVE + _word(router) + _word(2**256 - 1), 80_000
            )
            for seed, name in traders[k : k + 1000]
        ]
        chain.batch([("eth_sendTransaction", [tx]) for tx in txs])
    chain.call("evm_mine")
    return [tokens[seed].address[name] for seed, name in traders]


def _play(chain: LocalEvm, scenarios: list[Scenario], tokens: dict[int, _Token]) -> tuple[int, int]:
    """Every seed's actions in time order, one block per BLOCK_SECONDS; (transactions, blocks)."""
    contracts = {t.distributor for t in tokens.values()}
    wallets = sorted({tokens[s.seed].address[a.sender] for s in scenarios for a in s.actions if a.sender} - contracts)
    for k in range(0, len(wallets), 500):
        chain.fund(wallets[k : k + 500], 10**21)
    owner = next(iter(tokens.values())).owner
    router = chain.deploy("Router", sender=owner)
    approved = _approve(chain, router, scenarios, tokens)
    nonce: dict[str, itertools.count[int]] = defaultdict(itertools.count)
    nonce.update({wallet: itertools.count(1) for wallet in approved})
    nonce[owner] = itertools.count(int(chain.call("eth_getTransactionCount", owner, "latest"), 16))
    blocks: dict[int, list[tuple[int, int, int, Action]]] = defaultdict(list)
    for s in scenarios:
        for i, action in enumerate(s.actions):
            blocks[action.time // BLOCK_SECONDS].append((action.time, s.seed, i, action))
    hashes: list[str] = []
    sent: list[tuple[int, Action]] = []
    mined = count = 0
    for bucket in sorted(blocks):
        part = sorted(blocks[bucket])
        txs = []
        # In time order (anvil runs --order fifo): consecutive trades share one Router
        # transaction, every other action is its own.
        for is_trade, run in itertools.groupby(part, key=lambda item: _noise(item[3])):
            items = list(run)
            if is_trade:
                txs.append(_moves(router, owner, [(tokens[seed], action) for _, seed, _, action in items]))
                sent.append((-1, items[0][3]))
                continue
            for _, seed, _, action in items:
                txs.append(tokens[seed].transaction(action))
                sent.append((seed, action))
        for tx in txs:
            tx["nonce"] = hex(next(nonce[tx["from"]]))  # automine is off: many per sender per block
        hashes += chain.batch([("eth_sendTransaction", [tx]) for tx in txs])
        mined = max(mined + 1, max(t for t, *_ in part))
        chain.call("evm_mine", mined)  # the block at that time
        count += 1
    for k in range(0, len(hashes), 1000):
        receipts = chain.batch([("eth_getTransactionReceipt", [h]) for h in hashes[k : k + 1000]])
        failed = [
            (h, r and r["status"], sent[k + i])
            for i, (h, r) in enumerate(zip(hashes[k : k + 1000], receipts, strict=True))
            if r is None or r["status"] != "0x1"
        ]
        assert not failed, f"{len(failed)} scenario transaction(s) failed (hash, status, (seed, action)): {failed[:3]}"
    return len(hashes), count


CHAINS = (("polygon", 137), ("polygon-b", 138))  # two anvil nodes, played side by side


def _config(tmp: Path, chains: list[tuple[str, int, str, dict[int, _Token]]]) -> Path:
    lines: list[str] = []
    for name, chain_id, url, _ in chains:
        lines += [f"[chains.{name}]", 'kind = "evm"', f'rpc = ["{url}"]', f"chain_id = {chain_id}", "finality = 0", ""]
    for name, _, _, tokens in chains:
        for seed, token in tokens.items():
            lines += ["[[tokens]]", f'chain = "{name}"', f'address = "{token.token}"']
            lines += [f'symbol = "S{seed:02d}"', "decimals = 18", ""]
    path = tmp / "depin.toml"
    path.write_text("\n".join(lines))
    return path


def _deploy_and_play(node: AnvilNode, scenarios: list[Scenario]) -> tuple[dict[int, _Token], int, int]:
    """One node's seeds: their contracts, then their actions; (tokens, transactions, blocks)."""
    chain = LocalEvm(node.url)
    try:
        chain.call("evm_setAutomine", False)
        owner = chain.accounts()[0]
        tokens = {s.seed: _Token(chain, owner, s) for s in scenarios}
        return (tokens, *_play(chain, scenarios, tokens))
    finally:
        chain.close()


def test_discover_finds_each_hidden_wallet_first_on_an_evm_chain(db_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    scenarios = [build(seed, decimals=18) for seed in SEEDS]
    for scenario in scenarios:
        check_scenario(scenario)
    halves = [scenarios[k :: len(CHAINS)] for k in range(len(CHAINS))]
    with ExitStack() as stack:
        # --order fifo: a block's transactions run in the order sent (by default anvil orders
        # them by fee, and a wallet spending what it received in the same block spends first).
        nodes = [
            stack.enter_context(AnvilNode(chain_id, timestamp=START - 10 * DAY, extra_args=["--order", "fifo"]))
            for _, chain_id in CHAINS
        ]
        # Each node's seeds from their own thread: anvil executes while Python builds the next batch.
        with ThreadPoolExecutor(len(CHAINS)) as pool:
            played_out = list(pool.map(_deploy_and_play, nodes, halves))
        played = time.monotonic()
        chains = [(name, cid, n.url, out[0]) for (name, cid), n, out in zip(CHAINS, nodes, played_out, strict=True)]
        config = _config(tmp_path, chains)
        done = run_cli(config, db_url, tmp_path, "backfill")
        assert done.returncode == 0, done.stderr[-3000:]
    indexed = time.monotonic()
    answers: dict[str, list[Any]] = {}
    for (name, _), half in zip(CHAINS, halves, strict=True):
        answers |= discover_all(config, db_url, tmp_path, name, [f"S{s.seed:02d}" for s in half])
    tokens = {seed: token for out in played_out for seed, token in out[0].items()}
    transactions, blocks = sum(out[1] for out in played_out), sum(out[2] for out in played_out)
    print(
        f"{len(SEEDS)} seeds on {len(CHAINS)} nodes, {transactions:,} transactions in {blocks:,} blocks: "
        f"played in {played - started:.1f} s, "
        f"indexed in {indexed - played:.1f} s, discovered in {time.monotonic() - indexed:.1f} s"
    )
    wrong = [miss for s in scenarios for miss in misses(s, answers[f"S{s.seed:02d}"], tokens[s.seed].address)]
    assert not wrong, "\n".join(wrong)
