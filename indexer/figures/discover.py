"""Candidate wallets of one token, ranked by behaviour (``depin-indexer discover``).

Nobody publishes io.net's reward distributor or treasury, nor Render's Solana emissions
wallet, but their behaviour is on chain. The ranking is SQL (``sql/queries/discover.sql``,
whose header says what each kind and score means); this module runs it in one read-only
transaction and returns plain data. A candidate is evidence for a person to review,
never a label: nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import asyncpg

from indexer.errors import UsageError
from indexer.store.sqlfiles import queries

KINDS = ("distributor", "collector", "emission_recipient", "burner")
"""The kinds of candidate, in the order they are printed."""


@dataclass(frozen=True, slots=True)
class Token:
    """A token of one chain as ``core.tokens`` knows it."""

    chain: str
    address: str
    symbol: str
    decimals: int


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a candidate did in the window; amounts are exact decimal strings in whole tokens."""

    recipients: int
    payers: int
    transfers_out: int
    transfers_in: int
    active_days: int
    median_gap_hours: float | None
    gap_regularity: float | None
    amount_out: str
    amount_in: str
    first_day: date
    last_day: date


@dataclass(frozen=True, slots=True)
class Candidate:
    """One address that behaves like ``kind``; ``labelled``: its labels already configured."""

    kind: str
    suggested_role: str
    address: str
    score: float
    evidence: Evidence
    labelled: tuple[str, ...] = ()
    module: str | None = None
    """On a Cosmos chain: the name of the module account this address is (no network's)."""

    def as_json(self) -> dict[str, Any]:
        """The design contract's JSON shape (days as ISO strings, amounts as strings)."""
        evidence = {f.name: getattr(self.evidence, f.name) for f in fields(Evidence)}
        evidence["first_day"] = self.evidence.first_day.isoformat()
        evidence["last_day"] = self.evidence.last_day.isoformat()
        return {
            "kind": self.kind,
            "suggested_role": self.suggested_role,
            "address": self.address,
            "score": self.score,
            "evidence": evidence,
            "module": self.module,
        }


async def resolve_token(conn: asyncpg.Connection, chain: str, token: str) -> Token:
    """The token ``token`` (an address or a symbol) of ``chain``, or :class:`UsageError`
    naming ``--token`` and the tokens the chain has."""
    sql = queries("discover")
    rows = await conn.fetch(sql["token"], chain, token)
    if not rows:
        # EVM addresses are stored lower case; a checksummed address is the same token.
        rows = await conn.fetch(sql["token"], chain, token.lower()) if token.startswith("0x") else []
    if len(rows) > 1 and rows[0]["address"] != token:
        raise UsageError(f"--token {token}: two tokens of chain {chain} have this symbol; give the address instead")
    if not rows:
        known = [r["symbol"] for r in await conn.fetch(sql["chain_tokens"], chain)]
        hint = f"known: {', '.join(known)}" if known else "no token of it is in the database yet: run backfill first"
        raise UsageError(f"--token {token}: not a token of chain {chain} ({hint})")
    row = rows[0]
    return Token(chain, row["address"], row["symbol"], row["decimals"])


async def discover(
    conn: asyncpg.Connection, chain: str, token: Token, since: date | None, until: date | None, limit: int
) -> list[Candidate]:
    """The best ``limit`` candidates of each kind for ``token`` in ``[since, until]``
    (UTC days, inclusive; None = open), sorted by kind then score, best first."""
    sql = queries("discover")
    # One snapshot for both statements, and no write possible whatever the SQL says.
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute(sql["settings"])
        stale = await conn.fetchval(sql["stale_days"], chain, since, until)
        pool = await conn.fetchval(sql["pool"], chain, token.address, since, until, limit, stale)
        if not pool:
            return []
        rows = await conn.fetch(sql["candidates"], chain, token.address, since, until, limit, pool, stale)
    return [_candidate(row) for row in rows]


def _candidate(row: asyncpg.Record) -> Candidate:
    evidence = Evidence(
        recipients=row["recipients"],
        payers=row["payers"],
        transfers_out=int(row["transfers_out"]),
        transfers_in=int(row["transfers_in"]),
        active_days=row["active_days"],
        median_gap_hours=row["median_gap_hours"],
        gap_regularity=row["gap_regularity"],
        amount_out=row["amount_out"],
        amount_in=row["amount_in"],
        first_day=row["first_day"],
        last_day=row["last_day"],
    )
    return Candidate(row["kind"], row["suggested_role"], row["address"], row["score"], evidence, tuple(row["labelled"]))
