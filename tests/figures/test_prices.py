"""`depin-indexer prices import`: all or nothing, every bad row named by its line."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from indexer.cli import main


async def _run(tmp_path: Path, db_url: str, text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    path = tmp_path / "prices.csv"
    path.write_text(text)
    monkeypatch.setenv("DEPIN_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    # The CLI runs its own event loop: give it a thread of its own.
    return await asyncio.to_thread(main, ["prices", "import", str(path)])


async def test_good_file_is_imported_exactly_and_marks_days_dirty(
    tmp_path: Path, db_url: str, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    await conn.execute("insert into core.tokens values ('sol', 'mintIO', 'IO', 8, false)")
    code = await _run(
        tmp_path, db_url, "day,symbol,usd\n2024-01-05,IO,2.123456789012345678\n2024-01-06,RENDER,7\n", monkeypatch
    )
    assert code == 0
    rows = await conn.fetch("select day, symbol, usd from core.prices order by day")
    assert [tuple(r) for r in rows] == [
        (date(2024, 1, 5), "IO", Decimal("2.123456789012345678")),
        (date(2024, 1, 6), "RENDER", Decimal(7)),
    ]
    assert [tuple(r) for r in await conn.fetch("select chain, day from core.dirty_days")] == [("sol", date(2024, 1, 5))]


BAD = [
    ("day,symbol,usd\n2024-13-01,IO,1\n", "line 2: day '2024-13-01' is not a date"),
    ("day,symbol,usd\n2024-01-01,IO,abc\n", "line 2: usd 'abc' is not a decimal number"),
    ("day,symbol,usd\n2024-01-01,IO,-1\n", "line 2: usd '-1' must be a finite number, 0 or more"),
    ("day,symbol,usd\n2024-01-01,IO,NaN\n", "line 2: usd 'NaN' must be a finite number"),
    ("day,symbol,usd\n2024-01-01,,1\n", "line 2: symbol '' must be 1-32 characters"),
    ("day,symbol,usd\n2024-01-01,IO\n", "line 2: expected 3 columns"),
    ("day,symbol,usd\n2024-01-01,IO,1\n2024-01-01,IO,2\n", "line 3: IO on 2024-01-01 is already given on line 2"),
    ("date,sym,price\n2024-01-01,IO,1\n", "line 1: the header must be 'day,symbol,usd'"),
    ("", "the file is empty"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m for _, m in BAD])
async def test_bad_file_imports_nothing_and_exits_2(
    tmp_path: Path,
    db_url: str,
    conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    text: str,
    message: str,
) -> None:
    # A good row after the bad ones: it must not be imported either.
    text = text + "2024-02-01,OK,1\n" if text else text
    code = await _run(tmp_path, db_url, text, monkeypatch)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err
    assert await conn.fetchval("select count(*) from core.prices") == 0


async def test_missing_file_is_exit_2(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEPIN_DATABASE_URL", db_url)
    assert await asyncio.to_thread(main, ["prices", "import", str(tmp_path / "nope.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
