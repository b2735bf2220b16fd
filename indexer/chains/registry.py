"""Build the ingestor for a configured chain: one entry per chain family.

A new chain family is a new module with an ingestor class and one line here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

import asyncpg

from indexer.chains.rpc import RpcClient
from indexer.errors import DepinError, UsageError
from schemas.config import Config, CosmosChain, EvmChain


def chains_to_run(config: Config, only: str | None) -> list[str]:
    """The chain names a command acts on; an unknown ``--chain`` is a usage error."""
    if not config.chains:
        raise UsageError("no chains are configured: add [chains.NAME] tables to the config file")
    if only is None:
        return list(config.chains)
    if only not in config.chains:
        raise UsageError(f"--chain {only}: not configured (configured: {', '.join(config.chains)})")
    return [only]


class UnsupportedChain(DepinError):
    """A configured chain whose family this build cannot ingest yet."""


class Ingestor(Protocol):
    """What the backfill command and the service need from any chain family."""

    name: str

    async def start(self) -> None: ...

    async def sync(
        self,
        conn: asyncpg.Connection,
        *,
        follow_head: bool = False,
        to_block: int | None = None,
        progress: Callable[[int, int, int], None] | None = None,
        should_stop: Callable[[], bool] = ...,
    ) -> Any: ...


def build_client(
    name: str,
    config: Config,
    on_request: Callable[[str, str, str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> RpcClient:
    """The RPC client of chain ``name``, per its config; ``stop`` interrupts its waits."""
    chain = config.chains[name]
    return RpcClient(
        name,
        chain.rpc,
        max_concurrency=chain.max_concurrency,
        timeout=chain.request_timeout,
        max_requests_per_second=chain.max_requests_per_second,
        on_request=on_request,
        stop=stop,
    )


def build_ingestor(name: str, config: Config, client: RpcClient) -> Ingestor:
    """The ingestor of chain ``name`` (EVM, Cosmos or Solana) over ``client``."""
    chain = config.chains[name]
    tokens = [t.address for t in config.tokens if t.chain == name]
    labelled = {label.address for label in config.labels if label.chain == name}
    if isinstance(chain, EvmChain):
        from indexer.chains.evm import EvmIngestor

        return EvmIngestor(name, chain, tokens, labelled, client)
    if isinstance(chain, CosmosChain):
        from indexer.chains.cosmos import CosmosIngestor

        return CosmosIngestor(name, chain, tokens, client)
    try:
        from indexer.chains.solana import SolanaIngestor  # type: ignore[import-not-found]
    except ImportError:
        raise UnsupportedChain(
            f"chains.{name}: Solana ingestion is not part of this build yet; the chain is skipped "
            "(EVM chains, figures and the API work without it)"
        ) from None
    whole = [t.address for t in config.tokens if t.chain == name and t.follow == "mint"]
    return SolanaIngestor(name, chain, tokens, config.labels, client, followed_mints=whole)  # type: ignore[no-any-return]
