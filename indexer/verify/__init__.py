"""Reconcile the database with the chains: what ``depin-indexer verify`` checks and repairs.

One module per chain family: :mod:`indexer.verify.evm` (balances between blocks) and
:mod:`indexer.verify.solana` (signature lists and re-decoded transactions).
"""

from indexer.verify.evm import EvmVerifier, Gap
from indexer.verify.solana import SolanaMismatch, SolanaVerifier

__all__ = ["EvmVerifier", "Gap", "SolanaMismatch", "SolanaVerifier"]
