"""Fetching from chains: one module per chain family, all through :mod:`indexer.chains.rpc`."""
