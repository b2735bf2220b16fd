"""``discover``'s ranking (sql/queries/discover.sql) on flows small enough to check by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from indexer.config import parse_config
from indexer.decode.columns import FlowColumns
from indexer.errors import UsageError
from indexer.figures.discover import KINDS, Candidate, discover, resolve_token
from indexer.figures.reference import sync_reference
from indexer.store.writer import Checkpoint, write_batch
from schemas.discover import CANDIDATES

TOKEN = "0x" + "ab" * 20
D, C, E, G, B = ("0x" + c * 40 for c in "defab")  # distributor, collector, emissions, genesis, burner
NODES = ["0x" + f"{i:040x}" for i in (1, 2, 3)]
PAYERS = ["0x" + f"{i:040x}" for i in (11, 12, 13, 14)]
BIG = 12_345_678_912_345_678_912  # 12.345678912345678912 tokens: above 2^64 raw


def _config():  # type: ignore[no-untyped-def]
    return parse_config(
        {
            "chains": {"polygon": {"kind": "evm", "rpc": ["http://127.0.0.1:1"], "chain_id": 137}},
            "tokens": [{"chain": "polygon", "address": TOKEN, "symbol": "RNDR", "decimals": 18}],
            "labels": [{"network": "render", "chain": "polygon", "address": D, "role": "rewards"}],
        }
    )


def _at(day: date, hour: int, minute: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp())


async def _populate(conn: asyncpg.Connection) -> None:
    await sync_reference(conn, _config())
    flows = FlowColumns("polygon")
    n = 0

    def add(src: str | None, dst: str | None, amount: int, when: int) -> None:
        nonlocal n
        n += 1
        flows.append(n, f"0x{n:064x}", 0, TOKEN, src, dst, amount, when)

    mar1 = date(2024, 3, 1)
    for hour in (0, 1, 2, 4):  # hourly, one round missed
        for node in NODES:
            add(D, node, BIG + hour, _at(mar1, hour, 5))
    for payer, hour in zip(PAYERS, (10, 11, 13, 14), strict=True):
        add(payer, C, 10**18 * (hour - 9), _at(mar1 + timedelta(days=1), hour))
    for day in (date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 2)):  # monthly emissions
        add(None, E, 10**24, _at(day, 0))
    add(None, G, 10**26, _at(date(2024, 1, 1), 0, 30))  # one genesis mint, larger than all emissions
    for day in (date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)):
        add(B, None, 5 * 10**17, _at(day, 12))
    add(G, B, 10**19, _at(date(2024, 1, 2), 0))
    await write_batch(conn, flows, [Checkpoint("polygon", n)])


def _first(found: list[Candidate], kind: str) -> Candidate:
    return next(c for c in found if c.kind == kind)


async def test_each_kind_is_ranked_first_with_exact_evidence(conn: asyncpg.Connection) -> None:
    await _populate(conn)
    token = await resolve_token(conn, "polygon", "RNDR")
    found = await discover(conn, "polygon", token, None, None, 5)
    kinds = [c.kind for c in found]
    assert kinds == sorted(kinds, key=KINDS.index), "sorted by kind"
    for kind in KINDS:
        scores = [c.score for c in found if c.kind == kind]
        assert scores == sorted(scores, reverse=True), f"{kind}: best first"
    dist = _first(found, "distributor")
    assert dist.address == D and dist.labelled == ("render rewards",)
    e = dist.evidence
    assert (e.recipients, e.payers, e.transfers_out, e.transfers_in, e.active_days) == (3, 0, 12, 0, 1)
    assert (e.median_gap_hours, e.gap_regularity) == (1.0, 0.667), "gaps 1, 1, 2: two of three near the median"
    raw_out = sum(3 * (BIG + hour) for hour in (0, 1, 2, 4))
    assert e.amount_out == f"{raw_out // 10**18}.{raw_out % 10**18:018d}".rstrip("0"), "exact whole tokens"
    assert (e.first_day, e.last_day) == (date(2024, 3, 1), date(2024, 3, 1))
    assert dist.score == round(3 / 28 * 1.0 * (2 / 3) * 4 / 6, 3)
    coll = _first(found, "collector")
    assert coll.address == C
    assert (coll.evidence.payers, coll.evidence.transfers_in, coll.evidence.amount_in) == (4, 4, "12")
    assert coll.score == round(4 / 14 * 1.0 * 4 / 6, 3)
    emission = _first(found, "emission_recipient")
    assert emission.address == E, "monthly mints outrank one larger genesis mint"
    assert (emission.evidence.median_gap_hours, emission.evidence.gap_regularity) == (732.0, 1.0)
    burner = _first(found, "burner")
    assert (burner.address, burner.suggested_role, burner.evidence.amount_out) == (B, "burn_revenue", "1.5")
    CANDIDATES.validate_python([c.as_json() for c in found])  # the contract's JSON shape


async def test_the_window_and_the_limit_bound_what_is_ranked(conn: asyncpg.Connection) -> None:
    await _populate(conn)
    token = await resolve_token(conn, "polygon", TOKEN)
    found = await discover(conn, "polygon", token, date(2024, 3, 2), date(2024, 3, 2), 1)
    assert [c.kind for c in found] == ["collector", "emission_recipient", "burner"], "one of each kind in the day"
    emission = _first(found, "emission_recipient")
    assert (emission.evidence.transfers_in, emission.evidence.gap_regularity) == (1, None), "one mint: no cadence"
    assert await discover(conn, "polygon", token, date(2025, 1, 1), None, 5) == []


async def test_an_unknown_token_names_the_flag_and_the_known_tokens(conn: asyncpg.Connection) -> None:
    await _populate(conn)
    with pytest.raises(UsageError, match=r"--token USDC: not a token of chain polygon \(known: RNDR\)"):
        await resolve_token(conn, "polygon", "USDC")
