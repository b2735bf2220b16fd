"""``prices import FILE.csv``: daily USD prices, validated whole before anything is written."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import asyncpg

from indexer.errors import DepinError
from indexer.store.sqlfiles import queries

COLUMNS = ("day", "symbol", "usd")


class PriceFileError(DepinError):
    """A price file with bad rows; lists every bad row with its line number (exit code 2)."""

    exit_code = 2


def parse_prices(path: Path) -> list[tuple[date, str, Decimal]]:
    """Every row of the file, or :class:`PriceFileError` naming each bad line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PriceFileError(f"{path}: the file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    reader = csv.reader(io.StringIO(text))
    problems: list[str] = []
    rows: list[tuple[date, str, Decimal]] = []
    header = next(reader, None)
    if header is None:
        raise PriceFileError(f"{path}: the file is empty; expected a header line 'day,symbol,usd'")
    if [h.strip().lower() for h in header] != list(COLUMNS):
        raise PriceFileError(f"{path}: line 1: the header must be 'day,symbol,usd', got {','.join(header)!r}")
    seen: dict[tuple[date, str], int] = {}
    for line, record in enumerate(reader, start=2):
        if not record or all(not cell.strip() for cell in record):
            continue
        if len(record) != 3:
            problems.append(f"line {line}: expected 3 columns (day,symbol,usd), got {len(record)}")
            continue
        raw_day, symbol, raw_usd = (cell.strip() for cell in record)
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            problems.append(f"line {line}: day {raw_day!r} is not a date like 2024-01-31")
            continue
        if not symbol or len(symbol) > 32 or any(c.isspace() for c in symbol):
            problems.append(f"line {line}: symbol {symbol!r} must be 1-32 characters without spaces")
            continue
        try:
            usd = Decimal(raw_usd)
        except InvalidOperation:
            problems.append(f"line {line}: usd {raw_usd!r} is not a decimal number")
            continue
        if not usd.is_finite() or usd < 0:
            problems.append(f"line {line}: usd {raw_usd!r} must be a finite number, 0 or more")
            continue
        key = (day, symbol)
        if key in seen:
            problems.append(f"line {line}: {symbol} on {day} is already given on line {seen[key]}")
            continue
        seen[key] = line
        rows.append((day, symbol, usd))
    if problems:
        shown = problems[:50] + ([f"... and {len(problems) - 50} more"] if len(problems) > 50 else [])
        raise PriceFileError(f"{path}: {len(problems)} bad row(s), nothing imported:\n  " + "\n  ".join(shown))
    return rows


async def import_prices(conn: asyncpg.Connection, rows: list[tuple[date, str, Decimal]]) -> int:
    """Upsert prices and mark their (chain, day) pairs dirty, in one transaction."""
    sql = queries("figures")
    async with conn.transaction():
        await conn.executemany(sql["upsert_prices"], rows)
        await conn.execute(sql["mark_price_days"], [r[0] for r in rows], [r[1] for r in rows])
    return len(rows)
