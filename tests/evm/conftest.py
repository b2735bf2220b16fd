"""Fixtures for the EVM tests: real anvil nodes, one per chain id, shared by the session.

``chain`` is a :class:`~tests.evm.anvil.Chain` on chain id 137 (Polygon) by default;
``@pytest.mark.parametrize("chain", [168], indirect=True)`` (or the ``chain168``
fixture) gives the AIOZ chain id instead. Each test runs inside an ``evm_snapshot`` that
is reverted afterwards, so every test starts from a fresh chain (genesis at 2023-01-01)
without paying for a new node. A module-scoped fixture can share one scenario between
tests with ``isolated_chain(anvil_pool, chain_id)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.evm.anvil import AnvilNode, AnvilNotFound, AnvilPool, Chain, isolated_chain


class _FailingPool(AnvilPool):
    """An :class:`AnvilPool` that turns a missing anvil into a clear test failure."""

    def node(self, chain_id: int) -> AnvilNode:
        """The node for ``chain_id``, or a test failure saying how to install anvil."""
        try:
            return super().node(chain_id)
        except AnvilNotFound as exc:
            pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def anvil_pool() -> Iterator[AnvilPool]:
    """The session's anvil nodes: ``anvil_pool.node(168).url`` starts (or reuses) one."""
    pool = _FailingPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def chain(request: pytest.FixtureRequest, anvil_pool: AnvilPool) -> Iterator[Chain]:
    """A fresh chain for this test: chain id 137, or the id given by indirect parametrisation."""
    chain_id = int(getattr(request, "param", 137))
    with isolated_chain(anvil_pool, chain_id) as handle:
        yield handle


@pytest.fixture
def chain168(anvil_pool: AnvilPool) -> Iterator[Chain]:
    """A fresh chain with the AIOZ chain id (168)."""
    with isolated_chain(anvil_pool, 168) as handle:
        yield handle
