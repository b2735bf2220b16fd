"""The parts of a ``getTransaction`` answer the Solana ingestor reads, as msgspec types.

Parsing an answer into dicts and lists is a third of a Solana ingest's CPU, and most of
an answer is never read: log messages, lamport balances, UI amounts as floats, the
message header. Parsed through these types, msgspec builds the same dicts for the fields
below and skips the rest; the decoder (:mod:`indexer.decode.solana`, standard library
only) reads them as it reads ``json.loads`` output.

Every field the decoder, :func:`indexer.decode.solana_accounts.owned_token_accounts` and
the client's shape check read must be here: ``tests/solana/test_answer_types.py``
decodes real answers both ways and compares, ``tests/solana/test_decode_mutations.py``
does so for every corruption of a field. Leaves are ``Any``: their checks stay the
decoder's. An answer whose containers have other types (a list where an object belongs)
fails to parse here and is parsed whole instead, so the decoder names what is wrong as
before. What is recorded in ``core.undecodable_transactions`` is fetched again whole.
"""

from __future__ import annotations

from typing import Any, TypedDict

import msgspec

# total=False: a node may leave any field out; the decoder says which one it missed.


class _Amount(TypedDict, total=False):
    amount: Any


class _Balance(TypedDict, total=False):
    accountIndex: Any
    mint: Any
    owner: Any
    programId: Any  # which token program: named when a Token-2022 fee explains a mismatch
    uiTokenAmount: _Amount


class _Instruction(TypedDict, total=False):
    programIdIndex: Any
    accounts: Any
    data: Any
    # What an answer of encoding "jsonParsed" carries instead of programIdIndex: the
    # decoder names that encoding when it sees them.
    programId: Any
    parsed: Any


class _Inner(TypedDict, total=False):
    index: Any
    instructions: list[_Instruction]


class _Loaded(TypedDict, total=False):
    writable: Any
    readonly: Any


class _Meta(TypedDict, total=False):
    err: Any
    status: Any
    preTokenBalances: list[_Balance] | None
    postTokenBalances: list[_Balance] | None
    innerInstructions: list[_Inner] | None
    loadedAddresses: _Loaded | None


class _Message(TypedDict, total=False):
    accountKeys: Any
    instructions: list[_Instruction]


class _Transaction(TypedDict, total=False):
    signatures: Any
    message: _Message


class _Answer(TypedDict, total=False):
    slot: Any
    blockTime: Any
    version: Any
    transaction: _Transaction
    meta: _Meta | None


class _Response(TypedDict, total=False):
    jsonrpc: Any
    id: Any
    result: _Answer | None
    error: Any


# One call or a batch of them, as the JSON-RPC client sends getTransaction.
TRANSACTIONS = msgspec.json.Decoder(list[_Response] | _Response)
