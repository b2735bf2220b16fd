"""The config file contract: good files load, every bad one names the key and the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from indexer.config import Environment, load_config, parse_config
from indexer.errors import ConfigError

GOOD = """
[database]
url = "postgresql://indexer:secret@db.internal:5432/depin"

[chains.polygon]
kind = "evm"
rpc = ["http://127.0.0.1:8545", "https://polygon.example/v2/KEY"]
chain_id = 137
start_block = 10
finality = "finalized"

[chains.aioz]
kind = "evm"
rpc = ["http://127.0.0.1:8546"]
chain_id = 168
finality = 30
native_symbol = "AIOZ"

[chains.solana]
kind = "solana"
rpc = ["http://127.0.0.1:8899"]
commitment = "confirmed"

[[tokens]]
chain = "polygon"
address = "0x61299774020DA444Af134c82fa83E3810b309991"
symbol = "RNDR"
decimals = 18

[[tokens]]
chain = "solana"
address = "rndrizKT3MK1iimdxRdWabcF7Zg7AR5T4nud4EkHBof"
symbol = "RENDER"
decimals = 8

[[labels]]
network = "render"
chain = "solana"
address = "rndrizKT3MK1iimdxRdWabcF7Zg7AR5T4nud4EkHBof"
role = "burn_revenue"

[[labels]]
network = "render"
chain = "polygon"
address = "0x0000000000000000000000000000000000000abc"
role = "revenue"
name = "job escrow"
valid_to = 2023-12-01

[[assumptions]]
network = "render"
watts = 350
usd_per_kwh = "0.12"
"""


def test_good_config_loads_and_normalises_evm_addresses(tmp_path: Path) -> None:
    path = tmp_path / "depin.toml"
    path.write_text(GOOD)
    config = load_config(path, Environment())
    assert config.chains["polygon"].kind == "evm"
    assert config.chains["solana"].kind == "solana"
    assert config.tokens[0].address == "0x61299774020da444af134c82fa83e3810b309991", (
        "EVM addresses are stored in lower case (the text-form contract)"
    )
    assert config.tokens[1].address == "rndrizKT3MK1iimdxRdWabcF7Zg7AR5T4nud4EkHBof"
    assert str(config.assumptions[0].usd_per_kwh) == "0.12"


def test_database_url_from_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "depin.toml"
    path.write_text(GOOD)
    env = Environment(database_url="postgresql://other@127.0.0.1/x")
    assert load_config(path, env).database.url == "postgresql://other@127.0.0.1/x"


def test_missing_default_file_is_an_empty_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, Environment())
    assert config.chains == {} and config.database.url is None


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", Environment())


EVM = '[chains.polygon]\nkind = "evm"\nrpc = ["http://127.0.0.1:8545"]\nchain_id = 137\n'
TOKEN = '[[tokens]]\nchain = "polygon"\naddress = "0x61299774020da444af134c82fa83e3810b309991"\nsymbol = "RNDR"\ndecimals = 18\n'

BAD_CONFIGS = [
    (
        "rpc not a URL",
        EVM.replace("http://127.0.0.1:8545", "ftp://x") + TOKEN,
        "chains.polygon.rpc: not an http(s) URL",
    ),
    ("unknown top-level key", "colour = 'blue'\n", "colour: unknown key"),
    # Keys nothing read were removed rather than left to mislead.
    ("traces is gone", EVM + "traces = true\n" + TOKEN, "chains.polygon.traces: unknown key"),
    ("pool of one", "[database]\npool_size = 1\n" + EVM + TOKEN, "database.pool_size:"),
    ("rate of zero", EVM + "max_requests_per_second = 0\n" + TOKEN, "chains.polygon.max_requests_per_second:"),
    ("negative verify interval", "[service]\nverify_interval = -1\n" + EVM + TOKEN, "service.verify_interval:"),
    ("unknown chain key", EVM.replace("chain_id", "chainid") + TOKEN, "chains.polygon.chainid: unknown key"),
    (
        "chain_id missing",
        EVM.replace("chain_id = 137\n", "") + TOKEN,
        "chains.polygon.chain_id: required key is missing",
    ),
    (
        "bad kind",
        EVM.replace('"evm"', '"tendermint"') + TOKEN,
        'chains.polygon.kind: must be "evm", "solana" or "cosmos"',
    ),
    ("kind missing", EVM.replace('kind = "evm"\n', "") + TOKEN, "chains.polygon.kind: required key is missing"),
    ("empty rpc list", EVM.replace('["http://127.0.0.1:8545"]', "[]") + TOKEN, "chains.polygon.rpc:"),
    ("finality word", EVM + 'finality = "safe"\n' + TOKEN, "chains.polygon.finality:"),
    ("negative finality", EVM + "finality = -1\n" + TOKEN, "chains.polygon.finality:"),
    (
        "token on unknown chain",
        EVM + TOKEN + TOKEN.replace('"polygon"', '"polgon"'),
        "tokens[1].chain: unknown chain 'polgon' (configured: polygon)",
    ),
    (
        "evm token address",
        EVM + TOKEN.replace("0x6129", "0xZZ29"),
        "tokens[0].address: not a 0x-prefixed 20-byte hex address",
    ),
    ("decimals too large", EVM + TOKEN.replace("decimals = 18", "decimals = 300"), "tokens[0].decimals:"),
    ("duplicate token", EVM + TOKEN + TOKEN.replace("020da444af", "020DA444AF"), "tokens[1]: same token as tokens[0]"),
    (
        "bad role",
        EVM
        + TOKEN
        + '[[labels]]\nnetwork="render"\nchain="polygon"\naddress="0x61299774020da444af134c82fa83e3810b309991"\nrole="income"\n',
        "labels[0].role:",
    ),
    (
        "burn_revenue on a non-token",
        EVM
        + TOKEN
        + '[[labels]]\nnetwork="render"\nchain="polygon"\naddress="0x0000000000000000000000000000000000000001"\nrole="burn_revenue"\n',
        "labels[0].address: role 'burn_revenue' needs a token address",
    ),
    (
        "solana address on evm",
        EVM
        + TOKEN
        + '[[labels]]\nnetwork="io.net"\nchain="polygon"\naddress="rndrizKT3MK1iimdxRdWabcF7Zg7AR5T4nud4EkHBof"\nrole="revenue"\n',
        "labels[0].address: not a 0x-prefixed 20-byte hex address",
    ),
    (
        "validity reversed",
        EVM
        + TOKEN
        + '[[labels]]\nnetwork="render"\nchain="polygon"\naddress="0x0000000000000000000000000000000000000001"\nrole="revenue"\nvalid_from=2024-01-01\nvalid_to=2023-01-01\n',
        "labels[0].valid_to: must be after valid_from",
    ),
    (
        "bad chain name",
        EVM.replace("chains.polygon", "chains.Polygon") + TOKEN.replace('"polygon"', '"Polygon"'),
        "chains.Polygon: a chain name is lower-case",
    ),
    ("nothing to index", EVM, "chains.polygon: no [[tokens]] and no native_symbol"),
    ("database not postgres", '[database]\nurl = "mysql://x"\n', "database.url: not a postgresql:// URL"),
    ("not TOML", "[chains.polygon\nkind=1", "not valid TOML"),
    ("wrong type", EVM.replace("chain_id = 137", 'chain_id = "polygon"') + TOKEN, "chains.polygon.chain_id:"),
    (
        "assumption for unknown network",
        EVM + TOKEN + '[[assumptions]]\nnetwork="akash"\nwatts=450\nusd_per_kwh=0.1\n',
        "assumptions[0].network: 'akash' has no labels",
    ),
    (
        "solana rpc with key path",
        '[chains.sol]\nkind="solana"\nrpc=["wss://x"]\n',
        "chains.sol.rpc: not an http(s) URL",
    ),
    (
        "wrapped SOL as a token",
        '[chains.sol]\nkind="solana"\nrpc=["http://127.0.0.1:8899"]\n'
        '[[tokens]]\nchain="sol"\naddress="rndrizKT3MK1iimdxRdWabcF7Zg7AR5T4nud4EkHBof"\nsymbol="RENDER"\ndecimals=8\n'
        '[[tokens]]\nchain="sol"\naddress="So11111111111111111111111111111111111111112"\nsymbol="WSOL"\ndecimals=9\n',
        "tokens[1].address: wrapped SOL (So11111111111111111111111111111111111111112) is not supported: "
        "its token balances follow the account's lamports",
    ),
    (
        "on_undecodable word",
        '[chains.sol]\nkind="solana"\nrpc=["http://127.0.0.1:8899"]\non_undecodable="skip"\n'
        '[[tokens]]\nchain="sol"\naddress="rndrizKT3MK1iimdxRdWabcF7Zg7AR5T4nud4EkHBof"\nsymbol="RENDER"\ndecimals=8\n',
        "chains.sol.on_undecodable: Input should be 'stop' or 'record'",
    ),
    (
        "same endpoint twice",
        EVM.replace('["http://127.0.0.1:8545"]', '["http://a:1", "http://a:1"]') + TOKEN,
        "chains.polygon.rpc: the same endpoint is listed twice",
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_key_and_problem(tmp_path: Path, case: str, text: str, expected: str) -> None:
    path = tmp_path / "depin.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, Environment())
    assert expected in str(err.value), f"{case}: message was:\n{err.value}"
    assert str(path) in str(err.value), "the message names the file"


def test_all_problems_are_reported_at_once() -> None:
    raw = {"chains": {"p": {"kind": "evm", "rpc": ["nope"], "chain_id": 0}}, "extra": 1}
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    assert len(err.value.problems) == 3, err.value.problems


def test_cli_exits_2_with_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(EVM.replace("http://127.0.0.1:8545", "not-a-url") + TOKEN)
    proc = subprocess.run(
        [sys.executable, "-m", "indexer.cli", "--config", str(path), "migrate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "chains.polygon.rpc: not an http(s) URL" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_bad_usage_exits_2() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "indexer.cli", "no-such-command"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr


def test_environment_variables_are_expanded_and_unset_ones_named(tmp_path: Path) -> None:
    text = EVM.replace("http://127.0.0.1:8545", "https://polygon.example/v2/${POLYGON_KEY}") + TOKEN
    config = parse_config(__import__("tomllib").loads(text), environ={"POLYGON_KEY": "k123"})
    assert config.chains["polygon"].rpc == ["https://polygon.example/v2/k123"]
    with pytest.raises(ConfigError, match=r"chains.polygon.rpc\[0\]: environment variable POLYGON_KEY is not set"):
        parse_config(__import__("tomllib").loads(text), environ={})


def test_the_readme_example_loads_and_shows_every_key() -> None:
    """The README's config example is the reference users copy: it must be valid, and a
    key the schema has but the example lacks is a key nobody will find."""
    import re
    import tomllib

    from schemas.config import ApiSettings, CosmosChain, DatabaseSettings, EvmChain, ServiceSettings, SolanaChain

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    example = re.search(r"## Configuration.*?```toml\n(.*?)```", readme, re.DOTALL)
    assert example, "README has a ## Configuration section with a toml example"
    data = tomllib.loads(example.group(1).replace("0x...", "0x" + "ab" * 20))
    parse_config(data, Environment({}))
    shown = {
        "database": set(data["database"]),
        "evm": set(data["chains"]["polygon"]),
        "solana": set(data["chains"]["solana"]),
        "cosmos": set(data["chains"]["aioz-cosmos"]),
        "service": set(data["service"]),
        "api": set(data["api"]),
    }
    models = {
        "database": DatabaseSettings,
        "evm": EvmChain,
        "solana": SolanaChain,
        "cosmos": CosmosChain,
        "service": ServiceSettings,
        "api": ApiSettings,
    }
    # Keys an EVM example already shows once need not be repeated on the Solana chain.
    missing = {
        table: sorted(
            set(model.model_fields)
            - shown[table]
            - ({"start_block"} if table == "solana" else set())
            - (shown["evm"] if table in ("solana", "cosmos") else set())
        )
        for table, model in models.items()
    }
    assert not any(missing.values()), f"keys missing from the README example: {missing}"
