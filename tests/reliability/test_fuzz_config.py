"""Fuzzing the config loader: any file gives a Config or a ConfigError naming the key.

Documents start from the valid example of tests/test_config.py and are mutated the way
people and tools break config files — keys deleted, renamed or added, values replaced by
other types, tables turned into scalars or lists, nesting changed — or are mangled as text,
or are random bytes. Whatever the file, ``load_config`` returns a :class:`Config` or raises
:class:`ConfigError` whose every problem starts with a key path of the document (or says
the file is not valid TOML / cannot be read); nothing else escapes. A handful go through
the real CLI: exit code 2 for a bad file (1 for a good file whose database is down), and
never a traceback.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from indexer.config import Environment, load_config
from indexer.errors import ConfigError
from schemas.config import Config
from tests.test_config import GOOD

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = tomllib.loads(GOOD)
FILE_PROBLEMS = ("not valid TOML", "cannot read the file")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# -- a TOML writer small enough to trust: every table inline, every key quoted -------------


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def to_toml(document: dict[str, Any]) -> str:
    return "".join(f"{_string(key)} = {_value(value)}\n" for key, value in document.items())


# -- strategies ------------------------------------------------------------------------------

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
_names = st.sampled_from(
    ["kind", "rpc", "chain_id", "finality", "address", "chain", "role", "url", "decimals", "symbol", "evm", "solana"]
) | st.text("abcdefghijklmnopqrstuvwxyz_.-:[] 0123456789", min_size=1, max_size=12)
_scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | _text
    | st.sampled_from(["evm", "solana", "finalized", "confirmed", "http://127.0.0.1:8545", "0x" + "ab" * 20, ""])
    | st.dates()
    | st.datetimes(timezones=st.none() | st.just(dt.UTC))
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=4),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """The valid example after 1–4 random edits of keys, values, types and nesting."""
    document = tomllib.loads(GOOD)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(document, path), path[-1]
        edit = draw(st.sampled_from(["delete", "replace", "rename", "add", "wrap", "unwrap", "nest"]))
        if edit == "delete":
            del parent[last]
        elif edit == "replace":
            parent[last] = draw(_values)
        elif edit == "rename" and isinstance(parent, dict):
            parent[draw(_names)] = parent.pop(last)
        elif edit == "add":
            target = parent[last] if isinstance(parent[last], dict) else parent
            if isinstance(target, dict):
                target[draw(_names)] = draw(_values)
            else:
                target.append(draw(_values))
        elif edit == "wrap":
            parent[last] = [parent[last]]
        elif edit == "unwrap" and isinstance(parent[last], list) and parent[last]:
            parent[last] = parent[last][0]
        elif edit == "nest":
            parent[last] = {draw(_names): parent[last]}
    return document


@st.composite
def mangled_text(draw: st.DrawFn) -> str:
    """The valid example as text, with random slices cut, repeated or replaced."""
    text = GOOD
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        text = text[:i] + draw(st.sampled_from(["", text[i:j] * 2, "\n", "=", "[", "]]", '"', "{"]) | _text) + text[j:]
    return text


# -- the property ----------------------------------------------------------------------------


def _top_keys(data: bytes) -> set[str]:
    try:
        return set(tomllib.loads(data.decode("utf-8")))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()


def _names_a_key(problem: str, keys: set[str]) -> bool:
    if problem.startswith(("(top level)", *FILE_PROBLEMS)):
        return True
    return any(problem.startswith(key) and problem[len(key) : len(key) + 1] in (".", "[", ":") for key in keys)


def load(path: Path, data: bytes) -> Config | ConfigError:
    """Write ``data`` to ``path`` and load it as the CLI does (no environment overrides)."""
    path.write_bytes(data)
    try:
        return load_config(path, Environment(config=None, database_url=None))
    except ConfigError as exc:
        return exc


def _check(path: Path, data: bytes) -> None:
    outcome = load(path, data)
    if isinstance(outcome, ConfigError):
        keys = _top_keys(data)
        vague = [p for p in outcome.problems if not _names_a_key(p, keys)]
        assert outcome.problems and not vague, f"problems that name no key path: {vague or outcome.problems}"
    else:
        assert isinstance(outcome, Config)


@FUZZ
@given(document=mutated())
def test_a_mutated_config_loads_or_names_the_key(tmp_path: Path, document: dict[str, Any]) -> None:
    _check(tmp_path / "depin.toml", to_toml(document).encode())


@FUZZ
@given(text=mangled_text())
def test_a_mangled_config_file_loads_or_names_the_key(tmp_path: Path, text: str) -> None:
    _check(tmp_path / "depin.toml", text.encode())


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_random_bytes_as_a_config_file_are_refused_cleanly(tmp_path: Path, data: bytes) -> None:
    _check(tmp_path / "depin.toml", data)


def test_the_writer_round_trips_the_valid_example(tmp_path: Path) -> None:
    assert tomllib.loads(to_toml(BASE)) == BASE, "the fuzzer's TOML writer must not be what breaks a document"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=mutated())
def test_the_cli_exits_2_on_a_bad_config_without_a_traceback(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "depin.toml"
    outcome = load(path, to_toml(document).encode())
    assume(isinstance(outcome, ConfigError))
    env = {**os.environ, "DEPIN_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "DEPIN_DATA_DIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "indexer.cli", "--config", str(path), "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    stderr = proc.stderr.decode(errors="replace")
    assert (proc.returncode, "Traceback" in stderr) == (2, False), f"exit {proc.returncode}: {stderr[-1500:]}"
