"""Cosmos reconciliation: labelled accounts' bank balances against the indexed flows.

For every labelled account and configured denom, the balance change between two heights
must equal the net indexed flow in between. Balances come from the REST endpoint
(``/cosmos/bank/v1beta1/balances/{address}/by_denom`` with the ``x-cosmos-block-height``
header) when ``rest`` is configured, else from ``abci_query`` of the bank module's
``Query/Balance`` over the CometBFT endpoints (through the RPC client: failover, backoff).
Both need a node that keeps the state of old heights (an archive, or pruning = "nothing").
Mismatches are narrowed down by bisection, as on EVM chains, and ``--repair`` re-indexes them.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import asyncpg
import httpx

from indexer.chains.cosmos import CosmosIngestor
from indexer.chains.rpc import RpcError, retry_after
from indexer.decode.columns import FlowColumns
from indexer.decode.cosmos import block_time, hex_to_bech32
from indexer.errors import DepinError
from indexer.redact import redact_url
from indexer.retry import capped
from indexer.store.writer import read_cursor, replace_range
from indexer.verify.evm import EvmVerifier, Gap

_BALANCE_PATH = "/cosmos.bank.v1beta1.Query/Balance"
_REST_ATTEMPTS = 4  # rounds over the REST endpoints before a balance is unavailable


class BalanceUnavailable(DepinError):
    """No endpoint answered a balance at a height (pruned state, or every endpoint down)."""


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2, varint length)."""
    out = bytearray([number << 3 | 2])
    n = len(payload)
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + payload


def _fields(data: bytes) -> dict[int, bytes]:
    """Length-delimited fields of a protobuf message (other wire types are not in a Coin)."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        tag = data[i]
        i += 1
        n = shift = 0
        while True:
            byte = data[i]
            i += 1
            n |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        if tag & 7 != 2:
            raise ValueError(f"unexpected protobuf wire type {tag & 7}")
        out[tag >> 3] = data[i : i + n]
        i += n
    return out


class CosmosVerifier(EvmVerifier):
    """Balance reconciliation for one Cosmos chain (the EVM bisection, Cosmos balances)."""

    ingestor: CosmosIngestor  # type: ignore[assignment]

    def __init__(self, ingestor: CosmosIngestor, addresses: Sequence[str], rest: Sequence[str] = ()) -> None:
        super().__init__(ingestor, addresses)  # type: ignore[arg-type]
        self.rest = list(rest)
        self.prefix = ingestor.config.bech32_prefix

    async def balance(self, token: str, address: str, block: int) -> int:
        """Balance of ``address`` (0x form) in denom ``token`` after height ``block``."""
        if block < 1:
            return 0  # before the first height (genesis balances: docs/methodology.md)
        bech32 = hex_to_bech32(address, self.prefix)
        if self.rest:
            return await self._rest_balance(token, bech32, block)
        data = _field(1, bech32.encode()) + _field(2, token.encode())
        answer = await self.ingestor.source.client.call("abci_query", [_BALANCE_PATH, data.hex(), str(block), False])
        response = answer["response"]
        if int(response.get("code") or 0) != 0:
            raise RpcError("", "abci_query", None, f"balance of {bech32} at {block}: {response.get('log')}")
        coin = _fields(base64.b64decode(response.get("value") or ""))
        return int((_fields(coin[1]).get(2) or b"0").decode()) if 1 in coin else 0

    async def _rest_balance(self, denom: str, bech32: str, height: int) -> int:
        """The balance from the REST endpoints, each tried in turn, ``_REST_ATTEMPTS`` rounds.

        The waits follow the RPC client's: its back-off law (or a ``Retry-After``, capped),
        and both the requests and the waits end at once with Interrupted when the client's
        stop is set (SIGTERM of ``run`` or ``verify``). The loop is ours because REST is not
        JSON-RPC: the client's own retries parse JSON-RPC answers.
        """
        client = self.ingestor.source.client
        headers = {"x-cosmos-block-height": str(height)}
        problems: dict[str, str] = {}
        async with httpx.AsyncClient(timeout=self.ingestor.config.request_timeout) as http:
            for attempt in range(1, _REST_ATTEMPTS + 1):
                asked: float | None = None
                for base in self.rest:
                    url = f"{base.rstrip('/')}/cosmos/bank/v1beta1/balances/{bech32}/by_denom"
                    request = http.get(url, params={"denom": denom}, headers=headers)
                    try:
                        response = await client.interruptible(request, f"the balance of {bech32} at {height}")
                        if response.status_code == 200:
                            return int(response.json()["balance"]["amount"])
                        problems[redact_url(base)] = f"HTTP {response.status_code}"
                        wait = retry_after(response.headers)
                        if wait is not None:  # the longest any endpoint asked for
                            asked = wait if asked is None else max(asked, wait)
                    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                        problems[redact_url(base)] = type(exc).__name__
                if attempt < _REST_ATTEMPTS:
                    delay = client.backoff.delay(attempt) if asked is None else capped(asked, client.backoff)
                    await client.sleep(delay)
        detail = "; ".join(f"{k}: {v}" for k, v in problems.items())
        raise BalanceUnavailable(f"{self.chain}: balance of {bech32} ({denom}) at height {height}: {detail}")

    async def _replace(self, conn: asyncpg.Connection, first: int, last: int) -> tuple[int, int]:
        """Replace the stored flows of heights first..last by what indexing them now gives."""
        flows = FlowColumns(self.chain)
        flows.extend(await self.ingestor.fetch_range(first, last))
        ends = await self.ingestor.source.heights(sorted({first, last}))
        times = {int(b["block"]["header"]["height"]): block_time(b["block"]["header"]["time"]) for b, _r in ends}
        return await replace_range(conn, flows, (first, last), (times[first], times[last]))

    async def span(self, conn: asyncpg.Connection) -> tuple[int, int] | None:
        """(start_height - 1, cursor) — the heights the database claims to cover — or None."""
        cursor = await read_cursor(conn, self.chain)
        if cursor is None:
            return None
        return self.ingestor.config.start_height - 1, cursor[0]


__all__ = ["CosmosVerifier", "Gap", "BalanceUnavailable"]
