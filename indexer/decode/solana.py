"""Solana decoding: ``getTransaction`` results (``encoding: "json"``) to token flows.

Pure standard library (a test imports this module in a fresh interpreter and checks
that no compiled extension came with it). The input is a whole batch of results as
``json.loads`` produced them, requested with ``maxSupportedTransactionVersion: 0``.

What becomes a flow: the SPL Token and Token-2022 instructions that move a balance —
``Transfer`` (3), ``TransferChecked`` (12), ``MintTo`` (7), ``MintToChecked`` (14),
``Burn`` (8), ``BurnChecked`` (15) — at top level and inside ``meta.innerInstructions``
(cross-program invocations), for the tracked mints only. ``src``/``dst`` are the owners
(wallets) of the token accounts, taken from the transaction's own ``preTokenBalances``/
``postTokenBalances``; a token account missing from both (created and closed inside the
transaction) is resolved from the ``InitializeAccount``/``2``/``3`` instruction that
created it in the same transaction.

Rules that keep every stored row verifiable:

* **Balance check.** For every token account of a tracked mint, the decoded flows must
  add up to ``post - pre`` of that account (an account absent from both lists starts and
  ends at zero). Checking per token account is stricter than per (owner, mint), which
  it implies: it also catches a wrong amount between two accounts of one owner. A
  failure raises :class:`SolanaDecodeMismatch` naming the signature, owner, mint, account,
  expected and decoded amounts, and the whole batch is rejected.
* **Consistency.** A token account whose owner or mint differs between its pre and post
  entries, between its balance entry and the instruction that created it, or between the
  instruction's mint and the account's mint raises :class:`SolanaDecodeError`: the
  decoder never guesses whom a flow belongs to.
* **Failed transactions** (``meta.err`` not null) produce no flows; their tracked
  balances must be unchanged (state is rolled back), which rejects a response whose
  ``err`` was altered.
* **Zero amounts** are not emitted: an instruction that moves nothing is no flow, and
  no balance can vouch for it (dust and zero transfers are the usual address-poisoning
  spam).
* **Token-2022 transfer fees.** ``TransferCheckedWithFee`` and the withheld-amount
  withdrawals of a tracked mint raise :class:`SolanaUnsupportedInstruction`: the fee is
  withheld in the destination account and belongs to nobody's wallet yet, which a flow
  cannot express. A plain transfer of a fee-bearing mint fails the balance check (the
  destination receives less than the instruction moved); the mismatch message says so.
* **Nulls.** A ``null`` result is never "nothing there": :func:`decode_transactions`
  raises :class:`SolanaTransactionMissing` listing them. Ingestors call
  :func:`missing_signatures` first and fetch those again later.
* **Unrecorded inner instructions.** ``meta.innerInstructions: null`` (some nodes answer so
  for parts of history; an answer without CPIs has ``[]``) hides every CPI transfer and
  shifts the ``idx`` of every later instruction. Such a transaction decodes only when its
  top-level programs cannot have made CPIs (SPL Token, System, Compute Budget, Memo); else,
  if it involves a tracked mint at all, :class:`SolanaInnerInstructionsMissing` names the
  cause instead of a bare balance mismatch.
* **Encoding.** Only ``encoding: "json"`` is decodable. A ``jsonParsed`` answer (account
  keys as objects, instructions carrying ``programId``/``parsed``), as a proxy or cache
  may substitute, raises :class:`SolanaWrongEncoding`.

``idx`` is the instruction's position in execution order over *all* instructions of the
transaction (top-level instruction 0, its inner instructions, top-level instruction 1,
its inner instructions, ...). It depends only on the transaction, so it stays the same
when the set of tracked mints changes or when the decoder learns a new instruction:
re-indexing can never give one flow two keys.

Nothing is appended to the output columns unless the whole batch decodes.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from indexer.decode.columns import FlowColumns

__all__ = [
    "NATIVE_MINT",
    "TOKEN_2022_PROGRAM_ID",
    "TOKEN_PROGRAM_ID",
    "SolanaDecodeError",
    "SolanaDecodeMismatch",
    "SolanaInnerInstructionsMissing",
    "SolanaTransactionMissing",
    "SolanaUnsupportedInstruction",
    "SolanaWrongAnswer",
    "SolanaWrongEncoding",
    "b58decode",
    "b58encode",
    "decode_transactions",
    "missing_signatures",
]

TOKEN_PROGRAM_ID = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM_ID = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
NATIVE_MINT = "So11111111111111111111111111111111111111112"
"""Wrapped SOL: its token balances follow lamports, so it is not decodable as flows."""
_TOKEN_PROGRAMS = frozenset((TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID))
# Programs that never invoke another program: a transaction made only of their
# instructions has no inner instructions, recorded or not. Token-2022 is not one of them
# (transfer hooks are CPIs), nor is any program we cannot vouch for.
_NO_CPI_PROGRAMS = frozenset(
    (
        TOKEN_PROGRAM_ID,
        "11111111111111111111111111111111",  # System
        "ComputeBudget111111111111111111111111111111",
        "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",  # Memo v2
        "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo",  # Memo v1
    )
)

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_DIGIT = {c: i for i, c in enumerate(_ALPHABET)}
_M64 = (1 << 64) - 1
_MAX_SLOT = 2**63 - 1
_MAX_IDX = 2**31 - 1

# Instruction tags of the SPL Token program (Token-2022 shares them).
_TRANSFER, _MINT_TO, _BURN = 3, 7, 8
_TRANSFER_CHECKED, _MINT_TO_CHECKED, _BURN_CHECKED = 12, 14, 15
_INIT_ACCOUNT, _INIT_ACCOUNT2, _INIT_ACCOUNT3 = 1, 16, 18
_TRANSFER_FEE_EXTENSION = 26  # Token-2022 only; second byte is the sub-instruction
_FEE_MOVES = {1: "TransferCheckedWithFee", 2: "WithdrawWithheldTokensFromMint", 3: "WithdrawWithheldTokensFromAccounts"}

# base58 lengths: tags 3/7/8 carry 9 bytes ([tag, u64 amount]) and always spell as 12
# characters; 12/14/15 carry 10 bytes ([tag, u64, u8 decimals]) and always spell as 13
# (the tag bounds the leading byte, hence the length). Everything else a token program
# executes has another length, so only these strings are converted in the hot loop.
_LEN_PLAIN, _LEN_CHECKED = 12, 13
_INIT_ACCOUNT_DATA = "2"  # base58 of the single byte 1 (InitializeAccount)


class SolanaDecodeError(ValueError):
    """A ``getTransaction`` result that cannot be decoded faithfully; the batch was not kept."""


class SolanaDecodeMismatch(SolanaDecodeError):
    """Decoded flows disagree with the transaction's own token balance changes."""

    def __init__(
        self, signature: str, owner: str | None, mint: str, account: str, expected: int, decoded: int, hint: str = ""
    ) -> None:
        self.signature = signature
        self.owner = owner
        self.mint = mint
        self.account = account
        self.expected = expected
        self.decoded = decoded
        super().__init__(
            f"transaction {signature}: token account {account} (owner {owner}, mint {mint}) changed by "
            f"{expected} according to pre/postTokenBalances but the decoded flows move {decoded}{hint}"
        )


class SolanaTransactionMissing(SolanaDecodeError):
    """Some results were ``null``: the endpoint does not have them (yet); fetch them again."""

    def __init__(self, positions: list[int], signatures: list[str | None]) -> None:
        self.positions = positions
        self.signatures = signatures
        named = ", ".join(s if s is not None else f"#{p}" for p, s in zip(positions, signatures, strict=True))
        super().__init__(
            f"{len(positions)} getTransaction result(s) are null (not available from this endpoint yet): {named}; "
            "retry them later, a null is never an empty transaction"
        )


class SolanaUnsupportedInstruction(SolanaDecodeError):
    """A tracked mint moved in a way a flow cannot represent (Token-2022 transfer fees)."""


class SolanaInnerInstructionsMissing(SolanaDecodeError):
    """``meta.innerInstructions`` is null on a transaction whose tracked flows depend on them."""


class SolanaWrongAnswer(SolanaDecodeError):
    """The endpoint answered something other than what was asked (another transaction,
    another encoding): a fault of the endpoint, not a property of the transaction."""


class SolanaWrongEncoding(SolanaWrongAnswer):
    """The answer is not ``encoding: "json"`` (a ``jsonParsed`` one, most likely): every
    answer of that endpoint will be the same."""

    def __init__(self, signature: str, what: str) -> None:
        self.signature = signature
        super().__init__(
            f'transaction {signature}: the getTransaction answer is not in encoding "json" ({what}, as in a '
            '"jsonParsed" answer): a proxy or cache in front of the node rewrote the encoding; this indexer asks '
            'for encoding: "json" and can decode nothing else'
        )


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet) text of ``data``, as Solana spells keys and signatures."""
    n = int.from_bytes(data, "big")
    out: list[str] = []
    while n:
        n, r = divmod(n, 58)
        out.append(_ALPHABET[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


# The owner of an account initialised in the transaction, spelled from its 32 bytes: the
# same few wallets receive again and again, and spelling one is 44 big-integer divisions
# (a tenth of the decoder's time on the benchmark's transactions, before the cache).
_key_text = functools.lru_cache(maxsize=4096)(b58encode)


def b58decode(text: str) -> bytes:
    """Bytes of base58 ``text``; ``ValueError`` on a character outside the alphabet."""
    n = 0
    try:
        for c in text:
            n = n * 58 + _DIGIT[c]
    except (KeyError, TypeError):
        raise ValueError(f"not base58: {text!r:.80}") from None
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + n.to_bytes((n.bit_length() + 7) >> 3, "big")


def missing_signatures(results: Sequence[Any], signatures: Sequence[str]) -> list[str]:
    """The signatures whose ``getTransaction`` result is ``null``: fetch them again later."""
    if len(results) != len(signatures):
        raise ValueError(f"{len(results)} results for {len(signatures)} signatures")
    return [sig for sig, tx in zip(signatures, results, strict=True) if tx is None]


def decode_transactions(
    txs: Sequence[Mapping[str, Any] | None],
    mints: Collection[str],
    out: FlowColumns,
    *,
    signatures: Sequence[str] | None = None,
    listed: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Append the token flows of tracked ``mints`` in ``txs`` to ``out``; return how many.

    ``txs`` are ``getTransaction`` results (``encoding: "json"``,
    ``maxSupportedTransactionVersion: 0``) parsed by ``json.loads``. Optional cross-checks
    against what the caller asked for: ``signatures`` (the signature requested at each
    position) and ``listed`` (the ``getSignaturesForAddress`` entry of each position:
    signature, slot and blockTime must agree). Raises :class:`SolanaTransactionMissing`
    if any result is ``null`` (nothing is decoded then), :class:`SolanaDecodeMismatch`
    when flows disagree with the balances, :class:`SolanaUnsupportedInstruction` for
    Token-2022 fee movements of a tracked mint, :class:`SolanaInnerInstructionsMissing`
    when the node did not record inner instructions that the flows depend on,
    :class:`SolanaWrongAnswer` (:class:`SolanaWrongEncoding`) when the endpoint answered
    another transaction or another encoding, and :class:`SolanaDecodeError` for any
    other malformed or inconsistent result. On any error ``out`` is left unchanged.
    """
    n = len(txs)
    if signatures is not None and len(signatures) != n:
        raise ValueError(f"{n} results for {len(signatures)} signatures")
    if listed is not None and len(listed) != n:
        raise ValueError(f"{n} results for {len(listed)} listed signatures")
    nulls = [i for i, tx in enumerate(txs) if tx is None]
    if nulls:
        raise SolanaTransactionMissing(nulls, [signatures[i] if signatures is not None else None for i in nulls])
    tracked = mints if isinstance(mints, (set, frozenset)) else frozenset(mints)

    blocks: list[int] = []
    times: list[int] = []
    sigs: list[str] = []
    idxs: list[int] = []
    tokens: list[str] = []
    srcs: list[str | None] = []
    dsts: list[str | None] = []
    amounts: list[int] = []
    columns = (blocks, times, sigs, idxs, tokens, srcs, dsts, amounts)

    for position, tx in enumerate(txs):
        try:
            sig = tx["transaction"]["signatures"][0]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            raise SolanaDecodeError(f"result #{position}: no transaction.signatures[0]: {tx!r:.200}") from None
        if type(sig) is not str:
            raise SolanaDecodeError(f"result #{position}: signature is not a string: {sig!r:.100}")
        if signatures is not None and sig != signatures[position]:
            raise SolanaWrongAnswer(
                f"result #{position} is transaction {sig}, but {signatures[position]} was asked for"
            )
        try:
            _decode_one(tx, sig, tracked, columns)  # type: ignore[arg-type]
            if listed is not None:
                _check_listed(listed[position], tx, sig)  # type: ignore[arg-type]
        except SolanaDecodeError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            if isinstance(exc, KeyError) and exc.args == ("programIdIndex",):
                # An inner instruction of another encoding (the top level is checked first).
                raise SolanaWrongEncoding(sig, "an instruction carries no programIdIndex") from None
            raise SolanaDecodeError(
                f"transaction {sig}: malformed getTransaction result ({type(exc).__name__}: {exc})"
            ) from None

    out.block += blocks
    out.block_time += times
    out.tx += sigs
    out.idx += idxs
    out.token += tokens
    out.src += srcs
    out.dst += dsts
    out.amount += amounts
    return len(sigs)


def _check_listed(entry: Mapping[str, Any], tx: Mapping[str, Any], sig: str) -> None:
    """The getSignaturesForAddress entry and the getTransaction result must describe one transaction."""
    if not isinstance(entry, Mapping):
        raise SolanaDecodeError(f"transaction {sig}: listed entry is not an object: {entry!r:.100}")
    if entry.get("signature") != sig:
        raise SolanaDecodeError(f"transaction {sig}: listed as {entry.get('signature')!r}")
    if entry.get("slot") != tx["slot"]:
        raise SolanaDecodeError(f"transaction {sig}: listed at slot {entry.get('slot')!r}, result says {tx['slot']!r}")
    listed_time = entry.get("blockTime")
    if listed_time is not None and listed_time != tx["blockTime"]:
        raise SolanaDecodeError(
            f"transaction {sig}: listed with blockTime {listed_time!r}, result says {tx['blockTime']!r}"
        )


def _amount(entry: Mapping[str, Any], sig: str) -> int:
    text = entry["uiTokenAmount"]["amount"]
    # int() would also take " 5", "5_0" or non-ASCII digits: only plain ASCII digits pass.
    if type(text) is not str or not (text.isascii() and text.isdigit()):
        raise SolanaDecodeError(f"transaction {sig}: token amount is not a decimal string: {text!r:.60}")
    return int(text)


def _decode_one(
    tx: Mapping[str, Any],
    sig: str,
    tracked: Collection[str],
    columns: tuple[list[Any], ...],
) -> None:
    """Decode one transaction into ``columns`` (or raise, leaving them to be discarded)."""
    blocks, times, sigs, idxs, tokens, srcs, dsts, amounts = columns
    message = tx["transaction"]["message"]
    _check_encoding(message, sig)
    meta = tx["meta"]
    if meta is None:
        raise SolanaDecodeError(f"transaction {sig}: meta is null (the endpoint has no status for it)")
    pre = meta["preTokenBalances"]
    post = meta["postTokenBalances"]
    if pre is None or post is None:
        raise SolanaDecodeError(f"transaction {sig}: no pre/postTokenBalances (too old for a balance check)")

    # Token accounts of this transaction: index -> (owner, mint); amounts for tracked mints.
    info: dict[int, tuple[Any, Any]] = {}
    delta: dict[int, int] = {}
    for entry in pre:
        index = entry["accountIndex"]
        mint = entry["mint"]
        if index in info:
            raise SolanaDecodeError(f"transaction {sig}: token account #{index} twice in preTokenBalances")
        info[index] = (entry.get("owner"), mint)
        if mint in tracked:
            delta[index] = -_amount(entry, sig)
    seen: set[int] = set()
    for entry in post:
        index = entry["accountIndex"]
        mint = entry["mint"]
        if index in seen:
            raise SolanaDecodeError(f"transaction {sig}: token account #{index} twice in postTokenBalances")
        seen.add(index)
        pair = (entry.get("owner"), mint)
        known = info.get(index)
        if known is not None and known != pair and (mint in tracked or known[1] in tracked):
            raise SolanaDecodeError(
                f"transaction {sig}: token account #{index} is {known} before and {pair} after the transaction "
                "(owner or mint changed inside it); its flows cannot be attributed"
            )
        info[index] = pair
        if mint in tracked:
            delta[index] = delta.get(index, 0) + _amount(entry, sig)

    err = meta["err"]
    if err is not None:
        # Failed: nothing but the fee is kept, so no tracked balance may have moved.
        for index, change in delta.items():
            if change:
                raise SolanaDecodeError(
                    f"transaction {sig} failed ({err!r:.100}) yet token account #{index} changed by {change}"
                )
        return
    status = meta.get("status")
    if status is not None and status != {"Ok": None}:
        raise SolanaDecodeError(f"transaction {sig}: err is null but status is {status!r:.100}")

    keys = message["accountKeys"]
    loaded = meta.get("loadedAddresses")
    if loaded is not None and (loaded["writable"] or loaded["readonly"]):
        keys = keys + loaded["writable"] + loaded["readonly"]
    version = tx.get("version", "legacy")
    if version != "legacy" and version != 0:
        raise SolanaDecodeError(f"transaction {sig}: unsupported transaction version {version!r}")

    top = message["instructions"]
    inner = meta["innerInstructions"]
    unrecorded = inner is None and not all(keys[ix["programIdIndex"]] in _NO_CPI_PROGRAMS for ix in top)
    if inner is None:
        inner = ()
    slot = tx["slot"]
    block_time = tx["blockTime"]
    decoded: dict[int, int] = {}
    inits: dict[int, tuple[int, Any]] | None = None  # account -> (mint index, owner) from Initialize*
    position = 0
    group = 0
    groups = len(inner)
    count = len(top)
    first = len(sigs)
    for i in range(count):
        batch: Sequence[Any]
        if group < groups and inner[group]["index"] == i:
            batch = (top[i], *inner[group]["instructions"])
            group += 1
        else:
            batch = (top[i],)
        for ix in batch:
            here = position
            position += 1
            if keys[ix["programIdIndex"]] not in _TOKEN_PROGRAMS:
                continue
            data = ix["data"]
            size = len(data)
            if size != _LEN_PLAIN and size != _LEN_CHECKED:
                if data == _INIT_ACCOUNT_DATA or 43 <= size <= 46:
                    inits = _note_init(ix, data, inits)
                elif (size <= 5 or 24 <= size <= 28) and keys[ix["programIdIndex"]] == TOKEN_2022_PROGRAM_ID:
                    _refuse_fee_move(ix, data, keys, tracked, sig)
                continue
            n = 0
            for c in data:
                n = n * 58 + _DIGIT[c]
            accounts = ix["accounts"]
            if size == _LEN_PLAIN:
                tag = n >> 64
                if tag != _TRANSFER and tag != _MINT_TO and tag != _BURN:
                    continue
                amount = int.from_bytes((n & _M64).to_bytes(8, "big"), "little")
                if tag == _TRANSFER:
                    a, b = accounts[0], accounts[1]
                    mint = _mint_of(a, b, info, inits, keys, sig)
                    if mint not in tracked:
                        continue
                    src_owner = _owner(a, mint, info, inits, keys, sig)
                    dst_owner = _owner(b, mint, info, inits, keys, sig)
                elif tag == _MINT_TO:
                    mint = keys[accounts[0]]
                    if mint not in tracked:
                        continue
                    a, b = None, accounts[1]
                    src_owner = None
                    dst_owner = _owner(b, mint, info, inits, keys, sig)
                else:
                    mint = keys[accounts[1]]
                    if mint not in tracked:
                        continue
                    a, b = accounts[0], None
                    src_owner = _owner(a, mint, info, inits, keys, sig)
                    dst_owner = None
            else:
                tag = n >> 72
                if tag != _TRANSFER_CHECKED and tag != _MINT_TO_CHECKED and tag != _BURN_CHECKED:
                    continue
                amount = int.from_bytes(((n >> 8) & _M64).to_bytes(8, "big"), "little")
                if tag == _TRANSFER_CHECKED:
                    mint = keys[accounts[1]]
                    if mint not in tracked:
                        continue
                    a, b = accounts[0], accounts[2]
                    src_owner = _owner(a, mint, info, inits, keys, sig)
                    dst_owner = _owner(b, mint, info, inits, keys, sig)
                elif tag == _MINT_TO_CHECKED:
                    mint = keys[accounts[0]]
                    if mint not in tracked:
                        continue
                    a, b = None, accounts[1]
                    src_owner = None
                    dst_owner = _owner(b, mint, info, inits, keys, sig)
                else:
                    mint = keys[accounts[1]]
                    if mint not in tracked:
                        continue
                    a, b = accounts[0], None
                    src_owner = _owner(a, mint, info, inits, keys, sig)
                    dst_owner = None
            if not amount:
                continue
            if a is not None:
                decoded[a] = decoded.get(a, 0) - amount
            if b is not None:
                decoded[b] = decoded.get(b, 0) + amount
            sigs.append(sig)
            idxs.append(here)
            tokens.append(mint)
            srcs.append(src_owner)
            dsts.append(dst_owner)
            amounts.append(amount)

    if group != groups:
        raise SolanaDecodeError(
            f"transaction {sig}: innerInstructions are not one group per top-level instruction in order "
            f"(group {group} of {groups} has index {inner[group]['index']!r}, {count} top-level instructions)"
        )
    if unrecorded and (delta or len(sigs) > first):
        _refuse_unrecorded(sig, slot, top, keys, info, delta, decoded, tokens[first:])
    if decoded != delta:
        # Dicts may differ only by zero entries (an unchanged account, flows that net out).
        _explain_mismatch(sig, decoded, delta, info, keys, inits, (*pre, *post))
    made = len(sigs) - first
    if made:
        if type(slot) is not int or not 0 <= slot <= _MAX_SLOT:
            raise SolanaDecodeError(f"transaction {sig}: slot is not a valid integer: {slot!r:.40}")
        if type(block_time) is not int or not 0 <= block_time <= _MAX_SLOT:
            if block_time is None:
                raise SolanaDecodeError(f"transaction {sig}: blockTime is null (slot {slot}); cannot date its flows")
            raise SolanaDecodeError(f"transaction {sig}: blockTime is not a valid integer: {block_time!r:.40}")
        if position > _MAX_IDX:
            raise SolanaDecodeError(f"transaction {sig}: {position} instructions, more than an idx can hold")
        blocks += [slot] * made
        times += [block_time] * made


def _check_encoding(message: Mapping[str, Any], sig: str) -> None:
    """Refuse an answer of another encoding before reading anything by index."""
    keys = message["accountKeys"]
    if keys and type(keys[0]) is not str:
        kind = "objects" if isinstance(keys[0], Mapping) else type(keys[0]).__name__ + "s"
        raise SolanaWrongEncoding(sig, f"accountKeys are {kind}, not base58 strings")
    top = message["instructions"]
    if top and isinstance(top[0], Mapping) and "programIdIndex" not in top[0]:
        carried = [key for key in ("programId", "parsed") if key in top[0]]
        what = f"carries {' and '.join(carried)}" if carried else "has"
        raise SolanaWrongEncoding(sig, f"instruction 0 {what} no programIdIndex")


def _refuse_unrecorded(
    sig: str,
    slot: Any,
    top: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    info: Mapping[int, tuple[Any, Any]],
    delta: Mapping[int, int],
    decoded: Mapping[int, int],
    minted: Sequence[str],
) -> None:
    """Raise :class:`SolanaInnerInstructionsMissing` for a tracked transaction whose inner
    instructions the node did not record (the cause, not the balance mismatch it leads to)."""
    program = next(keys[ix["programIdIndex"]] for ix in top if keys[ix["programIdIndex"]] not in _NO_CPI_PROGRAMS)
    mint = info[next(iter(delta))][1] if delta else minted[0]
    detail = ""
    for account in sorted(set(delta) | set(decoded), key=repr):
        if delta.get(account, 0) != decoded.get(account, 0):
            name = keys[account] if type(account) is int and 0 <= account < len(keys) else f"#{account!r}"
            detail = (
                f"; token account {name} changed by {delta.get(account, 0)} according to "
                f"pre/postTokenBalances but the top-level instructions move {decoded.get(account, 0)}"
            )
            break
    raise SolanaInnerInstructionsMissing(
        f"transaction {sig} (slot {slot}): meta.innerInstructions is null: this node did not record inner "
        f"instructions for this transaction, so CPI transfers cannot be decoded (it calls program {program}, "
        f"which may make them, and involves tracked mint {mint}{detail}); fetch it from a node that has them"
    )


def _note_init(
    ix: Mapping[str, Any], data: str, inits: dict[int, tuple[int, Any]] | None
) -> dict[int, tuple[int, Any]] | None:
    """Remember who owns an account initialised in this transaction (for accounts the
    balance lists cannot show: created and closed inside the transaction)."""
    raw = b58decode(data)
    tag = raw[0] if raw else -1
    accounts = ix["accounts"]
    if tag == _INIT_ACCOUNT and len(raw) == 1 and len(accounts) >= 3:
        owner: Any = accounts[2]  # an account index: resolved to its key when needed
    elif (tag == _INIT_ACCOUNT2 and len(accounts) >= 3 or tag == _INIT_ACCOUNT3 and len(accounts) >= 2) and len(
        raw
    ) == 33:
        owner = raw[1:33]  # the owner's 32 bytes: spelled in base58 only if ever needed
    else:
        return inits
    if inits is None:
        inits = {}
    inits[accounts[0]] = (accounts[1], owner)
    return inits


def _refuse_fee_move(ix: Mapping[str, Any], data: str, keys: Sequence[str], tracked: Collection[str], sig: str) -> None:
    """Token-2022 TransferCheckedWithFee / withheld withdrawals of a tracked mint: refuse."""
    raw = b58decode(data)
    if len(raw) < 2 or raw[0] != _TRANSFER_FEE_EXTENSION or raw[1] not in _FEE_MOVES:
        return
    accounts = ix["accounts"]
    mint = keys[accounts[1] if raw[1] == 1 else accounts[0]]
    if mint in tracked:
        raise SolanaUnsupportedInstruction(
            f"transaction {sig}: Token-2022 {_FEE_MOVES[raw[1]]} on tracked mint {mint}: transfer fees are withheld "
            "in token accounts and belong to no wallet, so they cannot be stored as flows; this mint is unsupported"
        )


def _mint_of(
    a: int,
    b: int,
    info: Mapping[int, tuple[Any, Any]],
    inits: Mapping[int, tuple[int, Any]] | None,
    keys: Sequence[str],
    sig: str,
) -> Any:
    """Mint of a plain Transfer: from the source account, else the destination."""
    found = []
    for account in (a, b):
        known = info.get(account)
        if known is not None:
            found.append(known[1])
        elif inits is not None and account in inits:
            found.append(keys[inits[account][0]])
    if found:
        if len(found) == 2 and found[0] != found[1]:
            raise SolanaDecodeError(f"transaction {sig}: Transfer from a {found[0]} account to a {found[1]} account")
        return found[0]
    raise SolanaDecodeError(
        f"transaction {sig}: Transfer between {keys[a]} and {keys[b]}: neither account is in the token balances "
        "nor initialised in this transaction, so its mint is unknown"
    )


def _owner(
    account: int,
    mint: str,
    info: Mapping[int, tuple[Any, Any]],
    inits: Mapping[int, tuple[int, Any]] | None,
    keys: Sequence[str],
    sig: str,
) -> str:
    """Owner (wallet) of token ``account``, checked against everything the transaction says."""
    known = info.get(account)
    init = inits.get(account) if inits is not None else None
    if init is not None:
        mint_index, owner_ref = init
        init_owner = keys[owner_ref] if type(owner_ref) is int else _key_text(owner_ref)
        init_mint = keys[mint_index]
        if known is not None and (known[0] != init_owner or known[1] != init_mint):
            raise SolanaDecodeError(
                f"transaction {sig}: token account {keys[account]} is ({known[0]}, {known[1]}) in the balances but "
                f"was initialised for ({init_owner}, {init_mint}) in this transaction"
            )
        if known is None:
            known = (init_owner, init_mint)
    if known is None:
        raise SolanaDecodeError(
            f"transaction {sig}: token account {keys[account]} (mint {mint}) is in no token balance entry and "
            "was not initialised in this transaction: its owner is unknown"
        )
    owner, account_mint = known
    if account_mint != mint:
        raise SolanaDecodeError(
            f"transaction {sig}: token account {keys[account]} holds mint {account_mint}, "
            f"but the instruction moves {mint}"
        )
    if type(owner) is not str:
        raise SolanaDecodeError(f"transaction {sig}: token account {keys[account]} has no owner in its balances")
    return owner


def _explain_mismatch(
    sig: str,
    decoded: Mapping[int, int],
    delta: Mapping[int, int],
    info: Mapping[int, tuple[Any, Any]],
    keys: Sequence[str],
    inits: Mapping[int, tuple[int, Any]] | None,
    entries: Sequence[Mapping[str, Any]],
) -> None:
    """Raise :class:`SolanaDecodeMismatch` for the first token account that disagrees, if any."""
    for account in sorted(set(decoded) | set(delta), key=repr):
        expected = delta.get(account, 0)
        got = decoded.get(account, 0)
        if expected == got:
            continue
        owner, mint = info.get(account, (None, None))
        if mint is None and inits is not None and account in inits:
            mint_index, owner_ref = inits[account]
            mint = keys[mint_index]
            owner = keys[owner_ref] if type(owner_ref) is int else _key_text(owner_ref)
        program = next((e.get("programId") for e in entries if e.get("accountIndex") == account), None)
        if mint == NATIVE_MINT:
            hint = (
                " (wrapped SOL balances also change without token instructions — SyncNative, closing an account "
                "with a balance — so the native mint cannot be tracked as flows)"
            )
        elif account not in info:
            hint = " (the account is in no balance entry: it must start and end the transaction at zero)"
        elif program == TOKEN_2022_PROGRAM_ID and 0 <= expected < got:
            hint = (
                " (the account received less than was sent: a Token-2022 transfer fee withheld in it would do this; "
                "fee-bearing mints are unsupported)"
            )
        else:
            hint = ""
        name = keys[account] if type(account) is int and 0 <= account < len(keys) else f"#{account!r}"
        raise SolanaDecodeMismatch(sig, owner, str(mint), name, expected, got, hint)
