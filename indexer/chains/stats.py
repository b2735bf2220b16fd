"""What one ``sync`` of any chain family did: for logs, progress, metrics and the service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SyncStats:
    """Counters of one sync; ``head``/``final_head``/``indexed_to`` are blocks or slots."""

    blocks: int = 0
    flows: int = 0
    flows_new: int = 0
    reorgs: int = 0
    rewound_flows: int = 0
    seconds: float = 0.0
    head: int | None = None
    final_head: int | None = None
    indexed_to: int | None = None
    transactions: int = 0  # Solana: transactions fetched
    addresses: int = 0  # Solana: addresses walked
    undecodable: int = 0  # Solana: transactions recorded as undecodable (on_undecodable = "record")
