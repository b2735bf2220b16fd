"""Local chains for the demo, the test suite and the benchmarks; never used in production.

- :mod:`indexer.localchains.anvil`: anvil EVM nodes (npm ``@foundry-rs/anvil``) and the
  compiled test contracts in ``contracts/``;
- :mod:`indexer.localchains.solana_ledger`: a LiteSVM ledger executing real SPL Token
  transactions, recorded the way mainnet reports them;
- :mod:`indexer.localchains.solana_rpc`: a Solana JSON-RPC server over that ledger.

They need the ``demo`` extra (``pip install 'depin-indexer[demo]'``: solders, web3); the
production indexer imports nothing from here.
"""
