"""A local Solana ledger: real SPL Token programs in LiteSVM, mainnet-shaped records.

No Solana validator installs here, so the tests and ``depin-indexer demo`` execute real
transactions in :class:`solders.litesvm.LiteSVM` — which ships the SPL Token, Token-2022,
Associated Token Account, Memo and Address Lookup Table programs as the same BPF
binaries mainnet runs — and record each one exactly as mainnet ``getTransaction``
(``encoding: "json"``) reports it: pre/post lamports, token balances read from the token
accounts before and after the transaction, inner instructions with stack heights, logs,
compute units, loaded addresses of v0 transactions, errors of failed ones.

What LiteSVM does not have, the ledger adds: slots and block times (the Clock sysvar is
set before every transaction so programs see the same time the record shows), the
SlotHashes sysvar (an address lookup table can only be created at a recent slot), a
fresh blockhash per slot, and an index of signatures per address (every account key,
loaded addresses included), ordered the way mainnet's blockstore orders them: by slot,
then by signature bytes within a slot, newest first.

A transfer made through a cross-program invocation comes from the Associated Token
Account program's ``RecoverNested`` instruction (:meth:`SolanaLedger.recover_nested`): it
moves the balance of a token account owned by another token account back to the
wallet with a CPI ``TransferChecked`` and closes it — a real program, a real CPI, no
program of ours to compile.

Keypairs come from a seed, so the same script builds the same addresses every run.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import struct
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount, derive_lookup_table_address
from solders.clock import Clock
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcConfirmedTransactionStatusWithSignature
from solders.signature import Signature
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from indexer.decode.solana import b58encode

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
ADDRESS_LOOKUP_TABLE_PROGRAM_ID = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
MEMO_PROGRAM_IDS = frozenset(
    ("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLvPZVB4e7mYmgjGDQ6b1PoVGXk3Kq")
)
TOKEN_PROGRAMS = frozenset((TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID))

MINT_SIZE = 82
ACCOUNT_SIZE = 165
MULTISIG_SIZE = 355
# Mint with the TransferFeeConfig extension: base mint padded to an account's size, the
# account-type byte, then one TLV entry (2-byte type, 2-byte length, 108-byte config).
_FEE_MINT_SIZE = ACCOUNT_SIZE + 1 + 4 + 108
_SLOTS_PER_EPOCH = 432_000
_MAX_SLOT_HASHES = 512
_LAMPORTS_PER_SOL = 1_000_000_000
# Mainnet answers a few extra fields for a rent-exempt account; this is what it says.
RENT_EPOCH_EXEMPT = 2**64 - 1


class LedgerError(RuntimeError):
    """A transaction the cluster would have refused outright (it never lands), or misuse."""


@dataclass(frozen=True)
class MintInfo:
    """A mint created by the ledger."""

    address: Pubkey
    decimals: int
    program: Pubkey
    authority: Keypair

    def __str__(self) -> str:
        return str(self.address)


@dataclass(frozen=True)
class Sent:
    """One transaction that landed (successfully or not)."""

    signature: str
    slot: int
    block_time: int
    err: Any
    """``None``, or the error exactly as mainnet JSON shows it."""
    _stored: dict[str, Any] = field(repr=False)

    @property
    def record(self) -> dict[str, Any]:
        """The ``getTransaction`` result (``json``, ``maxSupportedTransactionVersion: 0``): a
        copy of the ledger's own, made when asked (most senders never look)."""
        copied: dict[str, Any] = json.loads(json.dumps(self._stored))
        return copied

    @property
    def ok(self) -> bool:
        """Whether the transaction succeeded."""
        return self.err is None


@dataclass
class _Entry:
    """A recorded transaction, with the pieces the RPC server serialises from."""

    signature: str
    sig_bytes: bytes
    slot: int
    block_time: int
    version: str | int
    transaction_json: bytes
    meta_json: bytes
    wire: bytes
    err_json: bytes
    memo: str | None
    record: dict[str, Any]

    def result_json(self, *, with_version: bool, encoding: str = "json") -> bytes:
        """The ``getTransaction`` result, serialised (once per piece, at record time)."""
        if encoding == "json":
            tx = self.transaction_json
        elif encoding == "base64":
            tx = b'["' + base64.b64encode(self.wire) + b'","base64"]'
        else:  # base58
            tx = b'["' + b58encode(self.wire).encode() + b'","base58"]'
        version = b""
        if with_version:
            version = b',"version":' + (b'"legacy"' if self.version == "legacy" else str(self.version).encode())
        return b'{"slot":%d,"transaction":%s,"meta":%s%s,"blockTime":%d}' % (
            self.slot,
            tx,
            self.meta_json,
            version,
            self.block_time,
        )


class LoadedAddresses(NamedTuple):
    """Accounts a v0 transaction loads from lookup tables (mainnet's ``loadedAddresses``)."""

    writable: list[Pubkey]
    readonly: list[Pubkey]


class Listed(NamedTuple):
    """Where a transaction sits in an address's history: mainnet's blockstore order."""

    slot: int
    sig_bytes: bytes
    signature: str


@dataclass(frozen=True)
class _Balances:
    """Lamports and token balances of a transaction's account keys at one moment."""

    lamports: list[int]
    tokens: list[dict[str, Any]]


@dataclass(frozen=True)
class _Executed:
    """A transaction LiteSVM ran, with what its record needs from before and after."""

    tx: Transaction | VersionedTransaction
    version: str | int
    loaded: LoadedAddresses
    keys: list[Pubkey]
    """Static account keys, then the loaded ones: what balance and instruction indices refer to."""
    meta: Any
    """LiteSVM's ``TransactionMetadata`` (of the failure, for a failed transaction)."""
    err: Any
    """``None``, or the error exactly as mainnet JSON shows it."""
    pre: _Balances
    post: _Balances


def _message_json(message: Message | MessageV0, version: str | int) -> dict[str, Any]:
    """The ``transaction.message`` of a ``json``-encoded ``getTransaction`` result."""
    header = message.header
    msg_json: dict[str, Any] = {
        "header": {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        },
        "accountKeys": [str(k) for k in message.account_keys],
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [
            {
                "programIdIndex": ix.program_id_index,
                "accounts": list(ix.accounts),
                "data": b58encode(bytes(ix.data)),
                "stackHeight": 1,
            }
            for ix in message.instructions
        ],
    }
    if version != "legacy":
        msg_json["addressTableLookups"] = [
            {
                "accountKey": str(lk.account_key),
                "writableIndexes": list(lk.writable_indexes),
                "readonlyIndexes": list(lk.readonly_indexes),
            }
            for lk in message.address_table_lookups  # type: ignore[union-attr]
        ]
    return msg_json


def _inner_instructions_json(meta: Any) -> list[dict[str, Any]]:
    """``meta.innerInstructions``: the CPIs of each top-level instruction that made any."""
    return [
        {
            "index": i,
            "instructions": [
                {
                    "programIdIndex": ii.instruction().program_id_index,
                    "accounts": list(ii.instruction().accounts),
                    "data": b58encode(bytes(ii.instruction().data)),
                    "stackHeight": ii.stack_height(),
                }
                for ii in group
            ],
        }
        for i, group in enumerate(meta.inner_instructions())
        if group
    ]


def _meta_json(run: _Executed) -> dict[str, Any]:
    """The ``meta`` of a ``getTransaction`` result, as mainnet spells it."""
    meta, err = run.meta, run.err
    meta_json: dict[str, Any] = {
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "fee": meta.fee(),
        "preBalances": run.pre.lamports,
        "postBalances": run.post.lamports,
        "innerInstructions": _inner_instructions_json(meta),
        "logMessages": list(meta.logs()),
        "preTokenBalances": run.pre.tokens,
        "postTokenBalances": run.post.tokens,
        "rewards": [],
        "loadedAddresses": {
            "writable": [str(k) for k in run.loaded.writable],
            "readonly": [str(k) for k in run.loaded.readonly],
        },
        "computeUnitsConsumed": meta.compute_units_consumed(),
    }
    return_data = meta.return_data()
    if return_data.data:
        meta_json["returnData"] = {
            "programId": str(return_data.program_id),
            "data": [base64.b64encode(bytes(return_data.data)).decode(), "base64"],
        }
    return meta_json


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _pubkey(value: Pubkey | Keypair | MintInfo | str) -> Pubkey:
    if isinstance(value, Pubkey):
        return value
    if isinstance(value, Keypair):
        return value.pubkey()
    if isinstance(value, MintInfo):
        return value.address
    return Pubkey.from_string(value)


def _signers(keyset: dict[Pubkey, Keypair], needed: Sequence[Pubkey]) -> list[Keypair]:
    missing = [str(k) for k in needed if k not in keyset]
    if missing:
        raise LedgerError(f"no keypair given for required signer(s) {', '.join(missing)}")
    return [keyset[k] for k in needed]


def _u64(value: int) -> bytes:
    return struct.pack("<Q", value)


# --- instruction builders (SPL Token layouts; Token-2022 shares them) ---------------


def transfer_ix(
    source: Pubkey, dest: Pubkey, owner: Pubkey, amount: int, program: Pubkey = TOKEN_PROGRAM_ID
) -> Instruction:
    """``Transfer`` (3): ``amount`` from token account ``source`` to ``dest``, signed by ``owner``."""
    return Instruction(
        program,
        bytes([3]) + _u64(amount),
        [AccountMeta(source, False, True), AccountMeta(dest, False, True), AccountMeta(owner, True, False)],
    )


def transfer_checked_ix(
    source: Pubkey,
    mint: Pubkey,
    dest: Pubkey,
    owner: Pubkey,
    amount: int,
    decimals: int,
    program: Pubkey = TOKEN_PROGRAM_ID,
) -> Instruction:
    """``TransferChecked`` (12)."""
    return Instruction(
        program,
        bytes([12]) + _u64(amount) + bytes([decimals]),
        [
            AccountMeta(source, False, True),
            AccountMeta(mint, False, False),
            AccountMeta(dest, False, True),
            AccountMeta(owner, True, False),
        ],
    )


def mint_to_ix(
    mint: Pubkey,
    dest: Pubkey,
    authority: Pubkey,
    amount: int,
    program: Pubkey = TOKEN_PROGRAM_ID,
    decimals: int | None = None,
) -> Instruction:
    """``MintTo`` (7), or ``MintToChecked`` (14) when ``decimals`` is given."""
    data = bytes([7]) + _u64(amount) if decimals is None else bytes([14]) + _u64(amount) + bytes([decimals])
    return Instruction(
        program,
        data,
        [AccountMeta(mint, False, True), AccountMeta(dest, False, True), AccountMeta(authority, True, False)],
    )


def burn_ix(
    account: Pubkey,
    mint: Pubkey,
    owner: Pubkey,
    amount: int,
    program: Pubkey = TOKEN_PROGRAM_ID,
    decimals: int | None = None,
) -> Instruction:
    """``Burn`` (8), or ``BurnChecked`` (15) when ``decimals`` is given."""
    data = bytes([8]) + _u64(amount) if decimals is None else bytes([15]) + _u64(amount) + bytes([decimals])
    return Instruction(
        program,
        data,
        [AccountMeta(account, False, True), AccountMeta(mint, False, True), AccountMeta(owner, True, False)],
    )


def close_account_ix(
    account: Pubkey, destination: Pubkey, owner: Pubkey, program: Pubkey = TOKEN_PROGRAM_ID
) -> Instruction:
    """``CloseAccount`` (9): the empty ``account`` goes, its rent lamports to ``destination``."""
    return Instruction(
        program,
        bytes([9]),
        [AccountMeta(account, False, True), AccountMeta(destination, False, True), AccountMeta(owner, True, False)],
    )


def transfer_checked_with_fee_ix(
    source: Pubkey, mint: Pubkey, dest: Pubkey, owner: Pubkey, amount: int, decimals: int, fee: int
) -> Instruction:
    """Token-2022 ``TransferCheckedWithFee`` (26, 1)."""
    return Instruction(
        TOKEN_2022_PROGRAM_ID,
        bytes([26, 1]) + _u64(amount) + bytes([decimals]) + _u64(fee),
        [
            AccountMeta(source, False, True),
            AccountMeta(mint, False, False),
            AccountMeta(dest, False, True),
            AccountMeta(owner, True, False),
        ],
    )


def associated_token_address(owner: Pubkey, mint: Pubkey, program: Pubkey = TOKEN_PROGRAM_ID) -> Pubkey:
    """The associated token account of ``owner`` for ``mint``."""
    return Pubkey.find_program_address([bytes(owner), bytes(program), bytes(mint)], ASSOCIATED_TOKEN_PROGRAM_ID)[0]


def create_associated_ix(
    payer: Pubkey, owner: Pubkey, mint: Pubkey, program: Pubkey = TOKEN_PROGRAM_ID, *, idempotent: bool = True
) -> Instruction:
    """Associated Token Account ``Create`` (0) / ``CreateIdempotent`` (1)."""
    return Instruction(
        ASSOCIATED_TOKEN_PROGRAM_ID,
        bytes([1 if idempotent else 0]),
        [
            AccountMeta(payer, True, True),
            AccountMeta(associated_token_address(owner, mint, program), False, True),
            AccountMeta(owner, False, False),
            AccountMeta(mint, False, False),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(program, False, False),
        ],
    )


def memo_ix(text: str, signers: Sequence[Pubkey] = ()) -> Instruction:
    """An SPL Memo (v3) instruction."""
    return Instruction(
        Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"),
        text.encode(),
        [AccountMeta(s, True, False) for s in signers],
    )


# --- token account and UI amount helpers ------------------------------------------


def ui_amount_string(amount: int, decimals: int) -> str:
    """Mainnet's ``uiAmountString``: the exact decimal, trailing zeros (and point) removed."""
    if decimals == 0:
        return str(amount)
    whole, frac = divmod(amount, 10**decimals)
    text = f"{whole}.{frac:0{decimals}d}".rstrip("0")
    return text.rstrip(".")


def ui_amount(amount: int, decimals: int) -> float:
    """Mainnet's ``uiAmount`` float: two f64 roundings, as the validator computes it."""
    return float(amount) / float(10**decimals)


def token_amount_json(amount: int, decimals: int, *, stored: bool) -> dict[str, Any]:
    """A ``uiTokenAmount`` object. ``stored``: as transaction metadata comes back from the
    ledger store, where a zero (below f64 epsilon) ``uiAmount`` reads back as null."""
    ui = ui_amount(amount, decimals)
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": None if stored and abs(ui) <= sys.float_info.epsilon else ui,
        "uiAmountString": ui_amount_string(amount, decimals),
    }


def is_token_account(account: Account | None) -> bool:
    """Whether ``account`` is an initialised SPL Token / Token-2022 token account."""
    if account is None or account.owner not in TOKEN_PROGRAMS:
        return False
    data = account.data
    size = len(data)
    if size < ACCOUNT_SIZE or size == MULTISIG_SIZE:
        return False
    if size > ACCOUNT_SIZE and data[ACCOUNT_SIZE] != 2:  # Token-2022 account type: 1 mint, 2 account
        return False
    return data[108] != 0  # state: 0 uninitialised, 1 initialised, 2 frozen


def unpack_token_account(data: bytes) -> tuple[Pubkey, Pubkey, int]:
    """(mint, owner, amount) of a token account's data."""
    return Pubkey(data[0:32]), Pubkey(data[32:64]), struct.unpack_from("<Q", data, 64)[0]


class SolanaLedger:
    """Real token programs in LiteSVM, recorded like mainnet; see the module docstring.

    Build a scenario with :meth:`wallet`, :meth:`create_mint`, :meth:`token_account`,
    then :meth:`mint_to`, :meth:`transfer`, :meth:`transfers`, :meth:`burn`,
    :meth:`recover_nested` (a CPI transfer), :meth:`create_lookup_table` + ``lookup_table=``
    (a v0 transaction) or :meth:`send` for anything else; move time with
    :meth:`set_time`/:meth:`advance`; group transactions into one slot with :meth:`block`.
    Serve it with :class:`indexer.localchains.solana_rpc.SolanaRpcServer`.
    """

    def __init__(
        self,
        *,
        start_time: int | datetime = 1_704_067_200,
        start_slot: int = 240_000_000,
        slot_seconds: float = 0.4,
        finalized_lag: int = 0,
        seed: str = "depin-indexer",
    ) -> None:
        # The airdrop account funds every wallet: give it far more than any scenario spends.
        self.svm = LiteSVM().with_lamports(10**18)
        self.lock = threading.RLock()
        self.seed = seed
        self.slot_seconds = slot_seconds
        self.finalized_lag = finalized_lag
        self.start_slot = start_slot
        self.start_time = self._seconds(start_time)
        self.genesis_hash = b58encode(hashlib.sha256(f"genesis:{seed}".encode()).digest())
        self._keys = 0
        self._slot = start_slot
        self._time = self.start_time
        self._in_block = False
        self._block_used = False
        self._slot_hashes: list[tuple[int, Hash]] = []
        self._entries: dict[str, _Entry] = {}
        self._by_address: dict[str, list[Listed]] = {}
        self._slot_times: list[tuple[int, int]] = []
        self._apply_clock()
        self.payer = self.keypair("payer")
        self._airdrop(self.payer.pubkey(), 1_000_000 * _LAMPORTS_PER_SOL)

    # --- time -----------------------------------------------------------------------

    @staticmethod
    def _seconds(when: int | datetime) -> int:
        if isinstance(when, datetime):
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return int(when.timestamp())
        return int(when)

    @property
    def now(self) -> int:
        """Unix time the next transaction gets (its block time)."""
        return self._time

    @property
    def head_slot(self) -> int:
        """The newest slot (``getSlot`` at ``confirmed``)."""
        return self._slot

    @property
    def finalized_slot(self) -> int:
        """The newest finalized slot (``finalized_lag`` slots behind the head)."""
        return max(self.start_slot, self._slot - self.finalized_lag)

    def set_time(self, when: int | datetime) -> None:
        """Move the clock to ``when`` (never backwards); later transactions carry it."""
        seconds = self._seconds(when)
        if seconds < self._time:
            raise LedgerError(f"time cannot go backwards: {seconds} < {self._time}")
        if self._in_block and seconds != self._time:
            raise LedgerError("cannot change the time inside block(): one slot has one block time")
        self._time = seconds

    def advance(self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0) -> None:
        """Move the clock forward by the sum of the arguments."""
        self.set_time(self._time + int(seconds + 60 * minutes + 3600 * hours + 86400 * days))

    @contextmanager
    def block(self) -> Iterator[None]:
        """Send every transaction of the ``with`` body in one slot (one block time)."""
        if self._in_block:
            raise LedgerError("block() does not nest")
        self._in_block, self._block_used = True, False
        try:
            yield
        finally:
            self._in_block = False

    def _next_slot(self) -> None:
        """Open the slot of the next transaction: clock, slot hashes, blockhash."""
        if self._in_block and self._block_used:
            return
        self._block_used = True
        elapsed = int((self._time - self.start_time) / self.slot_seconds)
        slot = max(self._slot + 1, self.start_slot + elapsed)
        self._slot_hashes.insert(0, (self._slot, self.svm.latest_blockhash()))
        del self._slot_hashes[_MAX_SLOT_HASHES:]
        self._slot = slot
        self._apply_clock()
        self.svm.expire_blockhash()

    def _apply_clock(self) -> None:
        self.svm.warp_to_slot(self._slot)
        epoch = (self._slot - self.start_slot) // _SLOTS_PER_EPOCH
        self.svm.set_clock(Clock(self._slot, self.start_time, epoch, epoch + 1, self._time))
        if self._slot_hashes:
            self.svm.set_slot_hashes(self._slot_hashes)
        if not self._slot_times or self._slot_times[-1][0] != self._slot:
            self._slot_times.append((self._slot, self._time))

    def block_time(self, slot: int) -> int | None:
        """Block time of ``slot`` (that of the newest recorded slot at or below it); None if unknown."""
        with self.lock:
            if slot > self._slot or not self._slot_times or slot < self._slot_times[0][0]:
                return None
            at = bisect.bisect_right(self._slot_times, (slot, 2**63)) - 1
            return self._slot_times[at][1]

    # --- keys, wallets, mints, token accounts -----------------------------------------

    def keypair(self, label: str = "") -> Keypair:
        """A new keypair derived from the seed (same script, same addresses)."""
        self._keys += 1
        return Keypair.from_seed(hashlib.sha256(f"{self.seed}/{self._keys}/{label}".encode()).digest())

    def wallet(self, label: str = "", lamports: int = 10 * _LAMPORTS_PER_SOL) -> Keypair:
        """A funded wallet (funding is genesis money: it is not recorded as a transaction)."""
        kp = self.keypair(label)
        if lamports:
            self._airdrop(kp.pubkey(), lamports)
        return kp

    def _airdrop(self, to: Pubkey, lamports: int) -> None:
        with self.lock:
            result = self.svm.airdrop(to, lamports)
        if isinstance(result, FailedTransactionMetadata):
            raise LedgerError(f"airdrop of {lamports} lamports to {to} failed: {result.err()}")

    def create_mint(
        self,
        decimals: int,
        *,
        program: Pubkey = TOKEN_PROGRAM_ID,
        authority: Keypair | None = None,
        keypair: Keypair | None = None,
        transfer_fee_bps: int | None = None,
        maximum_fee: int = 2**64 - 1,
    ) -> MintInfo:
        """Create a mint; ``transfer_fee_bps`` makes a Token-2022 mint with a transfer fee."""
        mint = keypair or self.keypair("mint")
        authority = authority or self.payer
        size = MINT_SIZE
        ixs: list[Instruction] = []
        if transfer_fee_bps is not None:
            if program != TOKEN_2022_PROGRAM_ID:
                raise LedgerError("transfer fees are a Token-2022 extension")
            size = _FEE_MINT_SIZE
            auth = bytes([1]) + bytes(authority.pubkey())
            ixs.append(
                Instruction(
                    program,
                    bytes([26, 0]) + auth + auth + struct.pack("<HQ", transfer_fee_bps, maximum_fee),
                    [AccountMeta(mint.pubkey(), False, True)],
                )
            )
        rent = self.svm.minimum_balance_for_rent_exemption(size)
        create = create_account(
            CreateAccountParams(
                from_pubkey=self.payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent, space=size, owner=program
            )
        )
        init = Instruction(
            program,
            bytes([20, decimals]) + bytes(authority.pubkey()) + bytes([0]),  # InitializeMint2, no freeze authority
            [AccountMeta(mint.pubkey(), False, True)],
        )
        self._must(self.send([create, *ixs, init], [self.payer, mint]))
        return MintInfo(mint.pubkey(), decimals, program, authority)

    def token_account(self, owner: Pubkey | Keypair, mint: MintInfo, *, associated: bool = True) -> Pubkey:
        """Create a token account of ``owner`` for ``mint`` (its associated one by default)."""
        owner_key = _pubkey(owner)
        if associated:
            self._must(self.send([create_associated_ix(self.payer.pubkey(), owner_key, mint.address, mint.program)]))
            return associated_token_address(owner_key, mint.address, mint.program)
        account = self.keypair("token-account")
        rent = self.svm.minimum_balance_for_rent_exemption(ACCOUNT_SIZE)
        create = create_account(
            CreateAccountParams(
                from_pubkey=self.payer.pubkey(),
                to_pubkey=account.pubkey(),
                lamports=rent,
                space=ACCOUNT_SIZE,
                owner=mint.program,
            )
        )
        init = Instruction(  # InitializeAccount3: owner in the data
            mint.program,
            bytes([18]) + bytes(owner_key),
            [AccountMeta(account.pubkey(), False, True), AccountMeta(mint.address, False, False)],
        )
        self._must(self.send([create, init], [self.payer, account]))
        return account.pubkey()

    def token_accounts(self, owners: Iterable[Pubkey | Keypair], mint: MintInfo, *, per_tx: int = 6) -> list[Pubkey]:
        """Associated token accounts for many owners, ``per_tx`` creations per transaction."""
        keys = [_pubkey(o) for o in owners]
        for start in range(0, len(keys), per_tx):
            ixs = [
                create_associated_ix(self.payer.pubkey(), k, mint.address, mint.program)
                for k in keys[start : start + per_tx]
            ]
            self._must(self.send(ixs))
        return [associated_token_address(k, mint.address, mint.program) for k in keys]

    def genesis_token_accounts(self, owners: Iterable[Pubkey | Keypair], mint: MintInfo) -> list[Pubkey]:
        """Empty associated token accounts for many owners, as genesis state: written into
        the SVM directly, no transaction recorded. For scenarios with thousands of wallets,
        where creating each account in a transaction would cost more than the traffic."""
        if mint.program != TOKEN_PROGRAM_ID:
            raise LedgerError("genesis token accounts are SPL Token (not Token-2022) accounts")
        rent = self.svm.minimum_balance_for_rent_exemption(ACCOUNT_SIZE)
        created = []
        with self.lock:
            for owner in owners:
                key = _pubkey(owner)
                address = associated_token_address(key, mint.address, mint.program)
                # mint, owner, amount 0, no delegate, state initialised, not native, no
                # delegated amount, no close authority: SPL Token's 165-byte layout.
                data = bytes(mint.address) + bytes(key) + bytes(8) + bytes(36) + b"\x01" + bytes(12 + 8 + 36)
                self.svm.set_account(address, Account(rent, data, mint.program, False, 0))
                created.append(address)
        return created

    # --- token operations ------------------------------------------------------------

    def mint_to(self, mint: MintInfo, dest: Pubkey, amount: int, *, checked: bool = False) -> Sent:
        """Mint ``amount`` raw units to token account ``dest``."""
        ix = mint_to_ix(
            mint.address, dest, mint.authority.pubkey(), amount, mint.program, mint.decimals if checked else None
        )
        return self.send([ix], [self.payer, mint.authority])

    def transfer(
        self,
        owner: Keypair,
        source: Pubkey,
        dest: Pubkey,
        amount: int,
        *,
        mint: MintInfo | None = None,
        checked: bool = False,
    ) -> Sent:
        """Move ``amount`` from ``source`` (owned by ``owner``) to ``dest``; may fail (recorded)."""
        return self.transfers(owner, source, [(dest, amount)], mint=mint, checked=checked)

    def transfers(
        self,
        owner: Keypair,
        source: Pubkey,
        payouts: Sequence[tuple[Pubkey, int]],
        *,
        mint: MintInfo | None = None,
        checked: bool = False,
        lookup_table: Pubkey | None = None,
    ) -> Sent:
        """Many transfers from one account in one transaction (v0 with ``lookup_table``)."""
        program = mint.program if mint is not None else TOKEN_PROGRAM_ID
        if checked and mint is None:
            raise LedgerError("a checked transfer needs the mint")
        ixs = [
            transfer_checked_ix(source, mint.address, dest, owner.pubkey(), amount, mint.decimals, program)  # type: ignore[union-attr]
            if checked
            else transfer_ix(source, dest, owner.pubkey(), amount, program)
            for dest, amount in payouts
        ]
        tables = [lookup_table] if lookup_table is not None else None
        return self.send(ixs, [self.payer, owner], lookup_tables=tables)

    def burn(self, owner: Keypair, account: Pubkey, mint: MintInfo, amount: int, *, checked: bool = False) -> Sent:
        """Burn ``amount`` from ``account`` (owned by ``owner``)."""
        ix = burn_ix(account, mint.address, owner.pubkey(), amount, mint.program, mint.decimals if checked else None)
        return self.send([ix], [self.payer, owner])

    def close_account(self, owner: Keypair, account: Pubkey, mint: MintInfo) -> Sent:
        """Close ``account`` (empty, owned by ``owner``), its rent back to ``owner``: what
        wallets do all the time on mainnet to recover rent."""
        return self.send([close_account_ix(account, owner.pubkey(), owner.pubkey(), mint.program)], [self.payer, owner])

    def nested_account(self, wallet: Pubkey | Keypair, owner_mint: MintInfo, nested_mint: MintInfo) -> Pubkey:
        """Create the "nested" associated account: ``nested_mint`` held by the wallet's
        ``owner_mint`` associated account (a classic mistake that RecoverNested repairs)."""
        owner_ata = associated_token_address(_pubkey(wallet), owner_mint.address, owner_mint.program)
        return self.token_account(owner_ata, nested_mint)

    def recover_nested(self, wallet: Keypair, owner_mint: MintInfo, nested_mint: MintInfo) -> Sent:
        """ATA ``RecoverNested``: the ATA program CPIs ``TransferChecked`` (the nested
        account's whole balance, to the wallet's ``nested_mint`` account) then ``CloseAccount``.

        The wallet's associated accounts for both mints must exist.
        """
        w = wallet.pubkey()
        owner_ata = associated_token_address(w, owner_mint.address, owner_mint.program)
        nested = associated_token_address(owner_ata, nested_mint.address, nested_mint.program)
        dest = associated_token_address(w, nested_mint.address, nested_mint.program)
        ix = Instruction(
            ASSOCIATED_TOKEN_PROGRAM_ID,
            bytes([2]),
            [
                AccountMeta(nested, False, True),
                AccountMeta(nested_mint.address, False, False),
                AccountMeta(dest, False, True),
                AccountMeta(owner_ata, False, False),
                AccountMeta(owner_mint.address, False, False),
                AccountMeta(w, True, True),
                AccountMeta(nested_mint.program, False, False),
            ],
        )
        return self.send([ix], [self.payer, wallet])

    def create_lookup_table(self, addresses: Sequence[Pubkey]) -> Pubkey:
        """Create an address lookup table holding ``addresses``; usable from the next slot."""
        if not self._slot_hashes:
            self._next_slot()  # CreateLookupTable needs a slot in SlotHashes
        recent = self._slot_hashes[0][0]
        table, bump = derive_lookup_table_address(self.payer.pubkey(), recent)
        accounts = [
            AccountMeta(table, False, True),
            AccountMeta(self.payer.pubkey(), True, False),
            AccountMeta(self.payer.pubkey(), True, True),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
        ]
        self._must(
            self.send([Instruction(ADDRESS_LOOKUP_TABLE_PROGRAM_ID, struct.pack("<IQB", 0, recent, bump), accounts)])
        )
        for start in range(0, len(addresses), 20):
            chunk = addresses[start : start + 20]
            data = struct.pack("<IQ", 2, len(chunk)) + b"".join(bytes(a) for a in chunk)
            self._must(self.send([Instruction(ADDRESS_LOOKUP_TABLE_PROGRAM_ID, data, accounts)]))
        return table

    def _lookup_table(self, table: Pubkey) -> AddressLookupTableAccount:
        account = self.svm.get_account(table)
        if account is None:
            raise LedgerError(f"no lookup table {table}")
        data = account.data
        addresses = [Pubkey(data[i : i + 32]) for i in range(56, len(data), 32)]
        return AddressLookupTableAccount(table, addresses)

    # --- sending and recording ----------------------------------------------------------

    @staticmethod
    def _must(sent: Sent) -> Sent:
        if not sent.ok:
            raise LedgerError(
                f"set-up transaction {sent.signature} failed: {sent.err}; logs: {sent.record['meta']['logMessages']}"
            )
        return sent

    def send(
        self,
        instructions: Sequence[Instruction],
        signers: Sequence[Keypair] = (),
        *,
        lookup_tables: Sequence[Pubkey] | None = None,
        payer: Keypair | None = None,
    ) -> Sent:
        """Execute one transaction in the next slot and record it.

        ``lookup_tables`` makes a v0 transaction. A transaction that fails while executing
        lands like on mainnet (fee charged, ``err`` set, recorded); one the cluster would
        refuse before executing (bad signature, unknown blockhash, fee payer without
        funds...) raises :class:`LedgerError`.
        """
        payer = payer or self.payer
        keyset = {payer.pubkey(): payer}
        for kp in signers:
            keyset.setdefault(kp.pubkey(), kp)
        with self.lock:
            self._next_slot()
            blockhash = self.svm.latest_blockhash()
            if lookup_tables is None:
                message = Message.new_with_blockhash(list(instructions), payer.pubkey(), blockhash)
                needed = message.account_keys[: message.header.num_required_signatures]
                tx: Transaction | VersionedTransaction = Transaction(_signers(keyset, needed), message, blockhash)
                loaded = LoadedAddresses([], [])
                version: str | int = "legacy"
            else:
                tables = [self._lookup_table(t) for t in lookup_tables]
                message_v0 = MessageV0.try_compile(payer.pubkey(), list(instructions), tables, blockhash)
                needed = message_v0.account_keys[: message_v0.header.num_required_signatures]
                tx = VersionedTransaction(message_v0, _signers(keyset, needed))
                by_key = {t.key: t.addresses for t in tables}
                writable = [
                    by_key[lk.account_key][i] for lk in message_v0.address_table_lookups for i in lk.writable_indexes
                ]
                readonly = [
                    by_key[lk.account_key][i] for lk in message_v0.address_table_lookups for i in lk.readonly_indexes
                ]
                loaded = LoadedAddresses(writable, readonly)
                version = 0
            return self._execute(tx, loaded, version)

    def _execute(self, tx: Transaction | VersionedTransaction, loaded: LoadedAddresses, version: str | int) -> Sent:
        """Run ``tx`` in the current slot, record it and index it under every account key."""
        run = self._run(tx, loaded, version)
        entry = self._entry(run)
        self._entries[entry.signature] = entry
        self._index(entry, run.keys)
        return Sent(entry.signature, entry.slot, entry.block_time, run.err, entry.record)

    def _run(self, tx: Transaction | VersionedTransaction, loaded: LoadedAddresses, version: str | int) -> _Executed:
        """Send ``tx`` to LiteSVM, reading the balances before and after.

        Raises :class:`LedgerError` for a transaction refused before execution (no fee
        taken): such a transaction never lands.
        """
        message = tx.message
        static = list(message.account_keys)
        keys = static + loaded.writable + loaded.readonly
        invoked = {ix.program_id_index for ix in message.instructions}
        payer_before = self.svm.get_balance(static[0]) or 0
        pre = self._balances(keys, invoked)
        result = self.svm.send_transaction(tx)
        failed = isinstance(result, FailedTransactionMetadata)
        meta = result.meta() if failed else result
        if failed and (self.svm.get_balance(static[0]) or 0) == payer_before:
            raise LedgerError(f"transaction refused by the cluster: {result.err()}")
        post = self._balances(keys, invoked)
        err = self._error_json(result.err()) if failed else None
        return _Executed(tx, version, loaded, keys, meta, err, pre, post)

    def _balances(self, keys: Sequence[Pubkey], invoked: set[int]) -> _Balances:
        """Lamports of every key, then the token balances the validator would collect."""
        lamports = [self.svm.get_balance(k) or 0 for k in keys]
        return _Balances(lamports, self._token_balances(keys, invoked))

    def _entry(self, run: _Executed) -> _Entry:
        """The record of ``run`` in the current slot, serialised once for the RPC server."""
        tx, message = run.tx, run.tx.message
        tx_json = {"signatures": [str(s) for s in tx.signatures], "message": _message_json(message, run.version)}
        record = {
            "slot": self._slot,
            "transaction": tx_json,
            "meta": _meta_json(run),
            "version": run.version,
            "blockTime": self._time,
        }
        return _Entry(
            signature=str(tx.signatures[0]),
            sig_bytes=bytes(tx.signatures[0]),
            slot=self._slot,
            block_time=self._time,
            version=run.version,
            transaction_json=_compact(tx_json),
            meta_json=_compact(record["meta"]),
            wire=bytes(tx),
            err_json=_compact(run.err),
            memo=self._memo(message, list(message.account_keys)),
            record=record,
        )

    def _index(self, entry: _Entry, keys: Sequence[Pubkey]) -> None:
        """List ``entry`` under each distinct key, keeping every listing in blockstore order."""
        position = Listed(entry.slot, entry.sig_bytes, entry.signature)
        for key in dict.fromkeys(str(k) for k in keys):
            listing = self._by_address.setdefault(key, [])
            if not listing or listing[-1] < position:
                listing.append(position)
            else:
                bisect.insort(listing, position)

    def forget(self, signature: str) -> None:
        """Drop an unfinalised transaction from the recorded history, as when the fork it
        landed on is abandoned: the RPC server no longer lists, returns or confirms it.
        (Account state in the SVM is not rolled back: this models what RPC shows.)"""
        with self.lock:
            entry = self._entries.get(signature)
            if entry is None:
                raise LedgerError(f"unknown signature {signature}")
            if entry.slot <= self.finalized_slot:
                raise LedgerError(f"{signature} is finalized (slot {entry.slot}): it cannot be rolled back")
            del self._entries[signature]
            position = Listed(entry.slot, entry.sig_bytes, signature)
            for listing in self._by_address.values():
                at = bisect.bisect_left(listing, position)
                if at < len(listing) and listing[at] == position:
                    del listing[at]

    @staticmethod
    def _error_json(err: Any) -> Any:
        """A TransactionError exactly as mainnet JSON spells it."""
        status = RpcConfirmedTransactionStatusWithSignature(Signature.default(), 0, err, None, None, None)
        return json.loads(status.to_json())["err"]

    @staticmethod
    def _memo(message: Any, keys: Sequence[Pubkey]) -> str | None:
        """``memo`` of getSignaturesForAddress: top-level memo instructions, "[len] text"."""
        memos = []
        for ix in message.instructions:
            if str(keys[ix.program_id_index]) in MEMO_PROGRAM_IDS:
                data = bytes(ix.data)
                memos.append(f"[{len(data)}] {data.decode('utf-8', 'replace')}")
        return "; ".join(memos) if memos else None

    def _token_balances(self, keys: Sequence[Pubkey], invoked: set[int]) -> list[dict[str, Any]]:
        """Token balance entries the way the validator collects them: every account key
        that is not an invoked program and holds an initialised token account whose mint
        exists."""
        out = []
        decimals: dict[Pubkey, int | None] = {}
        for index, key in enumerate(keys):
            if index in invoked or key in TOKEN_PROGRAMS:
                continue
            account = self.svm.get_account(key)
            if not is_token_account(account):
                continue
            assert account is not None
            mint, owner, amount = unpack_token_account(bytes(account.data[:72]))
            if mint not in decimals:
                mint_account = self.svm.get_account(mint)
                decimals[mint] = (
                    mint_account.data[44] if mint_account is not None and len(mint_account.data) >= MINT_SIZE else None
                )
            places = decimals[mint]
            if places is None:
                continue
            out.append(
                {
                    "accountIndex": index,
                    "mint": str(mint),
                    "owner": str(owner),
                    "programId": str(account.owner),
                    "uiTokenAmount": token_amount_json(amount, places, stored=True),
                }
            )
        return out

    # --- reads (tests, the RPC server) ----------------------------------------------------

    def entry(self, signature: str) -> _Entry | None:
        """The recorded transaction ``signature`` (for the RPC server)."""
        return self._entries.get(signature)

    def transaction(self, signature: str) -> dict[str, Any] | None:
        """A fresh copy of the ``getTransaction`` result of ``signature``, or None."""
        entry = self._entries.get(signature)
        return None if entry is None else json.loads(entry.result_json(with_version=True))

    @property
    def signatures(self) -> list[str]:
        """Every recorded signature, oldest first."""
        return list(self._entries)

    def listing(self, address: str) -> list[Listed]:
        """(slot, signature bytes, signature) of every transaction mentioning ``address``, oldest first."""
        return self._by_address.get(address, [])

    def position(self, signature: str) -> tuple[int, bytes] | None:
        """Where ``signature`` sits in the ledger's order, or None if unknown."""
        entry = self._entries.get(signature)
        return None if entry is None else (entry.slot, entry.sig_bytes)

    def signatures_for_address(
        self,
        address: str,
        *,
        limit: int = 1000,
        before: str | None = None,
        until: str | None = None,
        commitment: str = "finalized",
    ) -> list[dict[str, Any]]:
        """``getSignaturesForAddress`` results, with mainnet's paging semantics."""
        with self.lock:
            listing = self.listing(address)
            hi = len(listing)
            if commitment == "finalized":
                hi = bisect.bisect_right(listing, (self.finalized_slot, b"\xff" * 65))
            if before is not None:
                where = self.position(before)
                if where is None:
                    return []  # mainnet: an unknown `before` gives an empty list
                hi = min(hi, bisect.bisect_left(listing, where))
            lo = 0
            if until is not None:
                where = self.position(until)
                if where is not None:  # mainnet: an unknown `until` is ignored
                    lo = bisect.bisect_right(listing, (*where, "\uffff"))
            picked = listing[max(lo, hi - limit) : hi]
            final = self.finalized_slot
            return [
                {
                    "signature": sig,
                    "slot": slot,
                    "err": self._entries[sig].record["meta"]["err"],
                    "memo": self._entries[sig].memo,
                    "blockTime": self._entries[sig].block_time,
                    "confirmationStatus": "finalized" if slot <= final else "confirmed",
                }
                for slot, _, sig in reversed(picked)
            ]

    def balance(self, account: Pubkey) -> int:
        """Raw token amount held by token ``account`` (0 if it does not exist)."""
        with self.lock:
            acc = self.svm.get_account(account)
            return unpack_token_account(bytes(acc.data[:72]))[2] if is_token_account(acc) else 0

    def lamports(self, address: Pubkey) -> int:
        """Lamports of ``address``."""
        with self.lock:
            return self.svm.get_balance(address) or 0

    def account(self, address: Pubkey) -> Account | None:
        """The account at ``address``, if any."""
        with self.lock:
            return self.svm.get_account(address)

    def token_accounts_of(
        self, owner: Pubkey, *, mint: Pubkey | None = None, program: Pubkey | None = None
    ) -> list[tuple[Pubkey, Account]]:
        """Token accounts owned by wallet ``owner``, filtered by mint or token program."""
        with self.lock:
            programs = [program] if program is not None else list(TOKEN_PROGRAMS)
            found = []
            for prog in programs:
                for address, account in self.svm.get_program_accounts(prog):
                    if not is_token_account(account):
                        continue
                    acc_mint, acc_owner, _ = unpack_token_account(bytes(account.data[:72]))
                    if acc_owner == owner and (mint is None or acc_mint == mint):
                        found.append((address, account))
            return sorted(found, key=lambda pair: bytes(pair[0]))

    def mint_decimals(self, mint: Pubkey) -> int | None:
        """Decimals of ``mint``, or None if it is not a mint."""
        with self.lock:
            account = self.svm.get_account(mint)
        if account is None or account.owner not in TOKEN_PROGRAMS or len(account.data) < MINT_SIZE:
            return None
        if len(account.data) > ACCOUNT_SIZE and account.data[ACCOUNT_SIZE] != 1:
            return None
        return account.data[44]

    def latest_blockhash(self) -> str:
        """The current blockhash."""
        with self.lock:
            return str(self.svm.latest_blockhash())
