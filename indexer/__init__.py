"""depin-indexer: on-chain revenue and earnings of GPU DePIN networks."""

__version__ = "0.1.0"
