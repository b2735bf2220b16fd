"""deploy/: the mainnet config validates, the compose file and units are coherent."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from indexer.cli import build_parser
from indexer.config import Environment, load_config

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
MAINNET_ENV = {
    "POLYGON_RPC_URL": "https://polygon.example/v2/KEY",
    "SOLANA_RPC_URL": "https://solana.example/?api-key=KEY",
    "AIOZ_RPC_URL": "https://aioz.example",
    "AIOZ_COSMOS_RPC_URL": "https://aioz-cometbft.example",
}


@pytest.fixture(autouse=True)
def _mainnet_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in MAINNET_ENV.items():
        monkeypatch.setenv(name, value)


def test_mainnet_config_loads_and_every_entry_cites_a_source() -> None:
    config = load_config(DEPLOY / "mainnet.toml", Environment())
    assert {"polygon", "solana", "aioz", "aioz-cosmos"} <= set(config.chains)
    assert [t.address for t in config.tokens if t.chain == "aioz-cosmos"] == ["attoaioz"]
    # Each coin counted once: AIOZ labels sit on the Cosmos view only (docs/methodology.md).
    assert not [label for label in config.labels if label.chain == "aioz"]
    assert config.chains["polygon"].chain_id == 137  # type: ignore[union-attr]
    text = (DEPLOY / "mainnet.toml").read_text()
    # Every [[tokens]] and [[labels]] table is preceded by a comment naming its source.
    for match in re.finditer(r"\n(\[\[(tokens|labels)\]\])", text):
        before = text[: match.start()].rstrip().splitlines()[-1]
        assert before.lstrip().startswith("#"), f"{match.group(1)} at offset {match.start()} has no source comment"


def test_mainnet_config_takes_endpoints_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(DEPLOY / "mainnet.toml", Environment())
    assert config.chains["solana"].rpc == [MAINNET_ENV["SOLANA_RPC_URL"]]
    monkeypatch.delenv("AIOZ_RPC_URL")
    from indexer.errors import ConfigError

    with pytest.raises(ConfigError, match=r"chains.aioz.rpc\[0\]: environment variable AIOZ_RPC_URL is not set"):
        load_config(DEPLOY / "mainnet.toml", Environment())


def test_mainnet_config_through_the_cli_is_accepted() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "indexer.cli", "--config", str(DEPLOY / "mainnet.toml"), "backfill", "--chain", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--chain nope: not configured (configured: polygon, solana, aioz, aioz-cosmos)" in proc.stderr


def test_compose_file_is_coherent() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "indexer", "api"}
    commands = {name: svc.get("command", []) for name, svc in services.items()}
    assert commands["migrate"] == ["migrate"]
    assert commands["indexer"][0] == "run" and commands["api"][0] == "api"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("indexer", "api"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["DEPIN_DATABASE_URL"].startswith("postgresql://")
    for svc in services.values():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), "ports are published on loopback only"
    # Every CLI command the deployment uses exists.
    known = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert {commands["migrate"][0], commands["indexer"][0], commands["api"][0]} <= known


def test_image_runs_as_non_root_and_units_call_real_commands() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2, "multi-stage"
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text()
        assert "User=depin" in text
        for command in re.findall(r"^Exec\w+=\S*depin-indexer (\w+)", text, re.MULTILINE):
            assert command in {"run", "api", "migrate"}, f"{unit.name}: unknown command {command}"


def test_a_chain_family_this_build_cannot_ingest_is_a_clear_error() -> None:
    from indexer.chains.registry import UnsupportedChain, build_client, build_ingestor

    config = load_config(DEPLOY / "mainnet.toml", Environment())
    try:
        import indexer.chains.solana  # noqa: F401
    except ImportError:
        client = build_client("solana", config)
        try:
            build_ingestor("solana", config, client)
        except UnsupportedChain as exc:
            assert "chains.solana: Solana ingestion is not part of this build yet" in str(exc)
        else:
            raise AssertionError("expected UnsupportedChain")
