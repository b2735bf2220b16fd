"""Find the shipped ``sql/`` folder and load named queries from it.

In a wheel the folder is packaged as ``indexer/sql``; in a source checkout (editable
install, tests) it is the top-level ``sql/`` beside the package.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_QUERY_HEADER = re.compile(r"^-- (\w+) --\s*$", re.MULTILINE)


def sql_root() -> Path:
    """The directory holding ``migrations/`` and the named query files."""
    for candidate in (_PACKAGE / "sql", _PACKAGE.parent / "sql"):
        if (candidate / "migrations").is_dir():
            return candidate
    raise FileNotFoundError(f"the sql/ folder was not found next to {_PACKAGE}; the installation is incomplete")


@cache
def queries(name: str) -> dict[str, str]:
    """Named queries of ``sql/queries/NAME.sql``: blocks introduced by ``-- query_name --``."""
    text = (sql_root() / "queries" / f"{name}.sql").read_text(encoding="utf-8")
    parts = _QUERY_HEADER.split(text)
    found = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if not found:
        raise ValueError(f"sql/queries/{name}.sql defines no '-- name --' queries")
    return found
