"""anvil nodes for the RPC client, ingestor and service tests (see tests/evm/anvil.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.evm.anvil import AnvilNode


@pytest.fixture(scope="session")
def plain_anvil() -> Iterator[str]:
    """One anvil (chain id 137) shared by tests that only read from it."""
    with AnvilNode(137) as node:
        yield node.url


@pytest.fixture
def anvil() -> Iterator[str]:
    """A fresh anvil (chain id 137) for one test: reorgs and traffic stay private."""
    with AnvilNode(137) as node:
        yield node.url
