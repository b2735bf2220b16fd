"""``depin-indexer discover --format json`` as a real process, for many tokens at once, and
the check every chain's discover test makes: each hidden wallet first in its kind."""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.discover_scenario import Scenario
from tests.processes import run_cli


def discover_all(config: Path, db_url: str, tmp: Path, chain: str, symbols: list[str]) -> dict[str, list[Any]]:
    """The JSON answer of ``discover`` for each token symbol; processes run three at a time
    (each mostly waits for Postgres or starts Python)."""

    def one(symbol: str) -> list[Any]:
        done = run_cli(config, db_url, tmp, "discover", "--chain", chain, "--token", symbol, "--format", "json")
        assert done.returncode == 0, f"discover {symbol}: exit {done.returncode}: {done.stderr[-2000:]}"
        answer: list[Any] = json.loads(done.stdout)
        return answer

    with ThreadPoolExecutor(3) as pool:
        return dict(zip(symbols, pool.map(one, symbols), strict=True))


def misses(scenario: Scenario, answer: list[Mapping[str, Any]], address: Mapping[str, str]) -> list[str]:
    """What discover got wrong for one seed: each hidden wallet must be first in its kind."""
    wrong = []
    for kind, wallet in (
        ("distributor", scenario.distributor),
        ("collector", scenario.collector),
        ("emission_recipient", scenario.emissions),
    ):
        first = next((c for c in answer if c["kind"] == kind), None)
        if first is None or first["address"] != address[wallet]:
            found = "nothing" if first is None else f"{first['address']} (score {first['score']})"
            hidden = next((c for c in answer if c["address"] == address[wallet] and c["kind"] == kind), None)
            placed = "not listed" if hidden is None else f"score {hidden['score']}"
            wrong.append(f"seed {scenario.seed}: first {kind} is {found}; the hidden {wallet} is {placed}")
    return wrong


def check_scenario(scenario: Scenario) -> None:
    """The scenario is what the issue asks for (its own record, not the code under test)."""
    net_count, net_amount = scenario.volume(network=True)
    noise_count, noise_amount = scenario.volume(network=False)
    assert 50 <= scenario.nodes <= 200 and 20 <= scenario.customers <= 100, scenario.seed
    assert noise_amount >= 10 * net_amount, f"seed {scenario.seed}: noise {noise_amount} < 10 x {net_amount}"
    assert noise_count >= net_count, f"seed {scenario.seed}: {noise_count} noise transfers < {net_count}"
