"""The RPC client parses answers with msgspec: every answer must parse as json.loads does."""

from __future__ import annotations

import json
import math

import pytest

from indexer.chains.rpc import parse_json

SAME = [
    b'{"jsonrpc":"2.0","id":1,"result":[{"data":"0x00","blockNumber":"0x10","removed":false}]}',
    # u64 and beyond (lamports, raw amounts some nodes print as numbers): exact, never floats.
    b"[18446744073709551615, 18446744073709551616, 123456789012345678901234567890123, -99999999999999999999999]",
    b'{"a": 1, "a": 2}',  # the last of duplicate keys wins in both
    b'{"uiAmount": 0.1, "amount": "100000000000000000", "x": null, "y": [true, false]}',
    b' \n [1, "\\u00e9\\ud83d\\ude00", {}] \n',
]


@pytest.mark.parametrize("raw", SAME)
def test_parses_as_json_loads(raw: bytes) -> None:
    got, expected = parse_json(raw), json.loads(raw)
    assert got == expected and json.dumps(got) == json.dumps(expected)


def test_what_only_json_loads_takes_still_parses() -> None:
    assert math.isnan(parse_json(b'{"a": NaN}')["a"])
    assert parse_json(b"[1e400]") == [math.inf]
    assert parse_json(b'"\\ud800"') == json.loads(b'"\\ud800"')


@pytest.mark.parametrize("raw", [b'{"jsonrpc":"2.0","id":1,"result":[{"address":"0x', b"", b"<html>", b"[1,]"])
def test_malformed_json_is_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_json(raw)
