"""`kind = "cosmos"` in the config file: addresses either way, denoms, clear problems."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.config import parse_config
from indexer.decode.cosmos import bech32_encode
from indexer.errors import ConfigError

ACCOUNT = bytes(range(1, 21))


def _raw(label_address: str, token: str = "attoaioz") -> dict[str, Any]:
    return {
        "chains": {"aioz-cosmos": {"kind": "cosmos", "rpc": ["http://127.0.0.1:26657"], "bech32_prefix": "aioz"}},
        "tokens": [{"chain": "aioz-cosmos", "address": token, "symbol": "AIOZ", "decimals": 18}],
        "labels": [{"network": "aioz", "chain": "aioz-cosmos", "address": label_address, "role": "rewards"}],
    }


@pytest.mark.parametrize(
    "written", [bech32_encode("aioz", ACCOUNT), "0x" + ACCOUNT.hex().upper()], ids=["bech32", "0x"]
)
def test_a_label_written_either_way_is_stored_as_0x_hex(written: str) -> None:
    config = parse_config(_raw(written), environ={})
    assert config.labels[0].address == "0x" + ACCOUNT.hex()
    assert config.tokens[0].address == "attoaioz"


@pytest.mark.parametrize(
    ("label", "token", "problem"),
    [
        (bech32_encode("cosmos", ACCOUNT), "attoaioz", "labels[0].address: not a aioz1... (bech32) or 0x"),
        (bech32_encode("aioz", ACCOUNT)[:-1] + "q", "attoaioz", "labels[0].address: not a aioz1..."),
        ("0x" + "ab" * 20, "12attoaioz", "tokens[0].address: not a Cosmos denom"),
        ("0x" + "ab" * 20, "native", "tokens[0].address: 'native' is only for EVM chains"),
    ],
)
def test_bad_cosmos_addresses_are_named(label: str, token: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_raw(label, token), environ={})
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_an_unknown_kind_names_cosmos_among_the_choices() -> None:
    raw = _raw("0x" + "ab" * 20)
    raw["chains"]["aioz-cosmos"]["kind"] = "tendermint"
    with pytest.raises(ConfigError, match='must be "evm", "solana" or "cosmos"'):
        parse_config(raw, environ={})
