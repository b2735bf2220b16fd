"""Batched, pure-standard-library decoders: raw RPC responses in, flow columns out.

Nothing under this package may import a compiled extension (solders, pydantic_core,
orjson, eth_abi, eth_utils...): a test checks ``sys.modules`` after importing it.
"""
