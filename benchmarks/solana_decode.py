"""Solana token-flow decoding: our batched decoder against solders one transaction at a time.

The transactions are real: templates are executed by the SPL Token programs in LiteSVM
(:class:`indexer.demo.solana_ledger.SolanaLedger`) and recorded exactly as mainnet
``getTransaction`` (``encoding: "json"``, v0) returns them; then each generated
transaction is a template with fresh signature, blockhash, wallets and token accounts,
amounts multiplied by a random factor (instruction data re-encoded and balances scaled,
so every transaction still passes the balance check). The mix, weighted like the traffic
of an io.net / Render payment wallet:

* 38% a customer payment (``Transfer`` or ``TransferChecked``), 12% a payment to a new
  recipient (associated account created in the same transaction: 4 inner instructions),
* 10% a RENDER burn, 10% a RENDER mint to an operator,
* 8% failed transfers (insufficient funds; they still appear in signature lists),
* 5% a payout batch of 15 transfers, 2% a v0 payout of 40 transfers through a lookup
  table, 3% a transfer made through a CPI (ATA ``RecoverNested``),
* 12% a transfer of an untracked mint.

Timed, on the same parsed objects:

* ours — ``indexer.decode.solana.decode_transactions`` on responses of 1,000
  transactions (one signature page), balance check included;
* solders — per transaction, ``EncodedConfirmedTransactionWithStatusMeta.from_json``
  then the same flow extraction over the typed object (no balance check), the way
  solana-py users decode; and solders' parse alone, for context. solders parses from
  JSON text, so it is compared with ``json.loads`` + ours.

    python benchmarks/solana_decode.py            # 100,000 transactions
    python benchmarks/solana_decode.py --quick    # 10,000
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.decode.columns import FlowColumns
from indexer.decode.solana import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, b58decode, b58encode, decode_transactions

Tx = dict[str, Any]
PROGRAMS = {
    TOKEN_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    "11111111111111111111111111111111",
    "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
    "AddressLookupTab1e1111111111111111111111111",
    "ComputeBudget111111111111111111111111111111",
    "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
}
FLOW_TAGS = {3, 7, 8, 12, 14, 15}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def record_templates() -> tuple[list[tuple[str, float, Tx]], set[str]]:
    """Execute one transaction of each kind with the real programs; return (name, weight, record)."""
    from indexer.localchains.solana_ledger import SolanaLedger, create_associated_ix, transfer_checked_ix

    ledger = SolanaLedger(seed="benchmark")
    usdc, io, render, junk = (ledger.create_mint(d) for d in (6, 8, 8, 9))
    customer, payments, distributor, user = (ledger.wallet(n) for n in ("customer", "payments", "distributor", "user"))
    ata = ledger.token_account
    c_usdc, c_io, c_junk = ata(customer, usdc), ata(customer, io), ata(customer, junk)
    p_usdc, p_io, p_junk = ata(payments, usdc), ata(payments, io), ata(payments, junk)
    d_io, u_render = ata(distributor, io), ata(user, render)
    for mint, account in ((usdc, c_usdc), (io, c_io), (junk, c_junk), (io, d_io), (render, u_render)):
        ledger.mint_to(mint, account, 10**15)
    nodes = [ledger.wallet(f"node{i}", 0) for i in range(40)]
    node_accounts = ledger.token_accounts(nodes, io)
    table = ledger.create_lookup_table(node_accounts)
    fresh = ledger.wallet("new-recipient", 0)
    from indexer.localchains.solana_ledger import associated_token_address

    new_account = associated_token_address(fresh.pubkey(), usdc.address)
    create_and_pay = ledger.send(
        [
            create_associated_ix(ledger.payer.pubkey(), fresh.pubkey(), usdc.address),
            transfer_checked_ix(c_usdc, usdc.address, new_account, customer.pubkey(), 2_500_000, 6),
        ],
        [customer],
    )
    wallet = nodes[0]
    ata(wallet, usdc)
    nested = ledger.nested_account(wallet, io, usdc)
    ledger.mint_to(usdc, nested, 4_321)
    templates = [
        (
            "payment (TransferChecked)",
            0.19,
            ledger.transfer(customer, c_usdc, p_usdc, 1_000_000, mint=usdc, checked=True),
        ),
        ("payment (Transfer)", 0.19, ledger.transfer(customer, c_io, p_io, 10**8)),
        ("create account + pay", 0.12, create_and_pay),
        ("burn", 0.10, ledger.burn(user, u_render, render, 5 * 10**8, checked=True)),
        ("mint to operator", 0.10, ledger.mint_to(render, u_render, 3 * 10**8)),
        ("failed transfer", 0.08, ledger.transfer(customer, c_io, p_io, 10**18)),
        (
            "payout batch x15",
            0.05,
            ledger.transfers(distributor, d_io, [(a, 10**8 + i) for i, a in enumerate(node_accounts[:15])]),
        ),
        (
            "v0 payout x40",
            0.02,
            ledger.transfers(
                distributor,
                d_io,
                [(a, 10**8 + i) for i, a in enumerate(node_accounts)],
                mint=io,
                checked=True,
                lookup_table=table,
            ),
        ),
        ("CPI transfer", 0.03, ledger.recover_nested(wallet, io, usdc)),
        ("untracked mint", 0.12, ledger.transfer(customer, c_junk, p_junk, 10**9)),
    ]
    mints = {str(m.address) for m in (usdc, io, render)}
    return [(name, weight, sent.record) for name, weight, sent in templates], mints


def _keys_to_replace(tx: Tx, mints: set[str]) -> list[str]:
    """Every wallet, token account and blockhash of the template (not programs, not mints)."""
    message = tx["transaction"]["message"]
    loaded = tx["meta"]["loadedAddresses"]
    found = message["accountKeys"] + loaded["writable"] + loaded["readonly"]
    found += [b["owner"] for b in tx["meta"]["preTokenBalances"] + tx["meta"]["postTokenBalances"]]
    keep = PROGRAMS | mints | {"SysvarRent111111111111111111111111111111111"}
    return sorted({k for k in found if k not in keep}) + [message["recentBlockhash"]]


def _flow_amounts(tx: Tx) -> list[int]:
    """Amounts of the token-flow instructions of ``tx``."""
    message = tx["transaction"]["message"]
    keys = (
        message["accountKeys"] + tx["meta"]["loadedAddresses"]["writable"] + tx["meta"]["loadedAddresses"]["readonly"]
    )
    every = list(message["instructions"])
    for group in tx["meta"]["innerInstructions"]:
        every += group["instructions"]
    out = []
    for ix in every:
        if keys[ix["programIdIndex"]] in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            raw = b58decode(ix["data"])
            if raw and raw[0] in FLOW_TAGS and len(raw) >= 9:
                out.append(int.from_bytes(raw[1:9], "little"))
    return out


def _rename_in_data(tx: Tx, renamed: dict[str, str]) -> None:
    """InitializeAccount2/3 carry the owner in their data: rename it there too."""
    for group in tx["meta"]["innerInstructions"]:
        for ix in [*group["instructions"], *tx["transaction"]["message"]["instructions"]]:
            raw = b58decode(ix["data"])
            if len(raw) == 33 and raw[0] in (16, 18):
                owner = b58encode(raw[1:33])
                if owner in renamed:
                    ix["data"] = b58encode(raw[:1] + b58decode(renamed[owner]))


def _scale_flows(tx: Tx, factor: int) -> None:
    """Multiply every token-flow amount (instruction data and balances) by ``factor``."""
    message = tx["transaction"]["message"]
    keys = (
        message["accountKeys"] + tx["meta"]["loadedAddresses"]["writable"] + tx["meta"]["loadedAddresses"]["readonly"]
    )
    every = list(message["instructions"])
    for group in tx["meta"]["innerInstructions"]:
        every += group["instructions"]
    for ix in every:
        if keys[ix["programIdIndex"]] not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            continue
        raw = bytearray(b58decode(ix["data"]))
        if raw and raw[0] in FLOW_TAGS and len(raw) >= 9:
            amount = int.from_bytes(raw[1:9], "little") * factor
            raw[1:9] = amount.to_bytes(8, "little")
            ix["data"] = b58encode(bytes(raw))
    for entry in tx["meta"]["preTokenBalances"] + tx["meta"]["postTokenBalances"]:
        entry["uiTokenAmount"]["amount"] = str(int(entry["uiTokenAmount"]["amount"]) * factor)


def generate(n: int, templates: list[tuple[str, float, Tx]], mints: set[str], seed: int = 7) -> Iterator[bytes]:
    """``n`` getTransaction results as JSON text, one per transaction, in a random mix."""
    rng = random.Random(seed)
    prepared = []
    for _, _, tx in templates:
        replace = _keys_to_replace(tx, mints)
        # The largest factor that keeps every amount of the template inside a u64.
        probe = json.loads(json.dumps(tx))
        balances = probe["meta"]["preTokenBalances"] + probe["meta"]["postTokenBalances"]
        top = max([1, *(int(e["uiTokenAmount"]["amount"]) for e in balances), *_flow_amounts(probe)])
        prepared.append(
            (json.dumps(tx), replace, tx["transaction"]["signatures"], max(1, min(999, (2**64 - 1) // top)))
        )
    weights = [w for _, w, _ in templates]
    slot, when = 300_000_000, 1_730_000_000
    for kind in rng.choices(range(len(templates)), weights, k=n):
        text, replace, signatures, most = prepared[kind]
        renamed = {}
        for old in replace + signatures:
            renamed[old] = b58encode(rng.randbytes(64 if old in signatures else 32))
            text = text.replace(old, renamed[old])
        tx = json.loads(text)
        _rename_in_data(tx, renamed)
        _scale_flows(tx, rng.randint(1, most))
        slot += rng.randint(0, 3)
        when += rng.randint(0, 2)
        tx["slot"], tx["blockTime"] = slot, when
        yield json.dumps(tx, separators=(",", ":")).encode()


def ours(batch: list[Tx], mints: set[str]) -> FlowColumns:
    """Our decoder: one call for a whole response."""
    flows = FlowColumns("solana")
    decode_transactions(batch, mints, flows)
    return flows


def solders_per_tx(texts: list[bytes], mints: set[str]) -> FlowColumns:
    """The baseline: typed objects one transaction at a time, then the same flows.

    Owners from the typed token balances, instruction data base58-decoded, the same
    instruction set and idx; no balance check (the usual solana-py decode)."""
    from solders.transaction_status import EncodedConfirmedTransactionWithStatusMeta

    flows = FlowColumns("solana")
    programs = {TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID}
    for text in texts:
        parsed = EncodedConfirmedTransactionWithStatusMeta.from_json(text.decode())
        meta = parsed.transaction.meta
        if meta.err is not None:
            continue
        message = parsed.transaction.transaction.message
        keys = [str(k.pubkey) if hasattr(k, "pubkey") else str(k) for k in message.account_keys]
        loaded = meta.loaded_addresses
        keys += [str(k) for k in loaded.writable] + [str(k) for k in loaded.readonly]
        owner = {}
        for entry in list(meta.pre_token_balances or []) + list(meta.post_token_balances or []):
            owner[entry.account_index] = (str(entry.owner), str(entry.mint))
        inner = {group.index: group.instructions for group in meta.inner_instructions or []}
        sig = str(parsed.transaction.transaction.signatures[0])
        position = 0
        for i, ix in enumerate(message.instructions):
            for one in (ix, *inner.get(i, ())):
                here = position
                position += 1
                if keys[one.program_id_index] not in programs:
                    continue
                raw = b58decode(one.data)
                if not raw or raw[0] not in FLOW_TAGS or len(raw) < 9:
                    continue
                amount = int.from_bytes(raw[1:9], "little")
                acc = list(one.accounts)
                tag = raw[0]
                if tag in (3, 12):
                    a, b = acc[0], acc[2] if tag == 12 else acc[1]
                    mint = keys[acc[1]] if tag == 12 else owner[a][1]
                    src, dst = owner[a][0], owner[b][0]
                elif tag in (7, 14):
                    mint, src, dst = keys[acc[0]], None, owner[acc[1]][0]
                else:
                    mint, src, dst = keys[acc[1]], owner[acc[0]][0], None
                if mint not in mints or not amount:
                    continue
                flows.block.append(parsed.slot)
                flows.block_time.append(parsed.block_time)
                flows.tx.append(sig)
                flows.idx.append(here)
                flows.token.append(mint)
                flows.src.append(src)
                flows.dst.append(dst)
                flows.amount.append(amount)
    return flows


def solders_parse_only(texts: list[bytes]) -> int:
    """solders' typed parse alone, for context."""
    from solders.transaction_status import EncodedConfirmedTransactionWithStatusMeta

    for text in texts:
        EncodedConfirmedTransactionWithStatusMeta.from_json(text.decode())
    return len(texts)


def columns(flows: FlowColumns) -> tuple[list[Any], ...]:
    """The decoded columns, for comparing decoders."""
    return (flows.block, flows.block_time, flows.tx, flows.idx, flows.token, flows.src, flows.dst, flows.amount)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds over ``repeat`` runs (GC left on: it is part of the real cost)."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    """Record templates, generate the transactions, time the decoders, print rates and memory."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 transactions instead of 100,000")
    parser.add_argument("-n", "--transactions", type=int, help="number of transactions (overrides --quick)")
    parser.add_argument("--batch", type=int, default=1_000, help="transactions per decode call (default 1,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per batch and decoder; the median is kept")
    args = parser.parse_args()
    n = args.transactions or (10_000 if args.quick else 100_000)

    started = time.perf_counter()
    templates, mints = record_templates()
    print(f"{len(templates)} templates recorded from LiteSVM in {time.perf_counter() - started:.1f} s")
    # Batch by batch (one signature page each), so memory stays that of one page.
    totals = {"loads": 0.0, "ours": 0.0, "solders": 0.0, "parse": 0.0}
    flows = done = 0
    source = generate(n, templates, mints)
    alloc_peaks: dict[str, float] = {}
    while done < n:
        texts = list(islice(source, min(args.batch, n - done)))
        t_loads, parsed = timed(lambda texts=texts: [json.loads(t) for t in texts], args.repeat)
        t_ours, mine = timed(lambda parsed=parsed: ours(parsed, mints), args.repeat)
        t_solders, theirs = timed(lambda texts=texts: solders_per_tx(texts, mints), args.repeat)
        t_parse, _ = timed(lambda texts=texts: solders_parse_only(texts), args.repeat)
        if columns(mine) != columns(theirs):
            raise SystemExit("the decoders disagree: the benchmark is void")
        if not alloc_peaks:
            for name, fn in (
                ("ours", lambda parsed=parsed: ours(parsed, mints)),
                ("solders", lambda texts=texts: solders_per_tx(texts, mints)),
            ):
                gc.collect()
                tracemalloc.start()
                fn()
                alloc_peaks[name] = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
        for key, value in (("loads", t_loads), ("ours", t_ours), ("solders", t_solders), ("parse", t_parse)):
            totals[key] += value
        flows += len(mine)
        done += len(texts)

    t_ours, t_loads, t_solders = totals["ours"], totals["loads"], totals["solders"]
    both = t_loads + t_ours
    print(f"{n:,} transactions, {flows:,} flows ({flows / n:.2f} per transaction), responses of {args.batch:,}")
    print(
        f"ours (batched, balance-checked): {n / t_ours:>9,.0f} tx/s {flows / t_ours:>10,.0f} flows/s ({t_ours * 1e6 / n:.1f} µs/tx)"
    )
    print(f"solders from_json + extraction : {n / t_solders:>9,.0f} tx/s {flows / t_solders:>10,.0f} flows/s")
    print(f"  ours / solders = {t_solders / t_ours:.1f}x on the decode step (ours after json.loads)")
    print(f"json.loads alone               : {n / t_loads:>9,.0f} tx/s")
    print(f"json.loads + ours              : {n / both:>9,.0f} tx/s   vs solders from text: {t_solders / both:.2f}x")
    print(f"solders from_json alone        : {n / totals['parse']:>9,.0f} tx/s (typed parse, no flows)")
    print(
        f"peak RSS {peak_rss_mb():.0f} MB; python allocations while decoding one response: "
        f"ours {alloc_peaks['ours']:.1f} MB, solders {alloc_peaks['solders']:.1f} MB"
    )
    print("per kind of transaction (ours, 2,000 copies in one call):")
    for name, _, tx in templates:
        one = [json.loads(json.dumps(tx)) for _ in range(2_000)]
        t, _ = timed(lambda one=one: decode_transactions(one, mints, FlowColumns("solana")), args.repeat)
        print(f"  {name:<28} {2_000 / t:>10,.0f} tx/s")


if __name__ == "__main__":
    main()
