"""``depin-indexer discover`` as a process: its three formats, and bad arguments exit 2
naming the flag."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import asyncpg
import pytest

from schemas.discover import CANDIDATES
from tests.figures.test_discover import TOKEN, D, _populate
from tests.processes import run_cli

CONFIG = f"""
[chains.polygon]
kind = "evm"
rpc = ["http://127.0.0.1:1"]
chain_id = 137

[[tokens]]
chain = "polygon"
address = "{TOKEN}"
symbol = "RNDR"
decimals = 18

[[labels]]
network = "render"
chain = "polygon"
address = "{D}"
role = "rewards"
"""


@pytest.fixture
async def populated(conn: asyncpg.Connection, tmp_path: Path) -> Path:
    """The hand-made flows of tests/figures/test_discover.py, and a config naming them."""
    await _populate(conn)
    path = tmp_path / "depin.toml"
    path.write_text(CONFIG)
    return path


def _discover(config: Path, db_url: str, tmp: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli(config, db_url, tmp, "discover", "--chain", "polygon", *args, timeout=60)


async def test_json_is_the_contract_array_sorted_by_kind(populated: Path, db_url: str, tmp_path: Path) -> None:
    done = _discover(populated, db_url, tmp_path, "--token", "RNDR", "--format", "json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    CANDIDATES.validate_python(answer)
    assert [c["kind"] for c in answer][:1] == ["distributor"] and answer[0]["address"] == D
    assert answer[0]["evidence"]["amount_out"] == "148.148146948148146965", "exact, whole tokens"


async def test_toml_is_labels_to_paste_with_the_evidence_as_comments(
    populated: Path, db_url: str, tmp_path: Path
) -> None:
    done = _discover(populated, db_url, tmp_path, "--token", TOKEN.upper().replace("0X", "0x"), "--format", "toml")
    assert done.returncode == 0, done.stderr
    labels = tomllib.loads(done.stdout).get("labels", [])
    roles = {(label["role"], label["address"]) for label in labels}
    assert ("revenue", "0x" + "e" * 40) in roles, done.stdout
    assert ("burn_revenue", TOKEN) in roles, "a burner's label is on the token"
    assert ("rewards", D) not in roles, "the distributor is labelled already: its block is commented out"
    assert "# already labelled (render rewards)" in done.stdout
    assert all(label["network"] == "NETWORK" and "valid_from" in label for label in labels)


async def test_table_is_the_default(populated: Path, db_url: str, tmp_path: Path) -> None:
    done = _discover(populated, db_url, tmp_path, "--token", "RNDR", "--limit", "1")
    assert done.returncode == 0, done.stderr
    assert D in done.stdout and "render rewards" in done.stdout and "distributor" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token", "RNDR", "--since", "2024-13-01"], "--since 2024-13-01: not a day"),
        (["--token", "RNDR", "--until", "yesterday"], "--until yesterday: not a day"),
        (["--token", "RNDR", "--since", "2024-03-02", "--until", "2024-03-01"], "--since 2024-03-02 is after --until"),
        (["--token", "RNDR", "--limit", "0"], "--limit 0: must be 1 or more"),
        (["--token", "RNDR", "--limit", "many"], "argument --limit: invalid int value"),
        (["--token", "USDC"], "--token USDC: not a token of chain polygon (known: RNDR)"),
        (["--token", "RNDR", "--format", "csv"], "argument --format: invalid choice"),
        ([], "the following arguments are required: --token"),
    ],
)
async def test_bad_arguments_exit_2_naming_the_flag(
    populated: Path, db_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    done = _discover(populated, db_url, tmp_path, *args)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr


async def test_an_unknown_chain_exits_2_naming_the_flag(populated: Path, db_url: str, tmp_path: Path) -> None:
    done = run_cli(populated, db_url, tmp_path, "discover", "--chain", "nope", "--token", "RNDR", timeout=60)
    assert done.returncode == 2 and "--chain nope: not configured (configured: polygon)" in done.stderr, done.stderr


def test_a_module_account_is_named_and_its_block_commented_out() -> None:
    from datetime import date

    from indexer.commands.discover import render_toml
    from indexer.figures.discover import Candidate, Evidence, Token

    day = date(2026, 1, 2)
    evidence = Evidence(5, 40, 0, 900, 30, 1.0, 0.9, "0", "12.5", day, day)
    fee = Candidate("collector", "revenue", "0x" + "17" * 20, 0.7, evidence, (), "fee_collector")
    shop = Candidate("collector", "revenue", "0x" + "18" * 20, 0.6, evidence)
    out = render_toml([fee, shop], Token("aioz-cosmos", "attoaioz", "AIOZ", 18), "discover")
    labels = tomllib.loads(out).get("labels", [])
    assert [label["address"] for label in labels] == ["0x" + "18" * 20], out
    assert "# the chain's fee_collector module account, no network's: nothing to add" in out
    assert CANDIDATES.validate_python([fee.as_json()])[0].module == "fee_collector"
