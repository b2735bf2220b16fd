"""The README is the reference a new user reads: its command table shows what --help shows."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from indexer.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    """Long option strings a user can type (help and version aside)."""
    found = set()
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        found |= {s for s in action.option_strings if s.startswith("--")}
    return found


def _rows() -> dict[str, str]:
    """First cell of each command-table row -> the whole row."""
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| (`[^|]+`[^|]*) \|.*$", README, re.MULTILINE)}


def test_every_command_and_flag_is_in_the_readme_command_table() -> None:
    rows = _rows()
    missing = []
    for name, sub in _subcommands(build_parser()).items():
        cells = [cell for cell in rows if cell.startswith(f"`{name}") or f"`{name} " in cell]
        if not cells:
            missing.append(name)
            continue
        shown = " ".join(cells)
        nested = _subcommands(sub) if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions) else {}
        missing += [f"{name} {flag}" for flag in sorted(_flags(sub)) if flag not in shown]
        missing += [f"{name} {verb}" for verb in nested if f"{name} {verb}" not in shown]
        for verb, nested_parser in nested.items():
            missing += [f"{name} {verb} {flag}" for flag in sorted(_flags(nested_parser)) if flag not in shown]
    assert not missing, f"not in the README's command table: {missing}"


def test_the_usage_line_shows_every_global_flag() -> None:
    usage = next(line for line in README.splitlines() if line.startswith("depin-indexer [--config PATH]"))
    missing = [flag for flag in sorted(_flags(build_parser())) if flag not in usage]
    assert not missing, f"global flags missing from the README's usage line: {missing}"
