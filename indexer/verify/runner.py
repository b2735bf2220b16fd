"""Verify one chain, whatever its family: what the ``verify`` command and the service share.

The command prints a :class:`Verdict`'s lines; the service records its mismatch count in
``core.chain_status`` and the metrics, where ``/readyz`` and Prometheus read it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from indexer.chains.cosmos import CosmosIngestor
from indexer.chains.evm import EvmIngestor
from indexer.chains.registry import Ingestor
from indexer.chains.solana import SolanaIngestor
from indexer.verify.cosmos import CosmosVerifier
from indexer.verify.evm import EvmVerifier
from indexer.verify.solana import SolanaVerifier
from schemas.config import Config


@dataclass
class Verdict:
    """What verifying one chain found: ``lines`` to show, in order, and the mismatches left."""

    chain: str
    mismatches: int = 0
    lines: list[str] = field(default_factory=list)
    undecodable: int = 0  # Solana: transactions recorded as undecodable (not mismatches)


async def verify_chain(
    conn: asyncpg.Connection,
    config: Config,
    ingestor: Ingestor,
    *,
    repair: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Verdict:
    """Check chain ``ingestor.name`` against the chain; with ``repair``, re-index what is
    wrong and check again. Read-only without ``repair``."""
    if isinstance(ingestor, EvmIngestor):
        return await _verify_evm(conn, config, ingestor, repair)
    if isinstance(ingestor, CosmosIngestor):
        return await _verify_evm(conn, config, ingestor, repair)
    if isinstance(ingestor, SolanaIngestor):
        return await _verify_solana(conn, ingestor, repair, progress or (lambda _message: None))
    raise TypeError(f"{ingestor.name}: no verifier for {type(ingestor).__name__}")


async def _verify_evm(
    conn: asyncpg.Connection, config: Config, ingestor: EvmIngestor | CosmosIngestor, repair: bool
) -> Verdict:
    """Balances of labelled addresses against net stored flows (EVM and Cosmos alike)."""
    name = ingestor.name
    verdict = Verdict(name)
    labelled = [
        label.address for label in config.labels if label.chain == name and label.role in ("revenue", "rewards")
    ]
    verifier: EvmVerifier = (
        CosmosVerifier(ingestor, labelled, ingestor.config.rest)
        if isinstance(ingestor, CosmosIngestor)
        else EvmVerifier(ingestor, labelled)
    )
    span = await verifier.span(conn)
    if span is None:
        verdict.lines.append(f"{name}: nothing indexed yet")
        return verdict
    gaps = await verifier.check(conn, *span)
    if gaps and repair:
        written = await verifier.repair(conn, gaps)
        verdict.lines.append(f"{name}: repaired {len(gaps)} gap(s), {written} flow(s) written")
        gaps = await verifier.check(conn, *span)
    ok = (
        f"{name}: ok ({len(verifier.addresses)} address(es) x {len(ingestor.tokens)} token(s), "
        f"blocks {span[0] + 1}-{span[1]})"
    )
    return _concluded(verdict, gaps, ok)


async def _verify_solana(
    conn: asyncpg.Connection, ingestor: SolanaIngestor, repair: bool, progress: Callable[[str], None]
) -> Verdict:
    name = ingestor.name
    verdict = Verdict(name)
    verifier = SolanaVerifier(ingestor)
    horizon = await verifier.horizon(conn)
    if horizon is None:
        verdict.lines.append(f"{name}: nothing indexed yet")
        return verdict
    mismatches = await verifier.check(conn, horizon, progress)
    if mismatches and repair:
        written = await verifier.repair(conn, mismatches)
        verdict.lines.append(f"{name}: repaired {len(mismatches)} transaction(s), {written} flow(s) written")
        mismatches = await verifier.check(conn, horizon, progress)
    if verifier.recorded:
        # Not mismatches (the config chose to record them, and no repair can fix them), but
        # holes in the figures: shown on every verify until someone deals with them.
        verdict.undecodable = len(verifier.recorded)
        verdict.lines.append(
            f"{name}: {verdict.undecodable} transaction(s) recorded as undecodable, not checked "
            "(see core.undecodable_transactions)"
        )
    ok = (
        f"{name}: ok ({verifier.addresses} address(es), {verifier.transactions:,} transaction(s) "
        f"re-decoded, up to slot {horizon})"
    )
    return _concluded(verdict, mismatches, ok)


def _concluded(verdict: Verdict, found: Sequence[object], ok: str) -> Verdict:
    """The verdict ends with a line per mismatch left, or with ``ok`` when none is."""
    verdict.mismatches = len(found)
    verdict.lines += [f"MISMATCH {mismatch}" for mismatch in found] or [ok]
    return verdict
