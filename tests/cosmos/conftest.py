"""Fixtures of the Cosmos family: a random CometBFT history served by the local server."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.localchains.cometbft_chain import CometChain, random_history
from indexer.localchains.cometbft_rpc import CometRpcServer

DENOMS = ("attoaioz", "uatom")


@pytest.fixture
def chain() -> CometChain:
    """120 random heights: 0.34 (base64), 0.37 and 0.38 encodings, failed txs, block rewards."""
    history = CometChain()
    random_history(history, random.Random(17), 120, denoms=DENOMS)
    return history


@pytest.fixture
def server(chain: CometChain) -> Iterator[CometRpcServer]:
    """The local CometBFT server over ``chain``."""
    rpc = CometRpcServer(chain)
    rpc.start()
    yield rpc
    rpc.stop()


def cosmos_config(
    tmp: Path,
    rpc: list[str],
    *,
    denoms: tuple[str, ...] = DENOMS,
    heights_per_request: int = 5,
    max_concurrency: int = 2,
    labels: list[tuple[str, str]] = (),  # type: ignore[assignment]
    rest: list[str] = (),  # type: ignore[assignment]
) -> Path:
    """A config file with one `aioz-cosmos` chain; ``labels`` are (address, role) of network aioz."""
    tokens = "".join(
        f'\n[[tokens]]\nchain = "aioz-cosmos"\naddress = "{d}"\nsymbol = "{d.upper()}"\ndecimals = 18\n' for d in denoms
    )
    label_text = "".join(
        f'\n[[labels]]\nnetwork = "aioz"\nchain = "aioz-cosmos"\naddress = "{a}"\nrole = "{r}"\n' for a, r in labels
    )
    path = tmp / "depin.toml"
    path.write_text(
        f"""
[chains.aioz-cosmos]
kind = "cosmos"
rpc = {list(rpc)!r}
rest = {list(rest)!r}
bech32_prefix = "aioz"
heights_per_request = {heights_per_request}
max_concurrency = {max_concurrency}
{tokens}{label_text}""".replace("'", '"')
    )
    return path
