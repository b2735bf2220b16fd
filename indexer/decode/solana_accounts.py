"""Token accounts of given owners, as the token balances of decoded transactions show them.

Pure standard library, like the rest of :mod:`indexer.decode`. Every ``getTransaction``
answer lists, before and after, the token accounts it touched with their owner and mint
(``meta.preTokenBalances`` / ``postTokenBalances``); a closed account still appears in the
balances before its close. That is how an account no longer listed by
``getTokenAccountsByOwner`` is found again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

# account -> (owner, mint, first slot, last slot)
OwnedAccounts = dict[str, tuple[str, str, int, int]]


def owned_token_accounts(
    txs: Iterable[dict[str, Any]], owners: Collection[str], mints: Collection[str], into: OwnedAccounts | None = None
) -> OwnedAccounts:
    """Accounts owned by one of ``owners`` holding one of ``mints`` in the balances of ``txs``
    (answers already checked by the decoder), with the slots they were seen in."""
    found: OwnedAccounts = {} if into is None else into
    for tx in txs:
        meta = tx["meta"]
        entries = (meta.get("preTokenBalances") or []) + (meta.get("postTokenBalances") or [])
        candidates = [e for e in entries if e.get("owner") in owners and e.get("mint") in mints]
        if not candidates:
            continue
        keys = tx["transaction"]["message"]["accountKeys"]
        loaded = meta.get("loadedAddresses")
        if loaded:
            keys = keys + loaded.get("writable", []) + loaded.get("readonly", [])
        slot = tx["slot"]
        for entry in candidates:
            account = keys[entry["accountIndex"]]
            seen = found.get(account)
            if seen is None:
                found[account] = (entry["owner"], entry["mint"], slot, slot)
            else:
                owner, mint = (entry["owner"], entry["mint"]) if slot >= seen[3] else seen[:2]
                found[account] = (owner, mint, min(seen[2], slot), max(seen[3], slot))
    return found
