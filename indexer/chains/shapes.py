"""What a valid ``result`` of each JSON-RPC method looks like, checked in the RPC client.

A provider under load sometimes answers with a well-formed JSON-RPC response whose
``result`` is something else entirely (an error page's JSON, another call's answer, an
empty object). That is a bad answer, to be retried like a 502, not data to decode: a
decoder that sees it can only fail the whole batch. Each check is cheap and looks only at
what every caller relies on; the decoders still check the details of what they read.

A check returns None for a valid result, else a short description of what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], str | None]


def _hex_quantity(result: Any) -> str | None:
    if isinstance(result, str) and result.startswith("0x") and len(result) > 2:
        try:
            int(result, 16)
        except ValueError:
            return f"not a hex quantity: {result[:40]!r}"
        return None
    return f"expected a hex quantity, got {_kind(result)}"


def _hex_data(result: Any) -> str | None:
    if isinstance(result, str) and result.startswith("0x"):
        return None
    return f"expected hex data, got {_kind(result)}"


def _list_of_objects(result: Any) -> str | None:
    if not isinstance(result, list):
        return f"expected a list, got {_kind(result)}"
    if result and not isinstance(result[0], dict):
        return f"expected a list of objects, got a list of {_kind(result[0])}"
    return None


def _object_with(*keys: str, nullable: bool = True) -> Check:
    """A JSON object carrying ``keys`` (or null where the method may answer null)."""

    def check(result: Any) -> str | None:
        if result is None:
            return None if nullable else "expected an object, got null"
        if not isinstance(result, dict):
            return f"expected an object, got {_kind(result)}"
        missing = [k for k in keys if k not in result]
        return f"object without {', '.join(missing)}" if missing else None

    return check


def _integer(result: Any) -> str | None:
    if isinstance(result, int) and not isinstance(result, bool):
        return None
    return f"expected an integer, got {_kind(result)}"


def _nullable_integer(result: Any) -> str | None:
    return None if result is None else _integer(result)


def _solana_transaction(result: Any) -> str | None:
    problem = _object_with("slot", "transaction", "meta")(result)
    if problem is not None or result is None:
        return problem
    transaction = result["transaction"]
    if not isinstance(transaction, dict) or not isinstance(transaction.get("signatures"), list):
        return "transaction without signatures"
    return None


def _value_list(result: Any) -> str | None:
    if not isinstance(result, dict) or not isinstance(result.get("value"), list):
        return f"expected an object with a 'value' list, got {_kind(result)}"
    return None


def _cometbft_block(result: Any) -> str | None:
    problem = _object_with("block_id", "block", nullable=False)(result)
    if problem is not None:
        return problem
    block = result["block"]
    if not isinstance(block, dict) or not isinstance(block.get("header"), dict) or "data" not in block:
        return "block without header or data"
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:3])
        return f"an object ({keys})" if keys else "an empty object"
    return type(value).__name__


SHAPES: Mapping[str, Check] = {
    # EVM
    "eth_chainId": _hex_quantity,
    "eth_blockNumber": _hex_quantity,
    "eth_getLogs": _list_of_objects,
    "eth_getBlockByNumber": _object_with("number", "hash", "parentHash", "timestamp"),
    "eth_getTransactionReceipt": _object_with("transactionHash"),
    "eth_call": _hex_data,
    # Solana
    "getSlot": _integer,
    "getBlockTime": _nullable_integer,
    "getSignaturesForAddress": _list_of_objects,
    "getTransaction": _solana_transaction,
    "getSignatureStatuses": _value_list,
    "getTokenAccountsByOwner": _value_list,
    # CometBFT (Cosmos chains): never null; a height not there yet is an error answer
    "status": _object_with("node_info", "sync_info", nullable=False),
    "block": _cometbft_block,
    "block_results": _object_with("height", nullable=False),
    "abci_query": _object_with("response", nullable=False),
}


def problem(method: str, result: Any) -> str | None:
    """What is wrong with ``result`` as an answer to ``method`` (None: nothing we check)."""
    check = SHAPES.get(method)
    return None if check is None else check(result)
