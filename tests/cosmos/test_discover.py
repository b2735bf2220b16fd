"""``discover`` on a Cosmos chain (the local CometBFT server): each seed's hidden
distributor, collector and emission recipient come out first in their kinds, among noise.

Each seed is its own chain: the scenario of tests/discover_scenario.py played as Cosmos
bank movements, one height per 20 minutes of scenario time. Transfers are transactions
whose sender pays a fee to the fee collector (forwarded to the distribution module at the
next height, as x/distribution does), a mint is a block-level ``coinbase`` event, and the
distributor's hourly rounds are block-level ``transfer`` events (a module paying rewards)
on even seeds and one multi-message transaction per round on odd seeds. Heights cycle
through the 0.34 (base64 attributes), 0.37 and 0.38 encodings; odd seeds use an IBC denom
(``ibc/…``, given to ``--token`` as the denom), even seeds ``attoaioz`` (given by symbol).
Indexed by the real ``depin-indexer backfill`` and ranked by the real ``depin-indexer
discover --format json``; the expected answers are the scenario's own record.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import defaultdict
from pathlib import Path

import pytest

from indexer.localchains.cometbft_chain import CometChain
from indexer.localchains.cometbft_rpc import CometRpcServer
from tests.discover_cli import check_scenario, discover_all, misses
from tests.discover_scenario import DAY, START, Action, Scenario, build
from tests.processes import run_cli

pytestmark = pytest.mark.slow
SEEDS = [200 + k for k in range(int(os.environ.get("DISCOVER_SEEDS_COSMOS", "4")))]
BLOCK_SECONDS = 1200  # one height per 20 minutes of scenario time: hourly rounds stay in their hour
VERSIONS = ("0.34", "0.37", "0.38")
IBC = "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2"
FEE = 2 * 10**15


def _denom(seed: int) -> str:
    return IBC if seed % 2 else "attoaioz"


def _accounts(scenario: Scenario) -> dict[str, bytes]:
    return {name: hashlib.sha256(f"{scenario.seed}/{name}".encode()).digest()[:20] for name in scenario.wallets}


def _play(scenario: Scenario, account: dict[str, bytes]) -> CometChain:
    """The scenario as heights of a CometBFT chain, in time order."""
    chain = CometChain(start_time=START - DAY)
    denom = _denom(scenario.seed)
    in_block_events = scenario.seed % 2 == 0
    buckets: dict[int, list[Action]] = defaultdict(list)
    for action in scenario.actions:  # already in time order
        buckets[action.time // BLOCK_SECONDS].append(action)
    fees = 0
    for n, bucket in enumerate(sorted(buckets)):
        actions = buckets[bucket]
        h = chain.new_height(VERSIONS[n * len(VERSIONS) // len(buckets)], at=max(a.time for a in actions))
        if fees:
            forwarded = {"recipient": chain.distribution, "sender": chain.fee_collector}
            chain.block_event(h, "begin", "transfer", forwarded, [(fees, denom)])
            fees = 0
        for action in actions:
            payouts = [(account[dst], [(amount, denom)]) for dst, amount in action.payouts]
            if action.sender is None:  # a mint: the minted-to account stands for the minting module
                chain.block_event(h, "begin", "coinbase", {"minter": payouts[0][0]}, payouts[0][1])
            elif action.sender == scenario.distributor and in_block_events:
                for recipient, coins in payouts:
                    parties = {"recipient": recipient, "sender": account[action.sender]}
                    chain.block_event(h, "begin", "transfer", parties, coins)
            else:
                chain.send(h, account[action.sender], payouts, [(FEE, denom)])
                fees += FEE
    chain.head = len(chain.heights)
    return chain


def _config(tmp: Path, url: str, denom: str) -> Path:
    path = tmp / "depin.toml"
    path.write_text(
        "\n".join(
            [
                "[chains.aioz-cosmos]",
                'kind = "cosmos"',
                f'rpc = ["{url}"]',
                'bech32_prefix = "aioz"',
                "heights_per_request = 50",
                "",
                "[[tokens]]",
                'chain = "aioz-cosmos"',
                f'address = "{denom}"',
                'symbol = "AIOZ"',
                "decimals = 18",
                "",
            ]
        )
    )
    return path


@pytest.mark.parametrize("seed", SEEDS)
def test_discover_finds_each_hidden_wallet_first_on_a_cosmos_chain(db_url: str, tmp_path: Path, seed: int) -> None:
    started = time.monotonic()
    scenario = build(seed, decimals=18)
    check_scenario(scenario)
    account = _accounts(scenario)
    chain = _play(scenario, account)
    played = time.monotonic()
    denom = _denom(seed)
    with CometRpcServer(chain) as url:
        config = _config(tmp_path, url, denom)
        done = run_cli(config, db_url, tmp_path, "backfill")
        assert done.returncode == 0, done.stderr[-3000:]
    indexed = time.monotonic()
    token = denom if denom.startswith("ibc/") else "AIOZ"
    answer = discover_all(config, db_url, tmp_path, "aioz-cosmos", [token])[token]
    transfers = sum(1 for m in chain.movements if m[2] is not None and m[3] is not None)
    print(
        f"seed {seed}: {len(chain.heights):,} heights, {transfers:,} transfers: played in {played - started:.1f} s, "
        f"indexed in {indexed - played:.1f} s, discovered in {time.monotonic() - indexed:.1f} s"
    )
    wrong = misses(scenario, answer, {name: "0x" + raw.hex() for name, raw in account.items()})
    assert not wrong, "\n".join(wrong)
    # Every signer pays the fee collector, so it ranks among the collectors: named as a module.
    fee_collector = "0x" + hashlib.sha256(b"fee_collector").digest()[:20].hex()
    named = {c["address"]: c["module"] for c in answer if c["module"]}
    assert named.get(fee_collector) == "fee_collector", f"the fee collector is not named a module: {named}"
    wrong_names = {a: n for a, n in named.items() if a != "0x" + hashlib.sha256(n.encode()).digest()[:20].hex()}
    assert not wrong_names, f"named modules whose address is not the module's: {wrong_names}"
