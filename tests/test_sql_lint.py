"""SQL is always parameterised: a lint rule over the code, run by the test suite.

ruff's S608 catches some string-built queries; this rule is stricter. It fails on

* any f-string, ``%``-format, ``.format()`` or ``+`` concatenation whose text looks like
  SQL (a statement keyword followed by more SQL), and
* any database call (``execute``, ``fetch``, ``fetchval``, ``fetchrow``, ``executemany``,
  ``prepare``, ``cursor``) whose query is built in the call rather than a literal, a
  named constant or a named query loaded from ``sql/``.

A line may opt out with ``# sql-ok: <why>`` when what is interpolated is not data (an
identifier from a fixed list, say); the reason is required.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("indexer", "schemas", "benchmarks")
DB_CALLS = {"execute", "executemany", "fetch", "fetchval", "fetchrow", "prepare", "cursor"}
SQL = re.compile(
    r"\b(select\s.+\sfrom|insert\s+into|update\s+\S+\s+set|delete\s+from|create\s+(table|index|role|database|schema)"
    r"|drop\s+(table|index|role|database|schema)|alter\s+(table|role|database)|grant\s|revoke\s|copy\s)",
    re.IGNORECASE | re.DOTALL,
)
OPT_OUT = re.compile(r"#\s*sql-ok:\s*\S")


def _text_of(node: ast.AST) -> str:
    """The literal text inside a built string (placeholders as ``?``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text_of(v) if isinstance(v, ast.Constant) else "?" for v in node.values)
    if isinstance(node, ast.BinOp):
        return _text_of(node.left) + " " + _text_of(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _text_of(node.func.value)
    return ""


def _built(node: ast.AST) -> bool:
    """A string assembled at run time (not a plain literal)."""
    if isinstance(node, ast.JoinedStr):
        return any(not isinstance(v, ast.Constant) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def violations(source: str, name: str) -> list[str]:
    """Every string-built query in ``source``, as ``name:line: why``."""
    lines = source.splitlines()
    found: dict[int, str] = {}  # one report per line

    def report(node: ast.AST, why: str) -> None:
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        end = lines[node.end_lineno - 1] if node.end_lineno and node.end_lineno <= len(lines) else ""
        if not (OPT_OUT.search(line) or OPT_OUT.search(end)):
            found.setdefault(node.lineno, f"{name}:{node.lineno}: {why}")

    for node in ast.walk(ast.parse(source)):
        if _built(node) and SQL.search(_text_of(node)):
            report(node, "SQL built from a string at run time; pass values as $n parameters")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in DB_CALLS
            and node.args
            and _built(node.args[0])
        ):
            report(node, f"query of .{node.func.attr}() built in the call; use a literal or a named query")
    return [found[line] for line in sorted(found)]


def test_no_query_in_the_code_is_built_from_strings() -> None:
    found = []
    for folder in CHECKED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += violations(path.read_text(), str(path.relative_to(ROOT)))
    assert not found, "string-built SQL:\n" + "\n".join(found)


def test_the_rule_catches_each_way_of_building_a_query() -> None:
    bad = """
async def f(conn, table, value):
    await conn.execute(f"delete from core.flows where tx = '{value}'")
    await conn.fetch("select * from " + table + " where x = 1")
    await conn.fetchval("select count(*) from %s" % table)
    q = "update core.cursors set ref = '{}' where chain = 'x'".format(value)
    await conn.execute(q)
    await conn.fetchrow(f"{value}")
"""
    found = violations(bad, "sample.py")
    assert [int(v.split(":")[1]) for v in found] == [3, 4, 5, 6, 8], found


def test_literals_parameters_and_reasoned_opt_outs_pass() -> None:
    good = """
QUERY = "select * from core.flows where chain = $1"
async def f(conn, sql, view):
    await conn.fetch(QUERY, "solana")
    await conn.execute("delete from core.flows where tx = any($1::text[])", ["a"])
    await conn.fetch(sql["named"], 1)
    query = f"select * from analytics.{view}"  # sql-ok: view is one of a fixed list
"""
    assert violations(good, "sample.py") == []
    unreasoned = 'q = f"select * from analytics.{view}"  # sql-ok:\n'
    assert violations(unreasoned, "sample.py"), "an opt-out needs a reason"


def test_every_dirty_mark_goes_through_core_mark_dirty() -> None:
    """The mark must lock until commit (or a concurrent refresh loses it): only
    core.mark_dirty writes core.dirty_days, so no statement can mark the old way."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in (*CHECKED, "sql/queries")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".py", ".sql")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"insert\s+into\s+core\.dirty_days", line, re.IGNORECASE)
    ]
    assert not offenders, f"dirty days marked without core.mark_dirty: {offenders}"


def inline_sql(source: str, name: str) -> list[str]:
    """Every SQL statement written in ``source`` itself rather than loaded from ``sql/``."""
    tree = ast.parse(source)
    lines = source.splitlines()
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found: dict[int, str] = {}
    for node in ast.walk(tree):
        literal_query = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in DB_CALLS
            and node.args
            and isinstance(node.args[0], ast.Constant)
        )
        sql_text = (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and SQL.search(node.value)
        )
        if (literal_query or sql_text) and not OPT_OUT.search(lines[node.lineno - 1]):
            found.setdefault(node.lineno, f"{name}:{node.lineno}: SQL written in Python; put it in sql/queries")
    return [found[line] for line in sorted(found)]


def test_no_sql_statement_is_written_in_the_product_code() -> None:
    """All SQL lives in sql/ and is loaded by name; only identifier DDL may stay, with its reason."""
    found = []
    for folder in ("indexer", "schemas"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += inline_sql(path.read_text(), str(path.relative_to(ROOT)))
    assert not found, "inline SQL:\n" + "\n".join(found)


def test_the_inline_rule_sees_literals_and_constants_but_not_docstrings() -> None:
    sample = '''
"""Reads core.flows: select tx from core.flows is what it does."""
QUERY = """
select tx from core.flows where chain = $1
"""
async def f(conn, sql):
    """delete from core.flows is never done here."""
    await conn.execute("rollback")
    await conn.fetch(sql["named"], 1)
    await conn.execute("create database " + name)  # sql-ok: a database name is an identifier
'''
    found = inline_sql(sample, "sample.py")
    assert [int(v.split(":")[1]) for v in found] == [3, 8], found
