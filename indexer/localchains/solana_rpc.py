"""A JSON-RPC 2.0 server over a :class:`~indexer.localchains.solana_ledger.SolanaLedger`.

Answers the methods an indexer of token flows needs, shaped like mainnet's answers
(field names, nesting, error codes and messages, paging semantics): ``getTransaction``,
``getSignaturesForAddress``, ``getTokenAccountsByOwner``, ``getSlot``, ``getBlockTime``,
``getBlockHeight``, ``getLatestBlockhash``, ``getHealth``, ``getGenesisHash``,
``getVersion``, ``getFirstAvailableBlock``, ``minimumLedgerSlot``, ``getBalance``,
``getAccountInfo``, ``getTokenAccountBalance``, ``getSignatureStatuses``. JSON-RPC batch
arrays are supported; ``GET /health`` answers like a validator's health endpoint.

Fast enough to feed a backfill: transactions are serialised once when the ledger
records them and spliced into responses as bytes; HTTP/1.1 keep-alive.

Usage::

    with SolanaRpcServer(ledger) as url:
        ...  # url is http://127.0.0.1:PORT

``server.unavailable`` holds signatures answered with ``null`` (a node that has not
caught up), for testing how callers treat nulls.
"""

from __future__ import annotations

import base64
import json
import struct
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

from indexer.decode.solana import b58decode, b58encode
from indexer.localchains.loopback import LoopbackServer
from indexer.localchains.solana_ledger import (
    ACCOUNT_SIZE,
    RENT_EPOCH_EXEMPT,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAMS,
    SolanaLedger,
    is_token_account,
    token_amount_json,
    unpack_token_account,
)

API_VERSION = "2.2.16"
FEATURE_SET = 3_294_202_862
MAX_SIGNATURES_LIMIT = 1000
MAX_REQUEST_BODY = 50 * 1024
"""Agave's limit on a request body (``MAX_REQUEST_BODY_SIZE``): larger batches get HTTP 413."""
_COMMITMENTS = ("processed", "confirmed", "finalized")
_TRANSACTION_ENCODINGS = ("json", "base64", "base58")


class RpcFailure(Exception):
    """A JSON-RPC error answer (code and message as mainnet sends them)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def body(self) -> dict[str, Any]:
        """The ``error`` object."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


class Raw(bytes):
    """A result already serialised to JSON."""


def invalid_params(message: str) -> RpcFailure:
    """-32602, the code mainnet uses for every parameter problem."""
    return RpcFailure(-32602, message)


def _pubkey_param(value: Any) -> Pubkey:
    """Parse a base58 public key the way the validator reports failures."""
    if not isinstance(value, str):
        raise invalid_params("Invalid params: invalid type: expected a base58 string.")
    if len(value) > 44:
        raise invalid_params("Invalid param: WrongSize")
    try:
        raw = b58decode(value)
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None
    if len(raw) != 32:
        raise invalid_params("Invalid param: WrongSize")
    return Pubkey(raw)


def _signature_param(value: Any) -> str:
    if not isinstance(value, str):
        raise invalid_params("Invalid params: invalid type: expected a base58 string.")
    if len(value) > 88:
        raise invalid_params("Invalid param: WrongSize")
    try:
        raw = b58decode(value)
    except ValueError:
        raise invalid_params("Invalid param: Invalid") from None
    if len(raw) != 64:
        raise invalid_params("Invalid param: WrongSize")
    return value


def _config(params: list[Any], at: int) -> dict[str, Any]:
    if len(params) <= at or params[at] is None:
        return {}
    value = params[at]
    if not isinstance(value, dict):
        raise invalid_params(f"Invalid params: invalid type: {type(value).__name__}, expected struct config.")
    return value


def _commitment(config: dict[str, Any], *, at_least_confirmed: bool = False) -> str:
    commitment = config.get("commitment", "finalized")
    # Old names still accepted by validators.
    commitment = {"recent": "processed", "single": "confirmed", "singleGossip": "confirmed", "max": "finalized"}.get(
        commitment, commitment
    )
    if commitment not in _COMMITMENTS:
        raise invalid_params(f"Invalid params: unknown variant `{commitment}`, expected one of {_COMMITMENTS}.")
    if at_least_confirmed and commitment == "processed":
        raise invalid_params("Method does not support commitment below `confirmed`")
    return commitment


def _limit(value: Any) -> int:
    if value is None:
        return MAX_SIGNATURES_LIMIT
    if type(value) is not int or value < 0:
        raise invalid_params(f"Invalid params: invalid value: {value!r}, expected usize.")
    if value == 0 or value > MAX_SIGNATURES_LIMIT:
        raise invalid_params(f"Invalid limit; max {MAX_SIGNATURES_LIMIT}")
    return value


class SolanaRpcServer(LoopbackServer):
    """A loopback JSON-RPC server for one ledger; a context manager returning its URL."""

    thread_name = "solana-rpc"

    def __init__(
        self, ledger: SolanaLedger, host: str = "127.0.0.1", port: int = 0, *, max_body_bytes: int = MAX_REQUEST_BODY
    ) -> None:
        super().__init__(host, port)
        self.ledger = ledger
        self.max_body_bytes = max_body_bytes
        self.unavailable: set[str] = set()
        self.calls: Counter[str] = Counter()
        self._methods: dict[str, Callable[[list[Any]], Any]] = {
            "getTransaction": self.get_transaction,
            "getSignaturesForAddress": self.get_signatures_for_address,
            "getTokenAccountsByOwner": self.get_token_accounts_by_owner,
            "getSlot": self.get_slot,
            "getBlockHeight": self.get_slot,
            "getBlockTime": self.get_block_time,
            "getLatestBlockhash": self.get_latest_blockhash,
            "getHealth": lambda params: "ok",
            "getGenesisHash": lambda params: self.ledger.genesis_hash,
            "getVersion": lambda params: {"feature-set": FEATURE_SET, "solana-core": API_VERSION},
            "getFirstAvailableBlock": lambda params: self.ledger.start_slot,
            "minimumLedgerSlot": lambda params: self.ledger.start_slot,
            "getBalance": self.get_balance,
            "getAccountInfo": self.get_account_info,
            "getTokenAccountBalance": self.get_token_account_balance,
            "getSignatureStatuses": self.get_signature_statuses,
        }

    # --- lifecycle ---------------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    # --- JSON-RPC plumbing ----------------------------------------------------------------

    def handle(self, body: bytes) -> bytes | None:
        """Answer one HTTP body (a request or a batch); None when nothing is to be sent."""
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _error_bytes(None, RpcFailure(-32700, "Parse error"))
        if isinstance(request, list):
            if not request:
                return _error_bytes(None, RpcFailure(-32600, "Invalid request"))
            answers = [a for a in (self._one(r) for r in request) if a is not None]
            return b"[" + b",".join(answers) + b"]" if answers else None
        return self._one(request)

    def _one(self, request: Any) -> bytes | None:
        if not isinstance(request, dict):
            return _error_bytes(None, RpcFailure(-32600, "Invalid request"))
        rid = request.get("id")
        if request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
            return _error_bytes(rid if _valid_id(rid) else None, RpcFailure(-32600, "Invalid request"))
        if not _valid_id(rid):
            return _error_bytes(None, RpcFailure(-32600, "Invalid request"))
        method = request["method"]
        params = request.get("params", [])
        fn = self._methods.get(method)
        try:
            if fn is None:
                raise RpcFailure(-32601, "Method not found")
            if params is None:
                params = []
            if not isinstance(params, list):
                raise invalid_params("Invalid params: invalid type: map, expected a sequence.")
            self.calls[method] += 1
            with self.ledger.lock:
                result = fn(params)
        except RpcFailure as failure:
            if "id" not in request:
                return None
            return _error_bytes(rid, failure)
        if "id" not in request:
            return None  # a notification: no answer
        encoded = result if isinstance(result, Raw) else json.dumps(result, separators=(",", ":")).encode()
        return b'{"jsonrpc":"2.0","result":' + encoded + b',"id":' + json.dumps(rid).encode() + b"}"

    # --- methods ---------------------------------------------------------------------------

    def get_transaction(self, params: list[Any]) -> Any:
        """``getTransaction(signature, config)``."""
        if not params:
            raise invalid_params("Invalid params: invalid length 0, expected a tuple of size 1.")
        signature = _signature_param(params[0])
        option = params[1] if len(params) > 1 else None
        config = {"encoding": option} if isinstance(option, str) else _config(params, 1)
        encoding = config.get("encoding") or "json"
        if encoding not in _TRANSACTION_ENCODINGS:
            if encoding == "jsonParsed":
                raise invalid_params("Invalid params: encoding jsonParsed is not supported by this local server.")
            raise invalid_params(f"Invalid params: unknown variant `{encoding}`.")
        commitment = _commitment(config, at_least_confirmed=True)
        max_version = config.get("maxSupportedTransactionVersion")
        if max_version is not None and (type(max_version) is not int or not 0 <= max_version <= 255):
            raise invalid_params(f"Invalid params: invalid value: {max_version!r}, expected u8.")
        if signature in self.unavailable:
            return None
        entry = self.ledger.entry(signature)
        if entry is None:
            return None
        if commitment == "finalized" and entry.slot > self.ledger.finalized_slot:
            return None
        if entry.version != "legacy" and (max_version is None or max_version < entry.version):  # type: ignore[operator]
            raise RpcFailure(
                -32015,
                f"Transaction version ({entry.version}) is not supported by the requesting client. "
                "Please try the request again with the following configuration parameter: "
                f'"maxSupportedTransactionVersion": {entry.version}',
            )
        return Raw(entry.result_json(with_version=max_version is not None, encoding=encoding))

    def get_signatures_for_address(self, params: list[Any]) -> Any:
        """``getSignaturesForAddress(address, {limit, before, until, commitment, minContextSlot})``."""
        if not params:
            raise invalid_params("Invalid params: invalid length 0, expected a tuple of size 1.")
        address = _pubkey_param(params[0])
        config = _config(params, 1)
        before = config.get("before")
        until = config.get("until")
        if before is not None:
            _signature_param(before)
        if until is not None:
            _signature_param(until)
        limit = _limit(config.get("limit"))
        commitment = _commitment(config, at_least_confirmed=True)
        self._min_context_slot(config, commitment)
        return self.ledger.signatures_for_address(
            str(address), limit=limit, before=before, until=until, commitment=commitment
        )

    def _slot_for(self, commitment: str) -> int:
        return self.ledger.finalized_slot if commitment == "finalized" else self.ledger.head_slot

    def _min_context_slot(self, config: dict[str, Any], commitment: str) -> int:
        slot = self._slot_for(commitment)
        wanted = config.get("minContextSlot")
        if wanted is not None and (type(wanted) is not int or wanted > slot):
            raise RpcFailure(-32016, "Minimum context slot has not been reached", {"contextSlot": slot})
        return slot

    def _context(self, slot: int) -> dict[str, Any]:
        return {"apiVersion": API_VERSION, "slot": slot}

    def get_slot(self, params: list[Any]) -> Any:
        """``getSlot({commitment, minContextSlot})`` (also ``getBlockHeight``)."""
        config = _config(params, 0)
        return self._min_context_slot(config, _commitment(config))

    def get_block_time(self, params: list[Any]) -> Any:
        """``getBlockTime(slot)``."""
        if not params or type(params[0]) is not int or params[0] < 0:
            raise invalid_params("Invalid params: invalid type: expected u64.")
        slot = params[0]
        when = self.ledger.block_time(slot)
        if when is None:
            if slot > self.ledger.head_slot:
                raise RpcFailure(-32004, f"Block not available for slot {slot}")
            raise RpcFailure(-32009, f"Slot {slot} was skipped, or missing in long-term storage")
        return when

    def get_latest_blockhash(self, params: list[Any]) -> Any:
        """``getLatestBlockhash({commitment})``."""
        config = _config(params, 0)
        slot = self._min_context_slot(config, _commitment(config))
        return {
            "context": self._context(slot),
            "value": {"blockhash": self.ledger.latest_blockhash(), "lastValidBlockHeight": slot + 150},
        }

    def get_balance(self, params: list[Any]) -> Any:
        """``getBalance(address)``."""
        if not params:
            raise invalid_params("Invalid params: invalid length 0, expected a tuple of size 1.")
        address = _pubkey_param(params[0])
        config = _config(params, 1)
        slot = self._min_context_slot(config, _commitment(config))
        return {"context": self._context(slot), "value": self.ledger.lamports(address)}

    def get_signature_statuses(self, params: list[Any]) -> Any:
        """``getSignatureStatuses([signatures], {searchTransactionHistory})``."""
        if not params or not isinstance(params[0], list):
            raise invalid_params("Invalid params: invalid type: expected a sequence.")
        if len(params[0]) > 256:
            raise invalid_params("Too many inputs provided; max 256")
        final = self.ledger.finalized_slot
        values = []
        for sig in params[0]:
            entry = self.ledger.entry(_signature_param(sig))
            if entry is None or sig in self.unavailable:
                values.append(None)
                continue
            err = entry.record["meta"]["err"]
            done = entry.slot <= final
            values.append(
                {
                    "slot": entry.slot,
                    "confirmations": None if done else max(0, self.ledger.head_slot - entry.slot),
                    "err": err,
                    "status": {"Ok": None} if err is None else {"Err": err},
                    "confirmationStatus": "finalized" if done else "confirmed",
                }
            )
        return {"context": self._context(self.ledger.head_slot), "value": values}

    def get_token_accounts_by_owner(self, params: list[Any]) -> Any:
        """``getTokenAccountsByOwner(owner, {mint} | {programId}, {encoding, commitment})``."""
        if len(params) < 2:
            raise invalid_params(f"Invalid params: invalid length {len(params)}, expected a tuple of size 2.")
        owner = _pubkey_param(params[0])
        selector = params[1]
        if not isinstance(selector, dict) or len(selector) != 1 or not ({"mint", "programId"} & selector.keys()):
            raise invalid_params("Invalid params: expected a filter object with `mint` or `programId`.")
        config = _config(params, 2)
        encoding = config.get("encoding", "binary")
        if encoding not in ("jsonParsed", "base64", "binary", "base58"):
            raise invalid_params(f"Invalid params: unknown variant `{encoding}`.")
        slot = self._min_context_slot(config, _commitment(config))
        if "mint" in selector:
            mint = _pubkey_param(selector["mint"])
            if self.ledger.mint_decimals(mint) is None:
                raise invalid_params("Invalid param: could not find mint")
            found = self.ledger.token_accounts_of(owner, mint=mint)
        else:
            program = _pubkey_param(selector["programId"])
            if program not in TOKEN_PROGRAMS:
                raise invalid_params("Invalid param: unrecognized Token program id")
            found = self.ledger.token_accounts_of(owner, program=program)
        value = [
            {"pubkey": str(address), "account": self._account_json(account, encoding)} for address, account in found
        ]
        return {"context": self._context(slot), "value": value}

    def get_account_info(self, params: list[Any]) -> Any:
        """``getAccountInfo(address, {encoding})``."""
        if not params:
            raise invalid_params("Invalid params: invalid length 0, expected a tuple of size 1.")
        address = _pubkey_param(params[0])
        config = _config(params, 1)
        encoding = config.get("encoding", "binary")
        if encoding not in ("jsonParsed", "base64", "binary", "base58"):
            raise invalid_params(f"Invalid params: unknown variant `{encoding}`.")
        slot = self._min_context_slot(config, _commitment(config))
        account = self.ledger.account(address)
        value = None if account is None else self._account_json(account, encoding)
        return {"context": self._context(slot), "value": value}

    def get_token_account_balance(self, params: list[Any]) -> Any:
        """``getTokenAccountBalance(account)``."""
        if not params:
            raise invalid_params("Invalid params: invalid length 0, expected a tuple of size 1.")
        address = _pubkey_param(params[0])
        config = _config(params, 1)
        slot = self._min_context_slot(config, _commitment(config))
        account = self.ledger.account(address)
        if not is_token_account(account):
            raise invalid_params("Invalid param: not a Token account")
        assert account is not None
        mint, _, amount = unpack_token_account(bytes(account.data[:72]))
        decimals = self.ledger.mint_decimals(mint)
        if decimals is None:
            raise invalid_params("Invalid param: could not find mint")
        return {"context": self._context(slot), "value": token_amount_json(amount, decimals, stored=False)}

    def _account_json(self, account: Account, encoding: str) -> dict[str, Any]:
        data = bytes(account.data)
        out: dict[str, Any] = {
            "data": None,
            "executable": account.executable,
            "lamports": account.lamports,
            "owner": str(account.owner),
            "rentEpoch": RENT_EPOCH_EXEMPT,
            "space": len(data),
        }
        if encoding == "jsonParsed" and is_token_account(account):
            parsed = self._parse_token_account(data, account.owner)
            if parsed is not None:
                out["data"] = parsed
                return out
        if encoding == "base58":
            out["data"] = [b58encode(data), "base58"]
        elif encoding == "binary":
            out["data"] = b58encode(data)
        else:
            out["data"] = [base64.b64encode(data).decode(), "base64"]
        return out

    def _parse_token_account(self, data: bytes, program: Pubkey) -> dict[str, Any] | None:
        """The ``jsonParsed`` form of a token account, as the validator's account decoder gives it."""
        mint, owner, amount = unpack_token_account(data[:72])
        decimals = self.ledger.mint_decimals(mint)
        if decimals is None:
            return None
        info: dict[str, Any] = {"isNative": False, "mint": str(mint), "owner": str(owner)}
        state = {1: "initialized", 2: "frozen"}.get(data[108], "uninitialized")
        info["state"] = state
        info["tokenAmount"] = token_amount_json(amount, decimals, stored=False)
        if struct.unpack_from("<I", data, 72)[0] == 1:
            info["delegate"] = str(Pubkey(data[76:108]))
            info["delegatedAmount"] = token_amount_json(struct.unpack_from("<Q", data, 121)[0], decimals, stored=False)
        if struct.unpack_from("<I", data, 109)[0] == 1:
            info["isNative"] = True
            info["rentExemptReserve"] = token_amount_json(struct.unpack_from("<Q", data, 113)[0], 9, stored=False)
        if struct.unpack_from("<I", data, 129)[0] == 1:
            info["closeAuthority"] = str(Pubkey(data[133:165]))
        extensions = _extensions(data) if program == TOKEN_2022_PROGRAM_ID else []
        if extensions:
            info["extensions"] = extensions
        return {
            "program": "spl-token-2022" if program == TOKEN_2022_PROGRAM_ID else "spl-token",
            "parsed": {"info": info, "type": "account"},
            "space": len(data),
        }


def _extensions(data: bytes) -> list[dict[str, Any]]:
    """Token-2022 account extensions in ``jsonParsed`` form (the common ones by name)."""
    out: list[dict[str, Any]] = []
    at = ACCOUNT_SIZE + 1
    while at + 4 <= len(data):
        kind, length = struct.unpack_from("<HH", data, at)
        if kind == 0:
            break
        value = data[at + 4 : at + 4 + length]
        if kind == 7:
            out.append({"extension": "immutableOwner"})
        elif kind == 2 and length >= 8:
            out.append(
                {"extension": "transferFeeAmount", "state": {"withheldAmount": struct.unpack_from("<Q", value)[0]}}
            )
        elif kind == 8 and length >= 1:
            out.append({"extension": "memoTransfer", "state": {"requireIncomingTransferMemos": bool(value[0])}})
        elif kind == 13:
            out.append({"extension": "nonTransferableAccount"})
        else:
            out.append({"extension": "unparseableExtension"})
        at += 4 + length
    return out


def _valid_id(rid: Any) -> bool:
    return rid is None or type(rid) in (int, str)


def _error_bytes(rid: Any, failure: RpcFailure) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "error": failure.body(), "id": rid}, separators=(",", ":")).encode()


def _handler_for(server: SolanaRpcServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
        # Headers and body go out in two writes; with Nagle's algorithm the second waits for
        # the client's delayed ACK (40 ms per answer on Linux).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests and the demo print what matters

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/health":
                self._send(200, b"ok", "text/plain")
            else:
                self._send(405, b"Used HTTP Method is not allowed. POST or OPTIONS is required", "text/plain")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > server.max_body_bytes:
                self.close_connection = True
                self._send(413, b"Payload Too Large", "text/plain")
                return
            body = self.rfile.read(length) if length else b""
            answer = server.handle(body)
            self._send(200, answer if answer is not None else b"")

    return Handler
